//! `keyward cookie decode|encode`: ASP.NET Core login cookies (cookie authentication's
//! `TicketDataFormat`, purposes `CookieAuthenticationMiddleware`, scheme, `v2` after the
//! application name) to and from JSON.
//!
//! The JSON has the field names of the issue: `scheme`, `identities[]`
//! (`authentication_type`, `name_claim_type`, `role_claim_type`, `label`,
//! `bootstrap_context`, `actor`, `claims[] {type, value, value_type, issuer, original_issuer,
//! properties}`), `properties.items` (in the ticket's order), and `issued`, `expires` (RFC
//! 3339 or null), `persistent`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::{Duration, OffsetDateTime};
use keyward_aspnetcore::{
    default_cookie_name, AuthenticationProperties, AuthenticationTicket, ChunkingCookieManager,
    Claim, ClaimsIdentity, ClaimsPrincipal, CookieHeader, TicketDataFormat, DEFAULT_ISSUER,
    MAX_PROTECTED_CHARS, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE, STRING_VALUE_TYPE,
};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{command_now, provider, read_only_provider, read_stdin_limited, CliError};
use crate::cli::{CookieCommand, CookieDecodeArgs, CookieEncodeArgs, GlobalOptions};

/// The most input read: a whole cookie header of the largest cookie accepted.
const MAX_INPUT_BYTES: usize = 2 * MAX_PROTECTED_CHARS;

/// The cookie handler's default lifetime (`ExpireTimeSpan`), for tickets without `.expires`.
const DEFAULT_LIFETIME: Duration = Duration::days(14);

/// Runs `keyward cookie …`.
pub fn run(global: &GlobalOptions, command: &CookieCommand) -> Result<(), CliError> {
    match command {
        CookieCommand::Decode(args) => decode(global, args),
        CookieCommand::Encode(args) => encode(global, args),
    }
}

/// A library error ([`keyward_aspnetcore::TicketError`] or
/// [`keyward_aspnetcore::CookieError`]) for the operator, with its causes.
fn cookie_error(context: &str, error: &dyn std::error::Error) -> CliError {
    CliError::Usage(format!("{context}: {}", keyward::error_chain(error)))
}

fn decode(global: &GlobalOptions, args: &CookieDecodeArgs) -> Result<(), CliError> {
    let input = match &args.cookie {
        Some(text) => text.clone(),
        None => {
            let bytes = read_stdin_limited()?;
            if bytes.len() > MAX_INPUT_BYTES {
                return Err(too_large(bytes.len()));
            }
            String::from_utf8(bytes)
                .map_err(|_| CliError::Usage("the input is not UTF-8 text".into()))?
        }
    };
    if input.len() > MAX_INPUT_BYTES {
        return Err(too_large(input.len()));
    }
    let value = cookie_value(&input, &args.scheme, args.cookie_name.as_deref())?;
    let provider = read_only_provider(global)?;
    let format = TicketDataFormat::for_cookie_scheme(&provider, &args.scheme);
    let ticket = format
        .unprotect(&value)
        .map_err(|e| cookie_error("the cookie does not open", &e))?;
    let json = crate::json_out::to_string_pretty(&TicketJson::from(&ticket))
        .map_err(|e| CliError::Usage(format!("cannot print the ticket: {e}")))?;
    print_lines(std::iter::once(json))
}

fn too_large(len: usize) -> CliError {
    CliError::Usage(format!(
        "the input is {len} bytes long; at most {MAX_INPUT_BYTES} are read"
    ))
}

/// The cookie value in `input`: the bare value, or the cookie `wanted` (default: the
/// scheme's cookie, or the only cookie) of a header, its chunks put back together.
fn cookie_value(input: &str, scheme: &str, wanted: Option<&str>) -> Result<String, CliError> {
    let text = input.trim();
    let header = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("cookie:") => Some(text[7..].trim_start()),
        _ => None,
    };
    if header.is_none() && !text.trim_end_matches('=').contains(['=', ';']) {
        if text.is_empty() {
            return Err(CliError::Usage(
                "no cookie: pass a Cookie header, name=value pairs or the value (argument or stdin)"
                    .into(),
            ));
        }
        return Ok(text.to_owned());
    }
    let cookies =
        CookieHeader::parse(header.unwrap_or(text)).map_err(|e| cookie_error("the input", &e))?;
    let reassemble = |name: &str| {
        cookies
            .reassemble(name)
            .map_err(|e| cookie_error("the cookie is incomplete", &e))
    };
    let name = wanted.map_or_else(|| default_cookie_name(scheme), str::to_owned);
    if let Some(value) = reassemble(&name)? {
        return Ok(value);
    }
    // Without --cookie-name, a header of one cookie (and its chunks) is that cookie.
    let candidates: Vec<&str> = cookies.candidates().map(|(name, _)| name).collect();
    if wanted.is_none() {
        if let [only] = candidates.as_slice() {
            if let Some(value) = reassemble(only)? {
                return Ok(value);
            }
        }
    }
    let shown: Vec<&str> = candidates.iter().take(8).copied().collect();
    Err(CliError::Usage(format!(
        "the header has no cookie named {name:?} (cookies: {}{}); pass --cookie-name NAME",
        shown.join(", "),
        if candidates.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    )))
}

