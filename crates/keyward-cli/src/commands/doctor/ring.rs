//! The ring's keys (a default, its successor, keys no node can use, plaintext keys where
//! encryption is expected, growth), the clocks, and the configuration in use.

use crate::timespec::format_time_seconds as show;
use keyward::schedule::GapCause;
use keyward::time::{Duration, OffsetDateTime};
use keyward::{AtRestProtection, KeyInfo, Provider};

use super::{Finding, Severity};
use crate::cli::GlobalOptions;

fn span(duration: Duration) -> String {
    let hours = duration.whole_hours();
    if hours.abs() >= 48 {
        format!("{} days", duration.whole_days())
    } else if hours.abs() >= 2 {
        format!("{hours} h")
    } else {
        format!("{} min", duration.whole_minutes())
    }
}

/// The application name and at-rest encryption in use.
pub fn configuration(global: &GlobalOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    if global.dotnet_default_keys {
        findings.push(match crate::dotnet_keys::locate() {
            Ok(found) => Finding::new(
                Severity::Info,
                "config",
                "config.dotnet_default_keys",
                format!(
                    ".NET's default key folder here is {}: {}",
                    found.directory.display(),
                    found.source.reason()
                ),
            )
            .path(&found.directory),
            Err(why) => Finding::new(
                Severity::Error,
                "config",
                "config.dotnet_default_keys",
                why.to_owned(),
            )
            .fix("configure key storage in the .NET app (PersistKeysTo…) and point keyward at it"),
        });
    }
    match super::super::application_name(global) {
        Ok(Some(name)) => {
            let derived = global.content_root.is_some();
            findings.push(Finding::new(
                Severity::Info,
                "config",
                "config.application_name",
                if derived {
                    format!("application name {name:?}, derived from the content root as .NET derives it")
                } else {
                    format!("application name {name:?}")
                },
            ));
            if !derived && keyward::discriminator::looks_like_content_root_without_separator(&name)
            {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        "config",
                        "config.content_root_without_separator",
                        format!("the application name {name:?} looks like a content root without its trailing separator: a .NET ≥ 7 app that never called SetApplicationName uses {name}/"),
                    )
                    .fix(format!("use --content-root {name} (or --application-name '{name}/')")),
                );
            }
        }
        Ok(None) => findings.push(Finding::new(
            Severity::Info,
            "config",
            "config.no_application_name",
            "no application name (a .NET provider created without one)".into(),
        )),
        Err(_) => findings.push(Finding::new(
            Severity::Info,
            "config",
            "config.application_name_not_given",
            "no application name given: key checks need none, payloads do (--application-name)"
                .into(),
        )),
    }
    let encrypting = !global.kek_files.is_empty()
        || std::env::var_os("KEYWARD_KEK").is_some()
        || global.passphrase_file.is_some()
        || !global.certificates.is_empty();
    findings.push(Finding::new(
        Severity::Info,
        "config",
        "config.at_rest",
        match (encrypting, global.require_encryption) {
            (true, true) => "new keys are encrypted at rest; plaintext keys are refused".into(),
            (true, false) => "new keys are encrypted at rest".into(),
            (false, false) => "new keys are stored in the clear, as .NET stores them without an XML encryptor".into(),
            (false, true) => "encryption at rest is required but no encryptor is given (--kek-file, --passphrase-file, --certificate): no key can be created".into(),
        },
    ));
    findings
}

/// Whether a plaintext key is suspect: encryption at rest is configured, or the key was
/// created after the ring's first encrypted key (from then on an encrypting node would not
/// have written it; a store writer may have), the rule `keys rewrap` follows.
fn plaintext_suspect(global: &GlobalOptions, keys: &[KeyInfo], key: &KeyInfo) -> bool {
    let configured = global.require_encryption
        || !global.kek_files.is_empty()
        || global.passphrase_file.is_some()
        || !global.certificates.is_empty();
    let encrypted_since = keys
        .iter()
        .filter(|k| k.at_rest != AtRestProtection::None)
        .map(|k| k.creation)
        .min();
    configured || encrypted_since.is_some_and(|since| key.creation > since)
}

