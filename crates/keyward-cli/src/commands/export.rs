//! `keyward keys export` / `keyward keys import`: the whole ring to one file and back.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{maintenance_provider, ring_reader, CliError};
use crate::cli::GlobalOptions;
use crate::printable::printable;

/// `keys export --json` (field names are a contract).
#[derive(Debug, Serialize)]
struct ExportReport {
    file: String,
    keys: Vec<String>,
    revocations: usize,
    wrapped: Vec<String>,
    plaintext: Vec<String>,
}

/// `keys import --json` (field names are a contract).
#[derive(Debug, Serialize)]
struct ImportReport {
    dry_run: bool,
    imported_keys: Vec<String>,
    imported_revocations: usize,
    already_present: Vec<String>,
    conflicts: Vec<String>,
    /// Keys given back in the clear, as the ring held them before the export wrapped them.
    restored_plaintext: Vec<String>,
    /// The keys the imported revocations revoke.
    revokes: Vec<String>,
}

fn io(context: &'static str) -> impl Fn(std::io::Error) -> CliError {
    move |source| CliError::Io { context, source }
}

fn ids(ids: &[keyward::KeyId]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// Writes the ring to `output` (owner-only, written whole or not at all) or stdout.
pub fn export(
    global: &GlobalOptions,
    output: Option<&Path>,
    allow_plaintext: bool,
    json: bool,
    force: bool,
) -> Result<(), CliError> {
    if let Some(path) = output {
        check_destination(global, path, force)?;
    }
    let provider = ring_reader(global)?;
    let export = provider.export_ring(allow_plaintext).map_err(|error| match error {
        keyward::Error::KeyNotEncrypted(id) => CliError::Usage(format!(
            "the key {{{id}}} is stored in the clear: refusing to write its master key to an export file; give --kek-file, --passphrase-file or --certificate to encrypt it for the file, or --allow-plaintext"
        )),
        other => other.into(),
    })?;
    let Some(path) = output else {
        let mut out = std::io::stdout().lock();
        out.write_all(export.document.as_bytes())
            .and_then(|()| writeln!(out))
            .map_err(io("writing stdout"))?;
        return Ok(());
    };
    write_private(path, export.document.as_bytes())?;
    let report = ExportReport {
        file: path.display().to_string(),
        keys: ids(&export.keys),
        revocations: export.revocations,
        wrapped: ids(&export.wrapped),
        plaintext: ids(&export.plaintext),
    };
    let mut out = std::io::stdout().lock();
    if json {
        crate::json_out::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .map_err(io("writing stdout"))
    } else {
        writeln!(
            out,
            "exported {} key(s) and {} revocation(s) to {}{}{}",
            report.keys.len(),
            report.revocations,
            printable(&report.file),
            if report.wrapped.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} plaintext key(s) encrypted for the file",
                    report.wrapped.len()
                )
            },
            if report.plaintext.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} master key(s) IN THE CLEAR (--allow-plaintext)",
                    report.plaintext.len()
                )
            }
        )
        .map_err(io("writing stdout"))
    }
}

/// Refuses an export file inside the key directory (the ring would read it as a container
/// of keys it already holds, differently wrapped) and an existing file without `--force`.
fn check_destination(global: &GlobalOptions, path: &Path, force: bool) -> Result<(), CliError> {
    let directory_of = |p: &Path| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent).ok()
    };
    if let (Some(keys), Some(target)) = (super::directory_of(global), directory_of(path)) {
        if std::fs::canonicalize(&keys).is_ok_and(|keys| keys == target) {
            return Err(CliError::Usage(format!(
                "{} is inside the key directory: the ring would read the export as keys; write it elsewhere",
                path.display()
            )));
        }
    }
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(CliError::Usage(format!(
            "{} exists: pass --force to replace it",
            path.display()
        )));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory (mode 0600 on
/// Unix), renamed into place: a reader never sees half a file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("{} is not a file name", path.display())))?;
    let temporary = directory.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path))
        // The rename is durable once the directory is.
        .and_then(|()| std::fs::File::open(directory).and_then(|d| d.sync_all()));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(CliError::writing(path))
}

/// Reads an export file into the ring.
pub fn import(
    global: &GlobalOptions,
    file: &Path,
    dry_run: bool,
    json: bool,
) -> Result<(), CliError> {
    // Read at most the limit (a FIFO or /dev/stdin reports no size).
    let limit = keyward::store::MAX_DOCUMENT_BYTES as u64;
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| {
            std::io::Read::read_to_string(&mut std::io::Read::take(f, limit + 1), &mut text)
        })
        .map_err(CliError::reading(file))?;
    if text.len() as u64 > limit {
        return Err(CliError::Usage(format!(
            "{} is larger than the {limit}-byte limit of a key document",
            file.display()
        )));
    }
    // A dry run reads only: not even a lock file is created.
    let provider = if dry_run {
        ring_reader(global)?
    } else {
        maintenance_provider(global)?
    };
    let import = provider.import_ring(text.trim_start_matches('\u{feff}'), dry_run)?;
    let report = ImportReport {
        dry_run,
        imported_keys: ids(&import.imported_keys),
        imported_revocations: import.imported_revocations.len(),
        already_present: ids(&import.already_present),
        conflicts: ids(&import.conflicts),
        restored_plaintext: ids(&import.restored_plaintext),
        revokes: ids(&import.revokes),
    };
    let mut out = std::io::stdout().lock();
    if json {
        crate::json_out::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .map_err(io("writing stdout"))?;
    } else {
        let verb = if dry_run { "would import" } else { "imported" };
        for id in &report.imported_keys {
            if report.restored_plaintext.contains(id) {
                writeln!(
                    out,
                    "{verb} key {id} (in the clear, as the ring held it: .NET reads it)"
                )
            } else {
                writeln!(out, "{verb} key {id}")
            }
            .map_err(io("writing stdout"))?;
        }
        for id in &report.revokes {
            let revoke = if dry_run { "would revoke" } else { "revokes" };
            writeln!(out, "{revoke} key {id}").map_err(io("writing stdout"))?;
        }
        writeln!(
            out,
            "{verb} {} key(s) and {} revocation(s); {} already present",
            report.imported_keys.len(),
            report.imported_revocations,
            report.already_present.len()
        )
        .map_err(io("writing stdout"))?;
    }
    if !report.conflicts.is_empty() {
        return Err(CliError::Usage(format!(
            "not imported: the ring holds a different key under the id(s) {} (an existing key is never replaced)",
            report.conflicts.join(", ")
        )));
    }
    Ok(())
}
