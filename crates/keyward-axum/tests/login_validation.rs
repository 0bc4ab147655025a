//! Logins ended on the .NET side: tickets that point to a server-side ticket store
//! (`CookieAuthenticationOptions.SessionStore`) and the validation hook (.NET's
//! `OnValidatePrincipal`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use common::provider;
use keyward_axum::keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, Claim, ClaimsIdentity, ClaimsPrincipal,
    NAME_CLAIM_TYPE,
};
use keyward_axum::{
    session_key, AspNetCoreLogin, LoginRejection, TicketValidation, SESSION_ID_CLAIM_TYPE,
};

/// The claim .NET's cookie handler puts in the cookie instead of the user when a
/// `SessionStore` holds the ticket.
const SESSION_ID: &str = "Microsoft.AspNetCore.Authentication.Cookies-SessionId";

fn ticket(claims: &[(&str, &str)]) -> AuthenticationTicket {
    let mut identity = ClaimsIdentity::new("Cookies");
    for (claim_type, value) in claims {
        identity.claims.push(Claim::new(*claim_type, *value));
    }
    AuthenticationTicket::new(
        "Cookies",
        ClaimsPrincipal::new(identity),
        AuthenticationProperties::new(),
    )
}

fn cookie(login: &AspNetCoreLogin, ticket: &AuthenticationTicket) -> HeaderMap {
    let value = login.format().protect(ticket).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&format!("{}={value}", login.cookie_name())).unwrap(),
    );
    headers
}

/// What .NET writes with a `SessionStore`: a ticket whose only claim is the session key.
/// The session is deleted at sign-out, so without a look-up in that store such a cookie
/// would stay a valid (nameless) login on the Rust side forever.
#[test]
fn a_session_store_ticket_is_refused_without_a_store_lookup() {
    let (provider, _clock) = provider("shop");
    let login = AspNetCoreLogin::new(&provider);
    let headers = cookie(&login, &ticket(&[(SESSION_ID, "3f1c0de4-session")]));
    let result = login.user_from_headers(&headers);
    assert!(result.is_err(), "accepted: {result:?}");
    assert!(
        matches!(result, Err(LoginRejection::TicketStoreRequired)),
        "{result:?}"
    );
    // The session id claim anywhere in the ticket, beside other claims, is the same.
    let mixed = ticket(&[(NAME_CLAIM_TYPE, "alice"), (SESSION_ID, "k")]);
    assert!(matches!(
        login.user_from_headers(&cookie(&login, &mixed)),
        Err(LoginRejection::TicketStoreRequired)
    ));
    // An ordinary ticket still reads.
    let plain = ticket(&[(NAME_CLAIM_TYPE, "alice")]);
    let user = login.user_from_headers(&cookie(&login, &plain)).unwrap();
    assert_eq!(user.name(), Some("alice"));
}

type Sessions = Arc<RwLock<HashMap<String, AuthenticationTicket>>>;

#[test]
fn a_session_ticket_is_looked_up_and_ends_with_the_session() {
    assert_eq!(SESSION_ID_CLAIM_TYPE, SESSION_ID);
    let (provider, clock) = provider("shop");
    let sessions: Sessions = Arc::default();
    let store = Arc::clone(&sessions);
    let login = AspNetCoreLogin::new(&provider)
        .ticket_store(move |key: &str| store.read().unwrap().get(key).cloned());
    let mut real = ticket(&[(NAME_CLAIM_TYPE, "alice"), ("role", "admin")]);
    real.properties
        .set_expires_utc(provider.now() + keyward::time::Duration::hours(1));
    sessions.write().unwrap().insert("s-1".into(), real);

    // What .NET writes: the session key alone.
    let outer = login.session_ticket("s-1");
    assert_eq!(session_key(&outer), Some("s-1"));
    let claims: Vec<&str> = outer
        .principal
        .claims()
        .map(|c| c.claim_type.as_str())
        .collect();
    assert_eq!(claims, [SESSION_ID]);
    let headers = cookie(&login, &outer);
    let user = login.user_from_headers(&headers).unwrap();
    assert_eq!(user.name(), Some("alice"));
    assert!(user.claims().any(|c| c.value == "admin"));

    // Signed out on the .NET side: the session is gone, and so is the login here.
    sessions.write().unwrap().remove("s-1");
    assert!(matches!(
        login.user_from_headers(&headers),
        Err(LoginRejection::SessionNotFound)
    ));

    // The stored ticket's own expiry counts.
    let mut old = ticket(&[(NAME_CLAIM_TYPE, "bob")]);
    old.properties
        .set_expires_utc(provider.now() + keyward::time::Duration::minutes(5));
    sessions.write().unwrap().insert("s-2".into(), old);
    let headers = cookie(&login, &login.session_ticket("s-2"));
    assert!(login.user_from_headers(&headers).is_ok());
    clock.advance(keyward::time::Duration::minutes(10));
    assert!(matches!(
        login.user_from_headers(&headers),
        Err(LoginRejection::Expired)
    ));

    // With a store, as in .NET, a cookie must name a session.
    let whole = ticket(&[(NAME_CLAIM_TYPE, "carol")]);
    assert!(matches!(
        login.user_from_headers(&cookie(&login, &whole)),
        Err(LoginRejection::MissingSessionId)
    ));
}

const STAMP: &str = "AspNet.Identity.SecurityStamp";

#[test]
fn the_validation_hook_rejects_a_stale_security_stamp() {
    let (provider, _clock) = provider("shop");
    let current: Arc<RwLock<String>> = Arc::new(RwLock::new("stamp-1".into()));
    let seen = Arc::clone(&current);
    let login = AspNetCoreLogin::new(&provider).validate_with(move |ticket| {
        match ticket.principal.find_first(STAMP) {
            Some(claim) if claim.value == *seen.read().unwrap() => TicketValidation::Accept,
            _ => TicketValidation::Reject,
        }
    });
    let headers = cookie(
        &login,
        &ticket(&[(NAME_CLAIM_TYPE, "alice"), (STAMP, "stamp-1")]),
    );
    assert_eq!(
        login.user_from_headers(&headers).unwrap().name(),
        Some("alice")
    );
    // A password change on the .NET side: a new stamp.
    *current.write().unwrap() = "stamp-2".into();
    assert!(matches!(
        login.user_from_headers(&headers),
        Err(LoginRejection::Rejected)
    ));
    // The hook sees the stored ticket, not the session key, when a store is configured.
    let stored = ticket(&[(NAME_CLAIM_TYPE, "alice"), (STAMP, "stamp-2")]);
    let login = login.ticket_store(move |key: &str| (key == "s").then(|| stored.clone()));
    let headers = cookie(&login, &login.session_ticket("s"));
    assert_eq!(
        login.user_from_headers(&headers).unwrap().name(),
        Some("alice")
    );
}
