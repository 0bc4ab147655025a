//! `keyward inspect`: what a payload or cookie holds — its envelope, its key's status in the
//! ring, and (with `--purpose` or `--try-known-purposes`) whether and under what it opens.
//!
//! One read-only provider serves every check: the ring is read once, and each candidate chain
//! is a protector of that provider.

mod cookie;
mod purposes;
mod render;

use crate::timespec::format_time as rfc3339;
use std::io::{Read as _, Write as _};

use keyward::payload::KEY_MODIFIER_LEN;
use keyward::time::OffsetDateTime;
use keyward::{Algorithm, KeyId, KeyLookup, Protector, Provider};
use zeroize::{Zeroize as _, Zeroizing};

use super::{application_name, ring_reader, CliError};
use crate::cli::{GlobalOptions, InspectArgs};
use crate::printable::printable;
use render::{
    ChainReport, EnvelopeReport, Failure, InputReport, KeyReport, Layout, OpenReport, Plaintext,
    Report,
};

/// The failure message of a payload that fails authentication (tampered, or other purposes or
/// application name: cryptographically the same).
const INVALID: &str = "invalid: tampered, or other purposes or application name";

/// Inspects PAYLOAD (or stdin): prints the report; fails (exit 1) when the payload does not
/// parse, or does not open when asked to.
pub fn run(global: &GlobalOptions, args: &InspectArgs) -> Result<(), CliError> {
    let asked_to_open = !args.purposes.is_empty() || args.try_known_purposes;
    if args.time_limited && !asked_to_open {
        return Err(CliError::Usage(
            "--time-limited needs --purpose P… or --try-known-purposes".into(),
        ));
    }
    let (input, payload) = read_payload(args)?;
    // Garbage fails here, before any ring is read.
    let (key_id, body) = keyward::payload::parse(&payload)?;
    let provider = ring_reader(global)?;
    let (key, algorithm) = key_report(&provider, key_id);
    let envelope = envelope(&payload, key_id, body, algorithm);
    let open = if asked_to_open {
        let cookie_name = input.cookie.as_deref();
        Some(open(
            global,
            args,
            &provider,
            &key,
            key_id,
            &payload,
            cookie_name,
        )?)
    } else {
        None
    };
    let report = Report {
        input,
        payload: envelope,
        key,
        open,
    };
    let text = if args.json {
        render::json(&report)
    } else {
        render::text(&report)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })?;
    drop(Zeroizing::new(text));
    match report.open {
        Some(open) if !open.opened => Err(CliError::Usage(match open.failure {
            Some(failure) if open.chains > 1 && failure.kind == "invalid" => format!(
                "the payload does not open: none of {} chains opened it",
                open.chains
            ),
            Some(failure) => format!("the payload does not open: {}", failure.message),
            None => "the payload does not open".to_owned(),
        })),
        _ => Ok(()),
    }
}

/// The payload's bytes and where they came from: the argument or stdin (at most
/// [`cookie::MAX_INPUT_BYTES`]); stdin that is not UTF-8 is a raw payload.
fn read_payload(args: &InspectArgs) -> Result<(InputReport, Vec<u8>), CliError> {
    let text = match &args.payload {
        Some(text) => text.clone(),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(cookie::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|source| CliError::Io {
                    context: "reading stdin",
                    source,
                })?;
            match String::from_utf8(bytes) {
                Ok(text) => text,
                // A payload's magic header is never UTF-8: raw bytes.
                Err(raw) => {
                    let raw = raw.into_bytes();
                    if raw.len() > cookie::MAX_INPUT_BYTES {
                        return Err(input_error(cookie::InputError::TooLarge(raw.len())));
                    }
                    let input = InputReport {
                        form: "raw",
                        cookie: None,
                        chunks: None,
                        encoding: "raw",
                    };
                    return Ok((input, raw));
                }
            }
        }
    };
    let extracted = cookie::extract(&text, args.cookie.as_deref()).map_err(input_error)?;
    let (form, chunks) = match &extracted.source {
        cookie::Source::Bare => ("payload", None),
        cookie::Source::Cookie { .. } => ("cookie", None),
        cookie::Source::Chunked { chunks, .. } => ("chunked_cookie", Some(*chunks)),
        cookie::Source::NonceCookieName { .. } => ("nonce_cookie_name", None),
    };
    let encoding = if extracted.text.contains(['+', '/']) {
        "base64"
    } else {
        "base64url"
    };
    let payload = keyward::encoding::base64url_decode(&extracted.text)?;
    let input = InputReport {
        form,
        cookie: extracted.source.cookie_name().map(printable),
        chunks,
        encoding,
    };
    Ok((input, payload))
}

