//! `keyward keys …`.

use crate::timespec::format_time as rfc3339;
use std::io::Write;

use keyward::store::KeyDocument;
use keyward::time::OffsetDateTime;
use keyward::{KeyInfo, KeyRepository};
use serde::Serialize;

use super::{command_now, maintenance_provider, open_repository, ring_reader, CliError};
use crate::cli::{GlobalOptions, KeysCommand};
use crate::printable::printable;
use crate::timespec::{parse_duration, parse_time_in_range};

/// One key as `keys list --json` prints it (these field names are a contract). A key whose
/// element could not be read has status `unreadable`, a `reason`, and `null` for what could
/// not be read.
#[derive(Debug, Serialize)]
struct KeyRow {
    id: Option<String>,
    created: Option<String>,
    activation: Option<String>,
    expiration: Option<String>,
    algorithm: String,
    status: String,
    /// Why the key cannot be used (status `unreadable`), or a remark on a usable key.
    reason: Option<String>,
    /// How the master key is stored: `none`, `certificate`, `kek`, `passphrase`, `dpapi`,
    /// `dpapi-ng`, `other`, or `unknown` for an unreadable element.
    at_rest: String,
    /// The certificate thumbprint, KEK id or decryptor type, when there is one.
    at_rest_id: Option<String>,
    /// Whether ASP.NET Core can read the key (given its certificate or Windows account).
    dotnet_readable: Option<bool>,
    /// Where the element is stored, for unreadable keys.
    location: Option<String>,
}

fn row(key: &KeyInfo, now: OffsetDateTime, default_key: Option<keyward::KeyId>) -> KeyRow {
    let at_rest_id = match &key.at_rest {
        keyward::AtRestProtection::Certificate { thumbprint } => thumbprint.clone(),
        keyward::AtRestProtection::Kek { kek_id } => kek_id.clone(),
        keyward::AtRestProtection::Other { decryptor_type } => Some(decryptor_type.clone()),
        _ => None,
    };
    KeyRow {
        id: Some(key.id.to_string()),
        created: Some(rfc3339(key.creation)),
        activation: Some(rfc3339(key.activation)),
        expiration: Some(rfc3339(key.expiration)),
        algorithm: key
            .algorithm
            .map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
        status: key.status_at(now, default_key).to_string(),
        reason: key.unusable_reason.clone().or_else(|| key.note.clone()),
        at_rest: key.at_rest.kind().to_owned(),
        at_rest_id,
        dotnet_readable: Some(key.at_rest.dotnet_readable()),
        location: None,
    }
}

fn unreadable_row(key: &keyward::UnreadableKey) -> KeyRow {
    KeyRow {
        id: key.id.map(|id| id.to_string()),
        created: key.creation.map(rfc3339),
        activation: key.activation.map(rfc3339),
        expiration: key.expiration.map(rfc3339),
        algorithm: "unknown".to_owned(),
        status: keyward::KeyStatus::Unreadable.to_string(),
        reason: Some(key.reason.clone()),
        at_rest: "unknown".to_owned(),
        at_rest_id: None,
        dotnet_readable: None,
        location: Some(key.location.clone()),
    }
}

/// Runs a `keys` subcommand.
pub fn run(global: &GlobalOptions, command: &KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::List { at, json } => list(global, at.as_deref(), *json),
        KeysCommand::New {
            activate_at,
            lifetime,
        } => new(global, activate_at.as_deref(), lifetime),
        KeysCommand::Revoke {
            id,
            all,
            before,
            reason,
        } => revoke(global, id.as_deref(), *all, before.as_deref(), reason),
        KeysCommand::Migrate {
            from,
            from_file,
            to,
            to_file,
            dry_run,
        } => {
            let from = repository_uri(
                "--from",
                from.as_deref(),
                from_file.as_deref(),
                "KEYWARD_MIGRATE_FROM",
            )?;
            let to = repository_uri(
                "--to",
                to.as_deref(),
                to_file.as_deref(),
                "KEYWARD_MIGRATE_TO",
            )?;
            migrate(&from, &to, *dry_run)
        }
        KeysCommand::Rewrap {
            dry_run,
            trust_plaintext,
        } => rewrap(global, *dry_run, trust_plaintext),
        KeysCommand::Ensure {
            delete_expired_before,
            dry_run,
            json,
        } => super::ensure::run(global, delete_expired_before.as_deref(), *dry_run, *json),
        KeysCommand::Timeline {
            html,
            json,
            width,
            color,
        } => super::timeline::run(global, html.as_deref(), *json, *width, *color),
        KeysCommand::Export {
            output,
            allow_plaintext,
            json,
            force,
        } => super::export::export(global, output.as_deref(), *allow_plaintext, *json, *force),
        KeysCommand::Import {
            file,
            dry_run,
            json,
        } => super::export::import(global, file, *dry_run, *json),
        KeysCommand::Delete {
            id,
            expired_before,
            dry_run,
        } => delete(global, id.as_deref(), expired_before.as_deref(), *dry_run),
    }
}

