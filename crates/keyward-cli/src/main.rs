//! `keyward`: the operator's command line for keyward key rings.

mod cli;
mod commands;
mod dotnet_keys;
mod json_out;
mod printable;
mod serve_args;
mod timespec;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // unprotect's contract is one line on stderr on failure: library events stay quiet unless
    // KEYWARD_LOG asks for them.
    // `serve` is a service: it says where it listens and what it does at `info`.
    init_logging(match cli.command {
        Command::Unprotect(_) => "off",
        Command::Serve(_) => "info",
        _ => "warn",
    });
    let result = match &cli.command {
        Command::Protect(args) => commands::protect::run(&cli.global, args),
        Command::Unprotect(args) => commands::unprotect::run(&cli.global, args),
        Command::Keys(command) => commands::keys::run(&cli.global, command),
        Command::MachineKey(command) => commands::machine_key::run(&cli.global, command),
        Command::Doctor(args) => return commands::doctor::run(&cli.global, args),
        Command::Inspect(args) => commands::inspect::run(&cli.global, args),
        Command::Cookie(command) => commands::cookie::run(&cli.global, command),
        Command::Serve(args) => commands::serve::run(&cli.global, args),
        Command::Completions { shell } => commands::completions::completions(*shell),
        Command::Man { dir } => commands::completions::man(dir.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`keyward keys list | head -1`): nothing is left to say, and
        // no one to say it to. What the command did is done; it ends quietly, as `head`
        // meant it to.
        Err(error) if error.is_closed_stdout() => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says why; never a secret (errors carry ids and paths only).
            // The whole cause chain (a store client's own error included), each cause once.
            let text = keyward::error_chain(&error);
            eprintln!("keyward: {}", printable::printable(&text));
            ExitCode::FAILURE
        }
    }
}

/// Events go to stderr; `KEYWARD_LOG` filters them (default: warnings and errors, or nothing
/// for `unprotect`). Field values can hold store text (a `decryptorType`, a location): they
/// are printed through [`printable::printable`], one inert line per event.
fn init_logging(default_filter: &str) {
    use tracing_subscriber::field::MakeExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let value = printable::printable(&format!("{value:?}"));
        if field.name() == "message" {
            write!(writer, "{value}")
        } else {
            write!(writer, "{}={value}", field.name())
        }
    })
    .delimited(" ");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(fields)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
}
