//! Where the store is: keyward's own parameters split off a URL or a libpq `key=value`
//! connection string, the rest parsed as the client parses it, and the target as messages show
//! it ([`display_url`]: built from the parsed configuration, never with a password).

use postgres::Config;

/// The connection target of `url` for messages — `postgres://user@host:port/db`, built from
/// the parsed connection string, so it never holds a password, wherever the password was
/// given (userinfo, `password=` in the query or a `key=value` string, percent-encoded). A
/// string that does not parse shows only its scheme: `postgres://(unparsable URL)`. keyward's
/// own parameters (`table`, `schema`, `create_table`, `sslmode`, `sslrootcert`) are not shown.
/// Never panics.
pub fn display_url(url: &str) -> String {
    match split_parameters(url).map(|(base, _)| parse_config(&base)) {
        Ok(Ok(config)) => describe(&config),
        _ => unparsable(url),
    }
}

/// What is shown of a connection string that does not parse: its scheme at most.
pub(crate) fn unparsable(url: &str) -> String {
    for scheme in ["postgresql://", "postgres://"] {
        if url
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        {
            return format!("{}(unparsable URL)", &scheme.to_ascii_lowercase());
        }
    }
    "(unparsable connection string)".into()
}

/// Parses a connection string (keyward's parameters removed). The error says what is wrong
/// without quoting the input.
pub(crate) fn parse_config(base: &str) -> std::result::Result<Config, String> {
    if let Some(rest) = url_rest(base) {
        // `postgres://u:pass/word@host/db` parses as host `u`, port `pass`, database
        // `word@host/db`: a '/' in the password was not percent-encoded. Refused, and so never
        // shown as a host, port and database.
        let path_end = rest.find('?').unwrap_or(rest.len());
        let authority_end = rest[..path_end].find('/').unwrap_or(path_end);
        if rest[authority_end..path_end].contains('@') {
            return Err(
                "'@' after the host: percent-encode '/', '?', '#' and '@' in the user name and password"
                    .into(),
            );
        }
    }
    base.parse::<Config>().map_err(|e| {
        // tokio-postgres names the option for bad values and unknown options; other parse
        // errors may quote a character of the input.
        let detail = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        if detail.starts_with("invalid value for option `")
            || detail.starts_with("unknown option `")
        {
            detail
        } else {
            "malformed".into()
        }
    })
}

/// What follows `postgres://` or `postgresql://`, when `s` is a URL.
fn url_rest(s: &str) -> Option<&str> {
    s.strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
}

/// `postgres://user@host:port/db`, from a parsed configuration, without any password. A
/// name holding '=' is left out (a user or database name, or a host as `(withheld)`): in a
/// `key=value` string, `user= password=…` makes the next parameter the value.
pub(crate) fn describe(config: &Config) -> String {
    let shown = |name: &str| !name.contains('=');
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .map(|h| if shown(&h) { h } else { "(withheld)".into() })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let host = match (hosts.first(), ports.first()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => "localhost".into(),
    };
    let user = config
        .get_user()
        .filter(|u| shown(u))
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let dbname = config.get_dbname().filter(|d| shown(d)).unwrap_or("");
    format!("postgres://{user}{host}/{dbname}")
}

/// keyward's own connection-string parameters (not passed to the PostgreSQL client).
#[derive(Debug, Default, PartialEq, Eq, Clone)]
pub(crate) struct Parameters {
    pub(crate) schema: Option<String>,
    pub(crate) table: Option<String>,
    pub(crate) create_table: Option<String>,
    pub(crate) sslmode: Option<String>,
    pub(crate) sslrootcert: Option<String>,
}

impl Parameters {
    /// The slot of keyward's parameter `key`, if it is one.
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "table" => &mut self.table,
            "schema" => &mut self.schema,
            "create_table" => &mut self.create_table,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            _ => return None,
        })
    }
}

/// `url` without keyward's parameters, and those parameters: from a URL's query (keys and
/// values percent-decoded, as the client decodes them) or from a `key=value` connection string.
/// The error, for a string keyward cannot split as the client would, quotes no value.
pub(crate) fn split_parameters(url: &str) -> std::result::Result<(String, Parameters), String> {
    let mut parameters = Parameters::default();
    if url_rest(url).is_none() {
        let rest = split_keywords(url, &mut parameters)?;
        return Ok((rest, parameters));
    }
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), parameters));
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let Some((key, value)) = pair.split_once('=') else {
                return true;
            };
            match parameters.slot(&percent_decode(key)) {
                Some(slot) => {
                    *slot = Some(percent_decode(value));
                    false
                }
                None => true,
            }
        })
        .collect();
    let base = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((base, parameters))
}

