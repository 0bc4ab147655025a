//! One module per subcommand; each returns the process outcome.

pub mod completions;
pub mod cookie;
pub mod doctor;
pub mod ensure;
pub mod export;
pub mod inspect;
pub mod keys;
pub mod machine_key;
pub mod protect;
pub mod serve;
pub mod timeline;
pub mod unprotect;

use std::path::{Path, PathBuf};

use keyward::{Algorithm, KeyRepository, Provider};

use crate::cli::{AlgorithmArg, GlobalOptions};

/// An error for the operator: one line on stderr, exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the library.
    #[error(transparent)]
    Keyward(#[from] keyward::Error),
    /// From the machineKey library.
    #[error(transparent)]
    MachineKey(#[from] keyward_machinekey::Error),
    /// From the machineKey library, about the `web.config` at `path` (e.g. its keys are
    /// `AutoGenerate`).
    #[error("{}: {source}", path.display())]
    MachineKeyIn {
        /// The `web.config`.
        path: PathBuf,
        /// What is wrong with its `<machineKey>`.
        #[source]
        source: keyward_machinekey::Error,
    },
    /// Reading stdin or writing stdout failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A file named on the command line (or a directory to write into) cannot be read or
    /// written.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done with it.
        action: FileAction,
        /// The file or directory, as given.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A usage problem clap cannot see.
    #[error("{0}")]
    Usage(String),
}

/// What [`CliError::File`] was doing with its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    /// Reading a file.
    Read,
    /// Writing a file.
    Write,
    /// Writing man pages into a directory.
    WriteManPagesInto,
}

impl std::fmt::Display for FileAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::WriteManPagesInto => "write man pages into",
        })
    }
}

impl From<keyward_setup::SetupError> for CliError {
    fn from(error: keyward_setup::SetupError) -> Self {
        match error {
            keyward_setup::SetupError::Keyward(error) => Self::Keyward(error),
            keyward_setup::SetupError::Read { path, source } => Self::File {
                action: FileAction::Read,
                path,
                source,
            },
            keyward_setup::SetupError::Invalid(message) => Self::Usage(message),
            other => Self::Usage(other.to_string()),
        }
    }
}

impl CliError {
    /// A [`CliError::File`] maker for reading `path`, for `map_err`.
    pub fn reading(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        Self::file(FileAction::Read, path)
    }

    /// A [`CliError::File`] maker for writing `path`, for `map_err`.
    pub fn writing(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        Self::file(FileAction::Write, path)
    }

    /// A [`CliError::File`] maker for `action` on `path`, for `map_err`.
    pub fn file(action: FileAction, path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::File {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

impl CliError {
    /// Whether writing stdout failed because its reader closed it (a broken pipe).
    pub fn is_closed_stdout(&self) -> bool {
        matches!(
            self,
            Self::Io { context: "writing stdout", source }
                if source.kind() == std::io::ErrorKind::BrokenPipe
        )
    }
}

/// Key-encryption keys, passphrase and `--require-encryption` from the global options. KEKs
/// come from files or the environment (`KEYWARD_KEK`), never from an argument's value.
fn at_rest(
    builder: keyward::ProviderBuilder,
    global: &GlobalOptions,
) -> Result<keyward::ProviderBuilder, CliError> {
    let files = keyward_setup::AtRestFiles {
        kek_files: global.kek_files.clone(),
        extra_kek: std::env::var("KEYWARD_KEK")
            .ok()
            .map(zeroize::Zeroizing::new),
        passphrase_file: global.passphrase_file.clone(),
        certificates: global.certificates.clone(),
        certificate_password_files: global.certificate_password_files.clone(),
        certificate_password: std::env::var("KEYWARD_CERTIFICATE_PASSWORD")
            .ok()
            .map(zeroize::Zeroizing::new),
        require_encryption: global.require_encryption,
        accept_unsigned_certificate_keys: global.accept_unsigned_certificate_keys,
    };
    Ok(files.apply(builder)?)
}

/// The most a command that reads a payload, cookie or JSON ticket from stdin reads.
pub const STDIN_LIMIT: u64 = 4 * 1024 * 1024;

/// Stdin, at most [`STDIN_LIMIT`] bytes (more is an error, read no further).
pub fn read_stdin_limited() -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin(), STDIN_LIMIT + 1),
        &mut bytes,
    )
    .map_err(|source| CliError::Io {
        context: "reading stdin",
        source,
    })?;
    if bytes.len() as u64 > STDIN_LIMIT {
        return Err(CliError::Usage(format!(
            "stdin holds more than {STDIN_LIMIT} bytes: not a payload, cookie or ticket"
        )));
    }
    Ok(bytes)
}

