//! Reading a ticket's identities, claims and properties (`TicketSerializer::deserialize`),
//! each count checked against the bytes left before anything is allocated for it.

use std::collections::BTreeMap;

use crate::binary::Reader;
use crate::claims::{
    Claim, ClaimsIdentity, DEFAULT_ISSUER, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE, STRING_VALUE_TYPE,
};
use crate::error::{Result, TicketError};
use crate::properties::AuthenticationProperties;

use super::{MAX_ACTOR_DEPTH, MAX_CLAIMS, MAX_PROPERTIES, PROPERTIES_FORMAT_VERSION};

/// The fewest bytes an identity takes (three one-byte strings, a count, two bools).
pub(super) const MIN_IDENTITY_BYTES: usize = 3 + 4 + 2;
/// The fewest bytes a claim takes (five one-byte strings, a count).
const MIN_CLAIM_BYTES: usize = 5 + 4;
/// The fewest bytes a dictionary entry takes (two one-byte strings).
const MIN_ENTRY_BYTES: usize = 2;

pub(super) fn read_identity(
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<ClaimsIdentity, TicketError> {
    if depth > MAX_ACTOR_DEPTH {
        return Err(TicketError::ActorTooDeep {
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

fn read_claim(r: &mut Reader<'_>, name_claim_type: &str) -> Result<Claim, TicketError> {
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
            return Err(TicketError::DuplicateKey {
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

pub(super) fn read_properties(r: &mut Reader<'_>) -> Result<AuthenticationProperties, TicketError> {
    let version = r.read_i32("the properties format version")?;
    if version != PROPERTIES_FORMAT_VERSION {
        return Err(TicketError::UnsupportedVersion {
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
            return Err(TicketError::DuplicateKey {
                what: "the ticket's properties",
                key,
            });
        }
        properties.insert(key, value);
    }
    Ok(properties)
}
