//! `derl plugin ...` and `derl play`: inspect, check and play components.

use super::env_arg::{environment_bytes, load_environment};
use crate::conformance::{CheckConfig, check_environment};
use crate::plugin::inspect;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use derl_env_api::Split;
use std::io::{BufRead, Write};

/// Plugin commands.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Show which world a component implements, its sha256, its imports and
    /// what it declares (environment info, a reward program's description, or
    /// a text-primitives extractor's primitives).
    Inspect {
        /// A component file (.wasm) or the name of a bundled environment or
        /// extractor (`math`).
        component: String,
    },
    /// Run the conformance checks on an environment component: determinism,
    /// admissible actions, primitive ranges, max-steps, the expert, random
    /// rollouts and bad calls. Exits non-zero when a check fails.
    Check {
        /// An environment component file (.wasm) or a bundled name.
        component: String,
        /// Environment settings, `key=value` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// Tasks sampled per split for the expert and determinism checks.
        #[arg(long, default_value_t = 25)]
        tasks: u32,
        /// Random-policy episodes per split.
        #[arg(long, default_value_t = 50)]
        random_episodes: u32,
        /// Seed of the sampling.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// Arguments of `derl play`.
#[derive(Args, Debug)]
pub struct PlayArgs {
    /// An environment component file (.wasm) or a bundled name.
    component: String,
    /// The split to draw the task from.
    #[arg(long, default_value = "train")]
    split: String,
    /// The task index.
    #[arg(long, default_value_t = 0)]
    task: u32,
    /// The episode seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Environment settings, `key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// A trained policy (a checkpoint directory, e.g. `runs/train-household-0/policy`):
    /// shows its probability for every action; an empty line takes its most probable one.
    #[arg(long, value_name = "DIR")]
    policy: Option<std::path::PathBuf>,
    /// With `--policy`: play the policy's most probable action at every step, no input.
    #[arg(long, requires = "policy")]
    auto: bool,
}

pub(crate) fn run(command: PluginCommand) -> anyhow::Result<()> {
    let sandbox = super::sandbox()?;
    match command {
        PluginCommand::Inspect { component } => {
            let bytes = match crate::bundled::extractor(&component) {
                Some(bundled) => bundled.bytes.to_vec(),
                None => environment_bytes(&component)?,
            };
            let inspection =
                inspect(&sandbox, &bytes).with_context(|| format!("inspecting `{component}`"))?;
            print!("{}", inspection.render());
            Ok(())
        }
        PluginCommand::Check {
            component,
            settings,
            tasks,
            random_episodes,
            seed,
        } => {
            let plugin = load_environment(&sandbox, &component, &settings)?;
            let config = CheckConfig {
                tasks_per_split: tasks,
                random_episodes,
                seed,
            };
            let report = check_environment(&plugin, &config);
            print!("{}", report.render());
            if !report.passed() {
                bail!("`{component}` failed the conformance checks");
            }
            Ok(())
        }
    }
}

/// Parses a split name, listing the valid ones on error.
pub(crate) fn parse_split(name: &str) -> anyhow::Result<Split> {
    Split::from_name(name)
        .with_context(|| format!("unknown split `{name}`: use train, validation, test or ood"))
}

pub(crate) fn play(args: PlayArgs) -> anyhow::Result<()> {
    let sandbox = super::sandbox()?;
    let plugin = load_environment(&sandbox, &args.component, &args.settings)?;
    let split = parse_split(&args.split)?;
    let mut episode = plugin.instance(args.seed)?;
    let mut observation = episode.reset(split, args.task, args.seed)?;
    let names: Vec<String> = plugin
        .info()
        .primitives
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let policy = match &args.policy {
        Some(dir) => Some(
            derl_learn::ActionPolicy::load(dir, &candle_core::Device::Cpu)
                .with_context(|| format!("loading the policy in {}", dir.display()))?
                .0,
        ),
        None => None,
    };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = std::io::stdout();
    for step in 0.. {
        let shown = |text: &str| {
            derl_sandbox::printable::printable(text, derl_sandbox::printable::SHOWN_BYTES)
                .into_owned()
        };
        writeln!(
            out,
            "\n{}\n{}\n",
            shown(&observation.task),
            shown(&observation.text)
        )?;
        let probabilities = match &policy {
            Some(policy) => Some(action_probabilities(policy, &observation)?),
            None => None,
        };
        for (i, action) in observation.actions.iter().enumerate() {
            match &probabilities {
                Some(p) => writeln!(out, "  [{i}] {:>5.1}%  {}", 100.0 * p[i], shown(action))?,
                None => writeln!(out, "  [{i}] {}", shown(action))?,
            }
        }
        let most_probable = probabilities.as_deref().map(|p| {
            p.iter()
                .enumerate()
                .fold(0, |best, (i, &v)| if v > p[best] { i } else { best })
        });
        let line = if args.auto {
            let chosen = most_probable.unwrap_or(0);
            writeln!(out, "step {step}> policy: [{chosen}]")?;
            chosen.to_string()
        } else {
            let prompt = if most_probable.is_some() {
                "action number or text, empty for the policy's choice (q to quit)"
            } else {
                "action number or text (q to quit)"
            };
            write!(out, "step {step}> {prompt}: ")?;
            out.flush()?;
            let Some(line) = lines.next().transpose()? else {
                return Ok(());
            };
            match (line.trim(), most_probable) {
                ("", Some(chosen)) => chosen.to_string(),
                (text, _) => text.to_owned(),
            }
        };
        let line = line.as_str();
        if line == "q" || line == "quit" {
            return Ok(());
        }
        let Some(action) = choose_action(line, &observation.actions) else {
            writeln!(
                out,
                "`{line}` matches no single action; type its number or its text"
            )?;
            continue;
        };
        let result = episode.step(action)?;
        writeln!(
            out,
            "> {}\n{}",
            shown(&observation.actions[action as usize]),
            shown(&result.feedback)
        )?;
        if let Some(values) = result.primitives.as_ref().filter(|_| result.done()) {
            let how = if result.terminated {
                "terminated"
            } else {
                "truncated"
            };
            writeln!(
                out,
                "\nThe episode {how} after {} steps. Primitives:",
                step + 1
            )?;
            for (name, value) in names.iter().zip(values) {
                writeln!(out, "  {name:<16} {value}")?;
            }
            return Ok(());
        }
        observation = result.observation;
    }
    Ok(())
}

/// The policy's probability of each admissible action of `observation`.
fn action_probabilities(
    policy: &derl_learn::ActionPolicy,
    observation: &derl_env_api::Observation,
) -> anyhow::Result<Vec<f32>> {
    let decision = policy.encode_decision(
        &observation.task,
        &observation.text,
        &observation.features,
        &observation.actions,
    );
    let rows = policy
        .distributions(&[&decision])
        .and_then(|d| d.to_vecs())
        .context("scoring the actions with the policy")?;
    Ok(rows[0].iter().map(|lp| lp.exp()).collect())
}

/// An action by index, exact text, or unique prefix.
fn choose_action(input: &str, actions: &[String]) -> Option<u32> {
    if let Ok(index) = input.parse::<u32>() {
        return ((index as usize) < actions.len()).then_some(index);
    }
    if let Some(i) = actions.iter().position(|a| a == input) {
        return Some(i as u32);
    }
    let mut matches = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.starts_with(input));
    match (matches.next(), matches.next()) {
        (Some((i, _)), None) => Some(i as u32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_chosen_by_index_text_or_unique_prefix() {
        let actions = vec![
            "go to fridge 1".to_owned(),
            "go to sink 1".to_owned(),
            "look".to_owned(),
        ];
        assert_eq!(choose_action("1", &actions), Some(1));
        assert_eq!(choose_action("3", &actions), None);
        assert_eq!(choose_action("look", &actions), Some(2));
        assert_eq!(choose_action("go to s", &actions), Some(1));
        assert_eq!(choose_action("go to", &actions), None);
    }
}
