//! [`CookieProtection`]: which protector guards which cookie, and how re-issued cookies look.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use cookie::{Cookie, SameSite};
use keyward::{Protector, Provider};

/// The purposes every protected cookie is under, after the provider's application name and
/// before the cookie's name: `[APP, "keyward-axum", "cookie", NAME]`.
pub const COOKIE_PURPOSES: [&str; 2] = ["keyward-axum", "cookie"];

/// Protectors are kept for this many cookie names; names past it get a fresh protector per
/// use (correct, only slower), so a program that invents names cannot grow the cache.
const MAX_CACHED_NAMES: usize = 256;

/// How a [`ProtectedCookieJar`](crate::ProtectedCookieJar) protects its cookies: the key ring
/// (a shared [`Provider`]), one protector per cookie name, and what happens to a cookie issued
/// under an older key.
///
/// Put it in your router's state (or anything it can be had from with
/// [`FromRef`](axum_core::extract::FromRef)). Cheap to clone: clones share the protectors.
///
/// Each cookie gets its own purpose chain (`[APP, "keyward-axum", "cookie", NAME]`), so one
/// cookie's value can never be replayed as another's.
///
/// ```
/// use keyward_axum::CookieProtection;
/// use keyward_axum::cookie::{Cookie, SameSite};
///
/// let provider = keyward::Provider::ephemeral("shop")?;
/// let protection = CookieProtection::new(&provider)
///     // Re-issued cookies (read under an older key) carry these attributes.
///     .reissue_template(Cookie::build(("", "")).path("/").secure(true).http_only(true).same_site(SameSite::Lax).build());
/// assert!(protection.reissues());
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Clone)]
pub struct CookieProtection {
    settings: Arc<Settings>,
    protectors: Arc<RwLock<HashMap<String, Protector>>>,
}

#[derive(Clone)]
struct Settings {
    /// `[APP, "keyward-axum", "cookie"]`: a cookie's protector adds its name.
    base: Protector,
    reissue: bool,
    template: Cookie<'static>,
    templates: HashMap<String, Cookie<'static>>,
}

impl fmt::Debug for CookieProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieProtection")
            .field("purposes", &self.settings.base.purposes())
            .field("reissue", &self.settings.reissue)
            .finish_non_exhaustive()
    }
}

impl CookieProtection {
    /// Protects cookies with `provider`'s key ring, under its application name. Cookies read
    /// under a key other than the current default key are re-issued under it (turn that off
    /// with [`reissue`](Self::reissue)), as `Path=/; Secure; HttpOnly; SameSite=Lax` session
    /// cookies unless [`reissue_template`](Self::reissue_template) says otherwise (put a
    /// `Max-Age` there for persistent cookies; over plain `http://` in development, see
    /// [`insecure_reissue`](Self::insecure_reissue)).
    pub fn new(provider: &Provider) -> Self {
        let base = provider.protector(COOKIE_PURPOSES);
        Self {
            settings: Arc::new(Settings {
                base,
                reissue: true,
                template: default_template(),
                templates: HashMap::new(),
            }),
            protectors: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Whether a cookie read under an older (still valid) key is sent again under the current
    /// default key (default: yes). Without it, such cookies keep working until their key is
    /// revoked or deleted.
    #[must_use]
    pub fn reissue(mut self, reissue: bool) -> Self {
        Arc::make_mut(&mut self.settings).reissue = reissue;
        self
    }

    /// Whether cookies are re-issued (see [`reissue`](Self::reissue)).
    pub fn reissues(&self) -> bool {
        self.settings.reissue
    }

    /// The attributes (path, domain, `Secure`, `HttpOnly`, `SameSite`, `Max-Age`/`Expires`,
    /// `Partitioned`) of re-issued cookies and of the removal of unreadable ones: a browser
    /// only replaces a cookie with the same name, path and domain. Its name and value are
    /// ignored. Default: `Path=/; Secure; HttpOnly; SameSite=Lax`, a session cookie.
    ///
    /// The jar cannot copy the attributes of the cookie it re-issues: a browser sends back
    /// only names and values. So a template replaces them all:
    /// - **Persistence has to be in the template.** A cookie you set with `Max-Age` or
    ///   `Expires` is re-issued as a session cookie (gone when the browser closes) unless the
    ///   template carries a `Max-Age` (or `Expires`) too.
    /// - **Keep `Secure` in it.** A template without `Secure` downgrades every re-issued
    ///   cookie to one the browser also sends over plain HTTP. For development over
    ///   `http://`, prefer [`insecure_reissue`](Self::insecure_reissue), which says so.
    #[must_use]
    pub fn reissue_template(mut self, template: Cookie<'static>) -> Self {
        Arc::make_mut(&mut self.settings).template = template;
        self
    }

    /// **Development over plain `http://` only.** Re-issued cookies (and removals) from the
    /// default template lose `Secure`: a browser (or curl) does not send a `Secure` cookie
    /// over `http://`, and most refuse to store one received over it, so without this a
    /// cookie re-issued after a rotation would be lost on such a server. Never use it where
    /// the site is served over HTTPS: re-issued cookies would then travel in clear text too.
    ///
    /// It changes the current default template (call it after
    /// [`reissue_template`](Self::reissue_template), which replaces it), not the templates
    /// of [`reissue_template_for`](Self::reissue_template_for).
    #[must_use]
    pub fn insecure_reissue(mut self) -> Self {
        Arc::make_mut(&mut self.settings).template.set_secure(false);
        self
    }

    /// Whether re-issued cookies from the default template carry `Secure` (default: yes;
    /// see [`insecure_reissue`](Self::insecure_reissue)).
    pub fn reissues_secure(&self) -> bool {
        self.settings.template.secure() == Some(true)
    }

    /// As [`reissue_template`](Self::reissue_template), for the cookie called `name` only.
    #[must_use]
    pub fn reissue_template_for(
        mut self,
        name: impl Into<String>,
        template: Cookie<'static>,
    ) -> Self {
        Arc::make_mut(&mut self.settings)
            .templates
            .insert(name.into(), template);
        self
    }

    /// The protector of the cookie called `name` (purposes `[APP, "keyward-axum", "cookie",
    /// NAME]`): for tools that make or read such cookies outside a request.
    pub fn protector(&self, name: &str) -> Protector {
        if let Some(found) = self
            .protectors
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
        {
            return found.clone();
        }
        let made = self.settings.base.protector(name);
        let mut cache = self
            .protectors
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() < MAX_CACHED_NAMES {
            // A racing request may have put one there: keep the first, so every request
            // shares one protector (and its cached subkeys).
            return cache.entry(name.to_owned()).or_insert(made).clone();
        }
        made
    }

    /// A cookie called `name` with `value` and the re-issue attributes of that name.
    pub(crate) fn templated(&self, name: &str, value: String) -> Cookie<'static> {
        let template = self
            .settings
            .templates
            .get(name)
            .unwrap_or(&self.settings.template);
        let mut cookie = template.clone();
        cookie.set_name(name.to_owned());
        cookie.set_value(value);
        cookie
    }
}

/// `Path=/; Secure; HttpOnly; SameSite=Lax`, as [`AspNetCoreLogin`](crate::AspNetCoreLogin)
/// issues its cookie by default.
fn default_template() -> Cookie<'static> {
    Cookie::build(("", ""))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}
