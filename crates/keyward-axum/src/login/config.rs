//! [`AspNetCoreLogin`]: which cookie, which scheme, which ring; signing in and out.

use std::fmt;
use std::sync::Arc;

use axum::http::HeaderMap;
use keyward::time::Duration;
use keyward::Provider;
use keyward_aspnetcore::{AuthenticationTicket, ChunkingCookieManager, TicketDataFormat};

use super::set_cookies::{self, LoginCookies, LoginError};
use super::user::{AspNetCoreUser, LoginRejection};

/// ASP.NET Core's cookie name for the default scheme (`CookieAuthenticationDefaults.CookiePrefix
/// + scheme`).
pub const DEFAULT_COOKIE_NAME: &str = ".AspNetCore.Cookies";

/// ASP.NET Core's default cookie scheme (`CookieAuthenticationDefaults.AuthenticationScheme`).
pub const DEFAULT_SCHEME: &str = "Cookies";

/// ASP.NET Core's default ticket lifetime (`CookieAuthenticationOptions.ExpireTimeSpan`).
pub const DEFAULT_EXPIRE_AFTER: Duration = Duration::days(14);

/// Reads and writes the login cookie of an ASP.NET Core app (`AddAuthentication().AddCookie()`)
/// that shares this provider's key ring and application name.
///
/// Put it in the router's state (reachable with [`FromRef`](axum::extract::FromRef)); handlers
/// then take an [`AspNetCoreUser`](crate::AspNetCoreUser) (401 without a valid login) or an
/// `Option<AspNetCoreUser>`. Cheap to clone.
///
/// ```
/// use keyward_axum::AspNetCoreLogin;
///
/// let provider = keyward::Provider::ephemeral("shop")?;  // .NET: SetApplicationName("shop")
/// let login = AspNetCoreLogin::new(&provider);            // .AspNetCore.Cookies, scheme Cookies
/// assert_eq!(login.cookie_name(), ".AspNetCore.Cookies");
/// // Over plain HTTP in development the cookie cannot be Secure:
/// let dev = AspNetCoreLogin::new(&provider).secure(false);
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Clone)]
pub struct AspNetCoreLogin {
    inner: Arc<Settings>,
}

#[derive(Clone)]
struct Settings {
    provider: Provider,
    format: TicketDataFormat,
    cookie_name: String,
    scheme: String,
    secure: bool,
    expire_after: Duration,
    chunking: ChunkingCookieManager,
}

impl fmt::Debug for AspNetCoreLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AspNetCoreLogin")
            .field("cookie_name", &self.inner.cookie_name)
            .field("scheme", &self.inner.scheme)
            .field("secure", &self.inner.secure)
            .field("expire_after", &self.inner.expire_after)
            .finish_non_exhaustive()
    }
}

impl AspNetCoreLogin {
    /// The login of the default scheme (`Cookies`, cookie `.AspNetCore.Cookies`), `Secure`
    /// cookies, tickets valid for 14 days: ASP.NET Core's defaults.
    pub fn new(provider: &Provider) -> Self {
        Self {
            inner: Arc::new(Settings {
                provider: provider.clone(),
                format: TicketDataFormat::for_cookie_scheme(provider, DEFAULT_SCHEME),
                cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
                scheme: DEFAULT_SCHEME.to_owned(),
                secure: true,
                expire_after: DEFAULT_EXPIRE_AFTER,
                chunking: ChunkingCookieManager::new(),
            }),
        }
    }

    /// The authentication scheme (.NET: `AddCookie("Admin")`): it is a purpose of the
    /// cookie's protection. The cookie name follows .NET's default (`.AspNetCore.` + scheme)
    /// unless [`with_cookie_name`](Self::with_cookie_name) comes after.
    #[must_use]
    pub fn with_scheme(mut self, scheme: &str) -> Self {
        let settings = Arc::make_mut(&mut self.inner);
        settings.format = TicketDataFormat::for_cookie_scheme(&settings.provider, scheme);
        settings.scheme = scheme.to_owned();
        settings.cookie_name = format!(".AspNetCore.{scheme}");
        self
    }