fn encode(global: &GlobalOptions, args: &CookieEncodeArgs) -> Result<(), CliError> {
    let text = if args.json.as_os_str() == "-" {
        read_stdin_limited()?
    } else {
        std::fs::read(&args.json).map_err(CliError::reading(&args.json))?
    };
    let json: TicketJson = serde_json::from_slice(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.json.display())))?;
    let ticket = json.into_ticket(&args.scheme, command_now(global)?)?;
    let provider = provider(global)?;
    let format = TicketDataFormat::for_cookie_scheme(&provider, &args.scheme);
    let value = format
        .protect(&ticket)
        .map_err(|e| cookie_error("cannot make the cookie", &e))?;
    let name = args
        .cookie_name
        .clone()
        .unwrap_or_else(|| default_cookie_name(&args.scheme));
    let cookies = ChunkingCookieManager::new()
        .try_split(&name, &value, keyward_aspnetcore::DEFAULT_COOKIE_ATTRIBUTES)
        .map_err(|e| CliError::Usage(format!("the login cookie: {e}")))?;
    if let [(_, value)] = cookies.as_slice() {
        print_lines(std::iter::once(value.clone()))
    } else {
        print_lines(cookies.into_iter().map(|(n, v)| format!("{n}={v}")))
    }
}

fn print_lines(mut lines: impl Iterator<Item = String>) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    lines
        .try_for_each(|line| writeln!(stdout, "{line}"))
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}

/// The ticket as JSON. Unknown fields are refused (a misspelled `expires` would otherwise
/// default silently); `properties` takes either of its shapes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketJson {
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    identities: Vec<IdentityJson>,
    #[serde(default)]
    properties: PropertiesJson,
    #[serde(default)]
    issued: Option<String>,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    persistent: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityJson {
    #[serde(default)]
    authentication_type: Option<String>,
    #[serde(default = "default_name_claim_type")]
    name_claim_type: String,
    #[serde(default = "default_role_claim_type")]
    role_claim_type: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    bootstrap_context: Option<String>,
    #[serde(default)]
    actor: Option<Box<IdentityJson>>,
    #[serde(default)]
    claims: Vec<ClaimJson>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimJson {
    #[serde(rename = "type")]
    claim_type: String,
    value: String,
    #[serde(default)]
    value_type: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    original_issuer: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

fn default_name_claim_type() -> String {
    NAME_CLAIM_TYPE.to_owned()
}

fn default_role_claim_type() -> String {
    ROLE_CLAIM_TYPE.to_owned()
}

/// `properties`: printed as `{"items": {…}}` in the ticket's order; read from that, or from
/// a flat object of strings (the shape of the recorded vectors). Order is kept both ways.
#[derive(Debug, Default)]
struct PropertiesJson {
    items: Vec<(String, String)>,
}

/// An ordered string map, as JSON reads it.
struct OrderedItems(Vec<(String, String)>);

impl Serialize for PropertiesJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Items<'a>(&'a [(String, String)]);
        impl Serialize for Items<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (key, value) in self.0 {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("items", &Items(&self.items))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for OrderedItems {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedItems;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedItems, A::Error> {
                let mut items = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    items.push((key, value));
                }
                Ok(OrderedItems(items))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// One value of `properties`: the `items` object, or a string (flat form).
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemsOrString {
    Items(OrderedItems),
    String(String),
}

impl<'de> Deserialize<'de> for PropertiesJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PropertiesJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{\"items\": {…}} or an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropertiesJson, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, ItemsOrString>()? {
                    entries.push(entry);
                }
                let mut items = Vec::new();
                let single = entries.len() == 1;
                for (key, value) in entries {
                    match value {
                        ItemsOrString::Items(OrderedItems(inner)) if single && key == "items" => {
                            items = inner;
                        }
                        ItemsOrString::String(value) => items.push((key, value)),
                        ItemsOrString::Items(_) => {
                            return Err(serde::de::Error::custom(format!(
                                "properties: {key:?} is an object; write {{\"items\": {{…}}}} or an object of strings"
                            )))
                        }
                    }
                }
                Ok(PropertiesJson { items })
            }
        }
        deserializer.deserialize_map(V)
    }
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&Rfc3339).ok()
}

