//! `keyward machine-key …`: classic ASP.NET `<machineKey>` — generate, decode, encode, check,
//! and the login bridge to ASP.NET Core. One module per subcommand.

mod bridge;
mod check;
mod decode;
mod encode;
mod generate;

use std::io::Write;
use std::path::Path;

use keyward::Secret;
use keyward_machinekey::{
    CompatibilityMode, MachineKeyConfig, MachineKeyDecryption, MachineKeyValidation, MachineKeys,
};

use super::CliError;
use crate::cli::{GlobalOptions, MachineKeyCommand};
use crate::printable::printable;

/// Runs a `machine-key` subcommand.
pub fn run(global: &GlobalOptions, command: &MachineKeyCommand) -> Result<(), CliError> {
    match command {
        MachineKeyCommand::Generate {
            framework,
            validation,
            decryption,
            json,
            allow_weak,
        } => generate::run(
            framework,
            validation.as_deref(),
            decryption.as_deref(),
            *json,
            *allow_weak,
        ),
        MachineKeyCommand::Decode(args) => decode::run(args),
        MachineKeyCommand::Encode(command) => encode::run(command),
        MachineKeyCommand::Check(args) => check::run(args),
        MachineKeyCommand::Bridge(args) => bridge::run(global, args),
    }
}

/// The usable keys of a web.config, and its weak algorithms (see [`weak_algorithms`]).
fn keys_of(path: &Path) -> Result<(MachineKeys, Vec<String>), CliError> {
    let config = MachineKeyConfig::read(path)?;
    if let Some(kind) = &config.data_protector_type {
        eprintln!(
            "keyward: note: {} sets dataProtectorType ({kind}): with the ASP.NET Core SystemWeb bridge, forms tickets and ViewState are ASP.NET Core payloads (use keyward unprotect with the app's purposes), not machineKey ones",
            path.display()
        );
    }
    let keys = config.keys().map_err(|e| match e {
        keyward_machinekey::Error::RegistryKey { .. } => CliError::MachineKeyIn {
            path: path.to_owned(),
            source: e,
        },
        other => other.into(),
    })?;
    Ok((keys, weak_in_config(&config)))
}

/// The weak algorithms a machineKey uses, each with why, e.g. `validation MD5 (…)`: MD5,
/// SHA1 (and the legacy `AES`/`3DES` validation, whose MAC is HMAC-SHA1), DES and 3DES.
/// `cipher_key_len` is the decryption key's length, which picks the cipher of
/// `decryption="Auto"` in the legacy modes.
fn weak_algorithms(
    validation: MachineKeyValidation,
    decryption: Option<MachineKeyDecryption>,
    mode: CompatibilityMode,
    cipher_key_len: Option<usize>,
) -> Vec<String> {
    use MachineKeyDecryption as D;
    use MachineKeyValidation as V;
    let mut weak = Vec::new();
    match validation {
        V::Md5 => weak.push("validation MD5 (MD5(data || key), not an HMAC, and MD5 is broken)"),
        V::Sha1 => weak.push("validation SHA1 (HMAC-SHA1 only; use HMACSHA256 or stronger)"),
        V::TripleDes => weak.push("validation 3DES (HMAC-SHA1 and 3DES)"),
        V::Aes => weak.push("validation AES (its MAC is HMAC-SHA1)"),
        V::HmacSha256 | V::HmacSha384 | V::HmacSha512 => {}
    }
    let cipher = match decryption {
        Some(cipher) => cipher,
        None if mode.is_legacy() && cipher_key_len == Some(8) => D::Des,
        None => D::Aes,
    };
    match cipher {
        D::Des => weak.push("decryption DES (a 56-bit key, searched exhaustively in days)"),
        D::TripleDes => {
            weak.push("decryption 3DES (64-bit blocks: Sweet32; disallowed by NIST for encryption)")
        }
        D::Aes => {}
    }
    weak.into_iter().map(str::to_owned).collect()
}

/// The weak algorithms of a web.config's machineKey (none when they cannot be read: reading
/// the keys reports that).
fn weak_in_config(config: &MachineKeyConfig) -> Vec<String> {
    match (
        config.validation(),
        config.decryption(),
        config.compatibility_mode(),
    ) {
        (Ok(validation), Ok(decryption), Ok(mode)) => weak_algorithms(
            validation,
            decryption,
            mode,
            config.decryption_key.explicit().map(Secret::len),
        ),
        _ => Vec::new(),
    }
}

/// Commands that make values (generate, encode, bridge) refuse weak algorithms unless
/// `--allow-weak`; with it, one warning line says what was accepted.
fn refuse_weak(weak: &[String], allow_weak: bool) -> Result<(), CliError> {
    if weak.is_empty() {
        return Ok(());
    }
    let list = weak.join(", ");
    if allow_weak {
        eprintln!("keyward: warning: weak machineKey algorithm accepted by --allow-weak: {list}");
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "weak machineKey algorithm: {list}; --allow-weak accepts it (only for servers that cannot move to HMACSHA256 and AES yet)"
        )))
    }
}

/// Commands that only read (decode, check) warn about weak algorithms: one line.
fn warn_weak(what: &str, weak: &[String]) {
    if !weak.is_empty() {
        eprintln!(
            "keyward: warning: {} uses weak machineKey algorithms: {}",
            printable(what),
            weak.join(", ")
        );
    }
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
