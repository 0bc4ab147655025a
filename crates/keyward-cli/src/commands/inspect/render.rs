//! What `inspect` found, and how it is shown: a readable block, or JSON whose field names are
//! a contract (`input`, `payload`, `key`, `open`, as documented on each field).
//!
//! Every text that comes from the input or the key store is made printable before it gets
//! here; the plaintext is shown in full only with `--show-plaintext`.

use std::fmt::Write as _;

use serde::Serialize;

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where the payload came from.
    pub input: InputReport,
    /// The envelope.
    pub payload: EnvelopeReport,
    /// The payload's key in the ring.
    pub key: KeyReport,
    /// Whether it opens (`null` when no purpose was given).
    pub open: Option<OpenReport>,
}

/// Where the payload came from.
#[derive(Debug, Serialize)]
pub struct InputReport {
    /// `payload` (bare), `cookie`, `chunked_cookie`, `nonce_cookie_name`, or `raw` (bytes on
    /// stdin).
    pub form: &'static str,
    /// The cookie's name, for the cookie forms.
    pub cookie: Option<String>,
    /// The number of chunks, for `chunked_cookie`.
    pub chunks: Option<usize>,
    /// `base64url`, `base64` (the standard alphabet) or `raw`.
    pub encoding: &'static str,
}

/// The envelope: `magic(4) || key id(16) || key modifier(16) || iv or nonce || ciphertext ||
/// tag`.
#[derive(Debug, Serialize)]
pub struct EnvelopeReport {
    /// The payload's length in bytes.
    pub size: usize,
    /// The magic header, hex (`09f0c9f0`).
    pub magic: String,
    /// The format version (the magic's low nibble).
    pub version: u8,
    /// The key id.
    pub key_id: String,
    /// The length of what follows the 20-byte header.
    pub body_size: usize,
    /// The key modifier, hex (`null` when the body is shorter).
    pub key_modifier: Option<String>,
    /// The layout by the key's algorithm (`null` when the key is unknown).
    pub layout: Option<Layout>,
}

/// The body's parts by the key's algorithm.
#[derive(Debug, Serialize)]
pub struct Layout {
    /// `AES-CBC + HMAC` or `AES-GCM`.
    pub mode: &'static str,
    /// `iv` (CBC) or `nonce` (GCM).
    pub iv_name: &'static str,
    /// Its length.
    pub iv_size: usize,
    /// The ciphertext's length (`null` when the body is too short).
    pub ciphertext_size: Option<usize>,
    /// The tag's length (the HMAC or the GCM tag).
    pub tag_size: usize,
    /// `HMACSHA256`, `HMACSHA512` or `GCM`.
    pub tag_kind: &'static str,
    /// Whether the body's length fits the algorithm (else it cannot open: truncated).
    pub fits: bool,
}

/// The payload's key in the ring.
#[derive(Debug, Serialize)]
pub struct KeyReport {
    /// `default`, `active`, `pending`, `expired`, `revoked`, `unreadable`, or `unknown` (not
    /// in the ring).
    pub status: &'static str,
    /// The algorithm (`AES_256_CBC/HMACSHA256`, `AES_256_GCM`, …).
    pub algorithm: Option<String>,
    /// RFC 3339.
    pub created: Option<String>,
    /// RFC 3339.
    pub activation: Option<String>,
    /// RFC 3339.
    pub expiration: Option<String>,
    /// How the master key is stored (`none`, `certificate THUMBPRINT`, `kek ID`, …).
    pub at_rest: Option<String>,
    /// Why the key cannot be used, or a remark on it.
    pub reason: Option<String>,
    /// Where the ring was read from.
    pub ring: String,
}

/// One purpose chain under one application name.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// What uses the chain (`--try-known-purposes`), or `null` for `--purpose`.
    pub label: Option<String>,
    /// The application name (`null`: none).
    pub application_name: Option<String>,
    /// The purposes after the application name.
    pub purposes: Vec<String>,
}

/// Why a payload did not open.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// `unknown_key`, `unreadable_key`, `key_unusable`, `revoked`, `invalid`, `expired`,
    /// `malformed` or `error`.
    pub kind: &'static str,
    /// One line.
    pub message: String,
}

/// Whether the payload opens.
#[derive(Debug, Serialize)]
pub struct OpenReport {
    /// Whether it opened.
    pub opened: bool,
    /// The chain that opened it (or that authenticated an expired time-limited payload).
    pub chain: Option<ChainReport>,
    /// Whether it was read as time-limited.
    pub time_limited: bool,
    /// A time-limited payload's expiration (RFC 3339).
    pub expires: Option<String>,
    /// How many chains were tried.
    pub tried: usize,
    /// How many chains there were to try.
    pub chains: usize,
    /// Why it did not open.
    pub failure: Option<Failure>,
    /// For a revoked key: the chain that would open it if the key were not revoked.
    pub opens_ignoring_revocation: Option<ChainReport>,
    /// The likely reasons it did not open.
    pub reasons: Vec<String>,
    /// Remarks on what was tried.
    pub notes: Vec<String>,
    /// The plaintext, when it opened.
    pub plaintext: Option<Plaintext>,
}