impl From<&AuthenticationTicket> for TicketJson {
    fn from(ticket: &AuthenticationTicket) -> Self {
        let properties = &ticket.properties;
        Self {
            scheme: Some(ticket.scheme.clone()),
            identities: ticket
                .principal
                .identities
                .iter()
                .map(IdentityJson::from)
                .collect(),
            properties: PropertiesJson {
                items: properties
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            },
            issued: properties.issued_utc().and_then(rfc3339),
            expires: properties.expires_utc().and_then(rfc3339),
            persistent: Some(properties.is_persistent()),
        }
    }
}

impl From<&ClaimsIdentity> for IdentityJson {
    fn from(identity: &ClaimsIdentity) -> Self {
        Self {
            authentication_type: identity.authentication_type.clone(),
            name_claim_type: identity.name_claim_type.clone(),
            role_claim_type: identity.role_claim_type.clone(),
            label: identity.label.clone(),
            bootstrap_context: identity.bootstrap_context.clone(),
            actor: identity
                .actor
                .as_deref()
                .map(|a| Box::new(IdentityJson::from(a))),
            claims: identity
                .claims
                .iter()
                .map(|c| ClaimJson {
                    claim_type: c.claim_type.clone(),
                    value: c.value.clone(),
                    value_type: Some(c.value_type.clone()),
                    issuer: Some(c.issuer.clone()),
                    original_issuer: Some(c.original_issuer.clone()),
                    properties: c.properties.clone(),
                })
                .collect(),
        }
    }
}

impl IdentityJson {
    fn into_identity(self) -> ClaimsIdentity {
        if self.label.is_some() {
            tracing::warn!("the ticket format does not carry an identity's label: it is dropped");
        }
        ClaimsIdentity {
            authentication_type: self.authentication_type,
            name_claim_type: self.name_claim_type,
            role_claim_type: self.role_claim_type,
            label: None,
            bootstrap_context: self.bootstrap_context,
            actor: self.actor.map(|a| Box::new(a.into_identity())),
            claims: self
                .claims
                .into_iter()
                .map(|c| {
                    let issuer = c.issuer.unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
                    Claim {
                        claim_type: c.claim_type,
                        value: c.value,
                        value_type: c.value_type.unwrap_or_else(|| STRING_VALUE_TYPE.to_owned()),
                        original_issuer: c.original_issuer.unwrap_or_else(|| issuer.clone()),
                        issuer,
                        properties: c.properties,
                    }
                })
                .collect(),
        }
    }
}

fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, CliError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| CliError::Usage(format!("{field} {text:?} is not an RFC 3339 time")))
}

