//! `keyward keys …`.

use std::io::Write;

use keyward::store::KeyDocument;
use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::OffsetDateTime;
use keyward::{KeyInfo, KeyRepository};
use serde::Serialize;

use super::{maintenance_provider, open_repository, provider, read_only_provider, CliError};
use crate::cli::{GlobalOptions, KeysCommand};
use crate::printable::printable;
use crate::timespec::{parse_duration, parse_time_in_range};

/// One key as `keys list --json` prints it (these field names are a contract).
#[derive(Debug, Serialize)]
struct KeyRow {
    id: String,
    created: String,
    activation: String,
    expiration: String,
    algorithm: String,
    status: String,
}

fn rfc3339(at: OffsetDateTime) -> String {
    // Checked: a store's date in an offset can lie beyond 9999 once in UTC.
    at.checked_to_offset(keyward::time::UtcOffset::UTC)
        .and_then(|utc| utc.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

fn row(key: &KeyInfo, now: OffsetDateTime, default_key: Option<keyward::KeyId>) -> KeyRow {
    KeyRow {
        id: key.id.to_string(),
        created: rfc3339(key.creation),
        activation: rfc3339(key.activation),
        expiration: rfc3339(key.expiration),
        algorithm: key
            .algorithm
            .map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
        status: key.status_at(now, default_key).to_string(),
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
    let provider = read_only_provider(global)?;
    let now = provider.now();
    let at = at.map(|t| time_arg(t, now)).transpose()?.unwrap_or(now);
    let default_key = provider.default_key_at(at);
    let keys = provider.keys();
    let rows: Vec<KeyRow> = keys.iter().map(|k| row(k, at, default_key)).collect();
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        if at != now {
            let shown = at.replace_nanosecond(0).unwrap_or(at);
            writeln!(out, "as at {}:", rfc3339(shown)).map_err(stdout_error)?;
        }
        write_table(&mut out, &rows, &keys, &provider.location())
    };
    written.map_err(stdout_error)
}

fn new(global: &GlobalOptions, activate_at: Option<&str>, lifetime: &str) -> Result<(), CliError> {
    let provider = provider(global)?;
    let now = provider.now();
    let activation = activate_at
        .map(|t| time_arg(t, now))
        .transpose()?
        .unwrap_or(now);
    let lifetime = parse_duration(lifetime).map_err(CliError::Usage)?;
    if lifetime < keyward::MIN_KEY_LIFETIME {
        return Err(CliError::Usage(
            "the key lifetime must be at least 7 days".into(),
        ));
    }
    let expiration = activation
        .checked_add(lifetime)
        .and_then(crate::timespec::in_range)
        .ok_or_else(|| CliError::Usage("the key would expire out of range".into()))?;
    let id = provider.create_key(activation, expiration)?;
    writeln!(std::io::stdout(), "{id}").map_err(stdout_error)
}

fn revoke(
    global: &GlobalOptions,
    id: Option<&str>,
    all: bool,
    before: Option<&str>,
    reason: &str,
) -> Result<(), CliError> {
    let provider = provider(global)?;
    let mut out = std::io::stdout().lock();
    match (id, all, before) {
        (Some(id), false, None) => {
            let id = key_id_arg(id)?;
            provider.revoke_key(id, reason)?;
            writeln!(out, "revoked {id}").map_err(stdout_error)
        }
        (None, true, Some(before)) => {
            let before = time_arg(before, provider.now())?;
            provider.revoke_all_keys(before, reason)?;
            writeln!(out, "revoked every key created before {}", rfc3339(before))
                .map_err(stdout_error)
        }
        _ => Err(CliError::Usage(
            "give a key id, or --all --before TIME".into(),
        )),
    }
}

fn delete(
    global: &GlobalOptions,
    id: Option<&str>,
    expired_before: Option<&str>,
    dry_run: bool,
) -> Result<(), CliError> {
    let provider = maintenance_provider(global)?;
    let deletion = match (id, expired_before) {
        (Some(id), None) => {
            let id = key_id_arg(id)?;
            if !provider.keys().iter().any(|k| k.id == id) {
                return Err(keyward::Error::KeyNotFound {
                    key_id: id,
                    ring_location: provider.location(),
                }
                .into());
            }
            provider.delete_keys(|k| k.id == id, dry_run)?
        }
        (None, Some(before)) => {
            let before = time_arg(before, provider.now())?;
            provider.delete_keys(|k| k.expiration < before, dry_run)?
        }
        _ => {
            return Err(CliError::Usage(
                "give --id ID or --expired-before TIME".into(),
            ))
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

fn write_table(
    out: &mut impl Write,
    rows: &[KeyRow],
    keys: &[KeyInfo],
    location: &str,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no keys in {} (the first protect creates one)",
            printable(location)
        );
    }
    writeln!(
        out,
        "{:<36}  {:<8}  {:<22}  {:<20}  {:<20}  {:<20}",
        "ID", "STATUS", "ALGORITHM", "CREATED", "ACTIVATION", "EXPIRATION"
    )?;
    for (row, key) in rows.iter().zip(keys) {
        let short = |s: &str| {
            s.get(..19)
                .map_or_else(|| s.to_owned(), |p| format!("{p}Z"))
        };
        write!(
            out,
            "{:<36}  {:<8}  {:<22}  {:<20}  {:<20}  {:<20}",
            printable(&row.id),
            printable(&row.status),
            printable(&row.algorithm),
            short(&row.created),
            short(&row.activation),
            short(&row.expiration)
        )?;
        if let Some(reason) = &key.unusable_reason {
            write!(out, "  (unusable: {})", printable(reason))?;
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
