//! `derl reward ...`: check, compile, score and build reward programs.

use super::env_arg::load_environment;
use crate::inner::RewardSpec;
use anyhow::{Context, bail};
use clap::Subcommand;
use derl_sandbox::Limits;
use std::path::{Path, PathBuf};

/// Reward commands. The commands taking a program as their positional
/// argument accept programs that start with `-` (`"-0.1*g3 + g1"`, even
/// `-h`), so their help is `--help` only.
#[derive(Subcommand, Debug)]
pub enum RewardCommand {
    /// Parse a Meta-Reward program, check it against an environment's
    /// primitives and print its normalized form.
    #[command(disable_help_flag = true)]
    Check {
        /// The program, e.g. "success + 0.5*progress".
        #[arg(allow_hyphen_values = true)]
        program: String,
        /// Check primitive names and count against this environment
        /// (a component file or a bundled name).
        #[arg(long)]
        env: Option<String>,
        #[command(flatten)]
        help: LongHelp,
    },
    /// Compile a Meta-Reward program to a reward component.
    #[command(disable_help_flag = true)]
    Compile {
        /// The program, e.g. "g1 + 0.5*g2".
        #[arg(allow_hyphen_values = true)]
        program: String,
        /// Resolve primitive names against this environment.
        #[arg(long)]
        env: Option<String>,
        /// Where to write the component.
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        help: LongHelp,
    },
    /// Score episode primitive vectors with a program or a reward component.
    #[command(disable_help_flag = true)]
    Score {
        /// A Meta-Reward program, or a reward component file (recognised by
        /// its bytes, whatever its name).
        #[arg(allow_hyphen_values = true)]
        program: String,
        /// One episode's primitives, comma-separated (repeatable).
        #[arg(long = "primitives", value_name = "V1,V2,...", required = true)]
        primitives: Vec<String>,
        /// Resolve primitive names against this environment.
        #[arg(long)]
        env: Option<String>,
        /// A sandbox limit of a reward component's calls, `KEY=VALUE`
        /// (repeatable; `deadline_ms=5000`); a first `--limit python` starts
        /// from the limits for Python rewards instead of the defaults.
        #[arg(long = "limit", value_name = "KEY=VALUE")]
        limits: Vec<String>,
        #[command(flatten)]
        help: LongHelp,
    },
    /// Build a Python reward module into a reward component (componentize-py).
    Build {
        /// The Python file defining `reward(primitives) -> float`.
        source: PathBuf,
        /// Where to write the component.
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// `--help` without its short form, so a program `-h` is a program.
#[derive(clap::Args, Debug)]
pub struct LongHelp {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

pub(crate) fn run(command: RewardCommand) -> anyhow::Result<()> {
    match command {
        RewardCommand::Check { program, env, .. } => {
            let names = primitive_names(env.as_deref())?;
            let parsed = parse(&program, &names)?;
            println!("{}", parsed.normalized());
            println!("reads {} primitive(s)", parsed.min_stride());
            Ok(())
        }
        RewardCommand::Compile {
            program, env, out, ..
        } => {
            let names = primitive_names(env.as_deref())?;
            let parsed = parse(&program, &names)?;
            let bytes = derl_lang::compile(&parsed).context("compiling the program")?;
            write_file(&out, &bytes)?;
            let digest = derl_sandbox::Digest::of(&bytes);
            println!(
                "wrote {} ({} bytes, sha256 {digest})",
                out.display(),
                bytes.len()
            );
            Ok(())
        }
        RewardCommand::Score {
            program,
            primitives,
            env,
            limits,
            ..
        } => {
            let rows: Vec<Vec<f64>> = primitives
                .iter()
                .map(|row| parse_row(row))
                .collect::<anyhow::Result<_>>()?;
            let stride = rows[0].len();
            if let Some(bad) = rows.iter().find(|r| r.len() != stride) {
                bail!(
                    "every --primitives row needs {stride} values; one has {}",
                    bad.len()
                );
            }
            let spec = reward_spec(&program, &limits, "--limit")?;
            let names = primitive_names(env.as_deref())?;
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let reward = spec.program(&super::sandbox()?, &names)?;
            let values: Vec<f64> = rows.concat();
            let scores = reward.score(stride, &values)?;
            println!("program: {}", reward.info().description);
            for (row, score) in rows.iter().zip(scores) {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                println!("{:<32} -> {score}", cells.join(", "));
            }
            Ok(())
        }
        RewardCommand::Build { source, out } => {
            let built = crate::python_reward::build(&source, &out)?;
            println!(
                "wrote {} ({} bytes, sha256 {}) in {:.1} s",
                out.display(),
                built.size,
                built.digest,
                built.seconds
            );
            Ok(())
        }
    }
}

/// The reward named on a command line, `text` (a component file,
/// recognised by its bytes, or a program), its calls under the limits of
/// `limit_args` (`flag`'s values, see [`super::overrides::reward_limits`]).
///
/// # Errors
/// Bad limits, or limits given for a program (programs run under the
/// defaults).
pub(crate) fn reward_spec(
    text: &str,
    limit_args: &[String],
    flag: &str,
) -> anyhow::Result<RewardSpec> {
    let mut spec = RewardSpec::from_arg(text);
    let limits = super::overrides::reward_limits(limit_args, flag)?;
    match &mut spec {
        RewardSpec::Component { limits: own, .. } => *own = limits,
        RewardSpec::Program(_) if limits != Limits::default() => {
            bail!("{flag} applies to reward components; a program runs under the default limits")
        }
        RewardSpec::Program(_) => {}
    }
    Ok(spec)
}

fn parse(program: &str, names: &[String]) -> anyhow::Result<derl_lang::Program> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    derl_lang::parse(program, &names).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The primitive names of `env`, or none (then only `g1..gN` are accepted).
fn primitive_names(env: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(env) = env else {
        return Ok(Vec::new());
    };
    let sandbox = super::sandbox()?;
    let plugin = load_environment(&sandbox, env, &[])?;
    Ok(plugin
        .info()
        .primitives
        .iter()
        .map(|p| p.name.clone())
        .collect())
}

fn parse_row(row: &str) -> anyhow::Result<Vec<f64>> {
    row.split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .with_context(|| format!("`{v}` in --primitives {row} is not a number"))
        })
        .collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
