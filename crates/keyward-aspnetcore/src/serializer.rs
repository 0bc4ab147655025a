//! `TicketSerializer` version 5 (`docs/spec/login-cookie.md` §3): the bytes inside an
//! ASP.NET Core login cookie.
//!
//! ```text
//! int32 5 | string scheme | int32 identityCount | identity* | properties
//! identity = string authType | strD nameType | strD roleType | int32 claimCount | claim*
//!            | bool hasBootstrap [string] | bool hasActor [identity]
//! claim    = strD type (default: the identity's name type) | string value
//!            | strD valueType | strD issuer | strD originalIssuer (default: issuer)
//!            | int32 propertyCount | (string key | string value)*
//! properties = int32 1 | int32 count | (string key | string value)*
//! ```
//! `strD` writes `"\0"` when the value equals its default.
//!
//! Reading is bounded: the input size, every count and the actor depth have limits, a
//! count is checked against the bytes left before anything is allocated for it, and the
//! strings produced (defaults copied for `"\0"` included) may total at most 16 × the input
//! plus 64 KiB ([`Error::AllocationBudget`]).

use std::collections::BTreeMap;

use crate::binary::{Reader, Writer};
use crate::claims::{
    Claim, ClaimsIdentity, ClaimsPrincipal, DEFAULT_ISSUER, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE,
    STRING_VALUE_TYPE,
};
use crate::error::{Error, Result};
use crate::properties::AuthenticationProperties;
use crate::ticket::AuthenticationTicket;

/// The ticket format version .NET writes and reads.
pub const TICKET_FORMAT_VERSION: i32 = 5;

/// The properties format version (`PropertiesSerializer`).
pub const PROPERTIES_FORMAT_VERSION: i32 = 1;

/// The largest serialized ticket read or written: 1 MiB (a cookie of 256 chunks of .NET's
/// 4050 characters is about that much base64).
pub const MAX_TICKET_BYTES: usize = 1 << 20;

/// The most identities a principal may have.
pub const MAX_IDENTITIES: usize = 1024;

/// The most claims one identity may have.
pub const MAX_CLAIMS: usize = 65_536;

/// The most entries in a properties dictionary (the ticket's or one claim's).
pub const MAX_PROPERTIES: usize = 65_536;

/// The deepest actor chain (identity → actor → actor …) read or written.
pub const MAX_ACTOR_DEPTH: usize = 16;

/// The fewest bytes an identity takes (three one-byte strings, a count, two bools).
const MIN_IDENTITY_BYTES: usize = 3 + 4 + 2;
/// The fewest bytes a claim takes (five one-byte strings, a count).
const MIN_CLAIM_BYTES: usize = 5 + 4;
/// The fewest bytes a dictionary entry takes (two one-byte strings).
const MIN_ENTRY_BYTES: usize = 2;

/// Reads and writes [`AuthenticationTicket`]s in .NET's `TicketSerializer` v5 format.
///
/// ```
/// use keyward_aspnetcore::{AuthenticationTicket, ClaimsIdentity, ClaimsPrincipal, TicketSerializer};
/// let ticket = AuthenticationTicket::new(
///     "Cookies",
///     ClaimsPrincipal::new(ClaimsIdentity::new("Cookies")),
///     Default::default(),
/// );
/// let bytes = TicketSerializer::serialize(&ticket)?;
/// assert_eq!(&bytes[..4], &[5, 0, 0, 0]);
/// assert_eq!(TicketSerializer::deserialize(&bytes)?, ticket);
/// # Ok::<(), keyward_aspnetcore::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TicketSerializer;

impl TicketSerializer {
    /// The ticket's bytes, exactly as .NET writes them.
    ///
    /// # Errors
    /// More identities, claims or properties than the limits, actors deeper than
    /// [`MAX_ACTOR_DEPTH`], more than [`MAX_TICKET_BYTES`] in all, or a field holding the
    /// reserved string `"\0"` ([`Error::ReservedPlaceholder`]).
    pub fn serialize(ticket: &AuthenticationTicket) -> Result<Vec<u8>> {
        let mut w = Writer::new();
        w.write_i32(TICKET_FORMAT_VERSION);
        w.write_string("the authentication scheme", &ticket.scheme)?;
        let identities = &ticket.principal.identities;
        w.write_count("the identity count", identities.len(), MAX_IDENTITIES)?;
        for identity in identities {
            write_identity(&mut w, identity, 0)?;
        }
        write_properties(&mut w, &ticket.properties)?;
        if w.len() > MAX_TICKET_BYTES {
            return Err(Error::TooLarge {
                what: "the serialized ticket",
                len: w.len(),
                max: MAX_TICKET_BYTES,
            });
        }
        Ok(w.into_bytes())
    }

