//! `derl plugin ...`: inspect components.

use crate::plugin::inspect;
use clap::Subcommand;
use std::path::PathBuf;

/// Plugin commands.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Show which world a component implements, its sha256, its imports and
    /// what it declares (environment info, or a reward program's description).
    Inspect {
        /// The component file (.wasm).
        file: PathBuf,
    },
}

pub(crate) fn run(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Inspect { file } => {
            let bytes = super::read_component(&file)?;
            let sandbox = super::sandbox()?;
            let inspection = inspect(&sandbox, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            print!("{}", inspection.render());
            Ok(())
        }
    }
}
