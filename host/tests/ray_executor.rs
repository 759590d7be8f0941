//! The Ray executor against a real local Ray head (on loopback): a small
//! experiment through Ray gives the local run's results byte for byte (also
//! when Ctrl-C stops it midway and it is resumed: the cluster's jobs stop), an
//! inner loop killed mid-job is retried without changing its result, an
//! invalid reward is run once, a component given by path travels in a
//! package, and an unreachable dashboard is one error that names it.
//!
//! Ray comes from `scripts/setup-ray.sh` (`.venv-ray`), `DERL_RAY` or PATH.
//! Without it the test says how to install it and passes, except under
//! `CI=true`, where it fails.

mod common;

use common::{COMPARED, read, read_result, run_to_end, scratch, small_config, write_config};
use derl::experiment::ExecutorSection;
use derl::inner::{EnvSpec, InnerConfig, InnerJob, RewardSpec};
use derl::outer::executor::RayExecutor;
use derl::outer::{Executor, JobOutcome};
use derl_env_api::Split;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Ray head started for the test, stopped on drop.
struct RayHead {
    ray: PathBuf,
    address: String,
}

impl RayHead {
    fn start(temp: &Path) -> Option<RayHead> {
        let Some(ray) = find_ray() else {
            let how = "Ray is not installed: `bash scripts/setup-ray.sh` (or DERL_RAY=/path/to/ray) runs the Ray executor's tests";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{how}");
            eprintln!("skipped: {how}");
            return None;
        };
        let port = free_port();
        let output = Command::new(&ray)
            .args(["start", "--head", "--port=0", "--dashboard-host=127.0.0.1"])
            .arg(format!("--dashboard-port={port}"))
            .args([
                "--dashboard-agent-listen-port=0",
                "--num-cpus=2",
                "--num-gpus=0",
                "--include-dashboard=true",
                "--disable-usage-stats",
            ])
            .arg(format!("--temp-dir={}", temp.display()))
            .env("RAY_USAGE_STATS_ENABLED", "0")
            .output()
            .expect("ray runs");
        assert!(
            output.status.success(),
            "ray start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(RayHead {
            ray,
            address: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for RayHead {
    fn drop(&mut self) {
        let _ = Command::new(&self.ray).args(["stop", "--force"]).output();
    }
}

fn find_ray() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DERL_RAY") {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-ray/bin/ray");
    if venv.is_file() {
        return Some(venv);
    }
    let on_path = Command::new("ray").arg("--version").output();
    on_path
        .is_ok_and(|o| o.status.success())
        .then(|| PathBuf::from("ray"))
}

/// Derl's jobs on the cluster that are pending or running.
fn live_jobs(address: &str) -> usize {
    let Ok(mut response) = ureq::get(&format!("{address}/api/jobs/")).call() else {
        return 0;
    };
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    jobs.iter()
        .filter(|job| job["metadata"]["derl"] == "inner-loop")
        .filter(|job| matches!(job["status"].as_str(), Some("PENDING" | "RUNNING")))
        .count()
}

/// Waits up to a minute for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed().as_secs() < 60,
            "waited a minute for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn job(reward: &str, updates: u32) -> InnerJob {
    InnerJob {
        env: EnvSpec::named("corridor"),
        reward: RewardSpec::Program(reward.into()),
        inner: InnerConfig {
            updates,
            tasks_per_update: 4,
            group_size: 4,
            eval_episodes: 8,
            eval_every: 0,
        },
        policy: Default::default(),
        seed: 5,
        warm_start: None,
        eval_splits: vec![Split::Validation],
        checkpoint: None,
    }
}

/// A wrapper around the derl binary that counts its calls in `calls` and,
/// when `kill_first`, kills the first call's inner loop mid-job.
fn wrapper(dir: &Path, calls: &Path, kill_first: bool) -> String {
    let derl = env!("CARGO_BIN_EXE_derl");
    let kill = if kill_first {
        format!(
            "if [ \"$(wc -l < {calls})\" -eq 1 ]; then {derl} \"$@\" <&0 & pid=$!; sleep 0.3; kill -9 $pid; exit 137; fi\n",
            calls = calls.display()
        )
    } else {
        String::new()
    };
    let path = dir.join(if kill_first {
        "killing.sh"
    } else {
        "counting.sh"
    });
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho x >> {}\n{kill}exec {derl} \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).unwrap();
    path.to_string_lossy().into_owned()
}

fn section(address: &str, derl: &str) -> ExecutorSection {
    ExecutorSection {
        kind: "ray".into(),
        address: Some(address.to_owned()),
        derl: derl.to_owned(),
        ..ExecutorSection::default()
    }
}