/// A repository URI from its option, else the first line of its file, else its environment
/// variable. Never quotes the URI.
fn repository_uri(
    option: &str,
    value: Option<&str>,
    file: Option<&std::path::Path>,
    variable: &str,
) -> Result<zeroize::Zeroizing<String>, CliError> {
    let uri = if let Some(uri) = value {
        zeroize::Zeroizing::new(uri.trim().to_owned())
    } else if let Some(path) = file {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            CliError::Usage(format!("cannot read {}: {source}", path.display()))
        })?);
        let first = text.lines().next().unwrap_or("").trim();
        if first.is_empty() {
            return Err(CliError::Usage(format!(
                "{}: the first line holds no repository URI",
                path.display()
            )));
        }
        zeroize::Zeroizing::new(first.to_owned())
    } else {
        zeroize::Zeroizing::new(
            std::env::var(variable)
                .map(|uri| uri.trim().to_owned())
                .unwrap_or_default(),
        )
    };
    if uri.is_empty() {
        return Err(CliError::Usage(format!(
            "no {option} repository: pass {option} URI, {option}-file PATH or set {variable}"
        )));
    }
    Ok(uri)
}

fn stdout_error(source: std::io::Error) -> CliError {
    CliError::Io {
        context: "writing stdout",
        source,
    }
}

