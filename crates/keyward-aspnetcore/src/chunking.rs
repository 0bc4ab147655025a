//! `ChunkingCookieManager`: long cookies split into `NAME=chunks-N`, `NAMEC1` … `NAMECN`
//! and put back together (`docs/spec/login-cookie.md` §4). `CookieHeader`
//! (`cookie_header.rs`) reads the `Cookie:` header they come back in.

use crate::error::{CookieError, Result};

/// .NET's default chunk size: 4050 characters per `Set-Cookie` value, attributes included.
pub const DEFAULT_CHUNK_SIZE: usize = 4050;

/// The most chunks a cookie may declare (256 chunks of 4050 characters is about 1 MiB).
pub const MAX_CHUNKS: usize = 256;

/// The attributes ASP.NET Core's cookie handler renders by default over HTTPS
/// (`path=/`, `secure`, `samesite=lax`, `httponly`): they count towards the chunk size.
pub const DEFAULT_COOKIE_ATTRIBUTES: &str = "; path=/; secure; samesite=lax; httponly";

/// The value of the cookie that announces chunks: `chunks-` then their number.
pub(crate) const CHUNKS_MARKER: &str = "chunks-";

/// Splits long cookie values into chunks and reassembles them, as .NET's
/// `ChunkingCookieManager` (.NET 5 and later) does.
///
/// ```
/// use keyward_aspnetcore::ChunkingCookieManager;
/// let manager = ChunkingCookieManager { chunk_size: Some(100) };
/// let value = "x".repeat(120);
/// let cookies = manager.split(".AspNetCore.Cookies", &value);
/// assert_eq!(cookies[0], (".AspNetCore.Cookies".to_owned(), "chunks-4".to_owned()));
/// assert_eq!(cookies[1].0, ".AspNetCore.CookiesC1");
/// let sent = cookies.iter().map(|(n, v)| (n.as_str(), v.as_str()));
/// assert_eq!(manager.reassemble(".AspNetCore.Cookies", sent)?, Some(value));
/// # Ok::<(), keyward_aspnetcore::CookieError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingCookieManager {
    /// The most characters of one `Set-Cookie` value, name and attributes included; `None`
    /// never chunks.
    pub chunk_size: Option<usize>,
}

impl Default for ChunkingCookieManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkingCookieManager {
    /// A manager with .NET's default chunk size, [`DEFAULT_CHUNK_SIZE`].
    pub fn new() -> Self {
        Self {
            chunk_size: Some(DEFAULT_CHUNK_SIZE),
        }
    }

    /// The cookies to set for `name` = `value` with the default attributes
    /// ([`DEFAULT_COOKIE_ATTRIBUTES`]): one pair, or `name=chunks-N` then `nameC1` …
    /// `nameCN`. A chunk size too small to make progress (.NET throws), or a value needing
    /// more than [`MAX_CHUNKS`] chunks, leaves the value whole;
    /// [`ChunkingCookieManager::try_split`] reports either instead.
    pub fn split(&self, name: &str, value: &str) -> Vec<(String, String)> {
        self.try_split(name, value, DEFAULT_COOKIE_ATTRIBUTES)
            .unwrap_or_else(|_| vec![(name.to_owned(), value.to_owned())])
    }

