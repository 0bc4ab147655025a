//! [`ProtectedCookieJar`]: the request's cookies, opened and sealed by a keyward key ring.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use cookie::{Cookie, CookieJar};
use http::header::COOKIE;
use http::HeaderMap;
use keyward_aspnetcore::CookieHeader;

use crate::cookie_protection::CookieProtection;
use crate::cookie_value::{open, seal, Opened};
use crate::error::ProtectError;

/// A cookie jar whose values are protected (encrypted and authenticated) by a keyward key
/// ring: the ergonomics of axum-extra's `PrivateCookieJar`, without its one fixed key.
///
/// Extract it in a handler (its [`CookieProtection`] comes from the router's state through
/// [`FromRef`](axum_core::extract::FromRef)), read with [`get`](Self::get), change with
/// [`add`](Self::add) and [`remove`](Self::remove), and return it: its changes become
/// `Set-Cookie` headers.
///
/// What happens on [`get`](Self::get):
/// - a cookie under the current default key is returned;
/// - a cookie under an older key that is still valid is returned, and — unless
///   [`CookieProtection::reissue`] turned it off — sent again under the current key when the
///   jar is returned from the handler;
/// - a cookie under a revoked key, tampered with, or made for another cookie name or
///   application is treated as absent, and removed from the browser when the jar is returned;
/// - a cookie whose key this node does not hold (yet) is treated as absent and left alone.
///
/// Of two cookies with one name in a request, the first wins (see
/// [`from_headers`](Self::from_headers)). Name your cookies with the `__Host-` prefix
/// (`__Host-sid`, set `Secure` with `Path=/` and no `Domain`): no other subdomain, and no
/// plain-`http://` response, can then set a cookie of that name for your host.
///
/// Protecting and opening read an in-memory key-ring snapshot and never do I/O, so they are
/// fine in async handlers (see the crate docs).
///
/// ```
/// use axum::{extract::FromRef, routing::get, Router};
/// use keyward_axum::{cookie::Cookie, CookieProtection, ProtectError, ProtectedCookieJar};
///
/// #[derive(Clone)]
/// struct AppState {
///     cookies: CookieProtection,
/// }
///
/// impl FromRef<AppState> for CookieProtection {
///     fn from_ref(state: &AppState) -> Self {
///         state.cookies.clone()
///     }
/// }
///
/// async fn remember(jar: ProtectedCookieJar) -> Result<(ProtectedCookieJar, &'static str), ProtectError> {
///     Ok((jar.add(Cookie::new("theme", "dark"))?, "remembered"))
/// }
///
/// async fn show(jar: ProtectedCookieJar) -> (ProtectedCookieJar, String) {
///     let theme = jar.get("theme").map(|c| c.value().to_owned());
///     // Returning the jar sends re-issued (or removed) cookies.
///     (jar, theme.unwrap_or_else(|| "none".into()))
/// }
///
/// let provider = keyward::Provider::ephemeral("shop")?;
/// let state = AppState { cookies: CookieProtection::new(&provider) };
/// let app: Router = Router::new()
///     .route("/remember", get(remember))
///     .route("/", get(show))
///     .with_state(state);
/// # Ok::<(), keyward::Error>(())
/// ```
pub struct ProtectedCookieJar {
    /// The request's cookies (protected values) and this jar's changes (protected values).
    jar: CookieJar,
    protection: CookieProtection,
    /// What reading found to re-issue or remove, sent unless the handler changed that cookie.
    pending: Mutex<Vec<Cookie<'static>>>,
}

impl fmt::Debug for ProtectedCookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are secret even when protected: names only.
        let names: Vec<&str> = self.jar.iter().map(|c| c.name()).collect();
        f.debug_struct("ProtectedCookieJar")
            .field("cookies", &names)
            .finish_non_exhaustive()
    }
}

impl Clone for ProtectedCookieJar {
    fn clone(&self) -> Self {
        Self {
            jar: self.jar.clone(),
            protection: self.protection.clone(),
            pending: Mutex::new(self.pending_changes()),
        }
    }
}

