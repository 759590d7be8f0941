//! The Ray executor: every inner loop a job on a Ray cluster, through the
//! Jobs REST API of the cluster's dashboard (HTTP; no Python in the host).
//!
//! A job's entrypoint is `DERL inner-loop --job -` with the job file on its
//! standard input (`executor.derl` names the binary on the workers); its
//! report, printed on standard output, comes back through the job's logs.
//! Component files the job names by path travel in a zip package,
//! content-addressed and uploaded once (`gcs://_derl_<sha256>.zip`), which
//! Ray unpacks as the job's working directory; bundled components need
//! nothing. Status is polled with backoff; a job that ends without a report
//! (a lost node, a crash, a timeout) is retried up to `executor.retries`
//! times, an invalid reward never. Ctrl-C stops the cluster's jobs of this
//! run. DERL-pop's warm-start and checkpoint directories are passed as
//! absolute paths: the run directory must be on storage that the workers
//! see at the same path.

use super::command::with_retries;
use super::report_file::REPORT_SCHEMA;
use super::{Executor, JobReport};
use crate::experiment::ExecutorSection;
use crate::inner::{EnvSpec, InnerJob, RewardSpec};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where a job's packaged components go inside its working directory.
const COMPONENTS_DIR: &str = "components";
/// The longest wait between two status polls.
const MAX_POLL: Duration = Duration::from_secs(2);

/// Runs every inner loop as a Ray job (see the module documentation).
pub struct RayExecutor {
    address: String,
    agent: ureq::Agent,
    derl: String,
    num_cpus: f64,
    num_gpus: f64,
    retries: u32,
    timeout: Option<Duration>,
    workers: usize,
    run_tag: String,
    next_job: AtomicUsize,
}

impl RayExecutor {
    /// An executor submitting to the dashboard at `section.address`, with
    /// `workers` jobs in flight at once (0: one per local core).
    ///
    /// # Errors
    /// No address, or a dashboard that does not answer (the message names
    /// the address).
    pub fn new(section: &ExecutorSection, workers: usize) -> anyhow::Result<RayExecutor> {
        let Some(address) = &section.address else {
            bail!(
                "`executor.address` is required for kind = \"ray\" (the Ray dashboard, e.g. http://127.0.0.1:8265)"
            );
        };
        let address = address.trim_end_matches('/').to_owned();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent("derl")
            .build()
            .into();
        let executor = RayExecutor {
            agent,
            derl: section.derl.clone(),
            num_cpus: section.num_cpus,
            num_gpus: section.num_gpus,
            retries: section.retries,
            timeout: section.timeout_s.map(Duration::from_secs_f64),
            workers: if workers == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                workers
            },
            run_tag: format!(
                "derl-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            ),
            next_job: AtomicUsize::new(0),
            address,
        };
        let version = executor
            .request("GET", "/api/version", None)
            .with_context(|| format!("cannot reach the Ray dashboard at {}", executor.address))?;
        tracing::info!("Ray {} at {}", version["ray_version"], executor.address);
        Ok(executor)
    }

