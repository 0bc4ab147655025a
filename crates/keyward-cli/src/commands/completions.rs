//! `keyward completions SHELL` and `keyward man [--dir DIR]`: generated from the clap
//! definitions.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::{CliError, FileAction};
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

/// The command the pages describe: no `help` subcommand (it has no page of its own).
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// `keyward man`: prints the page of `keyward` (roff). It names no other page, since only
/// this one is written: its commands are listed by name, with `keyward man --dir DIR` for a
/// page per command. With `dir`, writes `keyward.1` and one page per command there (every
/// page any of them names) and prints their paths.
pub fn man(dir: Option<&Path>) -> Result<(), CliError> {
    match dir {
        Some(dir) => write_pages(dir),
        None => {
            let mut out = Vec::new();
            render_single_page(&mut out).map_err(stdout_error)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &out).map_err(stdout_error)
        }
    }
}

/// The page of `keyward` with its commands listed by name instead of by page.
fn render_single_page(out: &mut Vec<u8>) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    let command = man_command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let mut roff = Roff::default();
    roff.control("SH", ["COMMANDS"]);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        roff.control("TP", []);
        roff.text([bold(format!("keyward {}", sub.get_name()))]);
        if let Some(about) = sub.get_about().or_else(|| sub.get_long_about()) {
            for line in about.to_string().lines() {
                roff.text([roman(line)]);
            }
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "keyward COMMAND --help for a command's options; keyward man --dir DIR writes a page for every command.",
    )]);
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// Writes every page into `dir` (created if missing) and prints the paths.
fn write_pages(dir: &Path) -> Result<(), CliError> {
    fn generate(
        command: clap::Command,
        dir: &Path,
        written: &mut Vec<std::path::PathBuf>,
    ) -> std::io::Result<()> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            generate(sub.clone(), dir, written)?;
        }
        written.push(clap_mangen::Man::new(command).generate_to(dir)?);
        Ok(())
    }
    let failed = |source| CliError::file(FileAction::WriteManPagesInto, dir)(source);
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut written = Vec::new();
    generate(man_command(), dir, &mut written).map_err(failed)?;
    written.sort();
    let mut out = std::io::stdout().lock();
    written
        .iter()
        .try_for_each(|path| writeln!(out, "{}", path.display()))
        .map_err(stdout_error)
}
