//! The landscape method end to end: the fixed panel and Meta-Optimizer
//! samples, every program trained on every search seed and evaluated on
//! every final split, and `report.md`'s landscape table with the headroom.

mod common;

use common::{run_to_end, scratch, small_config, write_config};
use derl::experiment::Method;
use derl::outer::{MetricRow, Phase};
use derl_env_api::Split;

#[test]
fn a_landscape_run_reports_every_program_with_intervals_and_the_headroom() {
    let root = scratch("derl-landscape");
    let mut config = small_config();
    config.experiment.methods = vec![Method::LANDSCAPE];
    config.experiment.workers = 2;
    config.outer.iterations = 2;
    config.outer.group_size = 4;
    config.outer.search_seeds = 2;
    config.final_eval.splits = vec![Split::Validation, Split::Ood];
    let path = write_config(&root, &config);
    let run = root.join("run");
    run_to_end(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);

    let metrics: Vec<MetricRow> = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let search: Vec<&MetricRow> = metrics
        .iter()
        .filter(|r| r.phase == Phase::Search)
        .collect();
    assert_eq!(search.len(), 2 * 4 * 2, "iterations x group x seeds");
    // corridor has two primitives: outcome, the sum, and the outcome plus and
    // minus half of the other come first.
    let programs: Vec<&str> = search.iter().map(|r| r.program.as_str()).collect();
    assert_eq!(
        &programs[..8],
        [
            "g1",
            "g1",
            "g1 + g2",
            "g1 + g2",
            "g1 + 0.5 * g2",
            "g1 + 0.5 * g2",
            "g1 - 0.5 * g2",
            "g1 - 0.5 * g2"
        ]
    );
    for row in &search {
        let splits: Vec<Split> = row
            .evaluation
            .as_ref()
            .unwrap()
            .splits
            .iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(splits, [Split::Validation, Split::Ood], "{}", row.program);
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Landscape"), "{report}");
    assert!(report.contains("8 programs x 2 seeds"), "{report}");
    assert!(
        report.contains("| program | validation | ood |"),
        "{report}"
    );
    assert!(report.contains("Headroom on validation"), "{report}");
    assert!(report.contains("Headroom on ood"), "{report}");
    let _ = std::fs::remove_dir_all(&root);
}
