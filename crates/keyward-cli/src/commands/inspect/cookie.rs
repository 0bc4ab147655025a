//! What `inspect` reads: a bare payload (base64url or standard base64), a `Cookie:` header (with
//! or without its `Cookie:` prefix), a single `name=value`, or raw payload bytes on stdin; .NET
//! chunked cookies (`NAME=chunks-N`, `NAMEC1` … `NAMECN`, as `ChunkingCookieManager` writes
//! them) are put back together in order.
//!
//! Input is hostile: its size and the number of cookies and chunks are bounded, and every error
//! says what is wrong without quoting a value.

use std::fmt;

use keyward_aspnetcore::{percent_decode, CookieError, CookieHeader};

/// The most input read (a browser sends a few dozen KiB of cookies at most).
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// The name prefix of the OpenID Connect nonce cookie: the protected nonce is the rest of the
/// *name* (the value is `N`).
pub const OIDC_NONCE_PREFIX: &str = ".AspNetCore.OpenIdConnect.Nonce.";

/// Where the payload text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The input was the payload itself.
    Bare,
    /// One cookie's value.
    Cookie {
        /// The cookie's name.
        name: String,
    },
    /// A chunked cookie, reassembled.
    Chunked {
        /// The cookie's name (the one holding `chunks-N`).
        name: String,
        /// N.
        chunks: usize,
    },
    /// An OpenID Connect nonce cookie: the payload is the end of its name.
    NonceCookieName {
        /// The cookie's whole name.
        name: String,
    },
}

impl Source {
    /// The cookie's name, when the payload came from a cookie.
    pub fn cookie_name(&self) -> Option<&str> {
        match self {
            Self::Bare => None,
            Self::Cookie { name } | Self::Chunked { name, .. } | Self::NonceCookieName { name } => {
                Some(name)
            }
        }
    }
}

/// A payload's text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Where it came from.
    pub source: Source,
    /// The payload text (base64url or base64), percent-decoded.
    pub text: String,
}

/// Why no payload could be taken from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// More than [`MAX_INPUT_BYTES`].
    TooLarge(usize),
    /// Nothing but whitespace.
    Empty,
    /// `--cookie NAME` names no cookie of the header.
    NoSuchCookie(String),
    /// `--cookie NAME` was given for input that is not a cookie header.
    NotACookieHeader,
    /// No cookie of the header holds a payload.
    NoPayloadCookie {
        /// The names seen (at most a few).
        names: Vec<String>,
        /// How many cookies there were.
        count: usize,
    },
    /// The header holds too many cookies, or a chunked cookie does not go back together
    /// (`keyward_aspnetcore`'s reason, said as it says it).
    Cookie(CookieError),
}

impl From<CookieError> for InputError {
    fn from(error: CookieError) -> Self {
        Self::Cookie(error)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(len) => write!(
                f,
                "the input is {len} bytes long; inspect reads at most {MAX_INPUT_BYTES}"
            ),
            Self::Empty => f.write_str("the input is empty: pass a payload, a cookie or a Cookie header (argument or stdin)"),
            Self::NoSuchCookie(name) => write!(f, "the Cookie header has no cookie named {name:?}"),
            Self::NotACookieHeader => f.write_str("--cookie: the input is a bare payload, not a Cookie header"),
            Self::NoPayloadCookie { names, count } => {
                write!(f, "no cookie of the header holds a Data Protection payload ({count} cookie{}: ", if *count == 1 { "" } else { "s" })?;
                f.write_str(&names.join(", "))?;
                if *count > names.len() {
                    f.write_str(", …")?;
                }
                f.write_str("); pick one with --cookie NAME")
            }
            Self::Cookie(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Its text is already this error's: what is beneath it, if anything.
            Self::Cookie(error) => error.source(),
            _ => None,
        }
    }
}

/// Takes the payload text out of `input`: the payload itself, or the cookie `wanted` (default:
/// the only cookie, else the first whose value looks like a payload) of a cookie header.
///
/// # Errors
/// An [`InputError`] saying what is wrong.
pub fn extract(input: &str, wanted: Option<&str>) -> Result<Extracted, InputError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge(input.len()));
    }
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(InputError::Empty);
    }
    let header = strip_cookie_prefix(trimmed);
    if header.is_none() && is_bare_payload(trimmed) {
        if wanted.is_some() {
            return Err(InputError::NotACookieHeader);
        }
        return Ok(Extracted {
            source: Source::Bare,
            text: percent_decode(trimmed).into_owned(),
        });
    }
    let header = header.unwrap_or(trimmed);
    if header.is_empty() {
        return Err(InputError::Empty);
    }
    let cookies = CookieHeader::parse(header)?;
    if cookies.is_empty() {
        // No `name=value` at all: a payload with characters base64 lacks, refused as such.
        return Ok(Extracted {
            source: Source::Bare,
            text: trimmed.to_owned(),
        });
    }
    select(&cookies, wanted)
}

