//! The run directory: the names of its files, what `state.json` and
//! `manifest.json` hold, and reading a run back.

use super::env_info::EnvInfo;
use super::records::Summary;
use super::seeds::Seeds;
use crate::experiment::{ExperimentConfig, Method, RunDir, write_atomic};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The resolved configuration in a run directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Versions, hashes and seeds of a run.
pub const MANIFEST_FILE: &str = "manifest.json";
/// One row per inner loop.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// One row per method and outer iteration.
pub const TRAJECTORY_FILE: &str = "trajectory.jsonl";
/// Wall-clock seconds per stage and inner loop.
pub const TIMINGS_FILE: &str = "timings.jsonl";
/// Where the run stands (for resume).
pub const STATE_FILE: &str = "state.json";
/// The final per-method results.
pub const SUMMARY_FILE: &str = "summary.json";
/// The summary as a Markdown table.
pub const REPORT_FILE: &str = "report.md";
/// The Meta-Optimizer's cold-start statistics.
pub const PRETRAIN_FILE: &str = "pretrain.json";
/// Every method's saved state after an iteration.
pub(crate) const CHECKPOINTS_DIR: &str = "checkpoints";
/// Policies of the iteration under way.
pub(crate) const WORK_DIR: &str = "work";

/// Where a run stands (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunState {
    pub completed_iterations: u32,
    pub finished: bool,
    pub metrics_rows: usize,
    pub trajectory_rows: usize,
    pub timing_rows: usize,
    /// Checkpoint directory (relative to the run) after `completed_iterations`.
    pub checkpoint: Option<String>,
    /// The policy each handing-over method's next inner loops start from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handed_over: BTreeMap<Method, HandedPolicy>,
    /// DERL-pop's warm start, as runs before `handed_over` wrote it; read
    /// into `handed_over` on resume.
    #[serde(default, skip_serializing)]
    pub pop_policy: Option<HandedPolicy>,
}

impl RunState {
    /// Reads `state.json`, moving a pre-registry `pop_policy` into
    /// `handed_over`.
    pub(crate) fn read(run: &RunDir) -> anyhow::Result<Option<RunState>> {
        let path = run.path(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).context("cannot read the run state"),
        };
        let mut state: RunState = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged", path.display()))?;
        if let Some(policy) = state.pop_policy.take() {
            state.handed_over.insert(Method::DERL_POP, policy);
        }
        Ok(Some(state))
    }
}

/// The policy a method's next inner loops start from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandedPolicy {
    /// Which iteration's best inner loop trained it (`derl_pop/iteration-K`).
    pub id: String,
    /// Its directory, relative to the run.
    pub path: String,
}

/// The directory, inside a checkpoint, of the policy `method` hands over.
pub(crate) fn handed_policy_dir(method: Method) -> String {
    format!("{}-policy", method.name())
}

/// The run directory's `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// derl's version.
    pub derl_version: String,
    /// `git rev-parse HEAD` of the working directory when the run started.
    pub git_commit: Option<String>,
    /// sha256 of `config.toml`.
    pub config_sha256: String,
    /// The environment.
    pub environment: EnvInfo,
    /// sha256 of every compiled reward component, by normalized program.
    pub rewards: BTreeMap<String, String>,
    /// Every seed.
    pub seeds: Seeds,
    /// The executor of the last start or resume (`local, 2 workers`);
    /// results do not depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
}

/// The configuration of the run in `dir` and its text.
///
/// # Errors
/// A missing or invalid `config.toml`.
pub fn read_config(dir: &Path) -> anyhow::Result<(ExperimentConfig, String)> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a run directory (no {CONFIG_FILE})",
            dir.display()
        )
    })?;
    let origin = path.display().to_string();
    let config = ExperimentConfig::from_toml(&pinned_to_written_kernel(&text), &origin)?;
    Ok((config, text))
}

/// A run's `config.toml` names every key, so a `[policy.model]` table without `kernel`
/// was written before the key existed, when every policy ran on candle: it keeps candle
/// (a resumed run goes on as it started), where a user's own config without the key
/// gets today's default. Text that is not valid TOML is returned as it is, for the
/// parser to report.
fn pinned_to_written_kernel(text: &str) -> String {
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return text.to_owned();
    };
    let Some(model) = table
        .get_mut("policy")
        .and_then(|policy| policy.get_mut("model"))
        .and_then(|model| model.as_table_mut())
    else {
        return text.to_owned();
    };
    if model.contains_key("kernel") {
        return text.to_owned();
    }
    model.insert("kernel".into(), toml::Value::String("candle".into()));
    toml::to_string(&table).unwrap_or_else(|_| text.to_owned())
}

