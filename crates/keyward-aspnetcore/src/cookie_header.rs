//! [`CookieHeader`]: the cookies of a request's `Cookie:` header, read once and bounded, with
//! ASP.NET Core's chunked cookies put back together by [`ChunkingCookieManager`].

use std::borrow::Cow;
use std::fmt;

use crate::chunking::{chunk_count, chunk_digits, ChunkingCookieManager, CHUNKS_MARKER};
use crate::error::{CookieError, Result};

/// The most cookies one request's `Cookie:` header (or headers) may hold; more is
/// [`CookieError::TooManyCookies`]. Browsers keep a few hundred per site at most.
pub const MAX_COOKIES: usize = 4096;

/// The `name=value` pairs of a `Cookie:` header, in the order sent, borrowed from it.
///
/// Pairs are separated by `;`, names and values trimmed, a value in double quotes unquoted;
/// parts without `=` or with an empty name are skipped. Values are kept as sent:
/// [`CookieHeader::get`] and [`CookieHeader::reassemble`] return them so (base64url needs no
/// decoding), [`percent_decode`] decodes them as ASP.NET Core does. Of two cookies with one
/// name the first wins, as in ASP.NET Core: a browser sends the most specific path first.
///
/// ```
/// use keyward_aspnetcore::CookieHeader;
/// let header = CookieHeader::parse("Cookie: theme=dark; n=chunks-2; nC2=cd; nC1=ab; b=\"2\"")?;
/// assert_eq!(header.get("theme"), Some("dark"));
/// assert_eq!(header.get("b"), Some("2"));
/// assert_eq!(header.reassemble("n")?.as_deref(), Some("abcd"));
/// assert_eq!(header.chunk_count("n")?, Some(2));
/// // The chunks belong to `n`: they are not cookies of their own.
/// let names: Vec<&str> = header.candidates().map(|(name, _)| name).collect();
/// assert_eq!(names, ["theme", "n", "b"]);
/// # Ok::<(), keyward_aspnetcore::CookieError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CookieHeader<'h> {
    pairs: Vec<(&'h str, &'h str)>,
}

impl fmt::Debug for CookieHeader<'_> {
    // Values may be secrets (sessions, logins): names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.pairs.iter().map(|(name, _)| *name).collect();
        f.debug_struct("CookieHeader")
            .field("names", &names)
            .finish()
    }
}

impl<'h> CookieHeader<'h> {
    /// The cookies of one header value, with or without its `Cookie:` prefix (any case).
    ///
    /// # Errors
    /// [`CookieError::TooManyCookies`] past [`MAX_COOKIES`] pairs.
    pub fn parse(header: &'h str) -> Result<Self, CookieError> {
        Self::parse_all([header])
    }

    /// The cookies of every `Cookie:` header value of a request, in order (HTTP/2 may send
    /// one header per cookie). The bound is on them all together.
    ///
    /// # Errors
    /// [`CookieError::TooManyCookies`] past [`MAX_COOKIES`] pairs.
    pub fn parse_all(headers: impl IntoIterator<Item = &'h str>) -> Result<Self, CookieError> {
        let mut pairs = Vec::new();
        for header in headers {
            for pair in pairs_of(header) {
                if pairs.len() == MAX_COOKIES {
                    return Err(CookieError::TooManyCookies { max: MAX_COOKIES });
                }
                pairs.push(pair);
            }
        }
        Ok(Self { pairs })
    }

    /// How many `name=value` pairs the header holds (chunks and repeated names included).
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the header holds no pair at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Every `(name, value)` pair, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&'h str, &'h str)> + '_ {
        self.pairs.iter().copied()
    }

    /// The value of the first cookie called `name`, as sent.
    pub fn get(&self, name: &str) -> Option<&'h str> {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| *value)
    }

    /// Whether a cookie called `name` was sent.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of chunks the cookie `name` announces (`chunks-N`), or `None` when it is
    /// absent or an ordinary value.
    ///
    /// # Errors
    /// [`CookieError::BadChunkCount`] or [`CookieError::TooManyChunks`] for a malformed
    /// `chunks-…` value.
    pub fn chunk_count(&self, name: &str) -> Result<Option<usize>, CookieError> {
        match self.get(name) {
            Some(value) => chunk_count(name, value),
            None => Ok(None),
        }
    }

    /// The value of the cookie `name`, its chunks put back together
    /// ([`ChunkingCookieManager::reassemble`]); `None` when there is no such cookie. Not
    /// percent-decoded (see [`CookieHeader::reassemble_decoded`]).
    ///
    /// # Errors
    /// The chunking errors of [`ChunkingCookieManager::reassemble`].
    pub fn reassemble(&self, name: &str) -> Result<Option<String>, CookieError> {
        ChunkingCookieManager::new().reassemble(name, self.iter())
    }

    /// [`CookieHeader::reassemble`], then [`percent_decode`]d.
    ///
    /// # Errors
    /// The chunking errors of [`ChunkingCookieManager::reassemble`].
    pub fn reassemble_decoded(&self, name: &str) -> Result<Option<String>, CookieError> {
        Ok(self
            .reassemble(name)?
            .map(|value| percent_decode(&value).into_owned()))
    }

    /// The names of every chunk of `name` sent (`nameC1`, `nameC2` …, whatever their
    /// number, in the order sent, each once): what signing in or out has to overwrite or
    /// remove.
    pub fn chunk_names(&self, name: &str) -> Vec<&'h str> {
        let mut names: Vec<&'h str> = Vec::new();
        for (chunk, _) in self.iter() {
            if chunk_digits(name, chunk).is_some() && !names.contains(&chunk) {
                names.push(chunk);
            }
        }
        names
    }

    /// The cookies a user may have meant, for diagnostics and for picking "the only cookie":
    /// every pair but the chunks (`NAMEC1` …) of a cookie whose value starts with `chunks-`
    /// (well formed or not), in the order sent.
    pub fn candidates(&self) -> impl Iterator<Item = (&'h str, &'h str)> + '_ {
        self.iter().filter(move |(name, _)| {
            !self.pairs.iter().any(|(base, value)| {
                value.starts_with(CHUNKS_MARKER) && chunk_digits(base, name).is_some()
            })
        })
    }
}

