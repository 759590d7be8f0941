//! Builds the guest components in `plugins/` for `wasm32-wasip2` with a nested
//! cargo invocation (own target directory, so it never waits on the outer
//! build's lock) and writes their paths into `$OUT_DIR/artifacts.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// (cargo package, constant name, bundled into the `derl` binary).
const GUESTS: &[(&str, &str, bool)] = &[
    ("corridor", "CORRIDOR", true),
    ("legacy-corridor", "LEGACY_CORRIDOR", false),
    ("household-plugin", "HOUSEHOLD", true),
    ("lab-plugin", "LAB", true),
    ("arith-plugin", "ARITH", true),
    ("reward-running-max-plugin", "REWARD_RUNNING_MAX", false),
    ("math-extractor", "MATH_EXTRACTOR", true),
    ("hostile-env", "HOSTILE_ENV", false),
    ("hostile-flood", "HOSTILE_FLOOD", false),
    ("hostile-reward", "HOSTILE_REWARD", false),
    ("hostile-text", "HOSTILE_TEXT", false),
    ("hostile-wrong-interface", "HOSTILE_WRONG_INTERFACE", false),
    ("hostile-foreign-import", "HOSTILE_FOREIGN_IMPORT", false),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", root.join("plugins").display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    ensure_target_installed();

    let target_dir = root.join("target").join("guests");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target")
        .arg(TARGET)
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        command.arg("--package").arg(package);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .expect("derl-artifacts: could not run cargo to build the guest components");
    if !status.success() {
        panic!(
            "derl-artifacts: building the guest components for {TARGET} failed (see the errors above)"
        );
    }

    let out_dir = target_dir.join(TARGET).join(PROFILE);
    let mut generated = String::new();
    for (package, constant, bundled) in GUESTS {
        let path = out_dir.join(format!("{}.wasm", package.replace('-', "_")));
        assert!(
            path.exists(),
            "derl-artifacts: cargo did not produce {}",
            path.display()
        );
        let path = path.display().to_string();
        generated.push_str(&format!(
            "/// Path of the `{package}` component.\npub const {constant}: &str = {path:?};\n"
        ));
        if *bundled {
            generated.push_str(&format!(
                "/// Bytes of the `{package}` component, embedded in the binary.\npub const {constant}_BYTES: &[u8] = include_bytes!({path:?});\n"
            ));
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("artifacts.rs");
    fs::write(out, generated).unwrap();
}

/// Installs the wasm target with rustup when it is missing, or stops with the
/// one command that installs it.
fn ensure_target_installed() {
    if target_installed() {
        return;
    }
    let installed = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !installed || !target_installed() {
        panic!("the {TARGET} target is missing: run `rustup target add {TARGET}`");
    }
}

fn target_installed() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(output) = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
    else {
        return false;
    };
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    output.status.success() && Path::new(&libdir).join("lib.rmeta").exists()
        || Path::new(&libdir)
            .read_dir()
            .map(|mut entries| {
                entries
                    .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd")))
            })
            .unwrap_or(false)
}