/// The keys.
pub fn keys(global: &GlobalOptions, provider: &Provider) -> Vec<Finding> {
    let mut findings = Vec::new();
    let keys = provider.keys();
    let now = provider.now();
    let policy = provider.policy();
    for unreadable in provider.unreadable_keys() {
        let mut finding = Finding::new(
            Severity::Error,
            "keys",
            "keys.unreadable_element",
            format!(
                "{} cannot be read: {}; its payloads fail",
                unreadable.location, unreadable.reason
            ),
        )
        .fix("restore the file from a backup (the ring skips it, as .NET does)");
        if let Some(id) = unreadable.id {
            finding = finding.key(id);
        }
        findings.push(finding);
    }
    if keys.is_empty() {
        findings.push(
            Finding::new(
                Severity::Warning,
                "keys",
                "keys.empty",
                "the ring holds no key: every node would create its own on first use unless they share this store".into(),
            )
            .fix("keyward keys ensure"),
        );
        return findings;
    }
    findings.extend(schedule_findings(provider, &keys));
    findings.extend(unsigned_certificate_keys(global, provider, &keys));
    // Certificate keys without keyward's signature have their own finding.
    for key in keys
        .iter()
        .filter(|k| !k.revoked && !k.signature.needs_trust())
    {
        if let Some(reason) = &key.unusable_reason {
            let (code, fix) = match &key.at_rest {
                AtRestProtection::Dpapi | AtRestProtection::DpapiNg => (
                    "keys.undecryptable",
                    "DPAPI keys open only on the Windows account or machine that wrote them: protect the ring with a certificate instead".to_owned(),
                ),
                AtRestProtection::Certificate { thumbprint } => (
                    "keys.undecryptable",
                    format!(
                        "give the certificate{} with its private key: --certificate FILE",
                        thumbprint.as_ref().map_or(String::new(), |t| format!(" {t}"))
                    ),
                ),
                AtRestProtection::Kek { kek_id } => (
                    "keys.undecryptable",
                    format!(
                        "give the key-encryption key{}: --kek-file FILE",
                        kek_id.as_ref().map_or(String::new(), |t| format!(" {t}"))
                    ),
                ),
                AtRestProtection::Passphrase => (
                    "keys.undecryptable",
                    "give the passphrase: --passphrase-file FILE".to_owned(),
                ),
                _ if reason.contains("minimum key size") => (
                    "keys.below_policy",
                    "--allow-weaker-keys lets its payloads open; it never protects".to_owned(),
                ),
                _ if reason.contains("unencrypted") => (
                    "keys.plaintext_refused",
                    format!("if you stored it before encryption was on: keyward keys rewrap --trust-plaintext {}", key.id),
                ),
                _ => (
                    "keys.unusable",
                    "restore the key file from a backup".to_owned(),
                ),
            };
            findings.push(
                Finding::new(
                    unusable_key_severity(key, now, policy.key_lifetime),
                    "keys",
                    code,
                    format!("key {} cannot be used here: {reason}", key.id),
                )
                .fix(fix)
                .key(key.id),
            );
        } else if key.at_rest == AtRestProtection::None && plaintext_suspect(global, &keys, key) {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "keys",
                    "keys.plaintext",
                    format!("key {} is stored in the clear, created after the ring's first encrypted key or under configured encryption (it may have been planted by a store writer)", key.id),
                )
                .fix(format!("keyward keys rewrap (--trust-plaintext {} if you wrote it)", key.id))
                .key(key.id),
            );
        }
        if !key.at_rest.dotnet_readable() {
            findings.push(
                Finding::new(
                    Severity::Info,
                    "keys",
                    "keys.not_dotnet_readable",
                    format!(
                        "key {} is encrypted with keyward's {}: .NET nodes cannot read it",
                        key.id,
                        key.at_rest.kind()
                    ),
                )
                .key(key.id),
            );
        }
    }
    let recent = keys
        .iter()
        .filter(|k| k.creation > now - policy.key_lifetime)
        .count();
    if recent > 6 {
        findings.push(
            Finding::new(
                Severity::Warning,
                "keys",
                "keys.growing",
                format!(
                    "{recent} keys were created in the last {} (rotation makes about 2): nodes may not share this ring, or cannot read it and create their own",
                    span(policy.key_lifetime)
                ),
            )
            .fix("check every node reads this ring (same directory or store, same application of permissions) and can decrypt its keys"),
        );
    }
    let expired = keys.iter().filter(|k| k.expiration <= now).count();
    if expired > 50 {
        findings.push(
            Finding::new(
                Severity::Info,
                "keys",
                "keys.many_expired",
                format!("{expired} expired keys are kept (they still open old payloads)"),
            )
            .fix("keyward keys ensure --delete-expired-before -365d"),
        );
    }
    findings
}

