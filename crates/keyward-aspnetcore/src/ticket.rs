//! `AuthenticationTicket`: what a login cookie holds.

use crate::claims::ClaimsPrincipal;
use crate::properties::AuthenticationProperties;

/// A signed-in user as the cookie handler stores it: the scheme that issued the ticket, the
/// principal and the properties (`Microsoft.AspNetCore.Authentication.AuthenticationTicket`).
///
/// Its `Debug` output shows the claims (they are not key material), but tickets should not be
/// logged: claims are personal data.
///
/// ```
/// use keyward_aspnetcore::{
///     AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
///     TicketSerializer, NAME_CLAIM_TYPE,
/// };
/// let mut identity = ClaimsIdentity::new("Cookies");
/// identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
/// let ticket = AuthenticationTicket::new(
///     "Cookies",
///     ClaimsPrincipal::new(identity),
///     AuthenticationProperties::new(),
/// );
/// let bytes = TicketSerializer::serialize(&ticket)?;
/// assert_eq!(TicketSerializer::deserialize(&bytes)?, ticket);
/// # Ok::<(), keyward_aspnetcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationTicket {
    /// The authentication scheme (`Cookies`, `Identity.Application`, …).
    pub scheme: String,
    /// The user.
    pub principal: ClaimsPrincipal,
    /// Issue and expiry times, persistence and other items.
    pub properties: AuthenticationProperties,
}

impl AuthenticationTicket {
    /// A ticket for `principal` issued by `scheme`.
    pub fn new(
        scheme: impl Into<String>,
        principal: ClaimsPrincipal,
        properties: AuthenticationProperties,
    ) -> Self {
        Self {
            scheme: scheme.into(),
            principal,
            properties,
        }
    }
}
