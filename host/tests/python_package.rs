//! The `derl` Python package (python/): reinstalls it from the code as it is
//! with the README's command (`pip install ./python`, a release build that
//! cargo finishes at once when nothing changed since
//! `scripts/setup-python-package.sh` built it) into `.venv-derl`, then runs
//! its pytest suite there: `derl.MetaReward`, `derl.PythonReward` (hostile
//! code included) and `derl.make` against the real components.
//!
//! The venv comes from `scripts/setup-python-package.sh`, which installs the
//! package once with the README's command (`pip install ./python`). Without
//! it the test says how to make it and passes, except under `CI=true`, where
//! it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Cargo's variables for this test binary, which must not leak into the
/// nested build that pip's maturin starts.
const CARGO_VARIABLES: [&str; 6] = [
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTC_WORKSPACE_WRAPPER",
];

/// `PATH` with the venv's `bin` first: without build isolation, the build
/// backend runs the venv's `maturin` by name.
fn with_venv_first(venv: &Path) -> std::ffi::OsString {
    let mut paths = vec![venv.join("bin")];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("PATH entries without separators")
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let root = repository();
    let venv = root.join(".venv-derl");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        let how = "the Python package's venv is missing: `bash scripts/setup-python-package.sh` makes it (then its pytest suite runs here)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{how}");
        eprintln!("skipped: {how}");
        return;
    }
    let mut install = Command::new(&python);
    install
        .current_dir(&root)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([
            "--no-deps",
            "--no-build-isolation",
            "--force-reinstall",
            "./python",
        ])
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", with_venv_first(&venv));
    for variable in CARGO_VARIABLES {
        install.env_remove(variable);
    }
    let built = install.output().expect("running pip");
    assert!(
        built.status.success(),
        "pip install ./python failed:\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let tested = Command::new(&python)
        .current_dir(&root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .output()
        .expect("running pytest");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(tested.status.success(), "pytest failed:\n{report}");
    println!("{report}");
}
