//! The purpose chains ASP.NET Core uses (after the application name), for
//! `inspect --try-known-purposes`.
//!
//! Sources: `docs/spec/payload.md` §11 and `docs/spec/login-cookie.md`
//! (cookie authentication, antiforgery, session, TempData, OpenID Connect state and nonce were
//! measured on a real ASP.NET Core 10 site); the others are read from the ASP.NET Core sources
//! and marked so below.

/// Cookie authentication (`PostConfigureCookieAuthenticationOptions`): then the scheme, `v2`.
pub const COOKIE_AUTHENTICATION: &str =
    "Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware";

/// The schemes tried for cookie authentication when `--scheme` is not given: the default
/// `Cookies` and ASP.NET Core Identity's four.
pub const DEFAULT_COOKIE_SCHEMES: [&str; 5] = [
    "Cookies",
    "Identity.Application",
    "Identity.External",
    "Identity.TwoFactorUserId",
    "Identity.TwoFactorRememberMe",
];

/// The OpenID Connect handler's type name: state `[handler, scheme, v1]`, nonce
/// `[handler, System.String, scheme, v1]` (`docs/spec/payload.md` §11, measured).
pub const OPENID_CONNECT_HANDLER: &str =
    "Microsoft.AspNetCore.Authentication.OpenIdConnect.OpenIdConnectHandler";

/// Remote-authentication handlers whose state is protected as `[typeof(THandler).FullName,
/// scheme, v1]` (`OAuthPostConfigureOptions`, `TwitterPostConfigureOptions`,
/// `WsFederationPostConfigureOptions`), with their default schemes. Read from the ASP.NET Core
/// sources, not measured: unsure for versions before 3.0.
const REMOTE_HANDLERS: [(&str, &str, &str); 5] = [
    (
        "Microsoft Account state",
        "Microsoft.AspNetCore.Authentication.MicrosoftAccount.MicrosoftAccountHandler",
        "Microsoft",
    ),
    (
        "Google state",
        "Microsoft.AspNetCore.Authentication.Google.GoogleHandler",
        "Google",
    ),
    (
        "Facebook state",
        "Microsoft.AspNetCore.Authentication.Facebook.FacebookHandler",
        "Facebook",
    ),
    (
        "Twitter request token",
        "Microsoft.AspNetCore.Authentication.Twitter.TwitterHandler",
        "Twitter",
    ),
    (
        "WS-Federation state",
        "Microsoft.AspNetCore.Authentication.WsFederation.WsFederationHandler",
        "WsFederation",
    ),
];

/// Chains that take no scheme: label and purposes.
const FIXED: [(&str, &[&str]); 5] = [
    // docs/spec/payload.md §11 (measured): cookie and request tokens.
    (
        "antiforgery token",
        &["Microsoft.AspNetCore.Antiforgery.AntiforgeryToken.v1"],
    ),
    // docs/spec/payload.md §11 (measured): the session cookie (standard base64, URL-escaped).
    ("session cookie", &["SessionMiddleware"]),
    // docs/spec/payload.md §11 (measured on .NET 10).
    (
        "TempData cookie",
        &["Microsoft.AspNetCore.Mvc.CookieTempDataProviderToken.v1"],
    ),
    // docs/spec/payload.md §11 gives this as the name of older versions; not measured.
    (
        "TempData cookie (older name)",
        &["Microsoft.AspNetCore.Mvc.ViewFeatures.CookieTempDataProviderToken.v1"],
    ),
    // ASP.NET Core Identity's `DataProtectorTokenProvider` (password reset, e-mail
    // confirmation; standard base64): `CreateProtector(Options.Name ?? "DataProtectorTokenProvider")`.
    // Read from the sources, not measured; an app may rename it.
    (
        "Identity token (DataProtectorTokenProvider)",
        &["DataProtectorTokenProvider"],
    ),
];

/// One chain to try: what it is, and its purposes after the application name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownChain {
    /// What uses it ("cookie authentication, scheme Cookies").
    pub label: String,
    /// The purposes after the application name.
    pub purposes: Vec<String>,
}