/// libpq's `key = value ...` form without keyward's keys. Refused rather than passed on: what
/// does not tokenise (an unterminated quote, a backslash at the end — the client would drop
/// it —, a word without `=`, an empty key — the client stops reading there); an unquoted value
/// of keyward's that is empty or holds `=`; and any unquoted value after whitespace that holds
/// `=` (as in libpq, `user= password=pw` makes `password=pw` the user name).
fn split_keywords(s: &str, parameters: &mut Parameters) -> std::result::Result<String, String> {
    let malformed = || {
        "the key=value connection string does not parse: an unterminated quote, a backslash at the end, or a word without '='"
            .to_owned()
    };
    let swallowed = || {
        "a value in the key=value connection string is empty and takes the next key=value as its value: quote an empty value as ''"
            .to_owned()
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut chars = s.char_indices().peekable();
    let skip_spaces = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_spaces(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() {
            return Err(malformed());
        }
        skip_spaces(&mut chars);
        chars.next_if(|(_, c)| *c == '=').ok_or_else(malformed)?;
        let spaced = chars.peek().is_some_and(|(_, c)| c.is_whitespace());
        skip_spaces(&mut chars);
        let mut value = String::new();
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        if quoted {
            loop {
                match chars.next().ok_or_else(malformed)? {
                    (_, '\\') => value.push(chars.next().ok_or_else(malformed)?.1),
                    (_, '\'') => break,
                    (_, c) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(malformed)?.1);
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(s.len(), |&(i, _)| i);
        match parameters.slot(&key) {
            Some(_) if !quoted && (value.is_empty() || value.contains('=')) => {
                // The value is not repeated: it may be the next parameter, a password.
                return Err(format!(
                    "{key} has an empty value or one holding '=': quote it ('...') in a key=value connection string"
                ));
            }
            _ if !quoted && spaced && value.contains('=') => return Err(swallowed()),
            Some(slot) => *slot = Some(value),
            None => kept.push(s.get(start..end).ok_or_else(malformed)?),
        }
    }
    Ok(kept.join(" "))
}

/// `%XX` decoded (invalid escapes kept as they are; invalid UTF-8 replaced).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{quote, SslMode};

    #[test]
    fn parameters_quoting_and_display() {
        let (base, parameters) = split_parameters(
            "postgres://u@h:5432/db?table=T&schema=S&sslmode=verify-full&create_table=false&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(base, "postgres://u@h:5432/db?connect_timeout=3");
        assert_eq!(
            parameters,
            Parameters {
                schema: Some("S".into()),
                table: Some("T".into()),
                create_table: Some("false".into()),
                sslmode: Some("verify-full".into()),
                sslrootcert: Some("/tmp/ca.pem".into()),
            }
        );
        let (base, parameters) = split_parameters(
            "host=h sslmode = verify-ca  user=u sslrootcert='/tmp/my ca.pem' table=T password='a b\\'c'",
        )
        .unwrap();
        assert_eq!(base, "host=h user=u password='a b\\'c'");
        assert_eq!(parameters.sslmode.as_deref(), Some("verify-ca"));
        assert_eq!(parameters.sslrootcert.as_deref(), Some("/tmp/my ca.pem"));
        assert_eq!(parameters.table.as_deref(), Some("T"));
        assert!(split_parameters("host='unterminated").is_err());
        // Keys are percent-decoded, as the client decodes them.
        let (base, parameters) =
            split_parameters("postgres://app@db/shop?ssl%6Dode=require&%74able=T").unwrap();
        assert_eq!(base, "postgres://app@db/shop");
        assert_eq!(parameters.sslmode.as_deref(), Some("require"));
        assert_eq!(parameters.table.as_deref(), Some("T"));
        // What keyward cannot split is refused, not passed on whole.
        for refused in [
            "host=db sslmode=require password=pw\\",
            "host=db =x sslmode=require",
            "host=db table= password=pw",
            "host=db table=",
            "host=db sslrootcert=a=b",
            "host=db user= password=pw",
            "host=db sslmode",
        ] {
            assert!(split_parameters(refused).is_err(), "{refused}");
        }
        let (base, parameters) =
            split_parameters("host=db options=-csearch_path=x table='' schema='a=b'").unwrap();
        assert_eq!(base, "host=db options=-csearch_path=x");
        assert_eq!(parameters.table.as_deref(), Some(""));
        assert_eq!(parameters.schema.as_deref(), Some("a=b"));
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            display_url("postgres://u:pw@h/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(
            display_url("postgres://u@h:5433/db?password=hunter2&table=x"),
            "postgres://u@h:5433/db"
        );
        assert_eq!(
            display_url("postgres://u:hun/ter2@h/db"),
            "postgres://(unparsable URL)"
        );
        assert_eq!(
            display_url("postgresql://u:1234/ter2@h/db"),
            "postgresql://(unparsable URL)"
        );
        assert!(!display_url("host=h user=u password=hunter2 dbname=db").contains("hunter2"));
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(SslMode::parse("verify-full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("verify_full"), None);
    }
}
