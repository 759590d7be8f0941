//! `derl train` on environments that attack the host side
//! (`plugins/hostile/flood`): each run ends with a typed error instead of
//! hanging or swelling, its peak resident memory stays within 256 MiB of a
//! benign run's, and nothing it prints carries a raw control character.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one `derl train` run did (`peak_rss_bytes`: the largest of every
/// run so far, which is what getrusage reports for reaped children).
struct Run {
    success: bool,
    output: String,
    peak_rss_bytes: u64,
    wall: Duration,
}

fn train(mode: &str) -> Run {
    let out =
        std::env::temp_dir().join(format!("derl-hostile-train-{mode}-{}", std::process::id()));
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_derl"))
        .args(["train", "--env", derl_artifacts::HOSTILE_FLOOD, "--set"])
        .arg(format!("mode={mode}"))
        .args([
            "--reward",
            "g1",
            "--steps",
            "2",
            "--tasks",
            "2",
            "--group-size",
            "2",
        ])
        .args(["--eval-episodes", "2", "--threads", "1", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("derl runs");
    let output = child.wait_with_output().expect("derl finishes");
    // The child is reaped: the largest resident set of any reaped child so far.
    // SAFETY: an all-zero rusage is a valid value, and getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let _ = std::fs::remove_dir_all(&out);
    Run {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        wall: started.elapsed(),
    }
}

#[test]
fn hostile_environments_fail_fast_in_bounded_memory_without_raw_escapes() {
    // The benign run first: getrusage reports the largest child so far, so
    // every later figure is at least the benign one.
    let benign = train("benign");
    assert!(benign.success, "{}", benign.output);
    let baseline = benign.peak_rss_bytes;
    for (mode, says) in [
        ("huge-text", "observation task and text"),
        ("huge-feedback", "feedback"),
        ("many-actions", "admissible actions"),
        ("long-action", "action's text"),
        ("many-features", "numeric features"),
        ("max-features", "numeric features"),
        ("never-ends", "max-steps"),
        ("endless-limit", "max-steps"),
        ("escape-name", "not an identifier"),
        ("escape-text", ""),
        ("clock-spin", "ran out of fuel"),
        ("sleep-loop", "ran out of fuel"),
    ] {
        let run = train(mode);
        assert!(
            run.wall < Duration::from_secs(60),
            "{mode} took {:?}",
            run.wall
        );
        assert!(
            !run.output.contains('\u{1b}') && !run.output.contains('\u{7}'),
            "{mode} printed a raw control character: {:?}",
            run.output
        );
        if mode != "escape-text" {
            assert!(!run.success, "{mode} trained:\n{}", run.output);
            assert!(run.output.contains(says), "{mode}:\n{}", run.output);
        }
        assert!(
            run.peak_rss_bytes <= baseline + (256 << 20),
            "{mode}: peak resident memory {} MiB against the benign run's {} MiB",
            run.peak_rss_bytes >> 20,
            baseline >> 20
        );
    }
}
