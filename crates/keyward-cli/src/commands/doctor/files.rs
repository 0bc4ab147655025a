//! The key directory's files: who may read them (the user running the check, and the
//! service's user), empty or unparsable key files, duplicate ids, stray temporary files.

use std::collections::HashMap;
use std::path::Path;

use super::users::{group_name, user_name, Access, Identity};
use super::{Finding, Severity};

/// One file's owner, group and mode (Unix), or `None` elsewhere.
#[cfg(unix)]
fn ownership(metadata: &std::fs::Metadata) -> Option<(u32, u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.uid(), metadata.gid(), metadata.mode() & 0o7777))
}

#[cfg(not(unix))]
fn ownership(_metadata: &std::fs::Metadata) -> Option<(u32, u32, u32)> {
    None
}

fn describe(owner: u32, group: u32, mode: u32) -> String {
    format!(
        "owner {}:{}, mode {mode:04o}",
        user_name(owner).unwrap_or_else(|| owner.to_string()),
        group_name(group).unwrap_or_else(|| group.to_string())
    )
}

/// Checks the directory and every file in it.
pub fn check(directory: &Path, service_user: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let me = Identity::current();
    let service = match service_user {
        Some(name) => match Identity::named(name) {
            Some(identity) => Some(identity),
            None => {
                findings.push(
                    Finding::new(
                        Severity::Error,
                        "files",
                        "files.unknown_service_user",
                        format!("the service user {name} is not in /etc/passwd"),
                    )
                    .fix("pass the user the service runs as (systemd User=, the app pool identity, the container's USER)"),
                );
                None
            }
        },
        None => None,
    };
    let Ok(metadata) = std::fs::metadata(directory) else {
        findings.push(
            Finding::new(
                Severity::Warning,
                "files",
                "files.no_directory",
                format!(
                    "{} does not exist (the first protect creates it)",
                    directory.display()
                ),
            )
            .path(directory),
        );
        return findings;
    };
    let identities: Vec<(&Identity, &str)> = me
        .iter()
        .map(|i| (i, "this user"))
        .chain(service.iter().map(|i| (i, "the service user")))
        .collect();
    if let Some((owner, group, mode)) = ownership(&metadata) {
        let mut fine = true;
        for (identity, who) in &identities {
            let may = |access| identity.may(access, owner, group, mode);
            if !may(Access::Search) || !may(Access::Read) {
                fine = false;
                findings.push(
                    Finding::new(
                        Severity::Error,
                        "files",
                        if *who == "this user" {
                            "files.directory_unreadable"
                        } else {
                            "files.directory_unreadable_by_service"
                        },
                        format!(
                            "{who} ({}) cannot list {} ({})",
                            identity.name,
                            directory.display(),
                            describe(owner, group, mode)
                        ),
                    )
                    .fix(format!(
                        "chgrp {} the directory and chmod g+rx, or run the service as its owner",
                        group_of(identity)
                    ))
                    .path(directory),
                );
            } else if !may(Access::Write) {
                fine = false;
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        "files",
                        "files.directory_read_only",
                        format!(
                            "{who} ({}) cannot create keys in {} ({}): fine for a read-only node, but a node that must rotate keys fails",
                            identity.name,
                            directory.display(),
                            describe(owner, group, mode)
                        ),
                    )
                    .fix("give the writing node write access (chmod g+w with a shared group), or leave rotation to one node")
                    .path(directory),
                );
            }
        }
        if mode & 0o002 != 0 {
            fine = false;
            findings.push(
                Finding::new(
                    Severity::Error,
                    "files",
                    "files.directory_world_writable",
                    format!(
                        "{} is writable by every user ({})",
                        directory.display(),
                        describe(owner, group, mode)
                    ),
                )
                .fix("chmod o-w: anyone could plant a key")
                .path(directory),
            );
        }
        if fine {
            findings.push(Finding::new(
                Severity::Ok,
                "files",
                "files.directory",
                format!("{} ({})", directory.display(), describe(owner, group, mode)),
            ));
        }
    }
    let Ok(entries) = std::fs::read_dir(directory) else {
        return findings;
    };
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    let mut files = 0;
    let mut problems = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        if name.ends_with(".tmp") || name.contains(".tmp-") {
            problems += 1;
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "files",
                    "files.stray_temporary",
                    format!("{name} is a temporary file left by an interrupted write"),
                )
                .fix("delete it once no keyward or .NET process is writing keys")
                .path(&path),
            );
            continue;
        }
        if !name.to_ascii_lowercase().ends_with(".xml") {
            continue;
        }
        files += 1;
        if let Some((owner, group, mode)) = ownership(&metadata) {
            for (identity, who) in &identities {
                if !identity.may(Access::Read, owner, group, mode) {
                    problems += 1;
                    findings.push(
                        Finding::new(
                            Severity::Error,
                            "files",
                            if *who == "this user" { "files.unreadable" } else { "files.unreadable_by_service" },
                            format!(
                                "{who} ({}) cannot read {name} ({}): a node running as {} skips or fails on this key",
                                identity.name,
                                describe(owner, group, mode),
                                identity.name
                            ),
                        )
                        .fix(format!(
                            "chown {} {name}, or chgrp {} {name} && chmod 0640 {name}",
                            identity.name,
                            group_of(identity)
                        ))
                        .path(&path),
                    );
                }
            }
        }
        if metadata.len() == 0 {
            problems += 1;
            findings.push(
                Finding::new(
                    Severity::Error,
                    "files",
                    "files.empty",
                    format!("{name} is empty (a write that did not finish, or a full disk)"),
                )
                .fix("restore it from a backup, or delete it if its key never protected anything")
                .path(&path),
            );
            continue;
        }
        match read_limited(&path)
            .map(|text| keyward::store::KeyDocument::parse(text.trim_start_matches('\u{feff}')))
        {
            Some(Ok(document)) => {
                if let Some(id) = document.key_id().filter(|_| document.is_key()) {
                    ids.entry(id.to_string()).or_default().push(name.clone());
                }
            }
            Some(Err(error)) => {
                problems += 1;
                findings.push(
                    Finding::new(
                        Severity::Error,
                        "files",
                        "files.unparsable",
                        format!("{name} is not valid key XML: {error}"),
                    )
                    .fix("restore it from a backup; `keyward keys list` shows what the ring reads")
                    .path(&path),
                );
            }
            // Not UTF-8 (UTF-16 key files are read by the ring itself; not checked here).
            None => {}
        }
    }
    let mut duplicates: Vec<(String, Vec<String>)> = ids
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .collect();
    duplicates.sort();
    for (id, mut names) in duplicates {
        names.sort();
        problems += 1;
        findings.push(
            Finding::new(
                Severity::Warning,
                "files",
                "files.duplicate_id",
                format!("key {id} is stored in {} files: {}", names.len(), names.join(", ")),
            )
            .fix("keep the file named key-{id}.xml if the copies are identical; if they differ, the ring refuses to load: restore the right one")
            .key(id),
        );
    }
    if problems == 0 {
        findings.push(Finding::new(
            Severity::Ok,
            "files",
            "files.keys",
            format!(
                "{files} key file(s), readable{}",
                service
                    .as_ref()
                    .map_or(String::new(), |s| format!(" by {} too", s.name))
            ),
        ));
    }
    findings
}

fn group_of(identity: &Identity) -> String {
    group_name(identity.gid).unwrap_or_else(|| identity.gid.to_string())
}

/// A key file's text, at most the size the ring reads (`None`: unreadable, too large, or not
/// UTF-8 — the ring's own read reports those).
fn read_limited(path: &Path) -> Option<String> {
    let limit = keyward::store::MAX_DOCUMENT_BYTES as u64;
    let mut text = String::new();
    let file = std::fs::File::open(path).ok()?;
    std::io::Read::read_to_string(&mut std::io::Read::take(file, limit + 1), &mut text).ok()?;
    (text.len() as u64 <= limit).then_some(text)
}
