//! The command executor: every inner loop a process that reads a job file
//! and writes a report. Through `derl inner-loop` itself it gives the local
//! executor's results byte for byte; a crashed command is retried, an
//! invalid reward is not, a command past its timeout is stopped; and
//! `derl inner-loop --out` reports every outcome with its exit code.

mod common;

use common::{COMPARED, derl, read, read_result, run_to_end, scratch, small_config, write_config};
use derl::experiment::ExecutorSection;
use derl::inner::{EnvSpec, InnerConfig, InnerJob, RewardSpec};
use derl::outer::executor::{CommandExecutor, EXIT_FAILED, EXIT_INVALID};
use derl::outer::{Executor, JobOutcome, JobReport};
use derl_env_api::Split;
use std::path::Path;

fn job(reward: &str) -> InnerJob {
    InnerJob {
        env: EnvSpec::named("corridor"),
        reward: RewardSpec::Program(reward.into()),
        inner: InnerConfig {
            updates: 1,
            tasks_per_update: 2,
            group_size: 2,
            eval_episodes: 2,
            eval_every: 0,
        },
        policy: Default::default(),
        seed: 5,
        warm_start: None,
        eval_splits: vec![Split::Validation],
        checkpoint: None,
    }
}

/// A shell script at `dir/name` running `body` (POSIX sh).
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).unwrap();
    path.to_string_lossy().into_owned()
}

fn executor(command: Vec<String>, retries: u32, timeout_s: Option<f64>) -> CommandExecutor {
    let section = ExecutorSection {
        kind: "command".into(),
        command: Some(command),
        retries,
        timeout_s,
        ..ExecutorSection::default()
    };
    CommandExecutor::new(&section, 2).unwrap()
}

fn derl_inner_loop(wrapper: Option<&str>) -> Vec<String> {
    let mut argv: Vec<String> = wrapper.into_iter().map(str::to_owned).collect();
    argv.extend(
        [
            env!("CARGO_BIN_EXE_derl"),
            "inner-loop",
            "--job",
            "{job}",
            "--out",
            "{report}",
        ]
        .map(str::to_owned),
    );
    argv
}

#[test]
fn a_run_through_derl_inner_loop_commands_equals_the_local_run() {
    let root = scratch("derl-command-run");
    let config = write_config(&root, &small_config());
    let config = config.to_str().unwrap();
    let local = root.join("local");
    let command = root.join("command");
    run_to_end(&["run", config, "--out", local.to_str().unwrap()]);
    run_to_end(&[
        "run",
        config,
        "--out",
        command.to_str().unwrap(),
        "--executor",
        "command",
        "--workers",
        "2",
    ]);
    for file in COMPARED {
        assert!(
            read_result(&local, file) == read_result(&command, file),
            "{file} differs"
        );
    }
    let manifest = String::from_utf8(read(&command, "manifest.json")).unwrap();
    assert!(manifest.contains("\"executor\": \"command `"), "{manifest}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_crashed_command_is_retried_and_an_invalid_reward_is_not() {
    let root = scratch("derl-command-retry");
    let calls = root.join("calls");
    // Crashes (no report) on its first call, then runs the derl command it wraps.
    let flaky = script(
        &root,
        "flaky.sh",
        &format!(
            "echo x >> {calls}\nif [ \"$(wc -l < {calls})\" -eq 1 ]; then echo 'node lost' >&2; exit 137; fi\nexec \"$@\"",
            calls = calls.display()
        ),
    );
    let retried = executor(derl_inner_loop(Some(&flaky)), 2, None);
    let reports = retried.run(&[job("g1")], &|_, _| {});
    assert!(
        matches!(reports[0].outcome, JobOutcome::Finished(_)),
        "{:?}",
        reports[0]
    );
    let direct = executor(derl_inner_loop(None), 0, None).run(&[job("g1")], &|_, _| {});
    assert_eq!(
        reports[0].outcome, direct[0].outcome,
        "a retry changes nothing"
    );
    let attempts = std::fs::read_to_string(&calls).unwrap().lines().count();
    assert_eq!(attempts, 2, "one crash, one retry");

    std::fs::remove_file(&calls).unwrap();
    let counting = script(
        &root,
        "counting.sh",
        &format!("echo x >> {}\nexec \"$@\"", calls.display()),
    );
    let reports = executor(derl_inner_loop(Some(&counting)), 2, None).run(&[job("g9")], &|_, _| {});
    assert!(
        matches!(&reports[0].outcome, JobOutcome::Invalid { reason } if reason.contains("g9")),
        "{:?}",
        reports[0]
    );
    let runs = std::fs::read_to_string(&calls).unwrap().lines().count();
    assert_eq!(runs, 1, "an invalid reward is run once");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_command_without_a_report_fails_with_its_stderr_and_a_slow_one_is_stopped() {
    let root = scratch("derl-command-broken");
    let broken = script(&root, "broken.sh", "echo 'CUDA out of memory' >&2\nexit 1");
    let command = vec![broken, "{job}".into(), "{report}".into()];
    let reports = executor(command, 1, None).run(&[job("g1")], &|_, _| {});
    match &reports[0].outcome {
        JobOutcome::Failed { reason } => {
            assert!(reason.contains("failed 2 times"), "{reason}");
            assert!(reason.contains("CUDA out of memory"), "{reason}");
            assert!(reason.contains("without writing a report"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let slow = script(&root, "slow.sh", "sleep 30");
    let started = std::time::Instant::now();
    let command = vec![slow, "{job}".into(), "{report}".into()];
    let reports = executor(command, 0, Some(0.5)).run(&[job("g1")], &|_, _| {});
    assert!(started.elapsed().as_secs() < 20);
    assert!(
        matches!(&reports[0].outcome, JobOutcome::Failed { reason } if reason.contains("timeout_s")),
        "{:?}",
        reports[0]
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn inner_loop_reports_every_outcome_with_its_exit_code() {
    let root = scratch("derl-inner-loop-report");
    let cases = [
        ("finished", serde_json::to_string(&job("g1")).unwrap(), 0),
        (
            "invalid",
            serde_json::to_string(&job("g9")).unwrap(),
            i32::from(EXIT_INVALID),
        ),
        (
            "failed",
            serde_json::to_string(&InnerJob {
                env: EnvSpec::named("no-such-env"),
                ..job("g1")
            })
            .unwrap(),
            i32::from(EXIT_FAILED),
        ),
        (
            "garbage",
            "{\"not\": \"a job\"}".into(),
            i32::from(EXIT_FAILED),
        ),
    ];
    for (name, text, code) in cases {
        let job_path = root.join(format!("{name}.json"));
        let report_path = root.join(format!("{name}-report.json"));
        std::fs::write(&job_path, text).unwrap();
        let output = derl(&[
            "inner-loop",
            "--job",
            job_path.to_str().unwrap(),
            "--out",
            report_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(code), "{name}: {output:?}");
        let report =
            JobReport::from_file_json(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
        assert_eq!(i32::from(report.exit_code()), code, "{name}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