    /// Reads a ticket. Where .NET's reader returns `null` (another version, a negative
    /// count) this returns an error saying so.
    ///
    /// # Errors
    /// Anything but one well-formed v5 ticket within the limits: the error names the field
    /// and the byte offset. [`Error::AllocationBudget`] when the strings produced, defaults
    /// copied included, would pass 16 × `bytes.len()` + 64 KiB.
    pub fn deserialize(bytes: &[u8]) -> Result<AuthenticationTicket> {
        if bytes.len() > MAX_TICKET_BYTES {
            return Err(Error::TooLarge {
                what: "the serialized ticket",
                len: bytes.len(),
                max: MAX_TICKET_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.read_i32("the ticket format version")?;
        if version != TICKET_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "ticket",
                found: version,
                expected: TICKET_FORMAT_VERSION,
            });
        }
        let scheme = r.read_string("the authentication scheme")?;
        let count = r.read_count("the identity count", MAX_IDENTITIES, MIN_IDENTITY_BYTES)?;
        let mut identities = Vec::with_capacity(count);
        for _ in 0..count {
            identities.push(read_identity(&mut r, 0)?);
        }
        let properties = read_properties(&mut r)?;
        r.finish()?;
        Ok(AuthenticationTicket {
            scheme,
            principal: ClaimsPrincipal { identities },
            properties,
        })
    }
}

fn write_identity(w: &mut Writer, identity: &ClaimsIdentity, depth: usize) -> Result<()> {
    if depth > MAX_ACTOR_DEPTH {
        return Err(Error::ActorTooDeep {
            max: MAX_ACTOR_DEPTH,
        });
    }
    w.write_string(
        "an authentication type",
        identity.authentication_type.as_deref().unwrap_or(""),
    )?;
    w.write_string_or(
        "a name claim type",
        &identity.name_claim_type,
        NAME_CLAIM_TYPE,
    )?;
    w.write_string_or(
        "a role claim type",
        &identity.role_claim_type,
        ROLE_CLAIM_TYPE,
    )?;
    w.write_count("a claim count", identity.claims.len(), MAX_CLAIMS)?;
    for claim in &identity.claims {
        write_claim(w, claim, &identity.name_claim_type)?;
    }
    match identity.bootstrap_context.as_deref() {
        Some(context) if !context.is_empty() => {
            w.write_bool(true);
            w.write_string("a bootstrap context", context)?;
        }
        _ => w.write_bool(false),
    }
    match &identity.actor {
        Some(actor) => {
            w.write_bool(true);
            write_identity(w, actor, depth + 1)
        }
        None => {
            w.write_bool(false);
            Ok(())
        }
    }
}

fn write_claim(w: &mut Writer, claim: &Claim, name_claim_type: &str) -> Result<()> {
    w.write_string_or("a claim type", &claim.claim_type, name_claim_type)?;
    w.write_string("a claim value", &claim.value)?;
    w.write_string_or("a claim value type", &claim.value_type, STRING_VALUE_TYPE)?;
    w.write_string_or("a claim issuer", &claim.issuer, DEFAULT_ISSUER)?;
    w.write_string_or(
        "a claim original issuer",
        &claim.original_issuer,
        &claim.issuer,
    )?;
    w.write_count(
        "a claim property count",
        claim.properties.len(),
        MAX_PROPERTIES,
    )?;
    for (key, value) in &claim.properties {
        w.write_string("a claim property key", key)?;
        w.write_string("a claim property value", value)?;
    }
    Ok(())
}

fn write_properties(w: &mut Writer, properties: &AuthenticationProperties) -> Result<()> {
    w.write_i32(PROPERTIES_FORMAT_VERSION);
    w.write_count("the property count", properties.len(), MAX_PROPERTIES)?;
    for (key, value) in properties.iter() {
        w.write_string("a property key", key)?;
        w.write_string("a property value", value)?;
    }
    Ok(())
}

fn read_identity(r: &mut Reader<'_>, depth: usize) -> Result<ClaimsIdentity> {
    if depth > MAX_ACTOR_DEPTH {
        return Err(Error::ActorTooDeep {
            max: MAX_ACTOR_DEPTH,
        });
    }
    let authentication_type = r.read_string("an authentication type")?;
    let name_claim_type = r.read_string_or("a name claim type", NAME_CLAIM_TYPE)?;
    let role_claim_type = r.read_string_or("a role claim type", ROLE_CLAIM_TYPE)?;
    let count = r.read_count("a claim count", MAX_CLAIMS, MIN_CLAIM_BYTES)?;
    let mut claims = Vec::with_capacity(count);
    for _ in 0..count {
        claims.push(read_claim(r, &name_claim_type)?);
    }
    let bootstrap_context = if r.read_bool("the bootstrap context flag")? {
        // An empty context is written as none (as .NET writes it): read it so, so that every
        // ticket read serializes back to bytes that read the same (found by fuzzing).
        Some(r.read_string("a bootstrap context")?).filter(|context| !context.is_empty())
    } else {
        None
    };
    let actor = if r.read_bool("the actor flag")? {
        Some(Box::new(read_identity(r, depth + 1)?))
    } else {
        None
    };
    Ok(ClaimsIdentity {
        authentication_type: (!authentication_type.is_empty()).then_some(authentication_type),
        name_claim_type,
        role_claim_type,
        label: None,
        bootstrap_context,
        actor,
        claims,
    })
}

