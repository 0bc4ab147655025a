//! `keyward keys ensure`: the janitor for cron, systemd timers and Kubernetes CronJobs.

use crate::timespec::format_time_seconds as rfc3339;
use std::io::Write;

use serde::Serialize;

use super::{command_now, maintenance_provider, ring_reader, CliError};
use crate::cli::GlobalOptions;
use crate::timespec::parse_time_in_range;

/// `keys ensure --json` (these field names are a contract).
#[derive(Debug, Serialize)]
struct Report {
    dry_run: bool,
    /// Whether the ring was (or would be) changed.
    changed: bool,
    created: Vec<CreatedKey>,
    deleted: Vec<String>,
    default_key: Option<String>,
    /// The written keys cover protection until then.
    covered_until: String,
    /// From when a run has work to do again.
    next_run_at: String,
    /// The last moment a run keeps the successor a full propagation window ahead.
    must_run_by: String,
}

#[derive(Debug, Serialize)]
struct CreatedKey {
    id: Option<String>,
    activation: String,
    expiration: String,
}

/// Runs the janitor: checks every argument, then ensures the keys, then deletes what
/// `--delete-expired-before` selects (never the default or a recent key).
pub fn run(
    global: &GlobalOptions,
    delete_expired_before: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<(), CliError> {
    let checked_now = command_now(global)?;
    if let Some(text) = delete_expired_before {
        let before = parse_time_in_range(text, checked_now).map_err(CliError::Usage)?;
        if before > checked_now {
            return Err(CliError::Usage(
                "--delete-expired-before must be in the past: keys that have not expired yet still protect".into(),
            ));
        }
    }
    // A dry run reads only: not even a lock file is created.
    let provider = if dry_run {
        ring_reader(global)?
    } else {
        maintenance_provider(global)?
    };
    let ensured = provider.ensure_keys(dry_run)?;
    let mut deleted = Vec::new();
    if let Some(text) = delete_expired_before {
        let before = parse_time_in_range(text, provider.now()).map_err(CliError::Usage)?;
        let deletion = provider.delete_keys(|k| k.expiration < before, dry_run)?;
        deleted = deletion.keys.iter().map(|k| k.id.to_string()).collect();
    }
    let report = Report {
        dry_run,
        changed: ensured.changed() || !deleted.is_empty(),
        created: ensured
            .created
            .iter()
            .map(|k| CreatedKey {
                id: k.id.map(|id| id.to_string()),
                activation: rfc3339(k.activation),
                expiration: rfc3339(k.expiration),
            })
            .collect(),
        deleted,
        default_key: ensured.default_key.map(|id| id.to_string()),
        covered_until: rfc3339(ensured.covered_until),
        next_run_at: rfc3339(ensured.next_run_at),
        must_run_by: rfc3339(ensured.must_run_by),
    };
    let mut out = std::io::stdout().lock();
    let written = if json {
        crate::json_out::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write_text(&mut out, &report)
    };
    written.map_err(|source| CliError::Io {
        context: "writing stdout",
        source,
    })
}

fn write_text(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let (create, delete) = if report.dry_run {
        ("would create", "would delete")
    } else {
        ("created", "deleted")
    };
    for key in &report.created {
        writeln!(
            out,
            "{create} key {} (activates {}, expires {})",
            key.id.as_deref().unwrap_or("(new)"),
            key.activation,
            key.expiration
        )?;
    }
    for id in &report.deleted {
        writeln!(out, "{delete} key {id}")?;
    }
    if !report.changed {
        writeln!(out, "nothing to do")?;
    }
    writeln!(
        out,
        "default key: {}",
        report.default_key.as_deref().unwrap_or("(none)")
    )?;
    writeln!(out, "keys written through: {}", report.covered_until)?;
    writeln!(
        out,
        "next run: from {} (the successor falls due), at the latest {}",
        report.next_run_at, report.must_run_by
    )
}
