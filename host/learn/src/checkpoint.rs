//! Checkpoints: a safetensors file of weights plus a JSON file describing them.
//!
//! A checkpoint directory holds `weights.safetensors` (one tensor per parameter, named as
//! in [`Parameters`]) and `checkpoint.json` ([`CheckpointMetadata`]: the model kind, the
//! model's own configuration, a SHA-256 digest of the weights, and whatever the caller
//! wants to keep alongside: step, run configuration, component hashes). Files are written
//! to a temporary name and renamed, so a crash never leaves a half-written checkpoint
//! under the final name.
//!
//! Loading is "build, then fill": the caller rebuilds the model from the recorded
//! configuration, then [`load_weights`] overwrites every parameter and checks the digest.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, Result};
use crate::params::Parameters;

/// File name of the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// File name of the metadata inside a checkpoint directory.
pub const METADATA_FILE: &str = "checkpoint.json";
/// Value of [`CheckpointMetadata::format`].
pub const FORMAT: &str = "derl-learn/checkpoint";
/// Current [`CheckpointMetadata::format_version`].
pub const FORMAT_VERSION: u32 = 1;

/// The contents of `checkpoint.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMetadata {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// Which model type wrote it (for example `derl-learn/action-policy`).
    pub model_kind: String,
    /// The model's configuration, enough to rebuild it before filling the weights.
    pub model: serde_json::Value,
    /// [`Parameters::digest`] of the saved weights.
    pub parameters_sha256: String,
    /// Whatever the caller stored (step, run configuration, component hashes, ...).
    pub user: serde_json::Value,
}

impl CheckpointMetadata {
    /// Checks that the checkpoint was written by a model of kind `kind`.
    ///
    /// # Errors
    /// [`LearnError::Checkpoint`] naming both kinds.
    pub fn expect_kind(&self, dir: &Path, kind: &str) -> Result<()> {
        if self.model_kind == kind {
            Ok(())
        } else {
            Err(LearnError::checkpoint(
                dir,
                format!("holds a `{}`, not a `{kind}`", self.model_kind),
            ))
        }
    }
}

/// Saves `parameters` and metadata into `dir` (created if needed).
///
/// # Errors
/// [`LearnError::Io`] or [`LearnError::Checkpoint`] when a file cannot be written.
pub fn save(
    dir: &Path,
    parameters: &Parameters,
    model_kind: &str,
    model: serde_json::Value,
    user: &serde_json::Value,
) -> Result<()> {
    let metadata = CheckpointMetadata {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        model_kind: model_kind.into(),
        model,
        parameters_sha256: parameters.digest()?,
        user: user.clone(),
    };
    fs::create_dir_all(dir).map_err(|error| LearnError::io(dir, error))?;
    write_tensors(&dir.join(WEIGHTS_FILE), &parameters.tensors())?;
    write_json(&dir.join(METADATA_FILE), &metadata)
}

/// Reads `checkpoint.json` from `dir`.
///
/// # Errors
/// [`LearnError::Io`] when it cannot be read, [`LearnError::Checkpoint`] when it is not a
/// checkpoint of a supported format.
pub fn read_metadata(dir: &Path) -> Result<CheckpointMetadata> {
    let metadata: CheckpointMetadata = read_json(&dir.join(METADATA_FILE))?;
    if metadata.format != FORMAT || metadata.format_version != FORMAT_VERSION {
        return Err(LearnError::checkpoint(
            dir,
            format!(
                "format {} v{} is not {FORMAT} v{FORMAT_VERSION}",
                metadata.format, metadata.format_version
            ),
        ));
    }
    Ok(metadata)
}

/// Fills `parameters` (already built with the right architecture) from `dir`'s weights and
/// verifies them against the digest in `metadata`.
///
/// # Errors
/// [`LearnError::Checkpoint`] when names, shapes or the digest differ (the parameters may
/// then hold the loaded values; rebuild the model before retrying).
pub fn load_weights(
    dir: &Path,
    parameters: &Parameters,
    metadata: &CheckpointMetadata,
) -> Result<()> {
    let path = dir.join(WEIGHTS_FILE);
    let tensors = read_tensors(
        &path,
        parameters
            .iter()
            .next()
            .map_or(&Device::Cpu, |(_, var)| var.device()),
    )?;
    parameters
        .assign(&tensors)
        .map_err(|error| LearnError::checkpoint(&path, error.to_string()))?;
    let digest = parameters.digest()?;
    if digest != metadata.parameters_sha256 {
        return Err(LearnError::checkpoint(
            &path,
            format!(
                "weights digest {digest} differs from the recorded {}",
                metadata.parameters_sha256
            ),
        ));
    }
    Ok(())
}