/// The summary of the finished run in `dir`.
///
/// # Errors
/// The run has not finished (no `summary.json`) or the file is damaged.
pub fn read_summary(dir: &Path) -> anyhow::Result<Summary> {
    let path = dir.join(SUMMARY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} holds no finished run (no {SUMMARY_FILE}); `derl run --resume {}` finishes it",
            dir.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
}

/// The manifest of `run`, if it has a readable one.
pub(crate) fn read_manifest(run: &RunDir) -> Option<Manifest> {
    let text = std::fs::read_to_string(run.path(MANIFEST_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `git rev-parse HEAD` in the current directory, if it works.
pub(crate) fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!commit.is_empty()).then_some(commit)
}

/// Moves a directory (renames, or copies across file systems).
pub(crate) fn move_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to)
}

/// Copies a directory tree, each file atomically.
pub(crate) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            let bytes = std::fs::read(entry.path())
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            write_atomic(&target, &bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use derl_learn::PolicyKernel;

    #[test]
    fn a_run_written_before_the_kernel_existed_resumes_on_candle() {
        let dir = std::env::temp_dir().join(format!("derl-layout-kernel-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let today = ExperimentConfig::demo().unwrap();
        assert_eq!(today.policy.model.kernel, PolicyKernel::Fused);
        let written = today.to_toml().unwrap();
        assert!(written.contains("kernel = \"fused\""), "{written}");
        // As written today: the kernel it names.
        std::fs::write(dir.join(CONFIG_FILE), &written).unwrap();
        let (config, text) = read_config(&dir).unwrap();
        assert_eq!(
            (config.policy.model.kernel, text),
            (PolicyKernel::Fused, written.clone())
        );
        // As written before the key existed: candle, the kernel it ran on; the text (and so
        // the manifest's hash of it) is the file's own.
        let old: String = written
            .lines()
            .filter(|line| !line.starts_with("kernel ="))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(dir.join(CONFIG_FILE), &old).unwrap();
        let (config, text) = read_config(&dir).unwrap();
        assert_eq!(
            (config.policy.model.kernel, &text),
            (PolicyKernel::Candle, &old)
        );
        assert_eq!(
            config.policy.model,
            derl_learn::ActionPolicyConfig {
                kernel: PolicyKernel::Candle,
                ..today.policy.model.clone()
            }
        );
        // A user's config that leaves the key out gets today's default.
        let user = ExperimentConfig::from_toml(
            "[env]\ncomponent = \"household\"\n\n[policy.model]\nhidden_dim = 64\n",
            "user.toml",
        )
        .unwrap();
        assert_eq!(user.policy.model.kernel, PolicyKernel::Fused);
        // Broken text is still the parser's to report, with its file.
        std::fs::write(dir.join(CONFIG_FILE), "[policy\n").unwrap();
        let error = read_config(&dir).unwrap_err().to_string();
        assert!(error.contains(CONFIG_FILE), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_state_written_before_the_registry_resumes_its_pop_policy() {
        let dir = std::env::temp_dir().join(format!("derl-layout-{}", std::process::id()));
        let run = RunDir::create(&dir).unwrap();
        let old = r#"{"completed_iterations":2,"finished":false,"metrics_rows":4,
            "trajectory_rows":2,"timing_rows":6,"checkpoint":"checkpoints/iteration-0001",
            "pop_policy":{"id":"derl_pop/iteration-1","path":"checkpoints/iteration-0001/derl_pop-policy"}}"#;
        run.write(STATE_FILE, old.as_bytes()).unwrap();
        let state = RunState::read(&run).unwrap().unwrap();
        let policy = &state.handed_over[&Method::DERL_POP];
        assert_eq!(policy.id, "derl_pop/iteration-1");
        assert_eq!(
            policy.path,
            format!(
                "checkpoints/iteration-0001/{}",
                handed_policy_dir(Method::DERL_POP)
            )
        );
        let written = serde_json::to_string(&state).unwrap();
        assert!(!written.contains("pop_policy"), "{written}");
        assert!(written.contains("handed_over"), "{written}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
