//! The protected jar end to end: an axum server on a loopback socket, a real HTTP client,
//! keys rotated and revoked on a fake clock.
#![allow(clippy::unwrap_used)]

mod common;

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::{key_of, provider, rotate, serve, Browser};
use keyward_axum::cookie::Cookie;
use keyward_axum::{CookieProtection, ProtectError, ProtectedCookieJar};

#[derive(Clone)]
struct AppState {
    cookies: CookieProtection,
}

impl FromRef<AppState> for CookieProtection {
    fn from_ref(state: &AppState) -> Self {
        state.cookies.clone()
    }
}

async fn set(
    jar: ProtectedCookieJar,
    Path(value): Path<String>,
) -> Result<(ProtectedCookieJar, &'static str), ProtectError> {
    Ok((
        jar.add(Cookie::build(("prefs", value)).path("/").http_only(true))?,
        "set",
    ))
}

async fn read(jar: ProtectedCookieJar) -> (StatusCode, ProtectedCookieJar, String) {
    match jar.get("prefs") {
        Some(cookie) => {
            let value = cookie.value().to_owned();
            (StatusCode::OK, jar, value)
        }
        None => (StatusCode::UNAUTHORIZED, jar, String::new()),
    }
}

/// Reads the cookie, then replaces it: the handler's own change wins over the re-issue.
async fn replace(
    jar: ProtectedCookieJar,
    Path(value): Path<String>,
) -> Result<ProtectedCookieJar, ProtectError> {
    let _old = jar.get("prefs");
    jar.add(Cookie::build(("prefs", value)).path("/"))
}

async fn logout(jar: ProtectedCookieJar) -> ProtectedCookieJar {
    jar.remove(Cookie::build("prefs").path("/"))
}

fn app(protection: CookieProtection) -> Router {
    Router::new()
        .route("/set/{value}", get(set))
        .route("/get", get(read))
        .route("/replace/{value}", get(replace))
        .route("/logout", get(logout))
        .with_state(AppState {
            cookies: protection,
        })
}

#[tokio::test]
async fn a_cookie_survives_two_rotations_and_dies_with_its_key() {
    let (provider, clock) = provider("shop");
    let first_key = provider.default_key_at(provider.now()).unwrap();
    let addr = serve(app(CookieProtection::new(&provider))).await;
    let mut browser = Browser::new(addr);

    let reply = browser.get("/set/dark").await;
    assert_eq!(reply.status, StatusCode::OK);
    let issued = reply.set_cookie("prefs").unwrap();
    assert_eq!(key_of(issued.value()), first_key);
    assert_eq!(issued.http_only(), Some(true));
    assert_ne!(issued.value(), "dark");

    // Under the current key: read, nothing sent back.
    let reply = browser.get("/get").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "dark")
    );
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);

    // Rotation 1: still read, and re-issued under the new key once.
    let second_key = rotate(&provider, &clock);
    let reply = browser.get("/get").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "dark")
    );
    let reissued = reply.set_cookie("prefs").unwrap();
    assert_eq!(key_of(reissued.value()), second_key);
    assert_eq!(reissued.path(), Some("/"));
    assert_eq!(reissued.http_only(), Some(true));
    // The default template is Secure: a re-issue never downgrades a Secure cookie.
    assert_eq!(reissued.secure(), Some(true), "{reissued}");
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.set_cookies.is_empty());

    // Rotation 2: the same again.
    let third_key = rotate(&provider, &clock);
    let reply = browser.get("/get").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "dark")
    );
    assert_eq!(
        key_of(reply.set_cookie("prefs").unwrap().value()),
        third_key
    );

    // The current cookie's key revoked: treated as absent and removed.
    provider.revoke_key(third_key, "test").unwrap();
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let removal = reply.set_cookie("prefs").unwrap();
    assert_eq!(removal.max_age(), Some(keyward::time::Duration::ZERO));
    assert_eq!(removal.path(), Some("/"));
    assert!(browser.cookies.is_empty());
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.set_cookies.is_empty());
}

#[tokio::test]
async fn an_old_cookie_stops_when_its_key_is_revoked() {
    let (provider, clock) = provider("shop");
    let first_key = provider.default_key_at(provider.now()).unwrap();
    let addr = serve(app(CookieProtection::new(&provider))).await;
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    let old_cookie = browser.cookies["prefs"].clone();

    rotate(&provider, &clock);
    provider.revoke_key(first_key, "leaked").unwrap();
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.set_cookie("prefs").unwrap().max_age(),
        Some(keyward::time::Duration::ZERO)
    );

    // The same value replayed by another client: still refused.
    let mut replay = Browser::new(addr);
    replay.cookies.insert("prefs".into(), old_cookie);
    assert_eq!(replay.get("/get").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reissue_can_be_turned_off() {
    let (provider, clock) = provider("shop");
    let addr = serve(app(CookieProtection::new(&provider).reissue(false))).await;
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    rotate(&provider, &clock);
    let reply = browser.get("/get").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "dark")
    );
    assert!(reply.set_cookies.is_empty());
}

