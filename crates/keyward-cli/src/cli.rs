//! The command line: global options and subcommands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// keyward: data protection compatible with ASP.NET Core — keys, protect, unprotect.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// The key directory (shared with .NET's PersistKeysToFileSystem).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_KEYS_DIR",
        value_name = "DIR",
        default_value_os_t = default_keys_dir()
    )]
    pub keys_dir: PathBuf,

    /// The application name: the .NET app's SetApplicationName value (the first purpose).
    #[arg(
        long,
        global = true,
        env = "KEYWARD_APPLICATION_NAME",
        value_name = "NAME"
    )]
    pub application_name: Option<String>,

    /// Use no application name (a .NET provider created without one).
    #[arg(long, global = true)]
    pub no_application_name: bool,

    /// The algorithm of keys keyward creates (a payload always uses its own key's).
    #[arg(long, global = true, env = "KEYWARD_ALGORITHM", value_enum, default_value_t = AlgorithmArg::Cbc)]
    pub algorithm: AlgorithmArg,
}

/// `--algorithm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// AES-256-CBC + HMACSHA256 (the .NET default).
    Cbc,
    /// AES-256-GCM.
    Gcm,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Protect TEXT (or the bytes of stdin); prints base64url without padding.
    Protect(ProtectArgs),
    /// Unprotect PAYLOAD (or stdin); writes the plaintext bytes exactly.
    Unprotect(UnprotectArgs),
    /// Inspect and manage keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `keyward protect`.
#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// A purpose, after the application name (repeat for a chain).
    #[arg(long = "purpose", value_name = "P")]
    pub purposes: Vec<String>,

    /// The text to protect; without it, stdin's bytes are protected.
    pub text: Option<String>,
}

/// `keyward unprotect`.
#[derive(Debug, Args)]
pub struct UnprotectArgs {
    /// A purpose, after the application name (repeat for a chain).
    #[arg(long = "purpose", value_name = "P")]
    pub purposes: Vec<String>,

    /// The payload (base64url); without it, stdin is read (surrounding whitespace ignored).
    pub payload: Option<String>,
}

/// `keyward keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List keys: id, status, algorithm, creation, activation and expiration.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The platform data directory + `keyward/keys` (`~/.local/share/keyward/keys` on Linux).
pub fn default_keys_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("keyward")
        .join("keys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_contract() {
        let cli = Cli::try_parse_from([
            "keyward",
            "--keys-dir",
            "/k",
            "--application-name",
            "A",
            "unprotect",
            "--purpose",
            "x",
            "--purpose",
            "y",
            "CfDJ8",
        ])
        .unwrap();
        assert_eq!(cli.global.keys_dir, PathBuf::from("/k"));
        let Command::Unprotect(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.purposes, ["x", "y"]);
        assert_eq!(args.payload.as_deref(), Some("CfDJ8"));
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains(&default_keys_dir().display().to_string()),
            "{help}"
        );
    }
}