impl KnownChain {
    fn new(label: String, purposes: &[&str]) -> Self {
        Self {
            label,
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

/// The scheme a cookie named `.AspNetCore.<scheme>` belongs to (cookie authentication names
/// its cookie `.AspNetCore.` + `Uri.EscapeDataString(scheme)`), unless the name is one of the
/// other ASP.NET Core cookies.
pub fn scheme_from_cookie_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix(".AspNetCore.")?;
    let others = [
        "Antiforgery.",
        "Session",
        "Mvc.CookieTempDataProvider",
        "Correlation.",
        "OpenIdConnect.Nonce.",
    ];
    if rest.is_empty() || others.iter().any(|o| rest.starts_with(o)) {
        return None;
    }
    Some(unescape(rest))
}

/// `Uri.UnescapeDataString` for the ASCII escapes a scheme name can hold.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escaped = rest
            .get(at + 1..at + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii);
        match escaped {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every chain to try, most likely first, without duplicates. `schemes` (from `--scheme`)
/// replaces each handler's default schemes; `cookie_scheme` (from the cookie's name) is tried
/// first for cookie authentication.
pub fn known_chains(schemes: &[String], cookie_scheme: Option<&str>) -> Vec<KnownChain> {
    let given = |defaults: &[&str]| -> Vec<String> {
        if schemes.is_empty() {
            defaults.iter().map(|s| (*s).to_owned()).collect()
        } else {
            schemes.to_vec()
        }
    };
    let mut cookie_schemes: Vec<String> = cookie_scheme.map(str::to_owned).into_iter().collect();
    cookie_schemes.extend(given(&DEFAULT_COOKIE_SCHEMES));

    let mut chains = Vec::new();
    for scheme in &cookie_schemes {
        chains.push(KnownChain::new(
            format!("cookie authentication, scheme {scheme}"),
            &[COOKIE_AUTHENTICATION, scheme, "v2"],
        ));
    }
    for (label, purposes) in FIXED {
        chains.push(KnownChain::new(label.to_owned(), purposes));
    }
    for scheme in given(&["OpenIdConnect"]) {
        chains.push(KnownChain::new(
            format!("OpenID Connect state, scheme {scheme}"),
            &[OPENID_CONNECT_HANDLER, &scheme, "v1"],
        ));
        chains.push(KnownChain::new(
            format!("OpenID Connect nonce, scheme {scheme}"),
            &[OPENID_CONNECT_HANDLER, "System.String", &scheme, "v1"],
        ));
    }
    for (label, handler, default_scheme) in REMOTE_HANDLERS {
        for scheme in given(&[default_scheme]) {
            chains.push(KnownChain::new(
                format!("{label}, scheme {scheme}"),
                &[handler, &scheme, "v1"],
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    chains.retain(|chain| seen.insert(chain.purposes.clone()));
    chains
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_the_measured_chains() {
        let chains = known_chains(&[], None);
        let has = |purposes: &[&str]| chains.iter().any(|c| c.purposes == purposes);
        assert!(has(&[COOKIE_AUTHENTICATION, "Cookies", "v2"]));
        assert!(has(&[COOKIE_AUTHENTICATION, "Identity.Application", "v2"]));
        assert!(has(&[
            "Microsoft.AspNetCore.Antiforgery.AntiforgeryToken.v1"
        ]));
        assert!(has(&["SessionMiddleware"]));
        assert!(has(&[
            "Microsoft.AspNetCore.Mvc.CookieTempDataProviderToken.v1"
        ]));
        assert!(has(&[OPENID_CONNECT_HANDLER, "OpenIdConnect", "v1"]));
        assert!(has(&[
            OPENID_CONNECT_HANDLER,
            "System.String",
            "OpenIdConnect",
            "v1"
        ]));
        assert_eq!(chains[0].label, "cookie authentication, scheme Cookies");
    }

    #[test]
    fn given_schemes_replace_defaults_and_the_cookie_scheme_comes_first() {
        let chains = known_chains(&["Admin".to_owned()], Some("My Scheme"));
        assert_eq!(
            chains[0].purposes,
            [COOKIE_AUTHENTICATION, "My Scheme", "v2"]
        );
        assert!(chains.iter().all(|c| !c
            .purposes
            .iter()
            .any(|p| p == "Cookies" || p == "OpenIdConnect")));
        assert!(chains
            .iter()
            .any(|c| c.purposes == [OPENID_CONNECT_HANDLER, "Admin", "v1"]));
        // No chain twice.
        let again = known_chains(&["Cookies".to_owned()], Some("Cookies"));
        assert_eq!(
            again
                .iter()
                .filter(|c| c.purposes == [COOKIE_AUTHENTICATION, "Cookies", "v2"])
                .count(),
            1
        );
    }

    #[test]
    fn cookie_names_give_their_scheme() {
        assert_eq!(
            scheme_from_cookie_name(".AspNetCore.Identity.Application").as_deref(),
            Some("Identity.Application")
        );
        assert_eq!(
            scheme_from_cookie_name(".AspNetCore.My%20Scheme").as_deref(),
            Some("My Scheme")
        );
        assert_eq!(scheme_from_cookie_name(".AspNetCore.Session"), None);
        assert_eq!(
            scheme_from_cookie_name(".AspNetCore.Antiforgery.47DEQpj8HBQ"),
            None
        );
        assert_eq!(scheme_from_cookie_name("session"), None);
        assert_eq!(
            scheme_from_cookie_name(".AspNetCore.a%zz%").as_deref(),
            Some("a%zz%")
        );
    }
}