/// The header without its `Cookie:` name (any case), or `None` when it has none.
fn strip_cookie_prefix(text: &str) -> Option<&str> {
    let prefix = text.get(..7)?;
    prefix
        .eq_ignore_ascii_case("cookie:")
        .then(|| text[7..].trim_start())
}

/// Whether `text` is a payload on its own: base64 (either alphabet, percent-escaped or not)
/// with optional trailing `=` padding.
fn is_bare_payload(text: &str) -> bool {
    text.trim_end_matches('=')
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'%'))
}

/// Whether a value is a `chunks-…` marker (well-formed or not).
fn is_chunk_marker(value: &str) -> bool {
    value.starts_with("chunks-")
}

/// Picks the cookie and reassembles it.
fn select(cookies: &CookieHeader<'_>, wanted: Option<&str>) -> Result<Extracted, InputError> {
    if let Some(name) = wanted {
        if !cookies.contains(name) {
            return Err(InputError::NoSuchCookie(name.to_owned()));
        }
        return cookie_payload(cookies, name);
    }
    // Chunk cookies belong to their chunked cookie: never candidates of their own.
    let candidates: Vec<(&str, &str)> = cookies.candidates().collect();
    if let [(name, _)] = candidates.as_slice() {
        if let Some(rest) = name.strip_prefix(OIDC_NONCE_PREFIX) {
            return Ok(nonce(name, rest));
        }
        return cookie_payload(cookies, name);
    }
    for (name, value) in &candidates {
        if let Some(rest) = name.strip_prefix(OIDC_NONCE_PREFIX) {
            if looks_like_payload(rest) {
                return Ok(nonce(name, rest));
            }
        } else if is_chunk_marker(value) || looks_like_payload(value) {
            // A chunked cookie is a payload (or an error worth seeing).
            return cookie_payload(cookies, name);
        }
    }
    Err(InputError::NoPayloadCookie {
        names: candidates
            .iter()
            .take(8)
            .map(|(n, _)| (*n).to_owned())
            .collect(),
        count: candidates.len(),
    })
}

/// The nonce cookie's payload.
fn nonce(name: &str, rest: &str) -> Extracted {
    Extracted {
        source: Source::NonceCookieName {
            name: name.to_owned(),
        },
        text: percent_decode(rest).into_owned(),
    }
}

/// Whether a cookie value looks like a Data Protection payload: every payload starts with
/// the magic header and a key id, which base64url writes as `CfDJ8`.
fn looks_like_payload(value: &str) -> bool {
    let value = percent_decode(value);
    value.len() >= 27
        && is_bare_payload(&value)
        && keyward::encoding::base64url_decode(value.get(..28).unwrap_or(&value))
            .ok()
            .or_else(|| keyward::encoding::base64url_decode(&value).ok())
            .is_some_and(|bytes| bytes.starts_with(&keyward::payload::MAGIC))
}