fn input_error(error: cookie::InputError) -> CliError {
    CliError::Usage(printable(&error.to_string()))
}

/// The key's status and dates, and its algorithm when known (the ring's answer:
/// `Provider::lookup`).
fn key_report(provider: &Provider, key_id: KeyId) -> (KeyReport, Option<Algorithm>) {
    let ring = printable(&provider.location());
    match provider.lookup(key_id) {
        KeyLookup::Known { status, info: key } => {
            let report = KeyReport {
                status: status.as_str(),
                algorithm: Some(
                    key.algorithm
                        .map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
                ),
                created: Some(rfc3339(key.creation)),
                activation: Some(rfc3339(key.activation)),
                expiration: Some(rfc3339(key.expiration)),
                at_rest: Some(printable(&key.at_rest.to_string())),
                reason: key
                    .unusable_reason
                    .as_deref()
                    .or(key.note.as_deref())
                    .map(printable),
                ring,
            };
            (report, key.algorithm)
        }
        KeyLookup::Unreadable(key) => {
            let report = KeyReport {
                status: "unreadable",
                algorithm: None,
                created: key.creation.map(rfc3339),
                activation: key.activation.map(rfc3339),
                expiration: key.expiration.map(rfc3339),
                at_rest: None,
                reason: Some(printable(&format!("{}: {}", key.location, key.reason))),
                ring,
            };
            (report, None)
        }
        KeyLookup::Unknown => {
            let report = KeyReport {
                status: "unknown",
                algorithm: None,
                created: None,
                activation: None,
                expiration: None,
                at_rest: None,
                reason: None,
                ring,
            };
            (report, None)
        }
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
        out
    })
}

/// The envelope, with the body's layout when the key's algorithm is known.
fn envelope(
    payload: &[u8],
    key_id: KeyId,
    body: &[u8],
    algorithm: Option<Algorithm>,
) -> EnvelopeReport {
    let header = payload.get(..4).unwrap_or_default();
    EnvelopeReport {
        size: payload.len(),
        magic: hex(header),
        version: header.get(3).map_or(0, |b| b & 0x0F),
        key_id: key_id.to_string(),
        body_size: body.len(),
        key_modifier: body.get(..KEY_MODIFIER_LEN).map(hex),
        layout: algorithm.map(|algorithm| layout(algorithm, body.len())),
    }
}

/// The parts of a body of `len` bytes under `algorithm` (`docs/spec/payload.md` §5 and §6),
/// as the core lays them out (`Algorithm::body_layout`).
fn layout(algorithm: Algorithm, len: usize) -> Layout {
    let body = algorithm.body_layout();
    let (mode, iv_name, tag_kind) = match algorithm.validation() {
        Some(validation) => ("AES-CBC + HMAC", "iv", validation.xml_name()),
        None => ("AES-GCM", "nonce", "GCM"),
    };
    Layout {
        mode,
        iv_name,
        iv_size: body.iv_len,
        ciphertext_size: body.ciphertext_len(len),
        tag_size: body.tag_len,
        tag_kind,
        fits: body.fits(len),
    }
}

/// A chain to try: what it is, under which application name.
struct Attempt {
    label: Option<String>,
    application_name: Option<String>,
    purposes: Vec<String>,
}

impl Attempt {
    fn report(&self) -> ChainReport {
        ChainReport {
            label: self.label.clone(),
            application_name: self.application_name.as_deref().map(printable),
            purposes: self.purposes.iter().map(|p| printable(p)).collect(),
        }
    }
}

/// The application names `--try-known-purposes` tries: every `--application-name`, none with
/// `--no-application-name`, or the one `--content-root` derives; with none of these, no
/// application name (and a note saying so).
fn candidate_names(global: &GlobalOptions) -> (Vec<Option<String>>, Option<String>) {
    if global.content_root.is_some() {
        return (vec![application_name(global).ok().flatten()], None);
    }
    let mut names: Vec<Option<String>> = Vec::new();
    for name in &global.application_name {
        if !names.iter().any(|n| n.as_deref() == Some(name.as_str())) {
            names.push(Some(name.clone()));
        }
    }
    if global.no_application_name {
        names.push(None);
    }
    if names.is_empty() {
        return (
            vec![None],
            Some("no --application-name given: tried with no application name".to_owned()),
        );
    }
    (names, None)
}

