//! `keyward keys …`.

use crate::timespec::format_time as rfc3339;
use std::io::Write;

use keyward::revocation::{RevocationPlan, RevocationTarget};
use keyward::schedule::GapCause;
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
            dry_run,
        } => new(global, activate_at.as_deref(), lifetime, *dry_run),
        KeysCommand::Revoke {
            id,
            all,
            before,
            reason,
            allow_unknown,
            dry_run,
        } => revoke(
            global,
            RevokeArgs {
                id: id.as_deref(),
                all: *all,
                before: before.as_deref(),
                reason,
                allow_unknown: *allow_unknown,
                dry_run: *dry_run,
            },
        ),
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
        KeysCommand::Trust { ids } => trust(global, ids),
        KeysCommand::Rewrap {
            dry_run,
            trust_plaintext,
            to_plaintext,
            yes,
        } => rewrap(global, *dry_run, trust_plaintext, *to_plaintext, *yes),
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
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(CliError::reading(path))?,
        );
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
    let default_key = provider.schedule().default_at(at);
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
fn new(
    global: &GlobalOptions,
    activate_at: Option<&str>,
    lifetime: &str,
    dry_run: bool,
) -> Result<(), CliError> {
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
    let provider = if dry_run {
        ring_reader(global)?
    } else {
        maintenance_provider(global)?
    };
    let now = provider.now();
    let window = provider.policy().propagation_window;
    let usable_default = provider.default_key_at(now).is_some();
    if dry_run {
        let activation = match explicit_activation {
            Some(text) => time_arg(text, now)?,
            None => provider.plan_next_key(lifetime).activation,
        };
        let expiration = activation
            .checked_add(lifetime)
            .and_then(crate::timespec::in_range)
            .ok_or_else(|| CliError::Usage("the key would expire out of range".into()))?;
        let schedule = provider.schedule().with_change(|keys| {
            keys.push(keyward::schedule::KeyCandidate {
                id: keyward::KeyId::from_guid_bytes([0xff; 16]),
                creation: now,
                activation,
                expiration,
                revoked: false,
                usable: true,
            });
        });
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "would create a key active from {} until {}",
            rfc3339(activation),
            rfc3339(expiration)
        )
        .map_err(stdout_error)?;
        for gap in schedule.gaps() {
            writeln!(
                out,
                "this would leave no default key from {}: {}",
                rfc3339(gap.start),
                gap_cause(gap.cause)
            )
            .map_err(stdout_error)?;
        }
        let before = provider.schedule().covered_until();
        if schedule.covered_until() < before {
            writeln!(
                out,
                "keys would be written through {} only (now {}): the next key falls due earlier",
                rfc3339(schedule.covered_until()),
                rfc3339(before)
            )
            .map_err(stdout_error)?;
        }
        return Ok(());
    }
    let Some(text) = explicit_activation else {
        // The activation the library will choose (one window ahead, or now on a ring
        // without a usable default key): the rule lives in `Provider::plan_next_key`.
        provider
            .plan_next_key(lifetime)
            .activation
            .checked_add(lifetime)
            .and_then(crate::timespec::in_range)
            .ok_or_else(|| CliError::Usage("the key would expire out of range".into()))?;
        let key = provider.create_next_key(lifetime)?;
        let id = key.id.map(|id| id.to_string()).unwrap_or_default();
        if usable_default {
            eprintln!(
                "keyward: key {id} activates at {} (after the propagation window, so every node sees it before it protects); --activate-at now makes it active at once",
                rfc3339(key.activation)
            );
        }
        return writeln!(std::io::stdout(), "{id}").map_err(stdout_error);
    };
    let activation = time_arg(text, now)?;
    if usable_default && activation < now + window {
        eprintln!(
            "keyward: warning: the key activates before the propagation window ({}) has passed: nodes that have not re-read the ring since will refuse its payloads (\"the key was not found\") until their next refresh",
            format_duration(window)
        );
    }
    let expiration = activation
        .checked_add(lifetime)
        .and_then(crate::timespec::in_range)
        .ok_or_else(|| CliError::Usage("the key would expire out of range".into()))?;
    let before = provider.schedule().covered_until();
    let id = provider.create_key(activation, expiration)?;
    // Never silently: a short-lived key activated ahead of the chain becomes the default and
    // ends the chain where it expires, or leaves a gap due now.
    let after = provider.schedule();
    if let Some(gap) = after.gaps().first() {
        eprintln!(
            "keyward: warning: the ring now has no default key from {}: {} (keyward keys ensure fills it)",
            rfc3339(gap.start),
            gap_cause(gap.cause)
        );
    } else if after.covered_until() < before {
        eprintln!(
            "keyward: warning: keys are now written through {} only (was {}): rotation or keyward keys ensure writes the next key before then",
            rfc3339(after.covered_until()),
            rfc3339(before)
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

/// The options of `keys revoke`.
struct RevokeArgs<'a> {
    id: Option<&'a str>,
    all: bool,
    before: Option<&'a str>,
    reason: &'a str,
    allow_unknown: bool,
    dry_run: bool,
}

/// `keys revoke`: validates its input, then revokes and writes the keys the ring needs to
/// keep a default key at every instant (a revoked default is replaced at once, a revoked
/// successor by a key activated when it would have been), or refuses and writes nothing.
/// Prints the keys it revokes, the gaps that opens, and the keys written to fill them.
fn revoke(global: &GlobalOptions, args: RevokeArgs<'_>) -> Result<(), CliError> {
    let checked_now = command_now(global)?;
    let target = match (args.id, args.all, args.before) {
        (Some(id), false, None) => RevokeTarget::Key(key_id_arg(id)?),
        (None, true, Some(before)) => {
            let at = time_arg(before, checked_now)?;
            if at > checked_now {
                return Err(CliError::Usage(
                    "a mass revocation cannot be dated in the future: every key created until then would be revoked too".into(),
                ));
            }
            RevokeTarget::CreatedBefore(before)
        }
        _ => {
            return Err(CliError::Usage(
                "give a key id, or --all --before TIME".into(),
            ))
        }
    };
    let provider = if args.dry_run {
        ring_reader(global)?
    } else {
        maintenance_provider(global)?
    };
    let now = provider.now();
    let target = match target {
        RevokeTarget::Key(id) => {
            let known = provider.keys().iter().any(|k| k.id == id)
                || provider.unreadable_keys().iter().any(|k| k.id == Some(id));
            if !known && !args.allow_unknown {
                return Err(CliError::Usage(format!(
                    "no key {id} is in the ring at {}; --allow-unknown revokes it anyway (nodes that still hold such a key in memory stop using it)",
                    provider.location()
                )));
            }
            RevocationTarget::Key(id)
        }
        RevokeTarget::CreatedBefore(text) => RevocationTarget::CreatedBefore(time_arg(text, now)?),
    };
    let plan = provider.revoke(target, args.reason, args.dry_run)?;
    let mut out = std::io::stdout().lock();
    write_revocation_plan(&mut out, &plan, target, &provider).map_err(stdout_error)
}

/// What `keys revoke` takes before the provider is opened.
enum RevokeTarget<'a> {
    Key(keyward::KeyId),
    CreatedBefore(&'a str),
}

fn write_revocation_plan(
    out: &mut impl Write,
    plan: &RevocationPlan,
    target: RevocationTarget,
    provider: &keyward::Provider,
) -> std::io::Result<()> {
    let (revoke, create) = if plan.dry_run {
        ("would revoke", "would create")
    } else {
        ("revoked", "created")
    };
    match target {
        RevocationTarget::Key(id) if plan.unknown_key => {
            writeln!(out, "{revoke} {id} (no such key in the ring)")?;
        }
        RevocationTarget::Key(id) => writeln!(out, "{revoke} {id}")?,
        RevocationTarget::CreatedBefore(before) => {
            writeln!(out, "{revoke} every key created before {}", rfc3339(before))?;
            for key in &plan.revoked {
                writeln!(out, "  {} (created {})", key.id, rfc3339(key.creation))?;
            }
        }
    }
    for key in &plan.future_dated {
        writeln!(
            out,
            "{revoke} {} by id: its creation date ({}) lies in the future, out of reach of a revocation by date",
            key.id,
            rfc3339(key.creation)
        )?;
    }
    let now = provider.now();
    for gap in &plan.gaps {
        let until = gap
            .end
            .map_or_else(|| "on".to_owned(), |end| format!("until {}", rfc3339(end)));
        writeln!(
            out,
            "this leaves no default key from {} {until}: {}",
            rfc3339(gap.start.max(now)),
            gap_cause(gap.cause)
        )?;
    }
    let window = provider.policy().propagation_window;
    for key in &plan.replacements {
        let id = key
            .id
            .map_or_else(|| "a key".to_owned(), |id| id.to_string());
        if key.activation <= now + provider.policy().max_clock_skew {
            writeln!(out, "{create} {id} to replace the revoked default key")?;
        } else {
            writeln!(
                out,
                "{create} {id}, active from {}, to fill that gap",
                rfc3339(key.activation)
            )?;
            if key.activation + provider.policy().max_clock_skew < now + window {
                writeln!(
                    out,
                    "  it activates less than the propagation window ({}) from now: nodes that have not re-read the ring by then cannot open its payloads until they do",
                    format_duration(window)
                )?;
            }
        }
    }
    Ok(())
}

/// Why a gap has no default key, for people.
pub(crate) fn gap_cause(cause: GapCause) -> String {
    match cause {
        GapCause::NoKey => "no key is active then".into(),
        GapCause::Expired(id) => format!("{id} expires and no key takes over"),
        GapCause::Revoked(id) => {
            format!("the key that would be the default then, {id}, is revoked")
        }
        GapCause::Unusable(id) => {
            format!("the key that would be the default then, {id}, cannot be used")
        }
    }
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

/// `keys trust`: signs certificate-encrypted keys .NET wrote, after checking each decrypts.
fn trust(global: &GlobalOptions, ids: &[keyward::KeyId]) -> Result<(), CliError> {
    if global.certificates.is_empty() {
        return Err(CliError::Usage(
            "keys trust needs the certificate the keys are encrypted to, with its private key (--certificate FILE)".into(),
        ));
    }
    let provider = maintenance_provider(global)?;
    let mut out = std::io::stdout().lock();
    for id in ids {
        if provider.trust_certificate_key(*id)? {
            writeln!(out, "trusted {id}: signed with the certificate").map_err(stdout_error)?;
        } else {
            writeln!(out, "{id} already carries a valid signature").map_err(stdout_error)?;
        }
    }
    Ok(())
}

fn rewrap(
    global: &GlobalOptions,
    dry_run: bool,
    trusted: &[keyward::KeyId],
    to_plaintext: bool,
    yes: bool,
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let provider = maintenance_provider(global)?;
    let dotnet_reads_some = provider
        .keys()
        .iter()
        .any(|k| !k.revoked && k.at_rest.dotnet_readable());
    // The consequence for .NET nodes comes before anything is written.
    let consequence = if to_plaintext {
        Some("storing every key in the clear: anyone who can read the key store can then forge and read payloads; ASP.NET Core nodes read the keys with no XML encryptor configured")
    } else if dotnet_reads_some
        && (!global.kek_files.is_empty() || global.passphrase_file.is_some())
    {
        Some("keys wrapped with a keyward KEK or passphrase cannot be read by ASP.NET Core nodes: .NET nodes sharing this ring lose every key rewrapped (a certificate keeps them working)")
    } else {
        None
    };
    if let Some(consequence) = consequence.filter(|_| !dry_run) {
        eprintln!("keyward: {consequence}");
        if !yes {
            return Err(CliError::Usage(
                "nothing was written: add --yes to confirm (or --dry-run to list the keys)".into(),
            ));
        }
    }
    if to_plaintext {
        let report = provider.unwrap_keys_to_plaintext(dry_run)?;
        let verb = if dry_run {
            "would store in the clear"
        } else {
            "stored in the clear"
        };
        let mut out = std::io::stdout().lock();
        for id in &report.rewrapped {
            writeln!(out, "{verb} {id}").map_err(stdout_error)?;
        }
        return writeln!(
            out,
            "{verb} {} key(s); {} already in the clear",
            report.rewrapped.len(),
            report.unchanged.len()
        )
        .map_err(stdout_error);
    }
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
    let keys = provider.keys();
    for id in &report.suspect {
        let certificate = keys
            .iter()
            .any(|k| k.id == *id && k.at_rest.kind() == "certificate");
        if certificate {
            writeln!(
                out,
                "left {id}: a certificate-encrypted key without keyward's signature (it may have been planted; if a .NET node wrote it, `keys trust {id}` signs it, then rewrap again)"
            )
        } else {
            writeln!(
                out,
                "left {id}: a plaintext key created after the ring's first encrypted key (it may have been planted; --trust-plaintext {id} encrypts it)"
            )
        }
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