/// The payload of the cookie `name`: its value, or the chunks it announces put back
/// together, percent-decoded.
fn cookie_payload(cookies: &CookieHeader<'_>, name: &str) -> Result<Extracted, InputError> {
    let source = match cookies.chunk_count(name)? {
        None => Source::Cookie {
            name: name.to_owned(),
        },
        Some(chunks) => Source::Chunked {
            name: name.to_owned(),
            chunks,
        },
    };
    let text = cookies.reassemble_decoded(name)?.unwrap_or_default();
    Ok(Extracted { source, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "CfDJ8LPK8qESjidHlH6PQvXM-MsaGFexbIeZP6IJWynsDg";

    fn ok(input: &str) -> Extracted {
        extract(input, None).unwrap()
    }

    fn err(input: &str) -> InputError {
        extract(input, None).unwrap_err()
    }

    #[test]
    fn a_bare_payload_is_itself_in_either_alphabet() {
        assert_eq!(ok(&format!("  {P}\n")).text, P);
        assert_eq!(ok(P).source, Source::Bare);
        assert_eq!(ok("CfDJ8+/a==").text, "CfDJ8+/a==");
        assert_eq!(ok("CfDJ8%2Ba%2F%3D").text, "CfDJ8+a/=");
    }

    #[test]
    fn headers_with_and_without_prefix_and_single_pairs() {
        for input in [
            format!("Cookie: a=b; .AspNetCore.Cookies={P}"),
            format!("cookie:a=b;.AspNetCore.Cookies={P}"),
            format!("a=b; .AspNetCore.Cookies=\"{P}\""),
            format!(".AspNetCore.Cookies={P}"),
        ] {
            let got = ok(&input);
            assert_eq!(got.text, P, "{input}");
            assert_eq!(got.source.cookie_name(), Some(".AspNetCore.Cookies"));
        }
    }

    #[test]
    fn the_cookie_asked_for_wins_and_an_absent_one_is_named() {
        let header = format!("x={P}; y=CfDJ8other");
        assert_eq!(extract(&header, Some("y")).unwrap().text, "CfDJ8other");
        assert_eq!(
            extract(&header, Some("z")).unwrap_err(),
            InputError::NoSuchCookie("z".into())
        );
        assert_eq!(
            extract(P, Some("z")).unwrap_err(),
            InputError::NotACookieHeader
        );
    }

    #[test]
    fn without_a_payload_cookie_the_names_are_listed() {
        let e = err("a=1; b=2");
        assert_eq!(
            e,
            InputError::NoPayloadCookie {
                names: vec!["a".into(), "b".into()],
                count: 2
            }
        );
        assert!(e.to_string().contains("--cookie NAME"), "{e}");
    }

    #[test]
    fn chunks_are_reassembled_in_order_whatever_the_header_order() {
        let got = ok("n=chunks-3; nC3=ccc; other=1; nC1=aaa; nC2=bbb");
        assert_eq!(got.text, "aaabbbccc");
        assert_eq!(
            got.source,
            Source::Chunked {
                name: "n".into(),
                chunks: 3
            }
        );
    }

    #[test]
    fn missing_empty_extra_and_duplicate_chunks_are_refused() {
        assert_eq!(
            err("n=chunks-3; nC1=a; nC3=c"),
            InputError::Cookie(CookieError::MissingChunk {
                chunk: "nC2".into(),
                count: 3
            })
        );
        assert_eq!(
            err("n=chunks-2; nC1=a; nC2="),
            InputError::Cookie(CookieError::MissingChunk {
                chunk: "nC2".into(),
                count: 2
            })
        );
        assert_eq!(
            err("n=chunks-2; nC1=a; nC2=b; nC3=c"),
            InputError::Cookie(CookieError::ExtraChunk {
                chunk: "nC3".into(),
                count: 2
            })
        );
        assert_eq!(
            err("n=chunks-2; nC1=a; nC02=b; nC2=b"),
            InputError::Cookie(CookieError::ExtraChunk {
                chunk: "nC02".into(),
                count: 2
            })
        );
        assert_eq!(
            err("n=chunks-2; nC1=a; nC2=b; nC1=x"),
            InputError::Cookie(CookieError::DuplicateChunk {
                chunk: "nC1".into()
            })
        );
        // The same chunk sent twice unchanged is harmless.
        assert_eq!(ok("n=chunks-2; nC1=a; nC2=b; nC1=a").text, "ab");
    }

    #[test]
    fn chunk_counts_are_decimal_bounded_and_positive() {
        for bad in [
            "n=chunks-",
            "n=chunks-0",
            "n=chunks-+2",
            "n=chunks- 2",
            "n=chunks-x",
        ] {
            assert_eq!(
                err(bad),
                InputError::Cookie(CookieError::BadChunkCount { name: "n".into() }),
                "{bad}"
            );
        }
        assert_eq!(
            err("n=chunks-257"),
            InputError::Cookie(CookieError::TooManyChunks {
                name: "n".into(),
                declared: "257".into()
            })
        );
        // Leading zeros are decimal still, as NumberStyles.None reads them.
        assert_eq!(ok("n=chunks-02; nC1=a; nC2=b").text, "ab");
        assert!(matches!(
            err("n=chunks-99999999999999999999"),
            InputError::Cookie(CookieError::TooManyChunks { .. })
        ));
    }

    #[test]
    fn a_chunked_cookie_is_chosen_among_others() {
        let got = ok(&format!(
            "theme=dark; .AspNetCore.Cookies=chunks-2; .AspNetCore.CookiesC1={}; .AspNetCore.CookiesC2={}",
            &P[..20],
            &P[20..]
        ));
        assert_eq!(got.text, P);
    }

    #[test]
    fn the_nonce_cookie_carries_its_payload_in_its_name() {
        let got = ok(&format!("{OIDC_NONCE_PREFIX}{P}=N; theme=dark"));
        assert_eq!(got.text, P);
        assert!(matches!(got.source, Source::NonceCookieName { .. }));
    }

    #[test]
    fn hostile_sizes_are_bounded() {
        assert!(matches!(
            err(&"a".repeat(MAX_INPUT_BYTES + 1)),
            InputError::TooLarge(_)
        ));
        assert_eq!(
            err(&"a=1;".repeat(keyward_aspnetcore::MAX_COOKIES + 1)),
            InputError::Cookie(CookieError::TooManyCookies {
                max: keyward_aspnetcore::MAX_COOKIES
            })
        );
        assert_eq!(err(" \n"), InputError::Empty);
        assert_eq!(err("Cookie: "), InputError::Empty);
        // Without any pair, it is a (bad) payload.
        assert_eq!(ok("not base64!").source, Source::Bare);
        // Odd shapes never panic.
        for odd in [
            "=",
            ";;;",
            "Cookie:",
            "a",
            "%",
            "%4",
            "é=%ZZ; ü",
            "n=chunks-1; nC1=%",
        ] {
            let _ = extract(odd, None);
        }
    }
}