/// The protector for `purposes` under `name`, from the one provider: the provider's own
/// application name is the first purpose of its chains (the discriminator is purpose #1), so a
/// provider without one takes `name` as a purpose.
fn protector_for(
    provider: &Provider,
    name: Option<&str>,
    purposes: &[String],
) -> Result<Protector, CliError> {
    match (provider.application_name(), name) {
        (root, name) if root == name => Ok(provider.protector(purposes.iter().cloned())),
        (None, Some(name)) => Ok(
            provider.protector(std::iter::once(name.to_owned()).chain(purposes.iter().cloned()))
        ),
        _ => Err(CliError::Usage(
            "inspect: the ring reader was built with another application name (a bug)".into(),
        )),
    }
}

/// Unprotects under one protector: the plaintext and, for a time-limited payload, its
/// expiration.
fn unprotect(
    protector: &Protector,
    payload: &[u8],
    time_limited: bool,
) -> keyward::Result<(Zeroizing<Vec<u8>>, Option<OffsetDateTime>)> {
    if time_limited {
        let (data, expiration) = protector.to_time_limited().unprotect(payload)?;
        Ok((Zeroizing::new(data), Some(expiration)))
    } else {
        Ok((Zeroizing::new(protector.unprotect(payload)?), None))
    }
}

/// Whether the chain authenticates a payload whose key is revoked (.NET's
/// `DangerousUnprotect`); the plaintext is wiped unseen.
fn opens_ignoring_revocation(protector: &Protector, payload: &[u8], time_limited: bool) -> bool {
    let protector = if time_limited {
        protector.protector(keyward::TIME_LIMITED_PURPOSE)
    } else {
        protector.clone()
    };
    match protector.unprotect_allow_revoked(payload) {
        Ok(mut unprotected) => {
            unprotected.data.zeroize();
            true
        }
        Err(_) => false,
    }
}

/// Tries the chains `--purpose` or `--try-known-purposes` asks for, and says what opened the
/// payload or why nothing did.
fn open(
    global: &GlobalOptions,
    args: &InspectArgs,
    provider: &Provider,
    key: &KeyReport,
    key_id: KeyId,
    payload: &[u8],
    cookie_name: Option<&str>,
) -> Result<OpenReport, CliError> {
    let mut notes = Vec::new();
    let attempts: Vec<Attempt> = if args.try_known_purposes {
        let (names, note) = candidate_names(global);
        notes.extend(note);
        let cookie_scheme = cookie_name.and_then(purposes::scheme_from_cookie_name);
        let chains = purposes::known_chains(&args.schemes, cookie_scheme.as_deref());
        names
            .iter()
            .flat_map(|name| {
                chains.iter().map(move |chain| Attempt {
                    label: Some(chain.label.clone()),
                    application_name: name.clone(),
                    purposes: chain.purposes.clone(),
                })
            })
            .collect()
    } else {
        vec![Attempt {
            label: None,
            application_name: application_name(global)?,
            purposes: args.purposes.clone(),
        }]
    };
    let mut report = OpenReport {
        opened: false,
        chain: None,
        time_limited: args.time_limited,
        expires: None,
        tried: 0,
        chains: attempts.len(),
        failure: None,
        opens_ignoring_revocation: None,
        reasons: Vec::new(),
        notes,
        plaintext: None,
    };
    let fail = |kind: &'static str, message: String| Some(Failure { kind, message });
    // What the ring says decides first: nothing is tried under a key it lacks.
    match key.status {
        "unknown" => {
            report.failure = fail(
                "unknown_key",
                format!(
                    "unknown key {key_id}: the ring at {} holds no such key",
                    key.ring
                ),
            );
            report.reasons.push("the payload was made with another key ring (check --keys-dir or --repository), or its key was deleted".into());
            return Ok(report);
        }
        "unreadable" => {
            report.failure = fail(
                "unreadable_key",
                format!(
                    "the key {key_id} is in the ring but cannot be used: {}",
                    key.reason.as_deref().unwrap_or("unreadable")
                ),
            );
            return Ok(report);
        }
        "revoked" => {
            report.failure = fail(
                "revoked",
                format!("revoked: the key {key_id} has been revoked"),
            );
            for attempt in &attempts {
                let protector = protector_for(
                    provider,
                    attempt.application_name.as_deref(),
                    &attempt.purposes,
                )?;
                report.tried += 1;
                if opens_ignoring_revocation(&protector, payload, args.time_limited) {
                    report.opens_ignoring_revocation = Some(attempt.report());
                    break;
                }
            }
            report.reasons.push(
                "its key was revoked (keyward keys revoke, or .NET's RevokeKey): nothing under a revoked key opens; protect the data again (for a cookie: sign in again)".into(),
            );
            return Ok(report);
        }
        _ => {}
    }
    for attempt in &attempts {
        let protector = protector_for(
            provider,
            attempt.application_name.as_deref(),
            &attempt.purposes,
        )?;
        report.tried += 1;
        match unprotect(&protector, payload, args.time_limited) {
            Ok((plaintext, expiration)) => {
                report.opened = true;
                report.chain = Some(attempt.report());
                report.expires = expiration.map(rfc3339);
                report.plaintext = Some(plaintext_report(&plaintext, args.show_plaintext));
                return Ok(report);
            }
            Err(keyward::Error::InvalidPayload) => {}
            Err(keyward::Error::Expired { expired_at }) => {
                // The chain authenticated it: the right purposes, too late.
                report.chain = Some(attempt.report());
                report.expires = Some(rfc3339(expired_at));
                report.failure = fail(
                    "expired",
                    format!(
                        "expired: the time-limited payload expired at {}",
                        rfc3339(expired_at)
                    ),
                );
                return Ok(report);
            }
            Err(keyward::Error::MalformedPayload(reason)) => {
                report.failure = fail("malformed", format!("malformed: {reason}"));
                return Ok(report);
            }
            Err(error) if error.kind() == keyward::metrics::Reason::UnreadableKey => {
                report.failure = fail("key_unusable", printable(&error.chain()));
                return Ok(report);
            }
            Err(error) => {
                report.failure = fail("error", printable(&error.chain()));
                return Ok(report);
            }
        }
    }
    report.failure = fail(
        "invalid",
        if args.try_known_purposes {
            format!("{INVALID} (none of {} chains opened it)", report.chains)
        } else {
            INVALID.to_owned()
        },
    );
    report.reasons = invalid_reasons(global, args);
    Ok(report)
}

