//! `keyward machine-key …`: classic ASP.NET `<machineKey>` — generate, decode, encode, check,
//! and the login bridge to ASP.NET Core. One module per subcommand.

mod bridge;
mod check;
mod decode;
mod encode;
mod generate;

use std::io::Write;
use std::path::Path;

use keyward_machinekey::{MachineKeyConfig, MachineKeys};

use super::CliError;
use crate::cli::{GlobalOptions, MachineKeyCommand};

/// Runs a `machine-key` subcommand.
pub fn run(global: &GlobalOptions, command: &MachineKeyCommand) -> Result<(), CliError> {
    match command {
        MachineKeyCommand::Generate {
            framework,
            validation,
            decryption,
            json,
        } => generate::run(
            framework,
            validation.as_deref(),
            decryption.as_deref(),
            *json,
        ),
        MachineKeyCommand::Decode(args) => decode::run(args),
        MachineKeyCommand::Encode(command) => encode::run(command),
        MachineKeyCommand::Check(args) => check::run(args),
        MachineKeyCommand::Bridge(args) => bridge::run(global, args),
    }
}

/// The usable keys of a web.config.
fn keys_of(path: &Path) -> Result<MachineKeys, CliError> {
    let config = MachineKeyConfig::read(path)?;
    if let Some(kind) = &config.data_protector_type {
        eprintln!(
            "keyward: note: {} sets dataProtectorType ({kind}): with the ASP.NET Core SystemWeb bridge, forms tickets and ViewState are ASP.NET Core payloads (use keyward unprotect with the app's purposes), not machineKey ones",
            path.display()
        );
    }
    config.keys().map_err(|e| match e {
        keyward_machinekey::Error::RegistryKey { .. } => {
            CliError::Usage(format!("{}: {e}", path.display()))
        }
        other => other.into(),
    })
}

/// Writes `value` as pretty JSON and a newline to stdout.
fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    crate::json_out::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}

/// Writes lines to stdout.
fn print_lines(lines: &[String]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}
