//! `keyward keys …`.

use std::io::Write;

use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::OffsetDateTime;
use keyward::KeyInfo;
use serde::Serialize;

use super::{provider, CliError};
use crate::cli::{GlobalOptions, KeysCommand};

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
    at.to_offset(keyward::time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.to_string())
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
        KeysCommand::List { json } => list(global, *json),
    }
}

fn list(global: &GlobalOptions, json: bool) -> Result<(), CliError> {
    let provider = provider(global)?;
    let now = provider.now();
    let default_key = provider.default_key_at(now);
    let keys = provider.keys();
    let rows: Vec<KeyRow> = keys.iter().map(|k| row(k, now, default_key)).collect();
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write_table(&mut out, &rows, &keys, &provider.location())
    };
    written.map_err(|source| CliError::Io {
        context: "writing stdout",
        source,
    })
}

fn write_table(
    out: &mut impl Write,
    rows: &[KeyRow],
    keys: &[KeyInfo],
    location: &str,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no keys in {location} (the first protect creates one)");
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
            row.id,
            row.status,
            row.algorithm,
            short(&row.created),
            short(&row.activation),
            short(&row.expiration)
        )?;
        if let Some(reason) = &key.unusable_reason {
            write!(out, "  (unusable: {reason})")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
