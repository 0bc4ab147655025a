//! Reading a ticket (`TicketView::parse`, and through it `TicketSerializer::deserialize`):
//! its identities, claims and properties, each count checked against the bytes left before
//! anything is allocated for it, every string borrowed from the input.

use std::collections::HashSet;

use crate::binary::Reader;
use crate::claims::{DEFAULT_ISSUER, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE, STRING_VALUE_TYPE};
use crate::error::{Result, TicketError};
use crate::ticket_view::{ClaimView, IdentityView, TicketView};

use super::{
    MAX_ACTOR_DEPTH, MAX_CLAIMS, MAX_IDENTITIES, MAX_PROPERTIES, MAX_TICKET_BYTES,
    PROPERTIES_FORMAT_VERSION, TICKET_FORMAT_VERSION,
};

/// The fewest bytes an identity takes (three one-byte strings, a count, two bools).
const MIN_IDENTITY_BYTES: usize = 3 + 4 + 2;
/// The fewest bytes a claim takes (five one-byte strings, a count).
const MIN_CLAIM_BYTES: usize = 5 + 4;
/// The fewest bytes a dictionary entry takes (two one-byte strings).
const MIN_ENTRY_BYTES: usize = 2;
/// Up to this many entries, a repeated key is found by comparing with each earlier one.
const LINEAR_SCAN_ENTRIES: usize = 16;

impl<'a> TicketView<'a> {
    /// Reads a serialized ticket (format version 5) without copying its strings.
    ///
    /// # Errors
    /// As [`TicketSerializer::deserialize`](crate::TicketSerializer::deserialize): the same
    /// bytes are refused with the same error.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, TicketError> {
        read_ticket(bytes)
    }
}

/// A whole serialized ticket, every byte read.
fn read_ticket(bytes: &[u8]) -> Result<TicketView<'_>, TicketError> {
    if bytes.len() > MAX_TICKET_BYTES {
        return Err(TicketError::TooLarge {
            what: "the serialized ticket",
            len: bytes.len(),
            max: MAX_TICKET_BYTES,
        });
    }
    let mut r = Reader::new(bytes);
    let version = r.read_i32("the ticket format version")?;
    if version != TICKET_FORMAT_VERSION {
        return Err(TicketError::UnsupportedVersion {
            what: "ticket",
            found: version,
            expected: TICKET_FORMAT_VERSION,
        });
    }
    let scheme = r.read_text("the authentication scheme")?;
    let count = r.read_count("the identity count", MAX_IDENTITIES, MIN_IDENTITY_BYTES)?;
    let mut identities = Vec::with_capacity(count);
    for _ in 0..count {
        identities.push(read_identity(&mut r, 0)?);
    }
    let properties = read_properties(&mut r)?;
    r.finish()?;
    Ok(TicketView {
        scheme,
        identities,
        properties,
    })
}

fn read_identity<'a>(r: &mut Reader<'a>, depth: usize) -> Result<IdentityView<'a>, TicketError> {
    if depth > MAX_ACTOR_DEPTH {
        return Err(TicketError::ActorTooDeep {
            max: MAX_ACTOR_DEPTH,
        });
    }
    let authentication_type = r.read_text("an authentication type")?;
    let name_claim_type = r.read_text_or("a name claim type", NAME_CLAIM_TYPE)?;
    let role_claim_type = r.read_text_or("a role claim type", ROLE_CLAIM_TYPE)?;
    let count = r.read_count("a claim count", MAX_CLAIMS, MIN_CLAIM_BYTES)?;
    let mut claims = Vec::with_capacity(count);
    for _ in 0..count {
        claims.push(read_claim(r, name_claim_type)?);
    }
    let bootstrap_context = if r.read_bool("the bootstrap context flag")? {
        // An empty context is written as none (as .NET writes it): read it so, so that every
        // ticket read serializes back to bytes that read the same (found by fuzzing).
        Some(r.read_text("a bootstrap context")?).filter(|context| !context.is_empty())
    } else {
        None
    };
    let actor = if r.read_bool("the actor flag")? {
        Some(Box::new(read_identity(r, depth + 1)?))
    } else {
        None
    };
    Ok(IdentityView {
        authentication_type,
        name_claim_type,
        role_claim_type,
        bootstrap_context,
        actor,
        claims,
    })
}

fn read_claim<'a>(
    r: &mut Reader<'a>,
    name_claim_type: &'a str,
) -> Result<ClaimView<'a>, TicketError> {
    let claim_type = r.read_text_or("a claim type", name_claim_type)?;
    let value = r.read_text("a claim value")?;
    let value_type = r.read_text_or("a claim value type", STRING_VALUE_TYPE)?;
    let issuer = r.read_text_or("a claim issuer", DEFAULT_ISSUER)?;
    let original_issuer = r.read_text_or("a claim original issuer", issuer)?;
    let properties = read_entries(
        r,
        "a claim property count",
        "a claim property key",
        "a claim property value",
        "a claim's properties",
    )?;
    Ok(ClaimView {
        claim_type,
        value,
        value_type,
        issuer,
        original_issuer,
        properties,
    })
}

fn read_properties<'a>(r: &mut Reader<'a>) -> Result<Vec<(&'a str, &'a str)>, TicketError> {
    let version = r.read_i32("the properties format version")?;
    if version != PROPERTIES_FORMAT_VERSION {
        return Err(TicketError::UnsupportedVersion {
            what: "properties",
            found: version,
            expected: PROPERTIES_FORMAT_VERSION,
        });
    }
    read_entries(
        r,
        "the property count",
        "a property key",
        "a property value",
        "the ticket's properties",
    )
}

/// A count, then that many key/value string pairs with distinct keys, in order.
fn read_entries<'a>(
    r: &mut Reader<'a>,
    count_what: &'static str,
    key_what: &'static str,
    value_what: &'static str,
    map_what: &'static str,
) -> Result<Vec<(&'a str, &'a str)>, TicketError> {
    let count = r.read_count(count_what, MAX_PROPERTIES, MIN_ENTRY_BYTES)?;
    let mut entries = Vec::with_capacity(count);
    // Built only for long dictionaries: short ones are checked by comparison.
    let mut seen: HashSet<&'a str> = HashSet::new();
    for _ in 0..count {
        let key = r.read_text(key_what)?;
        let value = r.read_text(value_what)?;
        let repeated = if entries.len() < LINEAR_SCAN_ENTRIES {
            entries.iter().any(|&(k, _)| k == key)
        } else {
            if seen.is_empty() {
                seen.extend(entries.iter().map(|&(k, _)| k));
            }
            !seen.insert(key)
        };
        if repeated {
            return Err(TicketError::DuplicateKey {
                what: map_what,
                key: key.to_owned(),
            });
        }
        entries.push((key, value));
    }
    Ok(entries)
}