impl ProtectedCookieJar {
    /// An empty jar (nothing read from a request).
    pub fn new(protection: CookieProtection) -> Self {
        Self {
            jar: CookieJar::new(),
            protection,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// A jar holding the cookies of every `Cookie` header in `headers`, read as
    /// [`CookieHeader`] reads them (parts without `=` or a name are skipped, a value in
    /// double quotes is unquoted). A request with more than
    /// [`MAX_COOKIES`](keyward_aspnetcore::MAX_COOKIES) cookies is not read: the jar is
    /// empty. Nothing is opened until [`get`](Self::get).
    ///
    /// When a name comes twice, the **first** cookie wins and the others are ignored, as in
    /// ASP.NET Core (and [`AspNetCoreLogin`](crate::AspNetCoreLogin)): a browser sends the
    /// cookie with the most specific path first, and a second one of the same name is how
    /// *cookie tossing* works (a sibling subdomain, or a plain-`http://` response, sets
    /// `sid` for a broader domain or path, and it comes after yours). A `__Host-` name
    /// (`__Host-sid`: `Secure`, `Path=/`, no `Domain`) cannot be set by such a sibling at all.
    pub fn from_headers(headers: &HeaderMap, protection: CookieProtection) -> Self {
        let mut jar = CookieJar::new();
        let values = headers.get_all(COOKIE);
        match CookieHeader::parse_all(values.iter().filter_map(|value| value.to_str().ok())) {
            Ok(cookies) => {
                for (name, value) in cookies.iter() {
                    // `add_original` replaces a cookie of the same name: keep the first.
                    if jar.get(name).is_none() {
                        jar.add_original(Cookie::new(name.to_owned(), value.to_owned()));
                    }
                }
            }
            Err(error) => {
                tracing::debug!(error = %error, "the request's cookies are not read");
            }
        }
        Self {
            jar,
            protection,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// The cookie called `name` with its value opened, or `None` when there is none or it
    /// cannot be opened (see the type's docs for what is re-issued or removed).
    pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
        self.open_named(name, true)
    }

    /// Opens the cookie called `name`; a refused one is removed only if `remove_refused`.
    fn open_named(&self, name: &str, remove_refused: bool) -> Option<Cookie<'static>> {
        let stored = self.jar.get(name)?;
        let protector = self.protection.protector(name);
        match open(&protector, stored.value()) {
            Opened::Valid { value, stale } => {
                if stale && self.protection.reissues() && !self.changed_here(name) {
                    self.reissue(name, &value);
                }
                let mut opened = stored.clone().into_owned();
                opened.set_value(value);
                Some(opened)
            }
            Opened::Rejected(error) => {
                if remove_refused && !self.changed_here(name) {
                    tracing::debug!(cookie = name, error = %error, "a protected cookie was refused and is removed");
                    let mut removal = self.protection.templated(name, String::new());
                    removal.make_removal();
                    self.push_pending(removal);
                }
                None
            }
            Opened::Unavailable(error) => {
                tracing::warn!(cookie = name, error = %error, "a protected cookie cannot be opened on this node now");
                None
            }
        }
    }

    /// Adds a cookie, its value protected under the current default key. Its attributes are
    /// yours; set them as [`CookieProtection::reissue_template`] does so that re-issues
    /// replace it. A re-issue does not know them (a browser sends back only the value): its
    /// attributes are the template's, `Path=/; Secure; HttpOnly; SameSite=Lax` and no
    /// expiry by default, so a persistent cookie needs its `Max-Age` in the template too.
    ///
    /// # Errors
    /// [`ProtectError`] when no key could be had to protect with (a ring with no usable key
    /// and no way to create one). It is a response (500) too.
    #[allow(clippy::should_implement_trait)] // The name axum-extra's jars use.
    pub fn add(mut self, cookie: impl Into<Cookie<'static>>) -> Result<Self, ProtectError> {
        let mut cookie = cookie.into();
        let protector = self.protection.protector(cookie.name());
        let sealed = seal(&protector, cookie.value()).map_err(ProtectError::new)?;
        cookie.set_value(sealed);
        self.forget_pending(cookie.name());
        self.jar.add(cookie);
        Ok(self)
    }

    /// Removes a cookie: the browser is told to drop it. Give it the path and domain it was
    /// set with.
    #[must_use]
    pub fn remove(mut self, cookie: impl Into<Cookie<'static>>) -> Self {
        let cookie = cookie.into();
        self.forget_pending(cookie.name());
        self.jar.remove(cookie);
        self
    }

    /// Every cookie of the request (or added here) that opens, with its value opened.
    /// Cookies that do not open are skipped and left alone: the request's other cookies (not
    /// this jar's) are among them. Stale ones are re-issued as [`get`](Self::get) does.
    pub fn iter(&self) -> impl Iterator<Item = Cookie<'static>> + '_ {
        self.jar
            .iter()
            .filter_map(|cookie| self.open_named(cookie.name(), false))
    }

    /// The `Set-Cookie` values this jar's changes make: added and removed cookies, then
    /// re-issued and removed ones found by reading. Values are protected.
    pub fn set_cookie_headers(&self) -> Vec<String> {
        let mut headers: Vec<String> = self.jar.delta().map(ToString::to_string).collect();
        headers.extend(self.pending_changes().iter().map(ToString::to_string));
        headers
    }

    /// The protection this jar uses.
    pub fn protection(&self) -> &CookieProtection {
        &self.protection
    }

    fn reissue(&self, name: &str, value: &str) {
        match seal(&self.protection.protector(name), value) {
            Ok(sealed) => self.push_pending(self.protection.templated(name, sealed)),
            // The old cookie still works: try again on the next request.
            Err(error) => {
                tracing::warn!(cookie = name, error = %error, "a protected cookie could not be re-issued under the current key");
            }
        }
    }

    /// Whether the handler added or removed `name` in this jar: its change wins.
    fn changed_here(&self, name: &str) -> bool {
        self.jar.delta().any(|c| c.name() == name)
    }

    fn push_pending(&self, cookie: Cookie<'static>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|c| c.name() != cookie.name());
        pending.push(cookie);
    }

    fn forget_pending(&mut self, name: &str) {
        self.pending
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|c| c.name() != name);
    }

    fn pending_changes(&self) -> Vec<Cookie<'static>> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
