//! The report of one inner loop as a file: what `derl inner-loop --out
//! REPORT` writes for every outcome, and what the command and Ray executors
//! read back.
//!
//! ```json
//! {"schema": "derl.inner-loop.report/1",
//!  "outcome": {"finished": { ...InnerResult... }}
//!           | {"invalid": {"reason": "..."}}
//!           | {"failed": {"reason": "..."}},
//!  "wall_seconds": 12.5}
//! ```
//!
//! `derl inner-loop` exits 0 when the policy was trained and evaluated,
//! [`EXIT_INVALID`] when the reward was at fault (the outer loop scores the
//! program as invalid and never retries it), and [`EXIT_FAILED`] when the
//! experiment was (environment, file system, a bad job file: an executor
//! may retry it).

use super::{JobOutcome, JobReport};
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The schema tag of a report file.
pub const REPORT_SCHEMA: &str = "derl.inner-loop.report/1";
/// `derl inner-loop`'s exit code for an invalid reward.
pub const EXIT_INVALID: u8 = 3;
/// `derl inner-loop`'s exit code for an inner loop that failed for another
/// reason.
pub const EXIT_FAILED: u8 = 4;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportFile {
    schema: String,
    outcome: JobOutcome,
    wall_seconds: f64,
}

impl JobReport {
    /// The report as a report file's JSON, on one line.
    ///
    /// # Errors
    /// Never for reports the inner loop makes (every number is finite).
    pub fn to_file_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&ReportFile {
            schema: REPORT_SCHEMA.to_owned(),
            outcome: self.outcome.clone(),
            wall_seconds: self.wall_seconds,
        })?)
    }

    /// Reads a report file's JSON.
    ///
    /// # Errors
    /// Not JSON, another schema, or fields that do not match.
    pub fn from_file_json(text: &str) -> anyhow::Result<JobReport> {
        let file: ReportFile =
            serde_json::from_str(text.trim()).context("not an inner-loop report")?;
        anyhow::ensure!(
            file.schema == REPORT_SCHEMA,
            "the report's schema is `{}`, not `{REPORT_SCHEMA}`",
            file.schema
        );
        Ok(JobReport {
            outcome: file.outcome,
            wall_seconds: file.wall_seconds,
        })
    }

    /// `derl inner-loop`'s exit code for this report.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            JobOutcome::Finished(_) => 0,
            JobOutcome::Invalid { .. } => EXIT_INVALID,
            JobOutcome::Failed { .. } => EXIT_FAILED,
        }
    }

    /// A report of a failure that happened before or around the inner loop
    /// (a job file that does not parse, a command that crashed).
    pub fn failed(reason: impl Into<String>, wall_seconds: f64) -> JobReport {
        JobReport {
            outcome: JobOutcome::Failed {
                reason: reason.into(),
            },
            wall_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_round_trips_with_its_exit_code() {
        for (report, code) in [
            (
                JobReport {
                    outcome: JobOutcome::Invalid {
                        reason: "invalid program: g9".into(),
                    },
                    wall_seconds: 0.5,
                },
                EXIT_INVALID,
            ),
            (
                JobReport::failed("the environment trapped", 1.0),
                EXIT_FAILED,
            ),
        ] {
            let text = report.to_file_json().unwrap();
            assert!(
                text.starts_with(r#"{"schema":"derl.inner-loop.report/1""#),
                "{text}"
            );
            assert!(!text.contains('\n'));
            assert_eq!(JobReport::from_file_json(&text).unwrap(), report);
            assert_eq!(report.exit_code(), code);
        }
    }

    #[test]
    fn other_schemas_and_garbage_are_refused() {
        let text = JobReport::failed("x", 0.0)
            .to_file_json()
            .unwrap()
            .replace("report/1", "report/9");
        let error = JobReport::from_file_json(&text).unwrap_err().to_string();
        assert!(error.contains("report/9"), "{error}");
        assert!(JobReport::from_file_json("Traceback (most recent call last)").is_err());
    }
}
