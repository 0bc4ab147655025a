//! # keyward-axum
//!
//! Cookies for axum protected by a keyward key ring. Rust's cookie and session crates hold one
//! fixed key, and rotating it logs every user out. A keyward ring rotates on its own, across a
//! farm (and beside ASP.NET Core servers sharing the ring): cookies issued under an older key
//! keep working and are re-issued under the current one when read; cookies under a revoked key
//! stop working at once.
//!
//! ```
//! use axum::{extract::FromRef, routing::get, Router};
//! use keyward_axum::{cookie::Cookie, CookieProtection, ProtectError, ProtectedCookieJar};
//!
//! #[derive(Clone)]
//! struct AppState {
//!     cookies: CookieProtection,
//! }
//!
//! impl FromRef<AppState> for CookieProtection {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.cookies.clone()
//!     }
//! }
//!
//! async fn login(jar: ProtectedCookieJar) -> Result<ProtectedCookieJar, ProtectError> {
//!     jar.add(Cookie::build(("user", "alice")).path("/").http_only(true))
//! }
//!
//! async fn me(jar: ProtectedCookieJar) -> (ProtectedCookieJar, String) {
//!     let user = jar.get("user").map(|c| c.value().to_owned());
//!     (jar, user.unwrap_or_else(|| "anonymous".into()))
//! }
//!
//! // Build the provider before the runtime starts (or in `spawn_blocking`): it reads the ring.
//! let provider = keyward::Provider::ephemeral("shop")?;
//! let app: Router = Router::new()
//!     .route("/login", get(login))
//!     .route("/me", get(me))
//!     .with_state(AppState { cookies: CookieProtection::new(&provider) });
//! # Ok::<(), keyward::Error>(())
//! ```
//!
//! ## Async safety
//!
//! - **Protecting and opening cookies never do I/O** on the caller's thread: they read an
//!   in-memory snapshot of the key ring, which keyward's own refresh thread replaces. Call them
//!   directly in handlers; no `spawn_blocking` is needed. One exception is bounded: a cookie
//!   under a key id the ring does not hold makes the call wait (at most
//!   [`unknown_key_wait`](keyward::KeyManagementPolicy::unknown_key_wait), 2 s by default, at
//!   most once per 30 s) for the refresh thread to re-read the ring. Set it to zero with
//!   [`ProviderBuilder::policy`](keyward::ProviderBuilder::policy) to never block a worker.
//! - **Building a [`Provider`](keyward::Provider) does I/O**: it reads the key ring from its
//!   store (a directory, Redis, PostgreSQL) and may create the first key. Build it before
//!   starting the runtime, or in `tokio::task::spawn_blocking`, then share it (it is cheap to
//!   clone); so are [`Provider::create_key`](keyward::Provider::create_key),
//!   [`revoke_key`](keyward::Provider::revoke_key) and
//!   [`refresh`](keyward::Provider::refresh).
//!
//! ## Re-issued and removed cookies need the jar returned
//!
//! As with axum-extra's jars, `Set-Cookie` headers come from the jar a handler returns. A
//! handler that reads a cookie and drops the jar reads it fine, but the re-issue under the
//! current key (or the removal of a refused cookie) waits for a handler that returns it.
//!
//! ## Re-issued cookies: `Secure` and persistence
//!
//! A browser sends back a cookie's name and value, never its attributes, so a re-issued
//! cookie takes them from [`CookieProtection::reissue_template`]: by default
//! `Path=/; Secure; HttpOnly; SameSite=Lax`, a session cookie.
//!
//! - A cookie you set with `Max-Age` or `Expires` becomes a session cookie at its first
//!   re-issue unless the template carries the same `Max-Age`.
//! - `Secure` is on by default (as in [`AspNetCoreLogin`]). Over plain `http://` in
//!   development, where browsers and curl neither store nor send `Secure` cookies, opt out
//!   explicitly with [`CookieProtection::insecure_reissue`]; never in production.
//!
//! ```
//! use keyward_axum::cookie::{time::Duration, Cookie, SameSite};
//! use keyward_axum::CookieProtection;
//!
//! let provider = keyward::Provider::ephemeral("shop")?;
//! // Persistent cookies of 30 days, re-issued as such.
//! let protection = CookieProtection::new(&provider).reissue_template(
//!     Cookie::build(("", ""))
//!         .path("/")
//!         .secure(true)
//!         .http_only(true)
//!         .same_site(SameSite::Lax)
//!         .max_age(Duration::days(30))
//!         .build(),
//! );
//! assert!(protection.reissues_secure());
//! // Development over http://localhost only.
//! assert!(!CookieProtection::new(&provider).insecure_reissue().reissues_secure());
//! # Ok::<(), keyward::Error>(())
//! ```
//!
//! ## Cookie names: prefer `__Host-`
//!
//! A sibling subdomain (or any response over plain `http://`) can set a cookie with your
//! cookie's name for a broader domain or path; the browser then sends both (*cookie
//! tossing*). keyward-axum takes the **first** cookie of a name, as ASP.NET Core does, and the
//! browser sends the most specific one first; but only a `__Host-` name (`__Host-sid`, set
//! with `Secure`, `Path=/` and no `Domain`) keeps other origins from setting it at all. Set
//! the re-issue template to those attributes too (the default template is `Path=/; Secure`).
//!
//! ## Errors
//!
//! Every error of the crate has one shape ([`ProtectError`], [`LoginError`],
//! [`LoginRejection`]): it says what failed, keeps its cause as its `source`, and is a response
//! on its own (500, or 401 for a request without a valid login), logging the cause and
//! sending none of it.
//!
//! ## tower-sessions
//!
//! There is no keyward signer for tower-sessions' session cookie, on purpose: tower-sessions
//! has no pluggable cookie signer or encryptor. Its session layer signs or encrypts the
//! session-id cookie with one fixed `cookie::Key` (`with_signed(key)` / `with_private(key)`);
//! the controller trait behind them is `#[doc(hidden)]`, not a public extension point. A
//! `SessionStore` wrapper would be the wrong layer: the store holds session records on the
//! server, and the cookie (what the key protects) never passes through it.
//!
//! The alternative: keep the session id in a [`ProtectedCookieJar`] cookie and look the
//! session up in your own store. The id is then protected by the rotating ring, and a revoked
//! key ends the sessions it protected.
//!
//! ```
//! use keyward_axum::{cookie::Cookie, ProtectError, ProtectedCookieJar};
//!
//! /// The session id, if the browser holds a valid one.
//! fn session_id(jar: &ProtectedCookieJar) -> Option<String> {
//!     jar.get("__Host-sid").map(|c| c.value().to_owned())
//! }
//!
//! /// Starts a session: `id` is a fresh random id, its record already in your store.
//! fn start_session(jar: ProtectedCookieJar, id: String) -> Result<ProtectedCookieJar, ProtectError> {
//!     jar.add(Cookie::build(("__Host-sid", id)).path("/").http_only(true).secure(true))
//! }
//! ```

#![forbid(unsafe_code)]

mod cookie_jar;
mod cookie_protection;
mod cookie_value;
mod error;
mod jar_extractor;
mod login;

pub use cookie;
pub use cookie_jar::ProtectedCookieJar;
pub use cookie_protection::{CookieProtection, COOKIE_PURPOSES};
pub use error::{LoginError, LoginRejection, ProtectError};
pub use keyward_aspnetcore;
pub use login::{
    session_key, AspNetCoreLogin, AspNetCoreUser, LoginCookies, TicketStore, TicketValidation,
    DEFAULT_COOKIE_NAME, DEFAULT_EXPIRE_AFTER, DEFAULT_SCHEME, SESSION_ID_CLAIM_TYPE,
};