/// Certificate-encrypted keys without a valid keyward signature: .NET nodes wrote them, or a
/// store writer planted them (anyone holding the certificate's public part, which every key
/// carries, can). Unusable with --require-encryption unless trusted or accepted; used without.
fn unsigned_certificate_keys(
    global: &GlobalOptions,
    provider: &Provider,
    keys: &[KeyInfo],
) -> Vec<Finding> {
    let now = provider.now();
    let lifetime = provider.policy().key_lifetime;
    let used = !global.require_encryption || global.accept_unsigned_certificate_keys;
    keys.iter()
        .filter(|k| !k.revoked && k.signature.needs_trust())
        .map(|key| {
            let what = match &key.signature {
                keyward::KeySignature::Invalid { reason } => {
                    format!("its keyward signature is invalid ({reason})")
                }
                _ => "it has no keyward signature".to_owned(),
            };
            let here = if key.unusable_reason.is_some() {
                "this node does not use it (--require-encryption)"
            } else if used && global.require_encryption {
                "this node uses it (--accept-unsigned-certificate-keys)"
            } else {
                "this node uses it (without --require-encryption unsigned keys are used)"
            };
            let thumbprint = match &key.at_rest {
                AtRestProtection::Certificate {
                    thumbprint: Some(t),
                } => format!(" {t}"),
                _ => String::new(),
            };
            Finding::new(
                unusable_key_severity(key, now, lifetime),
                "keys",
                "keys.unsigned_certificate_key",
                format!(
                    "key {} is encrypted to the certificate{thumbprint} but {what}: a .NET node wrote it, or a store writer planted it (the certificate's public part is in every key); {here}",
                    key.id
                ),
            )
            .fix(format!(
                "if a .NET node of this farm wrote it: keyward --certificate FILE keys trust {}; otherwise revoke it: keyward keys revoke {}",
                key.id, key.id
            ))
            .key(key.id)
        })
        .collect()
}

/// This node's clock against the store's, and against the dates in the ring.
pub fn time(global: &GlobalOptions, provider: &Provider) -> Vec<Finding> {
    let mut findings = Vec::new();
    let now = provider.now();
    let skew = provider.policy().max_clock_skew;
    if let Some(uri) = &global.repository {
        if let Ok(repository) = super::super::open_repository(uri, true) {
            match repository.server_time() {
                Some(Ok(server)) => {
                    let difference = now - server;
                    findings.push(if difference.abs() > skew {
                        Finding::new(
                            Severity::Error,
                            "time",
                            "time.store_skew",
                            format!(
                                "this clock is {} {} the store's ({}), more than the {} allowed",
                                span(difference.abs()),
                                if difference.is_positive() {
                                    "ahead of"
                                } else {
                                    "behind"
                                },
                                show(server),
                                span(skew)
                            ),
                        )
                        .fix("synchronise the clocks (NTP / chrony / w32time)")
                    } else {
                        Finding::new(
                            Severity::Ok,
                            "time",
                            "time.store",
                            format!("clock within {} of the store's", span(difference.abs())),
                        )
                    });
                }
                Some(Err(error)) => findings.push(Finding::new(
                    Severity::Warning,
                    "time",
                    "time.store_unknown",
                    format!(
                        "cannot read the store's clock: {}",
                        keyward::error_chain(&error)
                    ),
                )),
                None => {}
            }
        }
    }
    let keys = provider.keys();
    for key in keys.iter().filter(|k| k.creation > now + skew) {
        findings.push(
            Finding::new(
                Severity::Warning,
                "time",
                "time.created_in_future",
                format!(
                    "key {} was created at {}, {} ahead of this clock: the clock of the node that wrote it, or this one, is off",
                    key.id,
                    show(key.creation),
                    span(key.creation - now)
                ),
            )
            .fix("synchronise the clocks of every node (NTP)")
            .key(key.id),
        );
    }
    if let Some(directory) = super::super::directory_of(global) {
        let newest = std::fs::read_dir(&directory)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max();
        if let Some(newest) = newest {
            let newest = OffsetDateTime::from(newest);
            if newest > now + skew {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        "time",
                        "time.file_in_future",
                        format!(
                            "a file in {} was written at {}, {} ahead of this clock",
                            directory.display(),
                            show(newest),
                            span(newest - now)
                        ),
                    )
                    .fix("synchronise the clocks (NTP); check the --now value"),
                );
            }
        }
    }
    if findings.is_empty() {
        findings.push(Finding::new(
            Severity::Ok,
            "time",
            "time.dates",
            "no key or file is dated ahead of this clock".into(),
        ));
    }
    findings
}

