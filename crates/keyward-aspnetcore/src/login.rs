//! Reading the login a `Cookie:` header holds, as ASP.NET Core's cookie handler does: the
//! scheme's cookie (its chunks put back together), unprotected, deserialized, and refused
//! once its `.expires` has passed. For callers without a web framework of their own (the
//! sidecar, the Python package); `keyward-axum` adds sessions and validation on top.

use keyward::time::OffsetDateTime;
use keyward::Provider;

use crate::cookie_header::CookieHeader;
use crate::data_format::TicketDataFormat;
use crate::error::{Error, Result};
use crate::ticket::AuthenticationTicket;

/// .NET's default cookie name for a scheme: `.AspNetCore.` and the scheme as
/// `Uri.EscapeDataString` writes it (`Cookies` → `.AspNetCore.Cookies`).
///
/// ```
/// use keyward_aspnetcore::default_cookie_name;
/// assert_eq!(default_cookie_name("Cookies"), ".AspNetCore.Cookies");
/// assert_eq!(default_cookie_name("My Scheme"), ".AspNetCore.My%20Scheme");
/// ```
pub fn default_cookie_name(scheme: &str) -> String {
    let mut name = String::from(".AspNetCore.");
    for byte in scheme.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

/// Reads login cookies of one scheme.
///
/// ```
/// use keyward_aspnetcore::{
///     AuthenticationTicket, ClaimsIdentity, ClaimsPrincipal, LoginReader, TicketDataFormat,
///     AuthenticationProperties, Claim, NAME_CLAIM_TYPE,
/// };
/// let provider = keyward::Provider::ephemeral("shop")?;
/// let mut identity = ClaimsIdentity::new("Cookies");
/// identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
/// let principal = ClaimsPrincipal::new(identity);
/// let ticket = AuthenticationTicket::new("Cookies", principal, AuthenticationProperties::new());
/// let value = TicketDataFormat::for_cookie_scheme(&provider, "Cookies").protect(&ticket)?;
///
/// let reader = LoginReader::new(&provider, "Cookies");
/// let header = format!("theme=dark; .AspNetCore.Cookies={value}");
/// let login = reader.read(&header, provider.now())?.expect("a login");
/// assert_eq!(login.principal.name(), Some("alice"));
/// assert!(reader.read("theme=dark", provider.now())?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LoginReader {
    format: TicketDataFormat,
    cookie_name: String,
}

impl std::fmt::Debug for LoginReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginReader")
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl LoginReader {
    /// The reader of `scheme`'s login cookie (.NET: `AddCookie(scheme)`), named as .NET
    /// names it by default.
    pub fn new(provider: &Provider, scheme: &str) -> Self {
        Self {
            format: TicketDataFormat::for_cookie_scheme(provider, scheme),
            cookie_name: default_cookie_name(scheme),
        }
    }

    /// Another cookie name (.NET: `options.Cookie.Name`).
    #[must_use]
    pub fn cookie_named(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The cookie read.
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The login in `cookie_header` (a `Cookie:` header's value, `name=value; …`): `None`
    /// when it holds no cookie of this name; an error when the cookie is incomplete, does
    /// not open, or expired at or before `now`.
    pub fn read(
        &self,
        cookie_header: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AuthenticationTicket>> {
        let cookies = CookieHeader::parse(cookie_header)?;
        let Some(value) = cookies.reassemble(&self.cookie_name)? else {
            return Ok(None);
        };
        let ticket = self.format.unprotect(&value)?;
        if let Some(expires) = ticket.properties.expires_utc() {
            if expires <= now {
                return Err(Error::Expired { expires });
            }
        }
        Ok(Some(ticket))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use crate::{
        AuthenticationProperties, Claim, ClaimsIdentity, ClaimsPrincipal, NAME_CLAIM_TYPE,
    };

    fn login(provider: &Provider, expires: Option<OffsetDateTime>) -> String {
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
        let mut properties = AuthenticationProperties::new();
        properties.set_expires_utc(expires);
        let ticket =
            AuthenticationTicket::new("Cookies", ClaimsPrincipal::new(identity), properties);
        TicketDataFormat::for_cookie_scheme(provider, "Cookies")
            .protect(&ticket)
            .unwrap()
    }

    #[test]
    fn an_expired_login_is_an_error_and_another_scheme_does_not_open() {
        let provider = Provider::ephemeral("shop").unwrap();
        let now = provider.now();
        let value = login(&provider, Some(now + keyward::time::Duration::hours(1)));
        let header = format!(".AspNetCore.Cookies={value}");
        let reader = LoginReader::new(&provider, "Cookies");
        assert!(reader.read(&header, now).unwrap().is_some());
        let later = now + keyward::time::Duration::hours(1);
        assert!(matches!(
            reader.read(&header, later),
            Err(Error::Expired { .. })
        ));
        let other = LoginReader::new(&provider, "Other").cookie_named(".AspNetCore.Cookies");
        assert!(matches!(other.read(&header, now), Err(Error::Ticket(_))));
    }

    #[test]
    fn a_lone_cookie_of_another_name_is_no_login() {
        let provider = Provider::ephemeral("shop").unwrap();
        let value = login(&provider, None);
        let reader = LoginReader::new(&provider, "Cookies");
        assert!(reader
            .read(&format!("session={value}"), provider.now())
            .unwrap()
            .is_none());
    }
}
