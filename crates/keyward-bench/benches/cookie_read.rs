//! Reading a login cookie per request: keyward's ASP.NET Core login beside axum-extra's
//! `PrivateCookieJar`, in one criterion run.
//!
//! Ids:
//! - `cookie_read/keyward_login_cookie`: a `Cookie` header holding a ~1 KB `.AspNetCore.Cookies`
//!   login (a ticket with 8 claims) and two other cookies, read as the `AspNetCoreUser`
//!   extractor reads it: header parsed, chunks reassembled, unprotected (AES-256-CBC +
//!   HMAC-SHA256, .NET's default), the ticket deserialized, `.expires` checked.
//! - `cookie_read/keyward_jar`: `ProtectedCookieJar::from_headers(..).get(..)` of a cookie value
//!   of the same length (the jar's `get` opens under the cookie's own purpose chain).
//! - `cookie_read/axum_extra_private_jar`: `PrivateCookieJar::from_headers(..).get(..)` (one
//!   fixed AES-256-GCM key) of a cookie value of the same length, beside the same two cookies.
//!
//! Every entry parses the header on every iteration, as a request does. Reproduce with
//! `cargo bench -p keyward-bench --bench cookie_read` (see BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a failure stops the run with its cause.

use std::hint::black_box;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar};
use criterion::{criterion_group, criterion_main, Criterion};
use keyward::time::Duration;
use keyward::Provider;
use keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
    NAME_CLAIM_TYPE, NAME_IDENTIFIER_CLAIM_TYPE, ROLE_CLAIM_TYPE,
};
use keyward_axum::{AspNetCoreLogin, CookieProtection, ProtectedCookieJar};

const OTHER_COOKIES: &str = "theme=dark; _ga=GA1.1.123456789.1700000000";

/// A typical login: name, id, e-mail, two roles, tenant, locale, security stamp.
fn ticket(provider: &Provider) -> AuthenticationTicket {
    let mut identity = ClaimsIdentity::new("Cookies");
    identity.claims.extend([
        Claim::new(NAME_CLAIM_TYPE, "alice@example.com"),
        Claim::new(
            NAME_IDENTIFIER_CLAIM_TYPE,
            "7d1f3c2a-4b5e-4f60-8a71-92b3c4d5e6f7",
        ),
        Claim::new("email", "alice@example.com"),
        Claim::new(ROLE_CLAIM_TYPE, "customer"),
        Claim::new(ROLE_CLAIM_TYPE, "beta-tester"),
        Claim::new("tenant", "shop-eu-west"),
        Claim::new("locale", "en-GB"),
        Claim::new(
            "AspNet.Identity.SecurityStamp",
            "QWERTYUIOPASDFGHJKLZXCVBNM234567",
        ),
    ]);
    let mut properties = AuthenticationProperties::new();
    properties.set_issued_utc(provider.now());
    properties.set_expires_utc(provider.now() + Duration::days(14));
    AuthenticationTicket::new("Cookies", ClaimsPrincipal::new(identity), properties)
}

fn headers(cookie: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&format!("{OTHER_COOKIES}; {cookie}")).unwrap(),
    );
    headers
}

fn cookie_read(c: &mut Criterion) {
    let provider = Provider::ephemeral("shop").unwrap();
    let login = AspNetCoreLogin::new(&provider);
    let value = login.format().protect(&ticket(&provider)).unwrap();
    assert_eq!(
        login
            .format()
            .unprotect(&value)
            .unwrap()
            .principal
            .identities[0]
            .claims
            .len(),
        8
    );
    let login_headers = headers(&format!(".AspNetCore.Cookies={value}"));
    let len = value.len();
    eprintln!("login cookie value: {len} characters");

    // The jar: a value of the same length (plaintext sized so that the protected value is).
    let protection = CookieProtection::new(&provider);
    let mut plaintext_len = len * 3 / 4 - 100;
    let jar_value = loop {
        let sealed = keyward::encoding::base64url_encode(
            &protection
                .protector("session")
                .protect(&vec![b'x'; plaintext_len])
                .unwrap(),
        );
        if sealed.len() >= len {
            break sealed;
        }
        plaintext_len += 1;
    };
    let jar_headers = headers(&format!("session={jar_value}"));

    // axum-extra: AES-256-GCM, base64(nonce 12 || ciphertext || tag 16).
    let key = Key::generate();
    let mut extra_plaintext_len = len * 3 / 4 - 28;
    let extra_value = loop {
        // The value PrivateCookieJar sets is cookie's PrivateJar's (axum-extra's Key is cookie's).
        let mut plain = cookie::CookieJar::new();
        plain
            .private_mut(&key)
            .add(Cookie::new("session", "x".repeat(extra_plaintext_len)));
        let set = plain.get("session").unwrap().value().to_owned();
        if set.len() >= len {
            break set;
        }
        extra_plaintext_len += 1;
    };
    let extra_headers = headers(&format!("session={extra_value}"));
    eprintln!(
        "jar cookie value: {} characters; axum-extra cookie value: {} characters",
        jar_value.len(),
        extra_value.len()
    );

    let mut group = c.benchmark_group("cookie_read");
    group.bench_function("keyward_login_cookie", |b| {
        b.iter(|| {
            let user = login.user_from_headers(black_box(&login_headers)).unwrap();
            black_box(user.name().map(str::len))
        });
    });
    group.bench_function("keyward_jar", |b| {
        b.iter(|| {
            let jar = ProtectedCookieJar::from_headers(black_box(&jar_headers), protection.clone());
            black_box(jar.get("session").map(|c| c.value().len()))
        });
    });
    group.bench_function("axum_extra_private_jar", |b| {
        b.iter(|| {
            let jar = PrivateCookieJar::from_headers(black_box(&extra_headers), key.clone());
            black_box(jar.get("session").map(|c| c.value().len()))
        });
    });
    group.finish();
}

criterion_group!(benches, cookie_read);
criterion_main!(benches);