/// The most likely reasons no chain authenticated the payload, most likely first.
fn invalid_reasons(global: &GlobalOptions, args: &InspectArgs) -> Vec<String> {
    let mut reasons = Vec::new();
    let names: Vec<&String> = global.application_name.iter().collect();
    for name in &names {
        if global.content_root.is_none()
            && keyward::discriminator::looks_like_content_root_without_separator(name)
        {
            reasons.push(printable(&format!(
                "the application name {name:?} looks like a content root without its trailing separator: a .NET ≥ 7 app that never called SetApplicationName uses the path with one appended (try --content-root DIR)"
            )));
        }
    }
    if names.is_empty() && global.content_root.is_none() && !global.no_application_name {
        reasons.push("no application name was given: pass --application-name NAME (the app's SetApplicationName value) or --content-root DIR (an app that never set one)".into());
    } else {
        reasons.push("another application name (the app's SetApplicationName value, or its content root when it never set one)".into());
    }
    if args.try_known_purposes {
        reasons.push("a purpose or scheme of the app's own: pass --scheme NAME, or --purpose P… for a chain of your own".into());
    } else {
        reasons.push("other purposes than the ones given".into());
    }
    if args.time_limited {
        reasons.push("it is not time-limited: drop --time-limited".into());
    } else if !args.try_known_purposes {
        reasons.push("it is time-limited: add --time-limited".into());
    }
    reasons.push("the payload was altered or cut short (a cookie copied in part?)".into());
    reasons
}

/// The plaintext's size and kind; all of it with `--show-plaintext`.
fn plaintext_report(plaintext: &[u8], show: bool) -> Plaintext {
    let text = std::str::from_utf8(plaintext).ok().filter(|t| {
        !t.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    });
    let base64 = show.then(|| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(plaintext)
    });
    match text {
        Some(text) => Plaintext {
            size: plaintext.len(),
            kind: "text",
            text: show.then(|| printable(text)),
            base64,
            hex: None,
        },
        None => Plaintext {
            size: plaintext.len(),
            kind: "binary",
            text: None,
            base64,
            hex: show.then(|| hex(plaintext)),
        },
    }
}
