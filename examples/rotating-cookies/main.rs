//! An axum app whose protected cookie survives key rotations: see README.md beside this file.
//!
//! `cargo run -p keyward-axum --example rotating-cookies`, then `/login/NAME`, `/`, `/logout`.
//! The key directory is `KEYWARD_KEYS_DIR` (the variable the `keyward` CLI reads too, so both
//! work on one ring), default `./rotating-cookies-keys`; the address is `LISTEN`, default
//! `127.0.0.1:3000`.

use std::net::SocketAddr;

use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use keyward::time::Duration;
use keyward::Provider;
use keyward_axum::cookie::Cookie;
use keyward_axum::{CookieProtection, ProtectError, ProtectedCookieJar};

const COOKIE: &str = "user";

#[derive(Clone)]
struct AppState {
    provider: Provider,
    cookies: CookieProtection,
}

impl FromRef<AppState> for CookieProtection {
    fn from_ref(state: &AppState) -> Self {
        state.cookies.clone()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,keyward_axum=debug".into()),
        )
        .init();
    let keys =
        std::env::var_os("KEYWARD_KEYS_DIR").unwrap_or_else(|| "rotating-cookies-keys".into());
    let listen: SocketAddr = std::env::var("LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;

    // Building a provider reads the ring (I/O): do it before the runtime starts.
    let provider = Provider::builder()
        .application_name("rotating-cookies")
        .key_directory(&keys)
        // A demo: see keys made by `keyward keys new` within 5 s (the default is 24 h).
        .refresh_period(Duration::seconds(5))
        .build()?;
    let state = AppState {
        // This demo serves plain http://127.0.0.1:3000, and curl (like browsers, outside
        // their localhost exceptions) does not send a `Secure` cookie over http://. So its
        // cookies are not `Secure`, and the re-issues after a rotation must not be either:
        // opt out of the default `Secure` re-issue template, explicitly. Behind HTTPS, drop
        // `.insecure_reissue()` and add `.secure(true)` to the cookie set in `login`.
        cookies: CookieProtection::new(&provider).insecure_reissue(),
        provider,
    };
    let app = Router::new()
        .route("/", get(show))
        .route("/login/{name}", get(login))
        .route("/logout", get(logout))
        .with_state(state);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        tracing::info!(%listen, keys = %std::path::Path::new(&keys).display(), "serving");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })?;
    Ok(())
}

async fn login(
    jar: ProtectedCookieJar,
    Path(name): Path<String>,
) -> Result<(ProtectedCookieJar, String), ProtectError> {
    // Not `Secure`: the demo is served over plain http:// (see `insecure_reissue` in main).
    // No Max-Age: a session cookie, as re-issues are (the template has no Max-Age either).
    let jar = jar.add(
        Cookie::build((COOKIE, name.clone()))
            .path("/")
            .http_only(true),
    )?;
    Ok((jar, format!("signed in as {name}\n")))
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: ProtectedCookieJar,
) -> (StatusCode, ProtectedCookieJar, String) {
    let current = state
        .provider
        .default_key_at(state.provider.now())
        .map_or_else(|| "none".to_owned(), |id| id.to_string());
    let Some(user) = jar.get(COOKIE) else {
        return (
            StatusCode::UNAUTHORIZED,
            jar,
            format!("not signed in (or the cookie was refused)\ncurrent key {current}\n"),
        );
    };
    let under = key_of_request_cookie(&headers).unwrap_or_else(|| "?".into());
    let note = if under == current {
        "under the current key"
    } else {
        "under an older key: re-issued under the current key in this response"
    };
    (
        StatusCode::OK,
        jar,
        format!(
            "hello {}\ncookie key  {under} ({note})\ncurrent key {current}\n",
            user.value()
        ),
    )
}

async fn logout(jar: ProtectedCookieJar) -> (ProtectedCookieJar, &'static str) {
    (jar.remove(Cookie::build(COOKIE).path("/")), "signed out\n")
}

/// The key id the request's (still protected) cookie names: for the demo's output only.
fn key_of_request_cookie(headers: &HeaderMap) -> Option<String> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)?;
    let payload = keyward::encoding::base64url_decode(cookie.value()).ok()?;
    let (key_id, _) = keyward::payload::parse(&payload).ok()?;
    Some(key_id.to_string())
}
