//! [`AspNetCoreLogin`]: which cookie, which scheme, which ring; signing in and out, and
//! reading the signed-in user of a request.

use std::fmt;
use std::sync::Arc;

use http::header::COOKIE;
use http::HeaderMap;
use keyward::time::Duration;
use keyward::Provider;
use keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, ChunkingCookieManager, Claim, ClaimsIdentity,
    ClaimsPrincipal, CookieHeader, TicketDataFormat, TicketView,
};
use zeroize::Zeroizing;

use super::set_cookies::{self, LoginCookies};
use super::ticket_store::{TicketStore, SESSION_ID_CLAIM_TYPE};
use super::user::{range_in, AspNetCoreUser};
use crate::error::{LoginError, LoginRejection};

/// ASP.NET Core's cookie name for the default scheme (`CookieAuthenticationDefaults.CookiePrefix
/// + scheme`).
pub const DEFAULT_COOKIE_NAME: &str = ".AspNetCore.Cookies";

/// ASP.NET Core's default cookie scheme (`CookieAuthenticationDefaults.AuthenticationScheme`).
pub const DEFAULT_SCHEME: &str = "Cookies";

/// ASP.NET Core's default ticket lifetime (`CookieAuthenticationOptions.ExpireTimeSpan`).
pub const DEFAULT_EXPIRE_AFTER: Duration = Duration::days(14);

/// What the validation hook ([`AspNetCoreLogin::validate_with`]) decides about a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketValidation {
    /// The login stands.
    Accept,
    /// The login is refused: the request has no user (401), as after .NET's
    /// `context.RejectPrincipal()`.
    Reject,
}

/// The validation hook: called with every ticket that opened and has not expired.
type Validator = Arc<dyn Fn(&AuthenticationTicket) -> TicketValidation + Send + Sync>;

/// Reads and writes the login cookie of an ASP.NET Core app (`AddAuthentication().AddCookie()`)
/// that shares this provider's key ring and application name.
///
/// Put it in the router's state (reachable with [`FromRef`](axum_core::extract::FromRef)); handlers
/// then take an [`AspNetCoreUser`](crate::AspNetCoreUser) (401 without a valid login) or an
/// `Option<AspNetCoreUser>`. Cheap to clone.
///
/// # What a .NET sign-out or password change reaches here
///
/// A login cookie is a self-contained, protected ticket: this side checks that it opens
/// (key ring, application name, scheme) and that its `.expires` has not passed. Nothing
/// else is shared with the .NET app unless you configure it:
///
/// - **.NET sign-out** (`SignOutAsync`) deletes the cookie *in that browser*. A copy of the
///   cookie taken before (stolen, or replayed from another client) stays a valid login here,
///   as it does for .NET itself without a session store, until its `.expires`.
/// - **A .NET app with a `SessionStore`** writes a cookie holding only a session key and
///   deletes the session at sign-out. Such a cookie is refused here
///   ([`LoginRejection::TicketStoreRequired`](crate::LoginRejection::TicketStoreRequired))
///   unless [`ticket_store`](Self::ticket_store) looks the session up in the same
///   store; then a sign-out on the .NET side ends the login here at once.
/// - **A password change** (ASP.NET Core Identity) updates the user's security stamp; .NET's
///   `SecurityStampValidator` (an `OnValidatePrincipal` hook) refuses older cookies after its
///   `ValidationInterval` (30 minutes by default). That validator does not run here: without
///   [`validate_with`](Self::validate_with) checking the ticket's
///   `AspNet.Identity.SecurityStamp` claim against your user store, a cookie from before the
///   change stays valid here until its `.expires`.
/// - **Revoking the key** that protected the cookie (or the ring's keys) ends every login it
///   protected, on both sides, at once.
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
    ticket_store: Option<Arc<dyn TicketStore>>,
    validator: Option<Validator>,
}