/// The ring's future as the schedule computes it: the default key now, every gap within the
/// rotation horizon (one finding each, with the instant and the command that fills it), the
/// successor, keys that take over less than a propagation window after they were written,
/// and mass revocations dated in the future.
fn schedule_findings(provider: &Provider, keys: &[KeyInfo]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let schedule = provider.schedule();
    let now = schedule.now();
    let windows = schedule.windows();
    for (date, location) in provider.mass_revocations() {
        if date > now + windows.max_clock_skew {
            findings.push(
                Finding::new(
                    Severity::Error,
                    "keys",
                    "keys.future_revocation",
                    format!(
                        "{location} revokes every key created before {}, a date in the future: every key, including any created from now on, is revoked until then",
                        show(date)
                    ),
                )
                .fix(format!("delete {location} from the store (a revocation is never dated ahead: `keyward keys revoke --all --before now` revokes every key now)")),
            );
        }
    }
    if let Some(key) = schedule
        .default_at(now)
        .and_then(|id| keys.iter().find(|k| k.id == id))
    {
        findings.push(
            Finding::new(
                Severity::Ok,
                "keys",
                "keys.default",
                format!("default key {} (expires {})", key.id, show(key.expiration)),
            )
            .key(key.id),
        );
    }
    let gaps = schedule.gaps();
    for gap in &gaps {
        let cause = crate::commands::keys::gap_cause(gap.cause);
        let fix_by = gap.fix_by(&windows);
        let finding = if gap.start <= now {
            let why = match gap.cause {
                GapCause::Revoked(id) => {
                    format!("the key that would be the default, {id}, is revoked")
                }
                GapCause::Unusable(id) => format!(
                    "the key that would be the default, {id}, cannot be used: {}",
                    keys.iter()
                        .find(|k| k.id == id)
                        .and_then(|k| k.unusable_reason.as_deref())
                        .unwrap_or("")
                ),
                GapCause::NoKey | GapCause::Expired(_) => {
                    "every key has expired or is not active yet".into()
                }
            };
            findings.push(
                Finding::new(
                    Severity::Error,
                    "keys",
                    "keys.no_default",
                    format!("no usable default key: {why}; protect creates one on the next call, each node on its own unless they share this store"),
                )
                .fix("keyward keys ensure")
                .at(gap.start),
            );
            continue;
        } else if gap.end.is_none()
            && matches!(gap.cause, GapCause::Expired(_) | GapCause::NoKey)
            && fix_by >= now
        {
            Finding::new(
                Severity::Warning,
                "keys",
                "keys.successor_missing",
                format!(
                    "no default key from {} ({cause}) unless a successor is written by {}: nodes create one on their next refresh, possibly too late for every node to read it first",
                    show(gap.start),
                    show(fix_by)
                ),
            )
        } else {
            let until = gap
                .end
                .map_or_else(|| "on".to_owned(), |end| format!("until {}", show(end)));
            Finding::new(
                Severity::Error,
                "keys",
                "keys.gap",
                format!(
                    "no default key from {} {until}: {cause}; protect fails then, or writes a key other nodes have not read",
                    show(gap.start)
                ),
            )
        };
        findings.push(
            finding
                .fix("keyward keys ensure (and run it from a timer)")
                .at(gap.start),
        );
    }
    if gaps.is_empty() {
        if let Some(rotation) = schedule.next_rotation() {
            if let Some(id) = rotation.to.filter(|_| rotation.at < schedule.horizon()) {
                findings.push(
                    Finding::new(
                        Severity::Ok,
                        "keys",
                        "keys.successor",
                        format!("successor {id} takes over at {}", show(rotation.at)),
                    )
                    .key(id),
                );
            }
        }
    }
    for period in schedule.late_takeovers() {
        let (Some(id), Some(takeover)) = (period.key, period.takeover) else {
            continue;
        };
        let Some(key) = keys.iter().find(|k| k.id == id) else {
            continue;
        };
        let lead = takeover.write_deadline + windows.propagation_window - key.creation;
        findings.push(
            Finding::new(
                Severity::Warning,
                "keys",
                "keys.short_propagation",
                format!(
                    "key {id} takes over at {}, {} after it was written, less than the propagation window ({}): nodes that have not re-read the ring meet payloads they cannot open",
                    show(period.start),
                    span(lead),
                    span(windows.propagation_window)
                ),
            )
            .fix("let rotation, `keyward keys ensure` or `keyward keys new` create keys: they wait out the window")
            .key(id),
        );
    }
    findings
}

/// A key no node can use matters while its payloads may still be around (it expired less
/// than a key lifetime ago): a warning; older, a remark.
fn unusable_key_severity(key: &KeyInfo, now: OffsetDateTime, lifetime: Duration) -> Severity {
    if key.expiration > now - lifetime {
        Severity::Warning
    } else {
        Severity::Info
    }
}