    /// The cookie name (.NET: `options.Cookie.Name`).
    #[must_use]
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).cookie_name = name.into();
        self
    }

    /// Whether written cookies are `Secure` (default yes; .NET's default over HTTPS). Turn it
    /// off only for plain-HTTP development.
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        Arc::make_mut(&mut self.inner).secure = secure;
        self
    }

    /// How long a ticket written by [`sign_in`](Self::sign_in) is valid when it names no
    /// `.expires` (.NET: `ExpireTimeSpan`, 14 days).
    #[must_use]
    pub fn expire_after(mut self, lifetime: Duration) -> Self {
        Arc::make_mut(&mut self.inner).expire_after = lifetime;
        self
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The authentication scheme.
    pub fn scheme(&self) -> &str {
        &self.inner.scheme
    }

    /// The ticket format (protector and serializer) in use.
    pub fn format(&self) -> &TicketDataFormat {
        &self.inner.format
    }

    /// The provider's clock (tickets expire by it).
    pub fn now(&self) -> keyward::time::OffsetDateTime {
        self.inner.provider.now()
    }

    /// The `Set-Cookie` headers that sign `ticket` in, as .NET's `SignInAsync` would: its
    /// `.issued` and `.expires` are set when missing (now, and now + the lifetime), the value
    /// is protected under the current key and split into chunks when long (4050 characters
    /// per cookie, .NET's arithmetic), and chunks a longer earlier login left in
    /// `request_headers` are removed. A persistent ticket
    /// ([`is_persistent`](keyward_aspnetcore::AuthenticationProperties::is_persistent)) gets
    /// an `Expires` attribute; others are session cookies.
    ///
    /// # Errors
    /// [`LoginError`] (a 500 as a response) when no key can protect or the ticket is too large.
    pub fn sign_in(
        &self,
        request_headers: &HeaderMap,
        mut ticket: AuthenticationTicket,
    ) -> Result<LoginCookies, LoginError> {
        let now = self.now();
        let properties = &mut ticket.properties;
        if properties.issued_utc().is_none() {
            properties.set_issued_utc(now);
        }
        if properties.expires_utc().is_none() {
            properties.set_expires_utc(now + self.inner.expire_after);
        }
        let expires = properties
            .is_persistent()
            .then(|| properties.expires_utc())
            .flatten();
        let value = self
            .inner
            .format
            .protect(&ticket)
            .map_err(LoginError::new)?;
        self.sign_in_value(request_headers, &value, expires)
    }

    /// The `Set-Cookie` headers that write an already protected login value (from
    /// [`TicketDataFormat::protect`], or made by .NET): split into chunks when long, `Expires`
    /// set when `expires` is given, stale chunks in `request_headers` removed.
    ///
    /// ```
    /// # let provider = keyward::Provider::ephemeral("shop")?;
    /// let login = keyward_axum::AspNetCoreLogin::new(&provider);
    /// let cookies = login.sign_in_value(&Default::default(), "CfDJ8AAAA", None)?;
    /// assert_eq!(
    ///     cookies.headers(),
    ///     [".AspNetCore.Cookies=CfDJ8AAAA; path=/; secure; samesite=lax; httponly"]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LoginError`] when the configured cookie name leaves no room for a chunk.
    pub fn sign_in_value(
        &self,
        request_headers: &HeaderMap,
        value: &str,
        expires: Option<keyward::time::OffsetDateTime>,
    ) -> Result<LoginCookies, LoginError> {
        set_cookies::sign_in(
            &self.inner.chunking,
            &self.inner.cookie_name,
            value,
            self.inner.secure,
            expires,
            request_headers,
        )
        .map_err(LoginError::new)
    }

    /// The `Set-Cookie` headers that sign out: the cookie and every chunk of it the request
    /// carries are removed.
    pub fn sign_out(&self, request_headers: &HeaderMap) -> LoginCookies {
        set_cookies::sign_out(&self.inner.cookie_name, self.inner.secure, request_headers)
    }

    /// The signed-in user of a request with these headers, as the [`AspNetCoreUser`]
    /// extractor finds it: the login cookie's chunks put back together, unprotected,
    /// deserialized and checked against its `.expires`. For middleware and tools that have
    /// headers but no extractor.
    ///
    /// # Errors
    /// [`LoginRejection`] (a 401 as a response) when there is no valid login.
    pub fn user_from_headers(&self, headers: &HeaderMap) -> Result<AspNetCoreUser, LoginRejection> {
        super::user::read(self, &self.inner.chunking, headers)
    }
}
