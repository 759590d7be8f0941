//! The command line: argument parsing, one module per command group, and the
//! single place where errors become a message and an exit code.

mod env_arg;
mod plugin;

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
}

/// Runs the command line and maps errors to one message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Plugin(command) => plugin::run(command),
        Command::Play(args) => plugin::play(args),
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

/// The sandbox used by command-line commands.
pub(crate) fn sandbox() -> anyhow::Result<derl_sandbox::Sandbox> {
    Ok(derl_sandbox::Sandbox::new(
        derl_sandbox::SandboxConfig::default(),
    )?)
}

/// Reads a component file, naming the path on failure.
pub(crate) fn read_component(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}
