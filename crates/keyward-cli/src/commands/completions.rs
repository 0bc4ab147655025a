//! `keyward completions SHELL` and `keyward man`: generated from the clap definitions.

use clap::CommandFactory;

use super::CliError;
use crate::cli::Cli;

fn stdout_error(source: std::io::Error) -> CliError {
    CliError::Io {
        context: "writing stdout",
        source,
    }
}

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "keyward", &mut out);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out).map_err(stdout_error)
}

/// Prints the man page (roff) of `keyward`.
pub fn man() -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(stdout_error)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out).map_err(stdout_error)
}