fn time_arg(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, CliError> {
    parse_time_in_range(text, now).map_err(CliError::Usage)
}

fn key_id_arg(text: &str) -> Result<keyward::KeyId, CliError> {
    text.parse()
        .map_err(|e: keyward::ParseKeyIdError| CliError::Usage(e.to_string()))
}

fn list(global: &GlobalOptions, at: Option<&str>, json: bool) -> Result<(), CliError> {
    let provider = ring_reader(global)?;
    let now = provider.now();
    let at = at.map(|t| time_arg(t, now)).transpose()?.unwrap_or(now);
    let default_key = provider.default_key_at(at);
    let mut rows: Vec<KeyRow> = provider
        .keys()
        .iter()
        .map(|k| row(k, at, default_key))
        .collect();
    rows.extend(provider.unreadable_keys().iter().map(unreadable_row));
    let mut out = std::io::stdout().lock();
    let written = if json {
        crate::json_out::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        if at != now {
            let shown = at.replace_nanosecond(0).unwrap_or(at);
            writeln!(out, "as at {}:", rfc3339(shown)).map_err(stdout_error)?;
        }
        write_table(&mut out, &rows, &provider.location())
    };
    written.map_err(stdout_error)
}

/// `keys new`: validates everything, then writes exactly one key. With a usable default key
/// in the ring and no `--activate-at`, the key activates after the propagation window, so
/// nodes that have not re-read the ring never meet a payload under a key they lack.
fn new(global: &GlobalOptions, activate_at: Option<&str>, lifetime: &str) -> Result<(), CliError> {
    let checked_now = command_now(global)?;
    let explicit_activation = activate_at
        .map(|t| time_arg(t, checked_now).map(|_| t))
        .transpose()?;
    let lifetime = parse_duration(lifetime).map_err(CliError::Usage)?;
    if lifetime < keyward::MIN_KEY_LIFETIME {
        return Err(CliError::Usage(
            "the key lifetime must be at least 7 days".into(),
        ));
    }
    let provider = maintenance_provider(global)?;
    let now = provider.now();
    let window = provider.policy().propagation_window;
    let usable_default = provider.default_key_at(now);
    let activation = match explicit_activation {
        Some(text) => {
            let activation = time_arg(text, now)?;
            if usable_default.is_some() && activation < now + window {
                eprintln!(
                    "keyward: warning: the key activates before the propagation window ({}) has passed: nodes that have not re-read the ring since will refuse its payloads (\"the key was not found\") until their next refresh",
                    format_duration(window)
                );
            }
            activation
        }
        None if usable_default.is_some() => now + window,
        None => now,
    };
    let expiration = activation
        .checked_add(lifetime)
        .and_then(crate::timespec::in_range)
        .ok_or_else(|| CliError::Usage("the key would expire out of range".into()))?;
    let id = provider.create_key(activation, expiration)?;
    if explicit_activation.is_none() && usable_default.is_some() {
        eprintln!(
            "keyward: key {id} activates at {} (after the propagation window, so every node sees it before it protects); --activate-at now makes it active at once",
            rfc3339(activation.replace_nanosecond(0).unwrap_or(activation))
        );
    }
    writeln!(std::io::stdout(), "{id}").map_err(stdout_error)
}

/// `2d`, `36h`, `90m`: a duration as the options take it.
fn format_duration(duration: keyward::time::Duration) -> String {
    let seconds = duration.whole_seconds();
    if seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else if seconds % 3_600 == 0 {
        format!("{}h", seconds / 3_600)
    } else {
        format!("{}m", seconds / 60)
    }
}

/// `keys revoke`: validates its input, then writes one revocation. When that takes the
/// ring's default key, a replacement key is created at once (active now: no usable key is
/// left to bridge the propagation window), as .NET's next protect would.
fn revoke(
    global: &GlobalOptions,
    id: Option<&str>,
    all: bool,
    before: Option<&str>,
    reason: &str,
) -> Result<(), CliError> {
    let checked_now = command_now(global)?;
    let target = match (id, all, before) {
        (Some(id), false, None) => Ok(key_id_arg(id)?),
        (None, true, Some(before)) => {
            let at = time_arg(before, checked_now)?;
            if at > checked_now {
                return Err(CliError::Usage(
                    "a mass revocation cannot be dated in the future: every key created until then would be revoked too".into(),
                ));
            }
            Err(before)
        }
        _ => {
            return Err(CliError::Usage(
                "give a key id, or --all --before TIME".into(),
            ))
        }
    };
    let provider = maintenance_provider(global)?;
    let now = provider.now();
    let had_default = provider.default_key_at(now).is_some();
    let mut out = std::io::stdout().lock();
    match target {
        Ok(id) => {
            provider.revoke_key(id, reason)?;
            writeln!(out, "revoked {id}").map_err(stdout_error)?;
        }
        Err(before) => {
            let before = time_arg(before, now)?;
            provider.revoke_all_keys(before, reason)?;
            writeln!(out, "revoked every key created before {}", rfc3339(before))
                .map_err(stdout_error)?;
        }
    }
    if had_default && provider.default_key_at(provider.now()).is_none() {
        let now = provider.now();
        let id = provider.create_key(now, now + provider.policy().key_lifetime)?;
        writeln!(out, "created {id} to replace the revoked default key").map_err(stdout_error)?;
    }
    Ok(())
}

fn delete(
    global: &GlobalOptions,
    id: Option<&str>,
    expired_before: Option<&str>,
    dry_run: bool,
) -> Result<(), CliError> {
    enum Selection<'a> {
        Id(keyward::KeyId),
        ExpiredBefore(&'a str),
    }
    // Every argument is checked before the repository is opened.
    let selection = match (id, expired_before) {
        (Some(id), None) => Selection::Id(key_id_arg(id)?),
        (None, Some(before)) => {
            time_arg(before, command_now(global)?)?;
            Selection::ExpiredBefore(before)
        }
        _ => {
            return Err(CliError::Usage(
                "give --id ID or --expired-before TIME".into(),
            ))
        }
    };
    let provider = maintenance_provider(global)?;
    let deletion = match selection {
        Selection::Id(id) => {
            if !provider.keys().iter().any(|k| k.id == id) {
                return Err(keyward::Error::KeyNotFound {
                    key_id: id,
                    ring_location: provider.location(),
                }
                .into());
            }
            provider.delete_keys(|k| k.id == id, dry_run)?
        }
        Selection::ExpiredBefore(before) => {
            let before = time_arg(before, provider.now())?;
            provider.delete_keys(|k| k.expiration < before, dry_run)?
        }
    };
    let verb = if dry_run { "would delete" } else { "deleted" };
    let mut out = std::io::stdout().lock();
    if deletion.keys.is_empty() {
        return writeln!(
            out,
            "no key matches; nothing {verb}",
            verb = if dry_run {
                "would be deleted"
            } else {
                "deleted"
            }
        )
        .map_err(stdout_error);
    }
    for key in &deletion.keys {
        writeln!(
            out,
            "{verb} key {} (expired {})",
            key.id,
            rfc3339(key.expiration)
        )
        .map_err(stdout_error)?;
    }
    for location in &deletion.revocations {
        writeln!(out, "{verb} revocation {}", printable(location)).map_err(stdout_error)?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, rows: &[KeyRow], location: &str) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no keys in {} (the first protect creates one)",
            printable(location)
        );
    }
    writeln!(
        out,
        "{:<36}  {:<10}  {:<22}  {:<20}  {:<20}  {:<20}  AT REST",
        "ID", "STATUS", "ALGORITHM", "CREATED", "ACTIVATION", "EXPIRATION"
    )?;
    let short = |s: &Option<String>| match s {
        Some(s) => s.get(..19).map_or_else(|| s.clone(), |p| format!("{p}Z")),
        None => "?".to_owned(),
    };
    for row in rows {
        let at_rest = match (&row.at_rest_id, row.dotnet_readable) {
            (Some(id), Some(false)) => format!("{} {id} (.NET cannot read)", row.at_rest),
            (None, Some(false)) => format!("{} (.NET cannot read)", row.at_rest),
            (Some(id), _) => format!("{} {id}", row.at_rest),
            (None, _) => row.at_rest.clone(),
        };
        write!(
            out,
            "{:<36}  {:<10}  {:<22}  {:<20}  {:<20}  {:<20}  {}",
            printable(row.id.as_deref().unwrap_or("?")),
            printable(&row.status),
            printable(&row.algorithm),
            short(&row.created),
            short(&row.activation),
            short(&row.expiration),
            printable(&at_rest)
        )?;
        if let Some(reason) = &row.reason {
            write!(out, "  ({})", printable(reason))?;
        }
        if let Some(location) = &row.location {
            write!(out, " in {}", printable(location))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn migrate(from: &str, to: &str, dry_run: bool) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let source = open_repository(from, true)?;
    let target = open_repository(to, dry_run)?;
    let existing: std::collections::HashSet<String> = target
        .load_elements()?
        .iter()
        .filter_map(|stored| KeyDocument::parse(&stored.xml).ok())
        .map(|document| document.identity())
        .collect();
    let elements = source.load_elements()?;
    if elements.is_empty() {
        return Err(CliError::Usage(format!(
            "{} holds no keys or revocations: nothing to migrate (is the source right?)",
            source.location()
        )));
    }
    let mut pending = Vec::new();
    for stored in elements {
        let document = KeyDocument::parse(&stored.xml)
            .map_err(|e| CliError::Usage(format!("{}: {e}", stored.location)))?;
        let id = document.identity();
        if !existing.contains(&id) && !pending.iter().any(|(other, _)| *other == id) {
            pending.push((id, document));
        }
    }
    let mut out = std::io::stdout().lock();
    let progress = std::io::stderr().is_terminal();
    let total = pending.len();
    for (done, (id, document)) in pending.iter().enumerate() {
        if dry_run {
            writeln!(out, "would copy {}", printable(id)).map_err(stdout_error)?;
            continue;
        }
        target.store_element(document.element(), &document.friendly_name())?;
        if progress {
            eprint!(
                "\rcopying [{:<30}] {}/{total}",
                "#".repeat(30 * (done + 1) / total.max(1)),
                done + 1
            );
        }
    }
    if progress && !dry_run && total > 0 {
        eprintln!();
    }
    let verb = if dry_run { "would copy" } else { "copied" };
    writeln!(
        out,
        "{verb} {total} element(s) from {} to {}",
        printable(&source.location()),
        printable(&target.location())
    )
    .map_err(stdout_error)
}

fn rewrap(
    global: &GlobalOptions,
    dry_run: bool,
    trusted: &[keyward::KeyId],
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let provider = maintenance_provider(global)?;
    let terminal = std::io::stderr().is_terminal();
    let report = provider.rewrap_keys_trusting(dry_run, trusted, |done, total| {
        if terminal {
            eprint!(
                "\rrewrapping [{:<30}] {done}/{total}",
                "#".repeat(30 * done / total.max(1))
            );
        }
    })?;
    if terminal {
        eprintln!();
    }
    let verb = if dry_run {
        "would re-encrypt"
    } else {
        "re-encrypted"
    };
    let mut out = std::io::stdout().lock();
    for id in &report.rewrapped {
        writeln!(out, "{verb} {id}").map_err(stdout_error)?;
    }
    for id in &report.suspect {
        writeln!(
            out,
            "left {id}: a plaintext key created after the ring's first encrypted key (it may have been planted; --trust-plaintext {id} encrypts it)"
        )
        .map_err(stdout_error)?;
    }
    writeln!(
        out,
        "{verb} {} key(s); {} already current; {} suspect left alone",
        report.rewrapped.len(),
        report.unchanged.len(),
        report.suspect.len()
    )
    .map_err(stdout_error)
}