#[tokio::test]
async fn insecure_reissue_is_an_explicit_opt_out_and_persistence_comes_from_the_template() {
    // Development over plain http://: re-issues without Secure, because asked.
    let (dev, clock) = provider("shop");
    let protection = CookieProtection::new(&dev).insecure_reissue();
    assert!(!protection.reissues_secure());
    let addr = serve(app(protection)).await;
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    rotate(&dev, &clock);
    let reply = browser.get("/get").await;
    let reissued = reply.set_cookie("prefs").unwrap();
    assert_eq!(reissued.secure(), None, "{reissued}");
    assert_eq!(reissued.http_only(), Some(true));

    // A template with a Max-Age: the re-issue is persistent (and Secure, as the template).
    let (provider, clock) = provider("shop");
    let protection = CookieProtection::new(&provider).reissue_template(
        Cookie::build(("", ""))
            .path("/")
            .secure(true)
            .http_only(true)
            .max_age(keyward_axum::cookie::time::Duration::days(30))
            .build(),
    );
    assert!(protection.reissues_secure());
    let addr = serve(app(protection)).await;
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    rotate(&provider, &clock);
    let reply = browser.get("/get").await;
    let reissued = reply.set_cookie("prefs").unwrap();
    assert_eq!(reissued.secure(), Some(true), "{reissued}");
    assert_eq!(
        reissued.max_age(),
        Some(keyward_axum::cookie::time::Duration::days(30))
    );
}

#[tokio::test]
async fn tampered_foreign_and_other_purpose_cookies_are_removed() {
    let (provider, _clock) = provider("shop");
    let protection = CookieProtection::new(&provider);
    let addr = serve(app(protection.clone())).await;

    // Tampered: one character of a valid value changed.
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    let mut value = browser.cookies["prefs"].clone().into_bytes();
    let last = value.len() - 5;
    value[last] = if value[last] == b'A' { b'B' } else { b'A' };
    browser
        .cookies
        .insert("prefs".into(), String::from_utf8(value).unwrap());
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.set_cookie("prefs").is_some());

    // Made for another cookie name: the purposes differ.
    let other = protection.protector("theme").protect(b"dark").unwrap();
    let mut browser = Browser::new(addr);
    browser
        .cookies
        .insert("prefs".into(), keyward::encoding::base64url_encode(&other));
    assert_eq!(browser.get("/get").await.status, StatusCode::UNAUTHORIZED);

    // Made by another application on the same ring... here simply another provider.
    let (stranger, _) = common::provider("shop");
    let foreign = CookieProtection::new(&stranger)
        .protector("prefs")
        .protect(b"dark")
        .unwrap();
    let mut browser = Browser::new(addr);
    browser.cookies.insert(
        "prefs".into(),
        keyward::encoding::base64url_encode(&foreign),
    );
    // Its key is not in this ring: absent, but left alone (it may arrive with a refresh).
    let reply = browser.get("/get").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.set_cookies.is_empty());

    // Not base64 at all, and plain text.
    for junk in ["%%%", "dark", ""] {
        let mut browser = Browser::new(addr);
        browser.cookies.insert("prefs".into(), junk.into());
        let reply = browser.get("/get").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{junk:?}");
    }
}

#[tokio::test]
async fn the_handler_s_own_change_wins_over_a_reissue() {
    let (provider, clock) = provider("shop");
    let addr = serve(app(CookieProtection::new(&provider))).await;
    let mut browser = Browser::new(addr);
    browser.get("/set/dark").await;
    let new_key = rotate(&provider, &clock);

    let reply = browser.get("/replace/light").await;
    let cookies: Vec<_> = reply
        .set_cookies
        .iter()
        .filter(|c| c.name() == "prefs")
        .collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert_eq!(key_of(cookies[0].value()), new_key);
    assert_eq!(browser.get("/get").await.body, "light");

    let reply = browser.get("/logout").await;
    assert_eq!(reply.set_cookies.len(), 1);
    assert!(browser.cookies.is_empty());
}

#[tokio::test]
async fn purposes_and_a_jar_outside_a_request() {
    let (provider, _clock) = provider("shop");
    let protection = CookieProtection::new(&provider);
    let sealed = protection.protector("prefs").protect(b"dark").unwrap();
    assert_eq!(
        protection.protector("prefs").purposes(),
        ["shop", "keyward-axum", "cookie", "prefs"]
    );
    let jar = ProtectedCookieJar::from_headers(
        &[(
            axum::http::header::COOKIE,
            format!(
                "_ga=GA1.1.1; prefs={}",
                keyward::encoding::base64url_encode(&sealed)
            )
            .parse()
            .unwrap(),
        )]
        .into_iter()
        .collect(),
        protection,
    );
    assert_eq!(jar.get("prefs").unwrap().value(), "dark");
    // Iterating skips the request's other cookies and leaves them alone.
    assert_eq!(jar.iter().count(), 1);
    assert!(jar.set_cookie_headers().is_empty());
    // Asking for a cookie by name that is not this jar's removes it.
    assert!(jar.get("_ga").is_none());
    assert_eq!(jar.set_cookie_headers().len(), 1);
}
