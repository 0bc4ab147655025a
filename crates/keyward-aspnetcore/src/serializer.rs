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
//! plus 64 KiB ([`TicketError::AllocationBudget`]).

mod read;
mod write;

use crate::binary::Writer;
use crate::error::{Result, TicketError};
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
    /// reserved string `"\0"` ([`TicketError::ReservedPlaceholder`]).
    pub fn serialize(ticket: &AuthenticationTicket) -> Result<Vec<u8>, TicketError> {
        let mut w = Writer::new();
        w.write_i32(TICKET_FORMAT_VERSION);
        w.write_string("the authentication scheme", &ticket.scheme)?;
        let identities = &ticket.principal.identities;
        w.write_count("the identity count", identities.len(), MAX_IDENTITIES)?;
        for identity in identities {
            write::write_identity(&mut w, identity, 0)?;
        }
        write::write_properties(&mut w, &ticket.properties)?;
        if w.len() > MAX_TICKET_BYTES {
            return Err(TicketError::TooLarge {
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
    /// and the byte offset. [`TicketError::AllocationBudget`] when the strings produced, defaults
    /// copied included, would pass 16 × `bytes.len()` + 64 KiB.
    pub fn deserialize(bytes: &[u8]) -> Result<AuthenticationTicket, TicketError> {
        crate::ticket_view::TicketView::parse(bytes).map(|view| view.to_ticket())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use crate::claims::{
        Claim, ClaimsIdentity, ClaimsPrincipal, NAME_CLAIM_TYPE, NAME_IDENTIFIER_CLAIM_TYPE,
    };
    use crate::properties::AuthenticationProperties;

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
            Err(TicketError::ReservedPlaceholder {
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
            Err(TicketError::UnsupportedVersion { found: 4, .. })
        ));
        let mut negative = bytes.clone();
        negative[12..16].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(matches!(
            TicketSerializer::deserialize(&negative),
            Err(TicketError::NegativeCount { .. })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            TicketSerializer::deserialize(&trailing),
            Err(TicketError::TrailingBytes { count: 1 })
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
            Err(TicketError::ActorTooDeep { .. })
        ));
        // Hand-made: an identity whose actor flag is set, nested past the limit.
        let mut bytes = vec![5, 0, 0, 0, 1, b's', 1, 0, 0, 0];
        for _ in 0..=MAX_ACTOR_DEPTH + 1 {
            bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        }
        assert!(matches!(
            TicketSerializer::deserialize(&bytes),
            Err(TicketError::ActorTooDeep { .. })
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
            Err(TicketError::DuplicateKey { .. })
        ));
    }
}
