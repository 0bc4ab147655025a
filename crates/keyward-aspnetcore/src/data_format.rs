//! `TicketDataFormat`: a ticket → its bytes → Data Protection → base64url, and back
//! (`docs/spec/login-cookie.md` §1).

use keyward::{Protector, Provider};

use crate::error::{Result, TicketError};
use crate::serializer::{TicketSerializer, MAX_TICKET_BYTES};
use crate::ticket::AuthenticationTicket;
use crate::ticket_view::TicketView;

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
        let mut buffer = Vec::new();
        let ticket = self
            .unprotect_view(value, &mut buffer)
            .map(|view| view.to_ticket());
        zeroize::Zeroize::zeroize(&mut buffer);
        ticket
    }

    /// [`TicketDataFormat::unprotect`] without copying: the value is decoded into `buffer`,
    /// opened where it lies, and read as a [`TicketView`] borrowing from it. Once `buffer`
    /// has room (reused across requests) and the payload's subkeys are cached, this allocates
    /// only the view's few vectors.
    ///
    /// `buffer` then holds the decrypted ticket (claims are personal data): clear it, and
    /// wipe it if it is reused for anything else.
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
    /// let value = format.protect(&ticket)?;
    /// let mut buffer = Vec::new();
    /// let view = format.unprotect_view(&value, &mut buffer)?;
    /// assert_eq!(view.scheme, "Cookies");
    /// assert_eq!(view.to_ticket(), ticket);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`TicketDataFormat::unprotect`].
    pub fn unprotect_view<'b>(
        &self,
        value: &str,
        buffer: &'b mut Vec<u8>,
    ) -> Result<TicketView<'b>, TicketError> {
        self.unprotect_bytes(value, buffer)?;
        TicketView::parse(buffer)
    }

    /// Decodes and opens a cookie value into `buffer`, which then holds exactly the
    /// serialized ticket (for [`TicketView::parse`] or
    /// [`TicketSerializer::deserialize`](crate::TicketSerializer::deserialize)). No
    /// allocation once `buffer` has room and the payload's subkeys are cached.
    ///
    /// # Errors
    /// [`TicketError::TooLarge`], [`TicketError::Encoding`] or [`TicketError::Unprotect`];
    /// `buffer` then holds no plaintext.
    pub fn unprotect_bytes(&self, value: &str, buffer: &mut Vec<u8>) -> Result<(), TicketError> {
        let value = value.trim();
        if value.len() > MAX_PROTECTED_CHARS {
            return Err(TicketError::TooLarge {
                what: "the protected ticket",
                len: value.len(),
                max: MAX_PROTECTED_CHARS,
            });
        }
        buffer.clear();
        keyward::encoding::base64url_decode_into(value, buffer).map_err(TicketError::Encoding)?;
        let base = buffer.as_ptr() as usize;
        let plaintext = self
            .protector
            .unprotect_in_place(buffer)
            .map_err(TicketError::Unprotect)?;
        let len = plaintext.len();
        // Where the plaintext lies in `buffer` (after the payload's header), moved to the
        // front. Address arithmetic only: `plaintext` is a part of `buffer`.
        let start = plaintext.as_ptr() as usize - base;
        buffer.copy_within(start..start + len, 0);
        zeroize::Zeroize::zeroize(&mut buffer[len..]);
        buffer.truncate(len);
        Ok(())
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