    /// [`ChunkingCookieManager::split`] for cookies rendered with `attributes` (as they
    /// follow the value in `Set-Cookie`, e.g. `"; path=/; httponly"`). A value is chunked
    /// when `name=` + value + attributes does not fit in the chunk size; each chunk then
    /// carries `chunk size − len(name=attributes) − 3` characters, as .NET computes it.
    ///
    /// # Errors
    /// [`CookieError::ChunkSizeTooSmall`] when the chunk size is below `len(name=attributes) + 10`;
    /// [`CookieError::TooManyChunks`] when the value needs more than [`MAX_CHUNKS`] chunks (more
    /// than [`ChunkingCookieManager::reassemble`] takes back, and far more than a browser
    /// keeps).
    pub fn try_split(
        &self,
        name: &str,
        value: &str,
        attributes: &str,
    ) -> Result<Vec<(String, String)>, CookieError> {
        let template = name.len() + 1 + attributes.len();
        let Some(chunk_size) = self.chunk_size else {
            return Ok(vec![(name.to_owned(), value.to_owned())]);
        };
        if chunk_size > template + value.len() {
            return Ok(vec![(name.to_owned(), value.to_owned())]);
        }
        if chunk_size < template + 10 {
            return Err(CookieError::ChunkSizeTooSmall {
                name: name.to_owned(),
                chunk_size,
                min: template + 10,
            });
        }
        let per_chunk = chunk_size - template - 3;
        let mut chunks = Vec::new();
        let mut rest = value;
        while !rest.is_empty() {
            // Cookie values are ASCII; a multi-byte character is never cut in two.
            let mut end = per_chunk.min(rest.len());
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            if end == 0 {
                end = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            let (chunk, tail) = rest.split_at(end);
            chunks.push(chunk);
            rest = tail;
        }
        // A value no reader takes back (reassembly stops at MAX_CHUNKS) is refused here too.
        if chunks.len() > MAX_CHUNKS {
            return Err(CookieError::TooManyChunks {
                name: name.to_owned(),
                declared: chunks.len().to_string(),
            });
        }
        let mut cookies = Vec::with_capacity(chunks.len() + 1);
        cookies.push((name.to_owned(), format!("{CHUNKS_MARKER}{}", chunks.len())));
        for (index, chunk) in chunks.into_iter().enumerate() {
            cookies.push((format!("{name}C{}", index + 1), chunk.to_owned()));
        }
        Ok(cookies)
    }

    /// The value of cookie `name` among the request's `cookies`, its chunks put back
    /// together; `None` when there is no such cookie. The first cookie of a name wins (a
    /// browser sends the most specific path first). Values are taken as they are (no
    /// percent-decoding: base64url needs none).
    ///
    /// Unlike .NET, which then returns the marker text itself, a chunked cookie whose chunks
    /// are not exactly `C1` … `CN` is refused.
    ///
    /// # Errors
    /// [`CookieError::BadChunkCount`], [`CookieError::TooManyChunks`], [`CookieError::MissingChunk`] (missing
    /// or empty), [`CookieError::ExtraChunk`] (beyond N, or with a leading zero),
    /// [`CookieError::DuplicateChunk`] (twice with different values).
    pub fn reassemble<'a>(
        &self,
        name: &str,
        cookies: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Option<String>, CookieError> {
        let cookies: Vec<(&str, &str)> = cookies.into_iter().collect();
        let Some(value) = cookies.iter().find(|(n, _)| *n == name).map(|(_, v)| *v) else {
            return Ok(None);
        };
        let Some(count) = chunk_count(name, value)? else {
            return Ok(Some(value.to_owned()));
        };
        let mut chunks: Vec<Option<&str>> = vec![None; count];
        for (chunk_name, chunk_value) in &cookies {
            let Some(digits) = chunk_digits(name, chunk_name) else {
                continue;
            };
            // Only C1 … CN as .NET writes them (no leading zero) belong to this cookie.
            let index = digits
                .parse::<usize>()
                .ok()
                .filter(|&i| (1..=count).contains(&i) && !digits.starts_with('0'));
            let Some(index) = index else {
                return Err(CookieError::ExtraChunk {
                    chunk: (*chunk_name).to_owned(),
                    count,
                });
            };
            match chunks[index - 1] {
                Some(seen) if seen != *chunk_value => {
                    return Err(CookieError::DuplicateChunk {
                        chunk: (*chunk_name).to_owned(),
                    })
                }
                _ => chunks[index - 1] = Some(chunk_value),
            }
        }
        let mut text = String::new();
        for (index, chunk) in chunks.iter().enumerate() {
            match chunk {
                Some(value) if !value.is_empty() => text.push_str(value),
                _ => {
                    return Err(CookieError::MissingChunk {
                        chunk: format!("{name}C{}", index + 1),
                        count,
                    })
                }
            }
        }
        Ok(Some(text))
    }
}

/// The chunk count a cookie value announces: `None` when it is not `chunks-…` (an ordinary
/// value), N when it is `chunks-N` with N a decimal number (leading zeros allowed, as .NET's
/// `NumberStyles.None`) from 1 to [`MAX_CHUNKS`].
///
/// # Errors
/// [`CookieError::BadChunkCount`] or [`CookieError::TooManyChunks`], naming the cookie `name`.
pub(crate) fn chunk_count(name: &str, value: &str) -> Result<Option<usize>, CookieError> {
    let Some(count) = value.strip_prefix(CHUNKS_MARKER) else {
        return Ok(None);
    };
    let bad = || CookieError::BadChunkCount {
        name: name.to_owned(),
    };
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match count.parse::<usize>() {
        Ok(0) => Err(bad()),
        Ok(n) if n <= MAX_CHUNKS => Ok(Some(n)),
        _ => Err(CookieError::TooManyChunks {
            name: name.to_owned(),
            declared: count.chars().take(12).collect(),
        }),
    }
}

/// If `chunk_name` is `{name}C{digits}`, the digits.
pub(crate) fn chunk_digits<'a>(name: &str, chunk_name: &'a str) -> Option<&'a str> {
    let digits = chunk_name.strip_prefix(name)?.strip_prefix('C')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    fn reassemble(header: &str) -> Result<Option<String>, CookieError> {
        // `name=value; …` as the tests write it (CookieHeader parses real headers).
        let pairs = header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='));
        ChunkingCookieManager::new().reassemble("n", pairs)
    }

    #[test]
    fn dotnets_chunking_vector_size_44() {
        // aspnetcore's test: ChunkSize 44, cookie "TestCookie", default options ("; path=/").
        let value = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let manager = ChunkingCookieManager {
            chunk_size: Some(44),
        };
        let cookies = manager.try_split("TestCookie", value, "; path=/").unwrap();
        let expected = [
            ("TestCookie", "chunks-3"),
            ("TestCookieC1", "abcdefghijklmnopqrstuv"),
            ("TestCookieC2", "wxyz0123456789ABCDEFGH"),
            ("TestCookieC3", "IJKLMNOPQRSTUVWXYZ"),
        ];
        let got: Vec<(&str, &str)> = cookies
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn small_values_and_no_chunk_size_stay_whole() {
        assert_eq!(
            ChunkingCookieManager::new().split("n", "v"),
            [("n".to_owned(), "v".to_owned())]
        );
        let never = ChunkingCookieManager { chunk_size: None };
        assert_eq!(never.split("n", &"v".repeat(10_000)).len(), 1);
        let tiny = ChunkingCookieManager {
            chunk_size: Some(20),
        };
        assert!(matches!(
            tiny.try_split("name", &"v".repeat(100), "; path=/"),
            Err(CookieError::ChunkSizeTooSmall { min: 23, .. })
        ));
        assert_eq!(tiny.split("name", &"v".repeat(100)).len(), 1);
    }

    #[test]
    fn chunks_are_reassembled_in_order_whatever_the_header_order() {
        assert_eq!(
            reassemble("n=chunks-3; nC3=ccc; other=1; nC1=aaa; nC2=bbb").unwrap(),
            Some("aaabbbccc".into())
        );
        assert_eq!(reassemble("other=1").unwrap(), None);
        assert_eq!(reassemble("n=plain; nC1=x").unwrap(), Some("plain".into()));
        assert_eq!(
            reassemble("n=chunks-02; nC1=a; nC2=b").unwrap(),
            Some("ab".into())
        );
        assert_eq!(
            reassemble("n=chunks-2; nC1=a; nC2=b; nC1=a").unwrap(),
            Some("ab".into())
        );
    }

    #[test]
    fn missing_extra_duplicate_and_bad_counts_are_refused() {
        assert!(matches!(
            reassemble("n=chunks-3; nC1=a; nC3=c"),
            Err(CookieError::MissingChunk { ref chunk, count: 3 }) if chunk == "nC2"
        ));
        assert!(matches!(
            reassemble("n=chunks-2; nC1=a; nC2="),
            Err(CookieError::MissingChunk { .. })
        ));
        assert!(matches!(
            reassemble("n=chunks-2; nC1=a; nC2=b; nC3=c"),
            Err(CookieError::ExtraChunk { ref chunk, count: 2 }) if chunk == "nC3"
        ));
        assert!(matches!(
            reassemble("n=chunks-2; nC1=a; nC02=b; nC2=b"),
            Err(CookieError::ExtraChunk { .. })
        ));
        assert!(matches!(
            reassemble("n=chunks-2; nC1=a; nC2=b; nC1=x"),
            Err(CookieError::DuplicateChunk { .. })
        ));
        for bad in [
            "n=chunks-",
            "n=chunks-0",
            "n=chunks-+2",
            "n=chunks- 2",
            "n=chunks-x",
        ] {
            assert!(
                matches!(reassemble(bad), Err(CookieError::BadChunkCount { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            reassemble("n=chunks-257"),
            Err(CookieError::TooManyChunks { ref declared, .. }) if declared == "257"
        ));
        assert!(matches!(
            reassemble("n=chunks-99999999999999999999999"),
            Err(CookieError::TooManyChunks { .. })
        ));
    }

    #[test]
    fn split_then_reassemble_is_identity() {
        let manager = ChunkingCookieManager {
            chunk_size: Some(64),
        };
        for len in [0usize, 1, 10, 17, 18, 19, 100, 1000] {
            let value: String = "é".repeat(len / 2) + &"a".repeat(len - len / 2);
            let cookies = manager.split("c", &value);
            let back = manager
                .reassemble("c", cookies.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                .unwrap();
            if value.is_empty() {
                // An empty value is one (empty) cookie, never chunks.
                assert_eq!(cookies.len(), 1);
            }
            assert_eq!(back, Some(value));
        }
    }
}
