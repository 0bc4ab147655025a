//! Writing a ticket's identities, claims and properties (`TicketSerializer::serialize`).

use crate::binary::Writer;
use crate::claims::{
    Claim, ClaimsIdentity, DEFAULT_ISSUER, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE, STRING_VALUE_TYPE,
};
use crate::error::{Result, TicketError};
use crate::properties::AuthenticationProperties;

use super::{MAX_ACTOR_DEPTH, MAX_CLAIMS, MAX_PROPERTIES, PROPERTIES_FORMAT_VERSION};

pub(super) fn write_identity(
    w: &mut Writer,
    identity: &ClaimsIdentity,
    depth: usize,
) -> Result<(), TicketError> {
    if depth > MAX_ACTOR_DEPTH {
        return Err(TicketError::ActorTooDeep {
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

fn write_claim(w: &mut Writer, claim: &Claim, name_claim_type: &str) -> Result<(), TicketError> {
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

pub(super) fn write_properties(
    w: &mut Writer,
    properties: &AuthenticationProperties,
) -> Result<(), TicketError> {
    w.write_i32(PROPERTIES_FORMAT_VERSION);
    w.write_count("the property count", properties.len(), MAX_PROPERTIES)?;
    for (key, value) in properties.iter() {
        w.write_string("a property key", key)?;
        w.write_string("a property value", value)?;
    }
    Ok(())
}
