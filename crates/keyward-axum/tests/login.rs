//! The ASP.NET Core login end to end: sign in, read, rotate, revoke, expire, chunk and sign
//! out over a loopback socket with a real HTTP client; then the cookies ASP.NET Core 10 made.
#![allow(clippy::unwrap_used)]

mod common;

use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use common::{key_of, provider, rotate, serve, Browser};
use keyward::time::Duration;
use keyward::Provider;
use keyward_axum::keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
    NAME_CLAIM_TYPE,
};
use keyward_axum::{AspNetCoreLogin, AspNetCoreUser, LoginCookies, LoginError};
use keyward_testdata::real_dir;

#[derive(Clone)]
struct AppState {
    login: AspNetCoreLogin,
}

impl FromRef<AppState> for AspNetCoreLogin {
    fn from_ref(state: &AppState) -> Self {
        state.login.clone()
    }
}

/// Signs `name` in with `claims` permission claims (many make a chunked cookie).
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((name, claims)): Path<(String, usize)>,
) -> Result<(LoginCookies, &'static str), LoginError> {
    let mut identity = ClaimsIdentity::new("Cookies");
    identity.claims.push(Claim::new(NAME_CLAIM_TYPE, name));
    for i in 0..claims {
        identity.claims.push(Claim::new(
            "permission",
            format!("resource-{i:04}:read,write"),
        ));
    }
    let ticket = AuthenticationTicket::new(
        "Cookies",
        ClaimsPrincipal::new(identity),
        AuthenticationProperties::new(),
    );
    Ok((state.login.sign_in(&headers, ticket)?, "signed in"))
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> LoginCookies {
    state.login.sign_out(&headers)
}

async fn me(user: AspNetCoreUser) -> String {
    let mut lines = vec![user.name().unwrap_or("(no name)").to_owned()];
    lines.extend(
        user.claims()
            .map(|c| format!("{}={}", c.claim_type, c.value)),
    );
    lines.join("\n")
}

async fn maybe(user: Option<AspNetCoreUser>) -> String {
    user.and_then(|u| u.name().map(str::to_owned))
        .unwrap_or_else(|| "anonymous".into())
}

fn app(login: AspNetCoreLogin) -> Router {
    Router::new()
        .route("/signin/{name}/{claims}", get(sign_in))
        .route("/signout", get(sign_out))
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .with_state(AppState { login })
}

const COOKIE: &str = ".AspNetCore.Cookies";

#[tokio::test]
async fn sign_in_read_rotate_revoke() {
    let (provider, clock) = provider("shop");
    let first_key = provider.default_key_at(provider.now()).unwrap();
    let addr = serve(app(AspNetCoreLogin::new(&provider))).await;
    let mut browser = Browser::new(addr);

    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/maybe").await.body, "anonymous");

    let reply = browser.get("/signin/alice/2").await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.set_cookie(COOKIE).unwrap();
    assert!(cookie.value().starts_with("CfDJ8"));
    assert_eq!(key_of(cookie.value()), first_key);
    assert_eq!(
        (cookie.path(), cookie.secure(), cookie.http_only()),
        (Some("/"), Some(true), Some(true))
    );
    assert_eq!(cookie.expires(), None, "not persistent: a session cookie");

    let reply = browser.get("/me").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body.lines().collect::<Vec<_>>(),
        [
            "alice",
            &format!("{NAME_CLAIM_TYPE}=alice"),
            "permission=resource-0000:read,write",
            "permission=resource-0001:read,write",
        ]
    );
    assert_eq!(browser.get("/maybe").await.body, "alice");

    // Two rotations: the login made under the first key still reads.
    rotate(&provider, &clock);
    rotate(&provider, &clock);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    // Its key revoked: 401, anonymous.
    provider.revoke_key(first_key, "leaked").unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/maybe").await.body, "anonymous");

    // Signing in again uses the current key.
    let reply = browser.get("/signin/alice/0").await;
    let current = provider.default_key_at(provider.now()).unwrap();
    assert_eq!(key_of(reply.set_cookie(COOKIE).unwrap().value()), current);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_ticket_is_refused() {
    let (provider, clock) = provider("shop");
    let login = AspNetCoreLogin::new(&provider).expire_after(Duration::hours(1));
    let addr = serve(app(login)).await;
    let mut browser = Browser::new(addr);
    browser.get("/signin/alice/0").await;
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    clock.advance(Duration::minutes(61));
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_chunked_login_across_requests_and_sign_out() {
    let (provider, clock) = provider("shop");
    let addr = serve(app(AspNetCoreLogin::new(&provider))).await;
    let mut browser = Browser::new(addr);

    // 300 claims: a ticket of some 16 KB, in several chunks.
    let reply = browser.get("/signin/carol/300").await;
    let names: Vec<String> = reply
        .set_cookies
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let count = names.len() - 1;
    assert!(count >= 4, "{names:?}");
    let mut expected = vec![COOKIE.to_owned()];
    expected.extend((1..=count).map(|i| format!("{COOKIE}C{i}")));
    assert_eq!(names, expected);
    assert_eq!(
        reply.set_cookie(COOKIE).unwrap().value(),
        format!("chunks-{count}")
    );
    for header in &reply.set_cookies {
        // .NET's limit: 4050 characters per Set-Cookie, attributes included.
        assert!(
            header.to_string().len() <= 4100,
            "{}",
            header.to_string().len()
        );
    }

    for _ in 0..3 {
        let reply = browser.get("/me").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body.lines().count(), 302);
        assert!(reply.body.ends_with("permission=resource-0299:read,write"));
    }
    rotate(&provider, &clock);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    // A missing chunk: refused.
    let chunk = browser.cookies.remove(&format!("{COOKIE}C3")).unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    browser.cookies.insert(format!("{COOKIE}C3"), chunk);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    // A shorter login removes the chunks of the longer one.
    let reply = browser.get("/signin/carol/100").await;
    assert_eq!(reply.set_cookie(COOKIE).unwrap().value(), "chunks-2");
    assert!(browser
        .cookies
        .keys()
        .all(|n| !n.ends_with("C3") && !n.ends_with("C4")));
    assert_eq!(browser.cookies.len(), 3);
    assert_eq!(browser.get("/me").await.body.lines().count(), 102);

    // Sign-out removes the cookie and every chunk.
    let reply = browser.get("/signout").await;
    assert_eq!(reply.set_cookies.len(), 3);
    assert!(browser.cookies.is_empty(), "{:?}", browser.cookies.keys());
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tampered_and_other_scheme_logins_are_refused() {
    let (provider, _clock) = provider("shop");
    let addr = serve(app(AspNetCoreLogin::new(&provider))).await;
    let admin_addr = serve(app(AspNetCoreLogin::new(&provider)
        .for_scheme("Admin")
        .cookie_named(COOKIE)))
    .await;

    let mut browser = Browser::new(addr);
    browser.get("/signin/alice/0").await;
    let value = browser.cookies[COOKIE].clone();

    // Same ring and cookie name, another scheme: its purposes differ.
    let mut other = Browser::new(admin_addr);
    other.cookies.insert(COOKIE.into(), value.clone());
    assert_eq!(other.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let mut bytes = value.into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    browser
        .cookies
        .insert(COOKIE.into(), String::from_utf8(bytes).unwrap());
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    for junk in ["chunks-0", "chunks-99999", "", "%%"] {
        browser.cookies.insert(COOKIE.into(), junk.into());
        assert_eq!(
            browser.get("/me").await.status,
            StatusCode::UNAUTHORIZED,
            "{junk}"
        );
    }
}

fn auth_cookie_cases() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(real_dir().join("cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|c| c["kind"] == "auth_cookie")
        .collect();
    assert_eq!(cases.len(), 2, "the simple and the chunked cookie");
    cases
}

/// The two login cookies ASP.NET Core 10 issued (one chunked), sent as the browser sent them.
/// The ring's newest key is revoked; these cookies are under the other key.
#[tokio::test]
async fn real_dotnet_login_cookies_are_read() {
    let provider = Provider::builder()
        .key_directory(real_dir().join("ring"))
        .application_name("shop")
        .read_only(true)
        .build()
        .unwrap();
    let addr = serve(app(AspNetCoreLogin::new(&provider))).await;
    for case in auth_cookie_cases() {
        let mut browser = Browser::new(addr);
        let header = case["cookie_header"].as_str().unwrap();
        for pair in header.split("; ") {
            let (name, value) = pair.split_once('=').unwrap();
            browser.cookies.insert(name.into(), value.into());
        }
        assert_eq!(browser.cookies.len() > 1, case["chunked"] == true);
        let reply = browser.get("/me").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", case["name"]);
        let claims = case["ticket"]["identities"][0]["claims"]
            .as_array()
            .unwrap();
        let mut expected = vec![claims[0]["value"].as_str().unwrap().to_owned()];
        expected.extend(claims.iter().map(|c| {
            format!(
                "{}={}",
                c["type"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        }));
        assert_eq!(
            reply.body.lines().collect::<Vec<_>>(),
            expected,
            "{}",
            case["name"]
        );
    }
}

/// What sign-in writes is what .NET wrote: the real cookies' values, split and rendered by
/// this crate, give the recorded `Set-Cookie` headers byte for byte.
#[test]
fn sign_in_renders_set_cookie_as_dotnet_does() {
    let provider = Provider::ephemeral("shop").unwrap();
    let login = AspNetCoreLogin::new(&provider);
    for case in auth_cookie_cases() {
        let payload = case["payload"].as_str().unwrap();
        let cookies = login
            .sign_in_value(&HeaderMap::new(), payload, None)
            .unwrap();
        let rendered = cookies.headers();
        let recorded: Vec<&str> = case["set_cookie"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(rendered, recorded, "{}", case["name"]);
    }
}