/// The pairs of one header value (see [`CookieHeader`]), unbounded: callers bound them.
fn pairs_of(header: &str) -> impl Iterator<Item = (&str, &str)> {
    let header = header.trim_start();
    let header = match header.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("cookie:") => &header[7..],
        _ => header,
    };
    header.split(';').filter_map(|part| {
        let (name, value) = part.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name, value))
    })
}

/// Decodes the `%XX` escapes of a cookie value that stand for ASCII characters, as ASP.NET
/// Core unescapes cookie values (its session cookie's standard base64 is sent as `%2B`,
/// `%2F`, `%3D`). Anything else, a `%` not followed by two hex digits or an escape of a
/// non-ASCII byte, is kept as it is.
///
/// ```
/// use keyward_aspnetcore::percent_decode;
/// assert_eq!(percent_decode("a%2Bb%2fc"), "a+b/c");
/// assert_eq!(percent_decode("%zz%4%C3%A9"), "%zz%4%C3%A9");
/// ```
pub fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let decoded = rest
            .get(at + 1..at + 3)
            // Two hex digits: `from_str_radix` alone would take `+1` as a number.
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii);
        match decoded {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn percent_decode_takes_two_hex_digits_only() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("%+1"), "%+1");
        assert_eq!(percent_decode("%-1x"), "%-1x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(
            percent_decode("%C3%A9"),
            "%C3%A9",
            "only ASCII escapes are decoded"
        );
    }

    fn pairs(header: &str) -> Vec<(String, String)> {
        CookieHeader::parse(header)
            .unwrap()
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn headers_parse_with_or_without_prefix() {
        for header in [
            "Cookie: a=1;b = 2 ",
            "cookie:a=1; b=\"2\"",
            "a=1;;=x; b=2; c",
        ] {
            assert_eq!(
                pairs(header),
                [
                    ("a".to_owned(), "1".to_owned()),
                    ("b".to_owned(), "2".to_owned())
                ],
                "{header}"
            );
        }
        assert!(pairs("").is_empty());
        assert_eq!(pairs("a=b=c"), [("a".to_owned(), "b=c".to_owned())]);
        for odd in ["=", ";;;", "Cookie:", "é=\"", "\"=\""] {
            let _ = pairs(odd);
        }
    }

    #[test]
    fn the_first_cookie_of_a_name_wins_and_several_headers_make_one() {
        let header = CookieHeader::parse_all(["a=1; b=2", "Cookie: a=3; c=4"]).unwrap();
        assert_eq!(header.len(), 4);
        assert_eq!(header.get("a"), Some("1"));
        assert_eq!(header.get("c"), Some("4"));
        assert!(!header.contains("d"));
        assert_eq!(header.reassemble("d").unwrap(), None);
    }

    #[test]
    fn the_number_of_cookies_is_bounded() {
        let many = "a=1;".repeat(MAX_COOKIES);
        assert_eq!(CookieHeader::parse(&many).unwrap().len(), MAX_COOKIES);
        let more = format!("{many} b=2");
        let error = CookieHeader::parse(&more).unwrap_err();
        assert!(matches!(
            error,
            CookieError::TooManyCookies { max: MAX_COOKIES }
        ));
        assert_eq!(
            error.to_string(),
            "the Cookie header holds more than 4096 cookies"
        );
        assert!(CookieHeader::parse_all([many.as_str(), "b=2"]).is_err());
    }

    #[test]
    fn chunks_are_reassembled_counted_named_and_not_candidates() {
        let header =
            CookieHeader::parse("x=chunks-2; xC2=b%2B; other=1; xC1=a; xC2=b%2B; yC1=z").unwrap();
        assert_eq!(header.reassemble("x").unwrap().as_deref(), Some("ab%2B"));
        assert_eq!(
            header.reassemble_decoded("x").unwrap().as_deref(),
            Some("ab+")
        );
        assert_eq!(header.chunk_count("x").unwrap(), Some(2));
        assert_eq!(header.chunk_count("other").unwrap(), None);
        assert_eq!(header.chunk_names("x"), ["xC2", "xC1"]);
        let names: Vec<&str> = header.candidates().map(|(n, _)| n).collect();
        assert_eq!(names, ["x", "other", "yC1"]);
        // A malformed count still owns its chunks.
        let bad = CookieHeader::parse("n=chunks-x; nC1=a").unwrap();
        assert_eq!(bad.candidates().count(), 1);
        assert!(matches!(
            bad.reassemble("n"),
            Err(CookieError::BadChunkCount { .. })
        ));
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_ascii_escape() {
        assert_eq!(percent_decode("a%2Bb%2fc"), "a+b/c");
        assert_eq!(percent_decode("%zz%4%"), "%zz%4%");
        assert_eq!(percent_decode("%C3%A9"), "%C3%A9");
        assert_eq!(percent_decode("é%41%"), "éA%");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed("plain")));
    }
}
