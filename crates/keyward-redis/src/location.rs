//! Where the store is: the `key=` parameter split off a Redis URL, the URL as messages show it
//! ([`display_url`], built from parsed fields, never with a password), and the client's errors
//! with every secret of the URL replaced ([`Secrets`], [`RedisCause`]).

use std::fmt;

/// `url` without a `key=` query parameter, and that parameter.
pub(crate) fn split_key_parameter(url: &str) -> (String, Option<String>) {
    // A fragment (`#insecure`) stays at the end of the URL.
    let (url, fragment) = match url.split_once('#') {
        Some((url, fragment)) => (url, format!("#{fragment}")),
        None => (url, String::new()),
    };
    let Some((base, query)) = url.split_once('?') else {
        return (format!("{url}{fragment}"), None);
    };
    let mut key = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("key", value)) => {
                key = Some(value.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    let base = if rest.is_empty() {
        format!("{base}{fragment}")
    } else {
        format!("{base}?{}{fragment}", rest.join("&"))
    };
    (base, key)
}

/// The schemes the Redis client understands (and so the only ones shown).
const SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis+unix",
    "valkey+unix",
    "unix",
];

/// The URL's scheme, when it is one of [`SCHEMES`] (lower case).
fn known_scheme(url: &str) -> Option<&'static str> {
    let (scheme, _) = url.trim().split_once("://")?;
    SCHEMES
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(scheme))
}

/// The store `url` names, for messages: built only from the fields the Redis client parses
/// (scheme, host, port, database; the socket path), never from the URL's text, so no user,
/// password or stray text reaches it. A URL that does not parse shows as its scheme and
/// `(unparsable URL)`. Never panics.
///
/// ```
/// use keyward_redis::display_url;
/// assert_eq!(display_url("redis://app:s3cret@cache:6380/2?key=K"), "redis://cache:6380/2");
/// assert_eq!(display_url("redis://app:hun/ter2@cache:6380/2"), "redis://(unparsable URL)");
/// ```
pub fn display_url(url: &str) -> String {
    let scheme = known_scheme(url);
    let info = scheme.and_then(|_| redis::IntoConnectionInfo::into_connection_info(url).ok());
    let (Some(scheme), Some(info)) = (scheme, info) else {
        return match scheme {
            Some(scheme) => format!("{scheme}://(unparsable URL)"),
            None => "(unparsable URL)".to_owned(),
        };
    };
    let db = info.redis_settings().db();
    let host = |host: &str| {
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    };
    let shown = match info.addr() {
        redis::ConnectionAddr::Tcp(name, port) => format!("{scheme}://{}:{port}/{db}", host(name)),
        redis::ConnectionAddr::TcpTls {
            host: name,
            port,
            insecure,
            ..
        } => format!(
            "{scheme}://{}:{port}/{db}{}",
            host(name),
            if *insecure { "#insecure" } else { "" }
        ),
        redis::ConnectionAddr::Unix(path) if db == 0 => {
            format!("{scheme}://{}", path.display())
        }
        redis::ConnectionAddr::Unix(path) => format!("{scheme}://{}?db={db}", path.display()),
        _ => format!("{scheme}://(address)"),
    };
    shown.chars().filter(|c| !c.is_control()).collect()
}

/// The secrets a URL holds, in every form they could be echoed in: its password (as written
/// and percent-decoded) and, for socket URLs, the `pass` query parameter.
#[derive(Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    pub(crate) fn of(url: &str) -> Self {
        let mut secrets = Vec::new();
        if let Some(parsed) = redis::parse_redis_url(url) {
            secrets.extend(parsed.password().map(str::to_owned));
            for pair in parsed.query().unwrap_or("").split('&') {
                if let Some(("pass", value)) = pair.split_once('=') {
                    secrets.push(value.to_owned());
                }
            }
            secrets.extend(
                parsed
                    .query_pairs()
                    .filter(|(name, _)| name == "pass")
                    .map(|(_, value)| value.into_owned()),
            );
        }
        if let Ok(info) = redis::IntoConnectionInfo::into_connection_info(url) {
            secrets.extend(info.redis_settings().password().map(str::to_owned));
        }
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so a secret holding another is replaced whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self(secrets)
    }

    /// `error` as a cause that is safe to show: its text with every secret replaced by `***`,
    /// and without the client's detail for configuration errors (it can quote the URL).
    pub(crate) fn cause(&self, error: &redis::RedisError) -> RedisCause {
        let mut text = error.to_string();
        if error.kind() == redis::ErrorKind::InvalidClientConfig {
            if let Some(detail) = error.detail().filter(|d| !d.is_empty()) {
                text = text.replace(detail, "(detail withheld)");
            }
        }
        for secret in &self.0 {
            text = text.replace(secret.as_str(), "***");
        }
        RedisCause { text }
    }
}

/// A Redis client error as keyward shows it: the client's message without any secret of the
/// URL. It carries only that text, never the client's error itself.
#[derive(Debug, Clone)]
pub struct RedisCause {
    text: String,
}

impl fmt::Display for RedisCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for RedisCause {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parameter_and_redaction() {
        assert_eq!(
            split_key_parameter("redis://h:1/2?key=K"),
            ("redis://h:1/2".to_owned(), Some("K".to_owned()))
        );
        assert_eq!(
            split_key_parameter("redis://h:1/2?protocol=resp3&key=K"),
            (
                "redis://h:1/2?protocol=resp3".to_owned(),
                Some("K".to_owned())
            )
        );
        assert_eq!(
            split_key_parameter("redis://h"),
            ("redis://h".to_owned(), None)
        );
        assert_eq!(display_url("redis://u:secret@h:1/0"), "redis://h:1/0");
        assert_eq!(display_url("redis://:secret@h:1/0"), "redis://h:1/0");
        assert_eq!(display_url("redis://h:1/0"), "redis://h:1/0");
    }
}