/// Every byte of stdin (what `protect` protects).
pub fn read_stdin() -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|source| {
        CliError::Io {
            context: "reading stdin",
            source,
        }
    })?;
    Ok(bytes)
}

/// Builds the provider from the global options.
pub fn provider(global: &GlobalOptions) -> Result<Provider, CliError> {
    provider_with(global, Access::Protect)
}

/// Builds a provider that never writes, for commands that use purposes (`unprotect`): an
/// application name is required.
pub fn read_only_provider(global: &GlobalOptions) -> Result<Provider, CliError> {
    provider_with(global, Access::Unprotect)
}

/// Builds a provider that never writes and needs no application name (listings, doctor,
/// inspect without purposes).
pub fn ring_reader(global: &GlobalOptions) -> Result<Provider, CliError> {
    provider_with(global, Access::Read)
}

/// Builds a provider for maintenance (new, revoke, delete, rewrap, ensure, import): it writes
/// only what the command asks, never a key of its own accord, and needs no application name.
pub fn maintenance_provider(global: &GlobalOptions) -> Result<Provider, CliError> {
    provider_with(global, Access::Maintain)
}

/// What a command does with the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Protects: writes a key when the ring has no usable default; needs a name.
    Protect,
    /// Unprotects: never writes; needs a name.
    Unprotect,
    /// Reads keys only: never writes; no name.
    Read,
    /// Writes what it is asked: no name.
    Maintain,
}

/// The time the command runs at: `--now` (`KEYWARD_NOW`) when given, else the system clock.
pub fn command_now(global: &GlobalOptions) -> Result<keyward::time::OffsetDateTime, CliError> {
    match &global.now {
        Some(text) => keyward::time::OffsetDateTime::parse(
            text,
            &keyward::time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| CliError::Usage(format!("--now {text:?} is not an RFC 3339 time"))),
        None => Ok(keyward::time::OffsetDateTime::now_utc()),
    }
}

/// The application name the global options give (`None`: no application name), from
/// `--application-name`, `--no-application-name` or `--content-root`.
pub fn application_name(global: &GlobalOptions) -> Result<Option<String>, CliError> {
    if let Some(root) = &global.content_root {
        return Ok(keyward::discriminator::application_name_from_content_root(
            root,
            global.content_root_rule.into(),
        ));
    }
    match (global.application_name.as_slice(), global.no_application_name) {
        (_, true) => Ok(None),
        ([name], false) => Ok(Some(name.clone())),
        ([], false) => Err(CliError::Usage(
            "no application name: pass --application-name NAME (the .NET app's SetApplicationName value, or KEYWARD_APPLICATION_NAME), --content-root DIR (an app that never set one) or --no-application-name".into(),
        )),
        (_, false) => Err(CliError::Usage(
            "several --application-name values: only `inspect --try-known-purposes` tries more than one".into(),
        )),
    }
}

/// The key directory the options name, when the ring is a directory (not Redis or
/// PostgreSQL).
pub fn directory_of(global: &GlobalOptions) -> Option<std::path::PathBuf> {
    match &global.repository {
        None => keys_dir(global).ok(),
        Some(uri) => keyward_setup::directory_of_uri(uri),
    }
}

/// The key directory: .NET's default folder with `--dotnet-default-keys`, else `--keys-dir`.
fn keys_dir(global: &GlobalOptions) -> Result<std::path::PathBuf, CliError> {
    if global.dotnet_default_keys {
        return crate::dotnet_keys::locate()
            .map(|found| found.directory)
            .map_err(|why| CliError::Usage(format!("--dotnet-default-keys: {why}")));
    }
    Ok(global.keys_dir.clone())
}