/// The plaintext: its size and kind; its content only with `--show-plaintext` (a short token,
/// reset code or key would otherwise be shown whole by any preview).
#[derive(Debug, Serialize)]
pub struct Plaintext {
    /// Its length in bytes.
    pub size: usize,
    /// `text` (UTF-8 without control characters other than tab and line breaks) or `binary`.
    pub kind: &'static str,
    /// All of it as text (`--show-plaintext`, kind `text`; control characters as spaces:
    /// `base64` is exact).
    pub text: Option<String>,
    /// All of it, standard base64 (`--show-plaintext`).
    pub base64: Option<String>,
    /// All of it, hex (`--show-plaintext`, kind `binary`), for the readable block.
    #[serde(skip)]
    pub hex: Option<String>,
}

/// The readable block.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let mut line = |indent: bool, label: &str, value: &str| {
        let (pad, width) = if indent { ("  ", 14) } else { ("", 16) };
        let _ = writeln!(out, "{pad}{:<width$}{value}", format!("{label}:"));
    };
    let input = &report.input;
    let from = match (input.form, &input.cookie, input.chunks) {
        ("chunked_cookie", Some(name), Some(n)) => {
            format!("chunked cookie {name} ({n} chunks), {}", input.encoding)
        }
        ("cookie", Some(name), _) => format!("cookie {name}, {}", input.encoding),
        ("nonce_cookie_name", Some(_), _) => format!(
            "the name of an OpenID Connect nonce cookie, {}",
            input.encoding
        ),
        ("raw", _, _) => "raw bytes".to_owned(),
        _ => format!("payload, {}", input.encoding),
    };
    line(false, "input", &from);

    let p = &report.payload;
    line(false, "payload", &format!("{} bytes", p.size));
    line(
        true,
        "magic",
        &format!("{} (Data Protection, version {})", p.magic, p.version),
    );
    line(true, "key id", &p.key_id);
    line(
        true,
        "key modifier",
        p.key_modifier.as_deref().unwrap_or("(body too short)"),
    );
    match &p.layout {
        Some(layout) => {
            line(true, layout.iv_name, &format!("{} bytes", layout.iv_size));
            line(
                true,
                "ciphertext",
                &layout
                    .ciphertext_size
                    .map_or_else(|| "(body too short)".to_owned(), |n| format!("{n} bytes")),
            );
            line(
                true,
                "tag",
                &format!("{} bytes ({})", layout.tag_size, layout.tag_kind),
            );
            if !layout.fits {
                line(
                    true,
                    "layout",
                    &format!(
                        "the body ({} bytes) does not fit {}: truncated or altered",
                        p.body_size, layout.mode
                    ),
                );
            }
        }
        None => line(
            true,
            "body",
            &format!("{} bytes (layout unknown without the key)", p.body_size),
        ),
    }

    let k = &report.key;
    match k.status {
        "unknown" => line(
            false,
            "key",
            &format!("unknown: the ring at {} holds no such key", k.ring),
        ),
        status => line(false, "key", status),
    }
    if let Some(algorithm) = &k.algorithm {
        line(true, "algorithm", algorithm);
    }
    for (label, value) in [
        ("created", &k.created),
        ("activation", &k.activation),
        ("expiration", &k.expiration),
        ("at rest", &k.at_rest),
        ("reason", &k.reason),
    ] {
        if let Some(value) = value {
            line(true, label, value);
        }
    }

    match &report.open {
        None => line(
            false,
            "opens",
            "not tried (pass --purpose P… or --try-known-purposes)",
        ),
        Some(open) => {
            if open.opened {
                line(false, "opens", "yes");
            } else {
                let why = open
                    .failure
                    .as_ref()
                    .map_or("", |failure| failure.message.as_str());
                line(false, "opens", &format!("no: {why}"));
            }
            if let Some(chain) = &open.chain {
                if let Some(label) = &chain.label {
                    line(true, "as", label);
                }
                line(true, "application", &application(chain));
                line(true, "purposes", &chain.purposes.join(" / "));
            }
            if open.time_limited {
                line(
                    true,
                    "expires",
                    open.expires.as_deref().unwrap_or("(time-limited)"),
                );
            }
            if let Some(chain) = &open.opens_ignoring_revocation {
                let what = chain
                    .label
                    .as_deref()
                    .map_or(String::new(), |l| format!(" as {l}"));
                line(
                    true,
                    "if unrevoked",
                    &format!(
                        "it would open{what}, application {}, purposes {}",
                        application(chain),
                        chain.purposes.join(" / ")
                    ),
                );
            }
            line(
                true,
                "tried",
                &format!(
                    "{} of {} chain{}",
                    open.tried,
                    open.chains,
                    plural(open.chains)
                ),
            );
            for note in &open.notes {
                line(true, "note", note);
            }
            for reason in &open.reasons {
                line(true, "likely", reason);
            }
            if let Some(plain) = &open.plaintext {
                line(
                    true,
                    "plaintext",
                    &format!("{} bytes, {}", plain.size, plain.kind),
                );
                match (&plain.text, &plain.hex) {
                    (Some(all), _) => line(true, "text", all),
                    (None, Some(hex)) => line(true, "hex", hex),
                    (None, None) => line(true, "content", "not shown (--show-plaintext prints it)"),
                }
            }
        }
    }
    out
}

/// `"shop"`, or `(none)`.
fn application(chain: &ChainReport) -> String {
    chain
        .application_name
        .as_ref()
        .map_or_else(|| "(none)".to_owned(), |name| format!("{name:?}"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The JSON document (pretty, with a final newline).
pub fn json(report: &Report) -> String {
    let mut text = crate::json_out::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}