fn read_claim(r: &mut Reader<'_>, name_claim_type: &str) -> Result<Claim> {
    let claim_type = r.read_string_or("a claim type", name_claim_type)?;
    let value = r.read_string("a claim value")?;
    let value_type = r.read_string_or("a claim value type", STRING_VALUE_TYPE)?;
    let issuer = r.read_string_or("a claim issuer", DEFAULT_ISSUER)?;
    let original_issuer = r.read_string_or("a claim original issuer", &issuer)?;
    let count = r.read_count("a claim property count", MAX_PROPERTIES, MIN_ENTRY_BYTES)?;
    let mut properties = BTreeMap::new();
    for _ in 0..count {
        let key = r.read_string("a claim property key")?;
        let value = r.read_string("a claim property value")?;
        if properties.contains_key(&key) {
            return Err(Error::DuplicateKey {
                what: "a claim's properties",
                key,
            });
        }
        properties.insert(key, value);
    }
    Ok(Claim {
        claim_type,
        value,
        value_type,
        issuer,
        original_issuer,
        properties,
    })
}

fn read_properties(r: &mut Reader<'_>) -> Result<AuthenticationProperties> {
    let version = r.read_i32("the properties format version")?;
    if version != PROPERTIES_FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "properties",
            found: version,
            expected: PROPERTIES_FORMAT_VERSION,
        });
    }
    let count = r.read_count("the property count", MAX_PROPERTIES, MIN_ENTRY_BYTES)?;
    let mut properties = AuthenticationProperties::new();
    for _ in 0..count {
        let key = r.read_string("a property key")?;
        let value = r.read_string("a property value")?;
        if properties.items.contains_key(&key) {
            return Err(Error::DuplicateKey {
                what: "the ticket's properties",
                key,
            });
        }
        properties.insert(key, value);
    }
    Ok(properties)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use crate::claims::NAME_IDENTIFIER_CLAIM_TYPE;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A constructed example: scheme `Cookies`, a name and a name-identifier claim,
    /// `.issued` and `.expires` (encoded by hand from the format, not made by .NET).
    fn example() -> AuthenticationTicket {
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
        identity
            .claims
            .push(Claim::new(NAME_IDENTIFIER_CLAIM_TYPE, "42"));
        let mut properties = AuthenticationProperties::new();
        properties.insert(".issued", "Thu, 01 Jan 2026 00:00:00 GMT");
        properties.insert(".expires", "Thu, 01 Jan 2026 00:00:00 GMT");
        AuthenticationTicket::new("Cookies", ClaimsPrincipal::new(identity), properties)
    }

    #[test]
    fn the_specs_example_is_219_bytes_with_compact_defaults() {
        let bytes = TicketSerializer::serialize(&example()).unwrap();
        assert_eq!(bytes.len(), 219);
        let text = hex(&bytes);
        assert!(text.starts_with(
            "0500000007436f6f6b6965730100000007436f6f6b6965730100010002000000010005616c6963650100010001000000000044"
        ), "{text}");
        assert!(text.contains("0234320100010001000000000000000100000002000000072e697373756564"));
        assert_eq!(TicketSerializer::deserialize(&bytes).unwrap(), example());
    }

    #[test]
    fn every_field_round_trips() {
        let mut claim = Claim::new("role", "admin")
            .with_issuer("https://idp")
            .with_value_type("http://www.w3.org/2001/XMLSchema#integer");
        claim.original_issuer = "https://upstream".into();
        claim.properties.insert("k".into(), "v".into());
        claim.properties.insert(String::new(), String::new());
        let mut actor = ClaimsIdentity::new("Bearer");
        actor.claims.push(Claim::new(NAME_CLAIM_TYPE, "service"));
        actor.bootstrap_context = Some("token".into());
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.name_claim_type = "name".into();
        identity.role_claim_type = "role".into();
        identity.claims.push(claim);
        identity.claims.push(Claim::new("name", "bob"));
        identity.actor = Some(Box::new(actor));
        let mut anonymous = ClaimsIdentity::new("");
        anonymous.authentication_type = None;
        let mut properties = AuthenticationProperties::new();
        properties.set_persistent(true);
        properties.set_redirect_uri("/é");
        let ticket = AuthenticationTicket::new(
            "Identity.Application",
            ClaimsPrincipal {
                identities: vec![identity, anonymous],
            },
            properties,
        );
        let bytes = TicketSerializer::serialize(&ticket).unwrap();
        assert_eq!(TicketSerializer::deserialize(&bytes).unwrap(), ticket);
    }

    #[test]
    fn what_the_format_does_not_carry() {
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.label = Some("label".into());
        identity.bootstrap_context = Some(String::new());
        let ticket = AuthenticationTicket::new(
            "Cookies",
            ClaimsPrincipal::new(identity),
            AuthenticationProperties::new(),
        );
        let back =
            TicketSerializer::deserialize(&TicketSerializer::serialize(&ticket).unwrap()).unwrap();
        let identity = &back.principal.identities[0];
        assert_eq!(identity.label, None);
        assert_eq!(identity.bootstrap_context, None);
    }

    #[test]
    fn the_placeholder_string_is_refused_where_it_would_change() {
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.claims.push(Claim::new("\0", "v"));
        let ticket = AuthenticationTicket::new(
            "Cookies",
            ClaimsPrincipal::new(identity),
            AuthenticationProperties::new(),
        );
        assert!(matches!(
            TicketSerializer::serialize(&ticket),
            Err(Error::ReservedPlaceholder {
                what: "a claim type"
            })
        ));
    }

    #[test]
    fn other_versions_negative_counts_and_trailing_bytes_are_refused() {
        let bytes = TicketSerializer::serialize(&example()).unwrap();
        let mut v4 = bytes.clone();
        v4[0] = 4;
        assert!(matches!(
            TicketSerializer::deserialize(&v4),
            Err(Error::UnsupportedVersion { found: 4, .. })
        ));
        let mut negative = bytes.clone();
        negative[12..16].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(matches!(
            TicketSerializer::deserialize(&negative),
            Err(Error::NegativeCount { .. })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            TicketSerializer::deserialize(&trailing),
            Err(Error::TrailingBytes { count: 1 })
        ));
    }

    #[test]
    fn actor_depth_is_bounded_both_ways() {
        let mut identity = ClaimsIdentity::new("a");
        for _ in 0..=MAX_ACTOR_DEPTH {
            let mut outer = ClaimsIdentity::new("a");
            outer.actor = Some(Box::new(identity));
            identity = outer;
        }
        let ticket = AuthenticationTicket::new(
            "s",
            ClaimsPrincipal::new(identity),
            AuthenticationProperties::new(),
        );
        assert!(matches!(
            TicketSerializer::serialize(&ticket),
            Err(Error::ActorTooDeep { .. })
        ));
        // Hand-made: an identity whose actor flag is set, nested past the limit.
        let mut bytes = vec![5, 0, 0, 0, 1, b's', 1, 0, 0, 0];
        for _ in 0..=MAX_ACTOR_DEPTH + 1 {
            bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        }
        assert!(matches!(
            TicketSerializer::deserialize(&bytes),
            Err(Error::ActorTooDeep { .. })
        ));
    }

    #[test]
    fn the_budget_admits_the_most_claims_with_every_default() {
        // The largest expansion fixed defaults allow: MAX_CLAIMS claims of the default name
        // type, value type and issuer, with empty values (13 bytes in, 127 out, each).
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.claims = vec![Claim::new(NAME_CLAIM_TYPE, ""); MAX_CLAIMS];
        let mut anonymous = vec![ClaimsIdentity::new(""); MAX_IDENTITIES - 1];
        for identity in &mut anonymous {
            identity.authentication_type = None;
        }
        anonymous.insert(0, identity);
        let ticket = AuthenticationTicket::new(
            "Cookies",
            ClaimsPrincipal {
                identities: anonymous,
            },
            AuthenticationProperties::new(),
        );
        let bytes = TicketSerializer::serialize(&ticket).unwrap();
        assert_eq!(TicketSerializer::deserialize(&bytes).unwrap(), ticket);
    }

    #[test]
    fn duplicate_property_keys_are_refused_as_dotnet_does() {
        let mut bytes = TicketSerializer::serialize(&AuthenticationTicket::new(
            "s",
            ClaimsPrincipal::default(),
            AuthenticationProperties::new(),
        ))
        .unwrap();
        let len = bytes.len();
        bytes[len - 4..].copy_from_slice(&2i32.to_le_bytes());
        bytes.extend_from_slice(&[1, b'k', 0, 1, b'k', 0]);
        assert!(matches!(
            TicketSerializer::deserialize(&bytes),
            Err(Error::DuplicateKey { .. })
        ));
    }
}
