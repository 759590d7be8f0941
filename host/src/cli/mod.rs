//! The command line: argument parsing, one module per command group, and the
//! single place where errors become a message and an exit code.

mod env_arg;
mod overrides;
mod plugin;
mod reward;
mod run;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// derl: discover rewards with Differentiable Evolutionary RL, running
/// environments and reward programs as sandboxed WebAssembly components.
#[derive(Parser, Debug)]
#[command(name = "derl", version, about, long_about = None)]
pub struct Cli {
    /// Show debug logs (and error backtraces).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Inspect and check plugin components.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Step through an episode by hand, seeing what a policy sees.
    Play(plugin::PlayArgs),
    /// Check, compile, score and build reward programs.
    #[command(subcommand)]
    Reward(reward::RewardCommand),
    /// Train a policy with GRPO on an environment with a reward (one inner loop).
    Train(train::TrainArgs),
    /// Evaluate a trained policy's success per split.
    Eval(train::EvalArgs),
    /// Run one inner-loop job file (JSON) and write its report (exit 0 finished, 3 invalid reward, 4 failed).
    InnerLoop(train::InnerLoopArgs),
    /// Run a DERL experiment from a TOML config (or --resume a run directory).
    Run(run::RunArgs),
    /// The demo: DERL vs outcome-only vs the heuristic on household, in minutes.
    Demo(run::DemoArgs),
    /// Print the comparison table of a run directory and write its charts, report.md and report/index.html.
    Report(run::ReportArgs),
}

/// Runs the command line and maps errors to one message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Plugin(command) => plugin::run(command),
        Command::Play(args) => plugin::play(args),
        Command::Reward(command) => reward::run(command),
        Command::Train(args) => train::train(args),
        Command::Eval(args) => train::eval(args),
        Command::InnerLoop(args) => match train::inner_loop(args) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
        Command::Run(args) => run::run(args),
        Command::Demo(args) => run::demo(args),
        Command::Report(args) => run::report(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if cli.verbose {
                eprintln!("error: {error:?}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    let default = if verbose { "debug" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DERL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The sandbox used by command-line commands, with the on-disk cache of
/// compiled components (see [`cache_dir`]).
pub(crate) fn sandbox() -> anyhow::Result<derl_sandbox::Sandbox> {
    Ok(derl_sandbox::Sandbox::new(derl_sandbox::SandboxConfig {
        cache_dir: cache_dir(),
        ..derl_sandbox::SandboxConfig::default()
    })?)
}

/// Where compiled components are cached by sha256: `$DERL_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/derl`, else `~/.cache/derl`; none when no home is known.
pub fn cache_dir() -> Option<std::path::PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("DERL_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Some(std::path::PathBuf::from(dir).join("derl"));
    }
    var("HOME").map(|home| std::path::PathBuf::from(home).join(".cache/derl"))
}
