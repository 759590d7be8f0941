//! `derl run` killed (SIGKILL) at 20 seeded random moments of a small run,
//! then continued with `derl run --resume`: every resumed run ends with the
//! same summary, metrics and trajectory, byte for byte, as the run that was
//! never interrupted.

mod common;

use common::{COMPARED, derl, read_result, run_to_end, scratch, small_config, write_config};
use derl_env_api::seeds::SplitMix64;
use std::time::Instant;

const KILLS: usize = 20;

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_same_results() {
    let root = scratch("derl-kill-resume");
    let config = write_config(&root, &small_config());
    let config = config.to_str().unwrap();

    let reference = root.join("reference");
    let started = Instant::now();
    run_to_end(&["run", config, "--out", reference.to_str().unwrap()]);
    let whole = started.elapsed();

    let mut rng = SplitMix64::new(0x6b69_6c6c);
    let mut interrupted = 0;
    for kill in 0..KILLS {
        let dir = root.join(format!("killed-{kill:02}"));
        let dir_arg = dir.to_str().unwrap();
        let at = whole.mul_f64(rng.next_unit());
        let mut child = derl(&["run", config, "--out", dir_arg])
            .spawn()
            .expect("derl runs");
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        if dir.join("config.toml").exists() {
            run_to_end(&["run", "--resume", dir_arg]);
        } else {
            // Killed before the run existed: the user starts it again.
            run_to_end(&["run", config, "--out", dir_arg]);
        }
        for file in COMPARED {
            assert!(
                read_result(&reference, file) == read_result(&dir, file),
                "{file} differs after a kill at {at:?} of {whole:?} ({})",
                dir.display()
            );
        }
    }
    assert!(
        interrupted > 0,
        "every kill came after the run had finished ({whole:?})"
    );
    let _ = std::fs::remove_dir_all(&root);
}