    /// One HTTP call; a JSON answer (`Null` for an empty one) or an error
    /// with the status and the body.
    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.address);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            ("POST", Some(body)) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body),
            ("POST", None) => self.agent.post(&url).send_empty(),
            ("PUT", body) => self.agent.put(&url).send(body.unwrap_or_default()),
            _ => bail!("unsupported method {method}"),
        };
        let mut response = response.with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{method} {url}: reading the answer"))?;
        if !(200..300).contains(&status) {
            bail!(
                "{method} {url} answered {status}: {}",
                derl_sandbox::printable::printable(text.trim(), 400)
            );
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {url}: not JSON"))
    }

    /// The package of the components `job` names by path, uploaded if the
    /// cluster lacks it, and the job rewritten to read them from the
    /// working directory; the job as it is when it names none.
    fn package(&self, job: &InnerJob) -> anyhow::Result<(InnerJob, Option<String>)> {
        let mut job = job.clone();
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut place = |bytes: Vec<u8>| -> String {
            let name = format!(
                "{COMPONENTS_DIR}/{}.wasm",
                derl_sandbox::Digest::of(&bytes).to_hex()
            );
            files.insert(name.clone(), bytes);
            name
        };
        if crate::bundled::environment(&job.env.component).is_none() {
            let bytes = job.env.bytes()?;
            job.env = EnvSpec {
                component: place(bytes),
                ..job.env
            };
        }
        if let RewardSpec::Component { path, .. } = &mut job.reward {
            let bytes = std::fs::read(&*path)
                .with_context(|| format!("cannot read the reward component {}", path.display()))?;
            *path = PathBuf::from(place(bytes));
        }
        for dir in [&mut job.warm_start, &mut job.checkpoint]
            .into_iter()
            .flatten()
        {
            *dir = std::path::absolute(&*dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
        }
        if files.is_empty() {
            return Ok((job, None));
        }
        let zip = stored_zip(&files)?;
        let uri = format!(
            "gcs://_derl_{}.zip",
            derl_sandbox::Digest::of(&zip).to_hex()
        );
        let path = format!("/api/packages/{}", uri.replacen("://", "/", 1));
        // Asking also holds the package on the cluster while the job starts;
        // it is uploaded only when the cluster lacks it (once per run).
        if self.request("GET", &path, None).is_err() {
            self.request("PUT", &path, Some(&zip))
                .context("uploading the job's components")?;
            tracing::info!("uploaded {uri}");
        }
        Ok((job, Some(uri)))
    }

    /// One attempt at `job` as a Ray job.
    fn attempt(&self, job: &InnerJob, cancelled: &AtomicBool) -> JobReport {
        let started = Instant::now();
        let failed = |reason: String| JobReport::failed(reason, started.elapsed().as_secs_f64());
        let (job, package) = match self.package(job) {
            Ok(packaged) => packaged,
            Err(error) => return failed(format!("{error:#}")),
        };
        let job_json = match serde_json::to_string(&job) {
            Ok(text) => text,
            Err(error) => return failed(error.to_string()),
        };
        let id = format!(
            "{}-{}",
            self.run_tag,
            self.next_job.fetch_add(1, Ordering::Relaxed)
        );
        let mut body = json!({
            "entrypoint": format!(
                "printf '%s' {} | {} inner-loop --job -",
                shell_quote(&job_json),
                shell_quote(&self.derl)
            ),
            "submission_id": id,
            "entrypoint_num_cpus": self.num_cpus,
            "metadata": {"derl": "inner-loop"},
        });
        if self.num_gpus > 0.0 {
            body["entrypoint_num_gpus"] = json!(self.num_gpus);
        }
        if let Some(uri) = package {
            body["runtime_env"] = json!({ "working_dir": uri });
        }
        if let Err(error) = self.request("POST", "/api/jobs/", Some(body.to_string().as_bytes())) {
            return failed(format!("submitting the job: {error:#}"));
        }
        let report = self.wait(&id, started, cancelled);
        let _ = self.request("DELETE", &format!("/api/jobs/{id}"), None);
        report
    }

    /// Polls job `id` until it ends, then reads its report from its logs.
    fn wait(&self, id: &str, started: Instant, cancelled: &AtomicBool) -> JobReport {
        let failed = |reason: String| JobReport::failed(reason, started.elapsed().as_secs_f64());
        let mut pause = Duration::from_millis(100);
        let info = loop {
            if cancelled.load(Ordering::Relaxed) || interrupted() {
                let _ = self.request("POST", &format!("/api/jobs/{id}/stop"), None);
                cancelled.store(true, Ordering::Relaxed);
                return failed(format!("Ray job {id} stopped by Ctrl-C"));
            }
            if let Some(limit) = self.timeout
                && started.elapsed() > limit
            {
                let _ = self.request("POST", &format!("/api/jobs/{id}/stop"), None);
                return failed(format!(
                    "Ray job {id} ran past executor.timeout_s ({} s) and was stopped",
                    limit.as_secs_f64()
                ));
            }
            match self.request("GET", &format!("/api/jobs/{id}"), None) {
                Ok(info)
                    if matches!(
                        info["status"].as_str(),
                        Some("SUCCEEDED" | "FAILED" | "STOPPED")
                    ) =>
                {
                    break info;
                }
                Ok(_) => {}
                Err(error) => return failed(format!("polling Ray job {id}: {error:#}")),
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(MAX_POLL);
        };
        let logs = self
            .request("GET", &format!("/api/jobs/{id}/logs"), None)
            .ok()
            .and_then(|logs| logs["logs"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match report_in_logs(&logs) {
            Some(report) => report,
            None => failed(format!(
                "Ray job {id} ended {} ({}) without a report: {}",
                info["status"].as_str().unwrap_or("?"),
                info["error_type"].as_str().unwrap_or("no error type"),
                derl_sandbox::printable::printable(
                    info["message"].as_str().unwrap_or("no message").trim(),
                    1000
                )
            )),
        }
    }
}

impl Executor for RayExecutor {
    fn parallelism(&self) -> usize {
        self.workers
    }

    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport> {
        let _guard = CtrlC::watch();
        let cancelled = AtomicBool::new(false);
        super::run_pool(jobs, self.workers, on_done, |job| {
            if cancelled.load(Ordering::Relaxed) {
                return JobReport::failed("not submitted: the run was stopped by Ctrl-C", 0.0);
            }
            with_retries(self.retries, || {
                if cancelled.load(Ordering::Relaxed) {
                    return JobReport::failed("stopped by Ctrl-C", 0.0);
                }
                self.attempt(job, &cancelled)
            })
        })
    }

    fn describe(&self) -> String {
        format!("ray at {}, {} jobs in flight", self.address, self.workers)
    }
}

/// The last report line in a job's logs.
fn report_in_logs(logs: &str) -> Option<JobReport> {
    let prefix = format!("{{\"schema\":\"{REPORT_SCHEMA}\"");
    logs.lines()
        .rev()
        .find(|line| line.trim_start().starts_with(&prefix))
        .and_then(|line| JobReport::from_file_json(line).ok())
}

/// `text` as one POSIX shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A zip of `files` (name to bytes), stored uncompressed, with fixed
/// timestamps: the same files give the same bytes.
fn stored_zip(files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// While alive, Ctrl-C (SIGINT) stops this run's Ray jobs instead of
/// killing derl at once; the previous handler comes back on drop.
struct CtrlC {
    previous: libc::sighandler_t,
}

impl CtrlC {
    fn watch() -> CtrlC {
        INTERRUPTED.store(false, Ordering::Relaxed);
        let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        let previous = unsafe { libc::signal(libc::SIGINT, handler) };
        CtrlC { previous }
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        // SAFETY: restores the handler `watch` replaced.
        unsafe { libc::signal(libc::SIGINT, self.previous) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_last_report_line_of_the_logs_is_read() {
        let report = JobReport::failed("first", 1.0).to_file_json().unwrap();
        let last = JobReport::failed("second", 2.0).to_file_json().unwrap();
        let logs = format!("Runtime env is setting up.\n{report}\nwarning: x\n{last}\n");
        assert_eq!(
            report_in_logs(&logs),
            Some(JobReport::failed("second", 2.0))
        );
        assert_eq!(report_in_logs("Traceback\nKilled\n"), None);
    }

    #[test]
    fn packages_are_the_same_bytes_for_the_same_files() {
        let files = BTreeMap::from([("components/a.wasm".to_owned(), vec![1, 2, 3])]);
        assert_eq!(stored_zip(&files).unwrap(), stored_zip(&files).unwrap());
    }

    #[test]
    fn an_address_is_required_and_an_unreachable_one_is_named() {
        let section = ExecutorSection {
            kind: "ray".into(),
            ..ExecutorSection::default()
        };
        let Err(error) = RayExecutor::new(&section, 1) else {
            panic!("no address");
        };
        assert!(error.to_string().contains("executor.address"), "{error}");
        let unreachable = ExecutorSection {
            address: Some("http://127.0.0.1:9".into()),
            ..section
        };
        let Err(error) = RayExecutor::new(&unreachable, 1) else {
            panic!("nothing listens on port 9");
        };
        assert!(
            format!("{error:#}").contains("http://127.0.0.1:9"),
            "{error:#}"
        );
    }
}