/// Opens a repository from a URI (`keyward_setup::open_repository`: `file:DIR` or a plain
/// path, `redis://…`, `postgres://…` or a libpq `key=value` string; no message quotes it).
pub fn open_repository(uri: &str, read_only: bool) -> Result<Box<dyn KeyRepository>, CliError> {
    Ok(keyward_setup::open_repository(uri, read_only)?)
}

/// Opens a key directory (read-only: it must exist, and is never written).
pub fn open_directory(
    directory: std::path::PathBuf,
    read_only: bool,
) -> Result<Box<dyn KeyRepository>, CliError> {
    Ok(keyward_setup::open_directory(directory, read_only)?)
}

fn provider_with(global: &GlobalOptions, access: Access) -> Result<Provider, CliError> {
    Ok(builder_with(global, access)?.build()?)
}

/// Builds the provider of a long-running service (`serve`): as [`provider`], but it watches
/// the store's change notifications (Redis pub/sub, PostgreSQL `LISTEN`) and re-reads the
/// ring every `refresh_period` when given (the library's default otherwise).
pub fn service_provider(
    global: &GlobalOptions,
    refresh_period: Option<std::time::Duration>,
) -> Result<Provider, CliError> {
    let mut builder = builder_with(global, Access::Protect)?.watch_changes(true);
    if let Some(period) = refresh_period {
        builder = builder
            .refresh_period(
                keyward::time::Duration::try_from(period)
                    .map_err(|_| CliError::Usage("--refresh-period is too long".into()))?,
            )
            .min_refresh_interval(period.min(std::time::Duration::from_millis(250)));
    }
    Ok(builder.build()?)
}

fn builder_with(
    global: &GlobalOptions,
    access: Access,
) -> Result<keyward::ProviderBuilder, CliError> {
    let read_only = matches!(access, Access::Unprotect | Access::Read);
    let name = match access {
        Access::Protect | Access::Unprotect => application_name(global)?,
        // Key management never uses purposes: any name (or none) reads the same keys.
        Access::Read | Access::Maintain => application_name(global).ok().flatten(),
    };
    let repository = match &global.repository {
        Some(uri) => open_repository(uri, read_only)?,
        None => open_directory(keys_dir(global)?, read_only)?,
    };
    let mut builder = at_rest(Provider::builder(), global)?
        .repository(repository)
        .read_only(read_only)
        .automatic_key_generation(access == Access::Protect)
        // One command, then exit: no watcher thread that could still be connecting (and
        // initialising the TLS library's per-thread state) while the process tears down.
        .watch_changes(false)
        .unprotect_with_weaker_keys(global.allow_weaker_keys)
        .algorithm(match global.algorithm {
            AlgorithmArg::Cbc => Algorithm::AES_256_CBC_HMACSHA256,
            AlgorithmArg::Gcm => Algorithm::AES_256_GCM,
        });
    if global.now.is_some() {
        let now = command_now(global)?;
        builder = builder.clock(std::sync::Arc::new(keyward::ManualClock::new(now)));
    }
    builder = match name {
        Some(name) => builder.application_name(name),
        None => builder.no_application_discriminator(),
    };
    Ok(builder)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A file that cannot be read prints the line a usage error printed, once, and keeps the
    /// I/O error as its source.
    #[test]
    fn a_file_error_prints_its_line_once_and_keeps_the_io_error() {
        let path = Path::new("/nonexistent/keyward/kek");
        let error = std::fs::read(path)
            .map_err(CliError::reading(path))
            .unwrap_err();
        let io = error
            .source()
            .unwrap()
            .downcast_ref::<std::io::Error>()
            .unwrap();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(
            keyward::error_chain(&error),
            format!("cannot read /nonexistent/keyward/kek: {io}")
        );
        let man = CliError::file(FileAction::WriteManPagesInto, Path::new("/x"))(
            std::io::Error::other("full"),
        );
        assert_eq!(man.to_string(), "cannot write man pages into /x: full");
    }
}