/// Writes named tensors as safetensors, atomically.
pub(crate) fn write_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let temporary = temporary_path(path);
    candle_core::safetensors::save(tensors, &temporary)
        .map_err(|error| LearnError::checkpoint(path, error.to_string()))?;
    fs::rename(&temporary, path).map_err(|error| LearnError::io(path, error))
}

/// Reads every tensor of a safetensors file onto `device`.
pub(crate) fn read_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let bytes = fs::read(path).map_err(|error| LearnError::io(path, error))?;
    candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|error| LearnError::checkpoint(path, error.to_string()))
}

/// Writes `value` as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| LearnError::checkpoint(path, error.to_string()))?;
    text.push('\n');
    let temporary = temporary_path(path);
    fs::write(&temporary, text).map_err(|error| LearnError::io(&temporary, error))?;
    fs::rename(&temporary, path).map_err(|error| LearnError::io(path, error))
}

/// Reads a JSON file into `T`.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|error| LearnError::io(path, error))?;
    serde_json::from_str(&text).map_err(|error| LearnError::checkpoint(path, error.to_string()))
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::action_policy::{ActionPolicy, ActionPolicyConfig};
    use crate::features::FeaturizerConfig;
    use crate::policy::PolicyModel;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("derl-learn-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn config() -> ActionPolicyConfig {
        ActionPolicyConfig {
            featurizer: FeaturizerConfig {
                bucket_bits: 9,
                hash: crate::features::BucketHash::Mixed,
                ..FeaturizerConfig::default()
            },
            embedding_dim: 6,
            hidden_dim: 10,
            numeric_dim: 1,
            seed: 21,
            clause_attention: true,
            max_clauses: 8,
            header_overlap: true,
            action_context: true,
            goal_features: true,
            kernel: crate::action_policy::PolicyKernel::Fused,
        }
    }

    #[test]
    fn save_then_load_gives_identical_scores() {
        let dir = scratch_dir("round-trip");
        let policy = ActionPolicy::new(config(), &Device::Cpu).unwrap();
        // Move the weights away from their seeded initial values first.
        for (_, var) in policy.parameters().iter() {
            var.set(&var.affine(1.5, 0.01).unwrap()).unwrap();
        }
        let user = json!({"step": 12, "environment_sha256": "ab12"});
        policy.save(&dir, &user).unwrap();

        let (loaded, loaded_user) = ActionPolicy::load(&dir, &Device::Cpu).unwrap();
        assert_eq!(loaded_user, user);
        assert_eq!(loaded.config(), policy.config());
        let decision =
            policy.encode_decision("", "a red door", &[0.3], &["open", "wait", "go red"]);
        let decisions = [&decision, &decision];
        let original = policy.distributions(&decisions).unwrap().to_vecs().unwrap();
        let restored = loaded.distributions(&decisions).unwrap().to_vecs().unwrap();
        assert_eq!(original, restored);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tampered_weights_are_detected() {
        let dir = scratch_dir("tampered");
        let policy = ActionPolicy::new(config(), &Device::Cpu).unwrap();
        policy.save(&dir, &json!(null)).unwrap();
        let mut metadata = read_metadata(&dir).unwrap();
        metadata.parameters_sha256 = "0".repeat(64);
        write_json(&dir.join(METADATA_FILE), &metadata).unwrap();
        let error = ActionPolicy::load(&dir, &Device::Cpu).unwrap_err();
        assert!(matches!(error, LearnError::Checkpoint { .. }), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_kind_and_missing_files_are_errors() {
        let dir = scratch_dir("kind");
        let policy = ActionPolicy::new(config(), &Device::Cpu).unwrap();
        save(
            &dir,
            policy.parameters(),
            "other-model",
            json!({}),
            &json!(null),
        )
        .unwrap();
        assert!(matches!(
            ActionPolicy::load(&dir, &Device::Cpu),
            Err(LearnError::Checkpoint { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            ActionPolicy::load(&dir, &Device::Cpu),
            Err(LearnError::Io { .. })
        ));
    }

    #[test]
    fn loading_into_another_architecture_fails() {
        let dir = scratch_dir("architecture");
        let policy = ActionPolicy::new(config(), &Device::Cpu).unwrap();
        policy.save(&dir, &json!(null)).unwrap();
        let metadata = read_metadata(&dir).unwrap();
        let wider = ActionPolicy::new(
            ActionPolicyConfig {
                hidden_dim: 11,
                ..config()
            },
            &Device::Cpu,
        )
        .unwrap();
        assert!(load_weights(&dir, wider.parameters(), &metadata).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
