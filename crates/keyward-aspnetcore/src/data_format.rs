//! `TicketDataFormat`: a ticket → its bytes → Data Protection → base64url, and back
//! (`docs/spec/login-cookie.md` §1).

use keyward::{Protector, Provider};

use crate::error::{Result, TicketError};
use crate::serializer::{TicketSerializer, MAX_TICKET_BYTES};
use crate::ticket::AuthenticationTicket;

/// The first purpose of the cookie handler's protector, fixed in .NET "for interop to work".
pub const COOKIE_AUTHENTICATION_PURPOSE: &str =
    "Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware";

/// The last purpose of the cookie handler's protector.
pub const COOKIE_AUTHENTICATION_VERSION_PURPOSE: &str = "v2";

/// The longest protected value accepted: the base64url of a [`MAX_TICKET_BYTES`] ticket with
/// room for the envelope, IV, padding and MAC.
pub const MAX_PROTECTED_CHARS: usize = (MAX_TICKET_BYTES + 1024) / 3 * 4 + 4;

/// Protects tickets as ASP.NET Core's cookie handler does, so a .NET server and a Rust one
/// with the same key ring and application name read each other's login cookies.
///
/// ```
/// use keyward_aspnetcore::{
///     AuthenticationProperties, AuthenticationTicket, ClaimsIdentity, ClaimsPrincipal,
///     TicketDataFormat,
/// };
/// let provider = keyward::Provider::ephemeral("shop")?;
/// let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
/// let ticket = AuthenticationTicket::new(
///     "Cookies",
///     ClaimsPrincipal::new(ClaimsIdentity::new("Cookies")),
///     AuthenticationProperties::new(),
/// );
/// let cookie = format.protect(&ticket)?;
/// assert!(cookie.starts_with("CfDJ8"));
/// assert_eq!(format.unprotect(&cookie)?, ticket);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TicketDataFormat {
    protector: Protector,
}

impl TicketDataFormat {
    /// The format the cookie handler of `scheme` uses: purposes
    /// `CookieAuthenticationMiddleware`, `scheme`, `v2`, after the provider's application
    /// name.
    pub fn for_cookie_scheme(provider: &Provider, scheme: &str) -> Self {
        Self::new(provider.protector([
            COOKIE_AUTHENTICATION_PURPOSE,
            scheme,
            COOKIE_AUTHENTICATION_VERSION_PURPOSE,
        ]))
    }

    /// A format over any protector (another purpose chain, as `SecureDataFormat` allows).
    pub fn new(protector: Protector) -> Self {
        Self { protector }
    }

    /// The protector in use.
    pub fn protector(&self) -> &Protector {
        &self.protector
    }

    /// The cookie value: serialized, protected, base64url without padding.
    ///
    /// # Errors
    /// [`TicketError::Protect`] when no key can protect, or a serializer error.
    pub fn protect(&self, ticket: &AuthenticationTicket) -> Result<String, TicketError> {
        let bytes = TicketSerializer::serialize(ticket)?;
        let protected = self
            .protector
            .protect(&bytes)
            .map_err(TicketError::Protect)?;
        Ok(keyward::encoding::base64url_encode(&protected))
    }

    /// The ticket in a cookie value (surrounding whitespace ignored). Unlike .NET, which
    /// returns `null` for every failure, the error says which step failed.
    ///
    /// # Errors
    /// [`TicketError::TooLarge`], [`TicketError::Encoding`], [`TicketError::Unprotect`] (tampered, other scheme
    /// or application, unknown or revoked key), or what the serializer refuses.
    pub fn unprotect(&self, value: &str) -> Result<AuthenticationTicket, TicketError> {
        let value = value.trim();
        if value.len() > MAX_PROTECTED_CHARS {
            return Err(TicketError::TooLarge {
                what: "the protected ticket",
                len: value.len(),
                max: MAX_PROTECTED_CHARS,
            });
        }
        let protected =
            keyward::encoding::base64url_decode(value).map_err(TicketError::Encoding)?;
        let bytes = self
            .protector
            .unprotect(&protected)
            .map_err(TicketError::Unprotect)?;
        TicketSerializer::deserialize(&bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use crate::{AuthenticationProperties, ClaimsIdentity, ClaimsPrincipal};

    fn ticket() -> AuthenticationTicket {
        AuthenticationTicket::new(
            "Cookies",
            ClaimsPrincipal::new(ClaimsIdentity::new("Cookies")),
            AuthenticationProperties::new(),
        )
    }

    #[test]
    fn the_purposes_are_the_cookie_handlers() {
        let provider = Provider::ephemeral("shop").unwrap();
        let format = TicketDataFormat::for_cookie_scheme(&provider, "Identity.Application");
        assert_eq!(
            format.protector().purposes(),
            [
                "shop",
                COOKIE_AUTHENTICATION_PURPOSE,
                "Identity.Application",
                "v2"
            ]
        );
    }

    #[test]
    fn another_scheme_or_bad_text_does_not_open() {
        let provider = Provider::ephemeral("shop").unwrap();
        let cookies = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
        let other = TicketDataFormat::for_cookie_scheme(&provider, "Other");
        let value = cookies.protect(&ticket()).unwrap();
        assert!(matches!(
            other.unprotect(&value),
            Err(TicketError::Unprotect(_))
        ));
        assert!(matches!(
            cookies.unprotect("a"),
            Err(TicketError::Encoding(_))
        ));
        assert!(matches!(
            cookies.unprotect(&"A".repeat(MAX_PROTECTED_CHARS + 1)),
            Err(TicketError::TooLarge { .. })
        ));
        assert_eq!(cookies.unprotect(&format!(" {value}\n")).unwrap(), ticket());
    }
}
