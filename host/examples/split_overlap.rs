//! How many held-out tasks repeat a training task, over every task of every
//! split (the conformance check samples; this scans): each task's first
//! observation (seed 0: task, text and actions) is compared with those of all
//! train tasks.
//!
//! `cargo run --release -p derl --example split_overlap -- ENV [KEY=VALUE...]`
//! (ENV a bundled name or a component path; settings as in `derl train --set`).

use derl::inner::EnvSpec;
use derl_env_api::Split;
use derl_sandbox::{Sandbox, SandboxConfig};
use std::collections::HashSet;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: split_overlap ENV [KEY=VALUE...]"))?;
    let mut spec = EnvSpec::named(&name);
    for setting in args {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("`{setting}` is not KEY=VALUE"))?;
        spec.settings.push((key.to_owned(), value.to_owned()));
    }
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let plugin = spec.load(&sandbox)?;
    let mut episode = plugin.instance(0)?;
    let mut first = |split: Split, task: u32| -> anyhow::Result<String> {
        let o = episode.reset(split, task, 0)?;
        Ok(format!("{}\n{}\n{}", o.task, o.text, o.actions.join("\n")))
    };
    let train_count = plugin.task_count(Split::Train);
    let train: HashSet<String> = (0..train_count)
        .map(|task| first(Split::Train, task))
        .collect::<anyhow::Result<_>>()?;
    println!(
        "{name}: {train_count} train tasks, {} distinct first observations",
        train.len()
    );
    for split in [Split::Validation, Split::Test, Split::Ood] {
        let count = plugin.task_count(split);
        let mut repeated = 0;
        for task in 0..count {
            repeated += usize::from(train.contains(&first(split, task)?));
        }
        println!(
            "{split}: {repeated} of {count} tasks ({:.1}%) start exactly as a train task",
            100.0 * repeated as f64 / f64::from(count.max(1))
        );
    }
    Ok(())
}
