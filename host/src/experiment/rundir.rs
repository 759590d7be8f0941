//! The run directory: every file written atomically (temporary file, fsync,
//! rename), so a killed run never leaves a half-written file behind.

use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A run directory and the files it holds.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates `root` (and parents) if needed.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn create(root: impl Into<PathBuf>) -> anyhow::Result<RunDir> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create run directory {}", root.display()))?;
        Ok(RunDir { root })
    }

    /// Opens an existing run directory.
    ///
    /// # Errors
    /// When `root` is not a directory.
    pub fn open(root: impl Into<PathBuf>) -> anyhow::Result<RunDir> {
        let root = root.into();
        anyhow::ensure!(root.is_dir(), "{} is not a run directory", root.display());
        Ok(RunDir { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `name` inside the run directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes `bytes` to `name` atomically.
    ///
    /// # Errors
    /// On any I/O failure (the previous content, if any, stays intact).
    pub fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        write_atomic(&self.path(name), bytes)
    }

    /// Writes `value` as pretty JSON to `name` atomically.
    ///
    /// # Errors
    /// On serialization or I/O failure.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.write(name, text.as_bytes())
    }

    /// Writes one JSON object per line to `name` atomically.
    ///
    /// # Errors
    /// On serialization or I/O failure.
    pub fn write_jsonl<T: Serialize>(&self, name: &str, rows: &[T]) -> anyhow::Result<()> {
        let mut text = String::new();
        for row in rows {
            text.push_str(&serde_json::to_string(row)?);
            text.push('\n');
        }
        self.write(name, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// fsynced and renamed over the target.
///
/// # Errors
/// On any I/O failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_files_whole_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("derl-rundir-{}", std::process::id()));
        let run = RunDir::create(&dir).unwrap();
        run.write("a.txt", b"first").unwrap();
        run.write("a.txt", b"second").unwrap();
        assert_eq!(std::fs::read(run.path("a.txt")).unwrap(), b"second");
        run.write_jsonl("m.jsonl", &[1, 2]).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.path("m.jsonl")).unwrap(),
            "1\n2\n"
        );
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
