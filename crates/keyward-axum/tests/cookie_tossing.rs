//! Cookie tossing: a second cookie of one name (set by a sibling subdomain or an insecure
//! origin, with a more general path or domain) comes after the genuine one in the request.
//! The first cookie of a name wins, as in .NET's request cookie collection.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use common::provider;
use keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
    NAME_CLAIM_TYPE,
};
use keyward_axum::{AspNetCoreLogin, CookieProtection, ProtectedCookieJar};

fn headers(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(COOKIE, HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn sealed(protection: &CookieProtection, name: &str, value: &str) -> String {
    protection.protector(name).protect_str(value).unwrap()
}

#[test]
fn the_first_of_two_jar_cookies_with_one_name_wins() {
    let (provider, _clock) = provider("shop");
    let protection = CookieProtection::new(&provider);
    let victim = sealed(&protection, "sid", "victim-session");
    let attacker = sealed(&protection, "sid", "attacker-session");

    // One header: `sid=<victim>; sid=<attacker>`.
    let one = headers(&[&format!("sid={victim}; sid={attacker}")]);
    let jar = ProtectedCookieJar::from_headers(&one, protection.clone());
    assert_eq!(jar.get("sid").unwrap().value(), "victim-session");
    let all: Vec<String> = jar.iter().map(|c| c.value().to_owned()).collect();
    assert_eq!(all, ["victim-session"]);

    // Two Cookie headers (HTTP/2 may split them): still the first.
    let two = headers(&[&format!("sid={victim}"), &format!("sid={attacker}")]);
    let jar = ProtectedCookieJar::from_headers(&two, protection.clone());
    assert_eq!(jar.get("sid").unwrap().value(), "victim-session");

    // A tossed cookie that does not open does not displace the genuine one either.
    let junk = headers(&[&format!("sid={victim}; sid=garbage")]);
    let jar = ProtectedCookieJar::from_headers(&junk, protection);
    assert_eq!(jar.get("sid").unwrap().value(), "victim-session");
    assert!(
        jar.set_cookie_headers().is_empty(),
        "{:?}",
        jar.set_cookie_headers()
    );
}

fn login_value(login: &AspNetCoreLogin, name: &str) -> String {
    let mut identity = ClaimsIdentity::new("Cookies");
    identity.claims.push(Claim::new(NAME_CLAIM_TYPE, name));
    let ticket = AuthenticationTicket::new(
        "Cookies",
        ClaimsPrincipal::new(identity),
        AuthenticationProperties::new(),
    );
    login.format().protect(&ticket).unwrap()
}

#[test]
fn the_first_of_two_login_cookies_with_one_name_wins() {
    let (provider, _clock) = provider("shop");
    let login = AspNetCoreLogin::new(&provider);
    let victim = login_value(&login, "victim");
    let attacker = login_value(&login, "attacker");
    let one = headers(&[&format!(
        ".AspNetCore.Cookies={victim}; .AspNetCore.Cookies={attacker}"
    )]);
    assert_eq!(
        login.user_from_headers(&one).unwrap().name(),
        Some("victim")
    );
    let two = headers(&[
        &format!(".AspNetCore.Cookies={victim}"),
        &format!(".AspNetCore.Cookies={attacker}"),
    ]);
    assert_eq!(
        login.user_from_headers(&two).unwrap().name(),
        Some("victim")
    );
}