impl TicketJson {
    /// The ticket: the scheme must be the protector's; it needs an identity (the cookie
    /// handler reads a login without one as nobody); `issued`, `expires` and `persistent`
    /// override the items; a ticket without `.issued` is issued `now`, and one without
    /// `.expires` expires 14 days after issue (as the cookie handler signs in).
    fn into_ticket(
        self,
        scheme: &str,
        now: OffsetDateTime,
    ) -> Result<AuthenticationTicket, CliError> {
        if let Some(own) = self.scheme.as_deref() {
            if own != scheme {
                return Err(CliError::Usage(format!(
                    "the JSON's scheme is {own:?} but the cookie is for --scheme {scheme:?}: pass --scheme {own:?}"
                )));
            }
        }
        if self.identities.is_empty() {
            return Err(CliError::Usage(
                "the ticket has no identity: \"identities\" needs one, e.g. [{\"authentication_type\": \"Cookies\", \"claims\": [{\"type\": \"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name\", \"value\": \"alice\"}]}]".into(),
            ));
        }
        let mut properties = AuthenticationProperties::new();
        for (key, value) in self.properties.items {
            if properties.items.contains_key(&key) {
                return Err(CliError::Usage(format!(
                    "properties: {key:?} appears twice"
                )));
            }
            properties.insert(key, value);
        }
        if let Some(issued) = &self.issued {
            properties.set_issued_utc(parse_time("issued", issued)?);
        } else if properties.issued_utc().is_none() {
            properties.set_issued_utc(now);
        }
        if let Some(expires) = &self.expires {
            properties.set_expires_utc(parse_time("expires", expires)?);
        } else if properties.expires_utc().is_none() {
            let issued = properties.issued_utc().unwrap_or(now);
            properties.set_expires_utc(issued.checked_add(DEFAULT_LIFETIME));
        }
        if let Some(persistent) = self.persistent {
            properties.set_persistent(persistent);
        }
        Ok(AuthenticationTicket::new(
            scheme,
            ClaimsPrincipal {
                identities: self
                    .identities
                    .into_iter()
                    .map(IdentityJson::into_identity)
                    .collect(),
            },
            properties,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn default_cookie_names_escape_the_scheme_as_dotnet() {
        assert_eq!(default_cookie_name("Cookies"), ".AspNetCore.Cookies");
        assert_eq!(
            default_cookie_name("Identity.Application"),
            ".AspNetCore.Identity.Application"
        );
        assert_eq!(default_cookie_name("a b/é"), ".AspNetCore.a%20b%2F%C3%A9");
    }

    #[test]
    fn values_come_from_bare_text_headers_and_pairs() {
        let get = |input: &str, name: Option<&str>| cookie_value(input, "Cookies", name);
        assert_eq!(get(" CfDJ8abc \n", None).unwrap(), "CfDJ8abc");
        assert_eq!(get("CfDJ8ab==", None).unwrap(), "CfDJ8ab==");
        assert_eq!(
            get("Cookie: a=1; .AspNetCore.Cookies=v", None).unwrap(),
            "v"
        );
        assert_eq!(get("x=chunks-2; xC2=b; xC1=a", None).unwrap(), "ab");
        assert_eq!(get("a=1; b=2", Some("b")).unwrap(), "2");
        let e = get("a=1; b=2", None).unwrap_err().to_string();
        assert!(e.contains("a, b") && e.contains("--cookie-name"), "{e}");
        assert!(get("  ", None).is_err());
        let e = get("n=chunks-2; nC1=a", Some("n")).unwrap_err().to_string();
        assert!(e.contains("nC2"), "{e}");
    }

    #[test]
    fn properties_read_in_either_shape_and_keep_their_order() {
        let nested: PropertiesJson =
            serde_json::from_str(r#"{"items": {"z": "1", "a": "2"}}"#).unwrap();
        assert_eq!(
            nested.items,
            [("z".into(), "1".into()), ("a".into(), "2".into())]
        );
        let flat: PropertiesJson = serde_json::from_str(r#"{"z": "1", "items": "2"}"#).unwrap();
        assert_eq!(
            flat.items,
            [("z".into(), "1".into()), ("items".into(), "2".into())]
        );
        assert!(serde_json::from_str::<PropertiesJson>(r#"{"z": {"a": "b"}}"#).is_err());
        let text = serde_json::to_string(&nested).unwrap();
        assert_eq!(text, r#"{"items":{"z":"1","a":"2"}}"#);
    }

    #[test]
    fn missing_times_default_as_the_cookie_handler_signs_in() {
        let json: TicketJson =
            serde_json::from_str(r#"{"identities": [{"authentication_type": "Cookies"}]}"#)
                .unwrap();
        let now = keyward::time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let ticket = json.into_ticket("Cookies", now).unwrap();
        assert_eq!(ticket.properties.issued_utc(), Some(now));
        assert_eq!(
            ticket.properties.expires_utc(),
            Some(now + DEFAULT_LIFETIME)
        );
        let json: TicketJson = serde_json::from_str(r#"{"scheme": "Other"}"#).unwrap();
        assert!(json.into_ticket("Cookies", now).is_err());
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level_and_both_property_shapes_read() {
        for text in [
            r#"{"identities": [], "expiry": "x"}"#,
            r#"{"identities": [{"claim": []}]}"#,
            r#"{"identities": [{"claims": [{"type": "t", "value": "v", "issuer_": "i"}]}]}"#,
        ] {
            let error = serde_json::from_str::<TicketJson>(text).unwrap_err();
            assert!(
                error.to_string().contains("unknown field"),
                "{text}: {error}"
            );
        }
        for text in [
            r#"{"identities": [], "properties": {"items": {".redirect": "/"}}}"#,
            r#"{"identities": [], "properties": {".redirect": "/"}}"#,
        ] {
            let json: TicketJson = serde_json::from_str(text).unwrap();
            assert_eq!(json.properties.items, [(".redirect".into(), "/".into())]);
        }
        let json: TicketJson = serde_json::from_str(r#"{"identities": []}"#).unwrap();
        let now = keyward::time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let error = json.into_ticket("Cookies", now).unwrap_err().to_string();
        assert!(error.contains("no identity"), "{error}");
    }
}