impl fmt::Debug for AspNetCoreLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AspNetCoreLogin")
            .field("cookie_name", &self.inner.cookie_name)
            .field("scheme", &self.inner.scheme)
            .field("secure", &self.inner.secure)
            .field("expire_after", &self.inner.expire_after)
            .field("ticket_store", &self.inner.ticket_store.is_some())
            .field("validator", &self.inner.validator.is_some())
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
                ticket_store: None,
                validator: None,
            }),
        }
    }

    /// The authentication scheme (.NET: `AddCookie("Admin")`): it is a purpose of the
    /// cookie's protection. The cookie name follows .NET's default (`.AspNetCore.` + the
    /// escaped scheme, [`keyward_aspnetcore::default_cookie_name`])
    /// unless [`cookie_named`](Self::cookie_named) comes after.
    #[must_use]
    pub fn for_scheme(mut self, scheme: &str) -> Self {
        let settings = Arc::make_mut(&mut self.inner);
        settings.format = TicketDataFormat::for_cookie_scheme(&settings.provider, scheme);
        settings.scheme = scheme.to_owned();
        settings.cookie_name = keyward_aspnetcore::default_cookie_name(scheme);
        self
    }

    /// The cookie name (.NET: `options.Cookie.Name`).
    #[must_use]
    pub fn cookie_named(mut self, name: impl Into<String>) -> Self {
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

    /// Looks up the tickets of a .NET app whose cookie handler keeps them in a server-side
    /// store (`CookieAuthenticationOptions.SessionStore`; see [`TicketStore`]). Without it,
    /// a cookie that holds only a session key is refused
    /// ([`LoginRejection::TicketStoreRequired`](crate::LoginRejection::TicketStoreRequired)).
    /// With it, as in .NET: a cookie must name a session
    /// ([`LoginRejection::MissingSessionId`](crate::LoginRejection::MissingSessionId)), the
    /// store must hold its ticket
    /// ([`LoginRejection::SessionNotFound`](crate::LoginRejection::SessionNotFound)), and
    /// that ticket (its claims and `.expires`) is the login.
    ///
    /// [`sign_in`](Self::sign_in) still writes whole tickets: to sign in for such an app,
    /// store the ticket yourself and sign in [`session_ticket`](Self::session_ticket).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, RwLock};
    /// use keyward_axum::keyward_aspnetcore::AuthenticationTicket;
    /// use keyward_axum::AspNetCoreLogin;
    ///
    /// let sessions: Arc<RwLock<HashMap<String, AuthenticationTicket>>> = Default::default();
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let store = Arc::clone(&sessions);
    /// let login = AspNetCoreLogin::new(&provider).ticket_store(move |key: &str| {
    ///     store.read().ok()?.get(key).cloned()
    /// });
    /// # Ok::<(), keyward::Error>(())
    /// ```
    #[must_use]
    pub fn ticket_store(mut self, store: impl TicketStore + 'static) -> Self {
        Arc::make_mut(&mut self.inner).ticket_store = Some(Arc::new(store));
        self
    }

    /// A hook that sees every ticket that opened and has not expired (after the ticket-store
    /// look-up) and may reject it, as .NET's `CookieAuthenticationEvents.OnValidatePrincipal`
    /// does: check a security stamp against your user store, that the account still
    /// exists, a server-side revocation list. It runs on the request's task: keep it quick.
    ///
    /// ```
    /// use keyward_axum::{AspNetCoreLogin, TicketValidation};
    ///
    /// /// The user's current security stamp (from your user store).
    /// fn current_stamp(user: &str) -> Option<String> {
    ///     (user == "alice").then(|| "A1B2".to_owned())
    /// }
    ///
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let login = AspNetCoreLogin::new(&provider).validate_with(|ticket| {
    ///     let user = ticket.principal.name();
    ///     let stamp = ticket.principal.find_first("AspNet.Identity.SecurityStamp");
    ///     match (user.and_then(current_stamp), stamp) {
    ///         (Some(current), Some(claim)) if claim.value == current => TicketValidation::Accept,
    ///         _ => TicketValidation::Reject,
    ///     }
    /// });
    /// # Ok::<(), keyward::Error>(())
    /// ```
    #[must_use]
    pub fn validate_with(
        mut self,
        validate: impl Fn(&AuthenticationTicket) -> TicketValidation + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.inner).validator = Some(Arc::new(validate));
        self
    }

    /// The ticket .NET's cookie handler writes into the cookie when a `SessionStore` keeps
    /// the real one under `session_key`: one identity (no authentication type) whose only
    /// claim is [`SESSION_ID_CLAIM_TYPE`], under this login's scheme. Store the real ticket
    /// under that key first, then [`sign_in`](Self::sign_in) this one.
    pub fn session_ticket(&self, session_key: impl Into<String>) -> AuthenticationTicket {
        let mut identity = ClaimsIdentity::new("");
        identity.authentication_type = None;
        identity
            .claims
            .push(Claim::new(SESSION_ID_CLAIM_TYPE, session_key));
        AuthenticationTicket::new(
            self.inner.scheme.clone(),
            ClaimsPrincipal::new(identity),
            AuthenticationProperties::new(),
        )
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
        let values = headers.get_all(COOKIE);
        let cookies = CookieHeader::parse_all(values.iter().filter_map(|v| v.to_str().ok()))
            .map_err(LoginRejection::invalid)?;
        let value = cookies
            .reassemble(&self.inner.cookie_name)
            .map_err(LoginRejection::invalid)?
            .ok_or(LoginRejection::Missing)?;
        // Decrypted into one buffer and read in place: the owned ticket is made only when a
        // server-side session, the validation hook or the handler asks for it.
        let mut bytes = Zeroizing::new(Vec::new());
        self.inner
            .format
            .unprotect_bytes(&value, &mut bytes)
            .map_err(LoginRejection::invalid)?;
        let view = TicketView::parse(&bytes).map_err(LoginRejection::invalid)?;
        if self.expired(view.expires_utc()) {
            return Err(LoginRejection::Expired);
        }
        let session = view.find_first(SESSION_ID_CLAIM_TYPE).map(|c| c.value);
        let ticket = match (session, self.inner.ticket_store.as_deref()) {
            (None, None) => None,
            (Some(_), None) => return Err(LoginRejection::TicketStoreRequired),
            (None, Some(_)) => return Err(LoginRejection::MissingSessionId),
            (Some(key), Some(store)) => {
                let stored = store.retrieve(key).ok_or(LoginRejection::SessionNotFound)?;
                if self.expired(stored.properties.expires_utc()) {
                    return Err(LoginRejection::Expired);
                }
                Some(stored)
            }
        };
        if let Some(validate) = self.inner.validator.as_deref() {
            let ticket = ticket.unwrap_or_else(|| view.to_ticket());
            if validate(&ticket) == TicketValidation::Reject {
                return Err(LoginRejection::Rejected);
            }
            return Ok(AspNetCoreUser::new(ticket));
        }
        if let Some(ticket) = ticket {
            return Ok(AspNetCoreUser::new(ticket));
        }
        let name = view.name().and_then(|name| range_in(&bytes, name));
        drop(view);
        Ok(AspNetCoreUser::read(bytes, name))
    }

    /// .NET: a ticket whose `ExpiresUtc` is before now fails ("Ticket expired").
    fn expired(&self, expires: Option<keyward::time::OffsetDateTime>) -> bool {
        expires.is_some_and(|expires| expires < self.now())
    }
}