#[test]
fn inner_loops_on_a_local_ray_head() {
    let root = scratch("derl-ray");
    let temp = std::env::temp_dir().join(format!("derl-ray-{}", std::process::id()));
    let Some(head) = RayHead::start(&temp) else {
        return;
    };

    // A small experiment through Ray equals the local run.
    let local = root.join("local");
    let config = write_config(&root, &small_config());
    run_to_end(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        local.to_str().unwrap(),
    ]);
    let mut through_ray = small_config();
    through_ray.executor = section(&head.address, env!("CARGO_BIN_EXE_derl"));
    let ray_dir = root.join("ray");
    std::fs::create_dir_all(&ray_dir).unwrap();
    let ray_config = write_config(&ray_dir, &through_ray);
    let run = ray_dir.join("run");
    run_to_end(&[
        "run",
        ray_config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--workers",
        "2",
    ]);
    for file in COMPARED {
        assert!(
            read_result(&local, file) == read_result(&run, file),
            "{file} differs"
        );
    }

    // Ctrl-C stops the run's jobs on the cluster, and the run resumes to the
    // same results.
    let interrupted = ray_dir.join("interrupted");
    let child = common::derl(&[
        "run",
        ray_config.to_str().unwrap(),
        "--out",
        interrupted.to_str().unwrap(),
        "--workers",
        "2",
    ])
    .spawn()
    .unwrap();
    wait_for("a derl job running on the cluster", || {
        live_jobs(&head.address) > 0
    });
    // SAFETY: sends SIGINT to the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "Ctrl-C stops the run");
    assert!(message.contains("stopped by Ctrl-C"), "{message}");
    wait_for("no derl job left running", || live_jobs(&head.address) == 0);
    run_to_end(&["run", "--resume", interrupted.to_str().unwrap()]);
    for file in COMPARED {
        assert!(
            read(&local, file) == read(&interrupted, file),
            "{file} differs after Ctrl-C"
        );
    }

    // An inner loop killed mid-job is retried, and its result does not change.
    let calls = root.join("calls");
    let direct = RayExecutor::new(&section(&head.address, env!("CARGO_BIN_EXE_derl")), 1)
        .unwrap()
        .run(&[job("g1", 6)], &|_, _| {});
    let killing = RayExecutor::new(&section(&head.address, &wrapper(&root, &calls, true)), 1)
        .unwrap()
        .run(&[job("g1", 6)], &|_, _| {});
    assert!(
        matches!(direct[0].outcome, JobOutcome::Finished(_)),
        "{:?}",
        direct[0]
    );
    assert_eq!(killing[0].outcome, direct[0].outcome);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 2);

    // An invalid reward is scored without a retry.
    std::fs::remove_file(&calls).unwrap();
    let invalid = RayExecutor::new(&section(&head.address, &wrapper(&root, &calls, false)), 1)
        .unwrap()
        .run(&[job("g9", 1)], &|_, _| {});
    assert!(
        matches!(&invalid[0].outcome, JobOutcome::Invalid { reason } if reason.contains("g9")),
        "{:?}",
        invalid[0]
    );
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);

    // A component given by path travels in a package (uploaded once for both
    // jobs) and trains as it does locally.
    let by_path = InnerJob {
        env: EnvSpec::named(derl_artifacts::CORRIDOR),
        ..job("g1", 2)
    };
    let sandbox = derl_sandbox::Sandbox::new(derl_sandbox::SandboxConfig::default()).unwrap();
    let here = derl::outer::run_one(&sandbox, &by_path);
    assert!(matches!(here.outcome, JobOutcome::Finished(_)), "{here:?}");
    let remote = RayExecutor::new(&section(&head.address, env!("CARGO_BIN_EXE_derl")), 2)
        .unwrap()
        .run(&[by_path.clone(), by_path], &|_, _| {});
    assert_eq!(remote[0].outcome, here.outcome);
    assert_eq!(remote[1].outcome, here.outcome);

    // An unreachable dashboard is one error naming it, before anything runs.
    let mut unreachable = small_config();
    unreachable.executor = section("http://127.0.0.1:9", "derl");
    let bad = root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let bad_config = write_config(&bad, &unreachable);
    let output = common::derl(&[
        "run",
        bad_config.to_str().unwrap(),
        "--out",
        bad.join("run").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(message.contains("http://127.0.0.1:9"), "{message}");
    assert!(!bad.join("run/config.toml").exists());

    drop(head);
    let _ = std::fs::remove_dir_all(&temp);
    let _ = std::fs::remove_dir_all(&root);
}
