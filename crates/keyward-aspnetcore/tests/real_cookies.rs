//! The login cookies ASP.NET Core 10 made (`testdata/vectors/aspnetcore-real`, `auth_cookie`
//! cases): reassembled from the `Cookie` header, unprotected with the real ring, read, compared
//! with what .NET put in the ticket, and written back to the exact bytes .NET wrote.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use base64::Engine as _;
use keyward::Provider;
use keyward_aspnetcore::{
    AuthenticationTicket, ChunkingCookieManager, ClaimsIdentity, CookieHeader, TicketDataFormat,
    TicketSerializer,
};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use common::{auth_cookie_cases, real_dir, str_of};

const COOKIE: &str = ".AspNetCore.Cookies";

fn provider(case: &Value) -> Provider {
    Provider::builder()
        .key_directory(real_dir().join(str_of(case, "ring")))
        .application_name(str_of(case, "app"))
        .read_only(true)
        .build()
        .unwrap()
}

fn reassembled(case: &Value) -> String {
    let pairs = CookieHeader::parse(str_of(case, "cookie_header")).unwrap();
    ChunkingCookieManager::new()
        .reassemble(COOKIE, pairs.iter())
        .unwrap()
        .expect("the cookie is in the header")
}

fn opt_str(value: &Value) -> Option<&str> {
    value.as_str()
}

fn time_of(value: &Value) -> Option<OffsetDateTime> {
    value
        .as_str()
        .map(|t| OffsetDateTime::parse(t, &Rfc3339).unwrap())
}

fn assert_identity(got: &ClaimsIdentity, want: &Value) {
    assert_eq!(
        got.authentication_type.as_deref(),
        opt_str(&want["authentication_type"])
    );
    assert_eq!(got.name_claim_type, str_of(want, "name_claim_type"));
    assert_eq!(got.role_claim_type, str_of(want, "role_claim_type"));
    assert_eq!(got.label.as_deref(), opt_str(&want["label"]));
    assert_eq!(
        got.bootstrap_context.as_deref(),
        opt_str(&want["bootstrap_context"])
    );
    match (&got.actor, &want["actor"]) {
        (None, Value::Null) => {}
        (Some(actor), want) if !want.is_null() => assert_identity(actor, want),
        (got, want) => panic!("actor {got:?} but .NET recorded {want}"),
    }
    let claims = want["claims"].as_array().unwrap();
    assert_eq!(got.claims.len(), claims.len());
    for (claim, want) in got.claims.iter().zip(claims) {
        assert_eq!(claim.claim_type, str_of(want, "type"));
        assert_eq!(claim.value, str_of(want, "value"));
        assert_eq!(claim.value_type, str_of(want, "value_type"));
        assert_eq!(claim.issuer, str_of(want, "issuer"));
        assert_eq!(claim.original_issuer, str_of(want, "original_issuer"));
        let properties = want["properties"].as_object().unwrap();
        assert_eq!(claim.properties.len(), properties.len());
        for (key, value) in properties {
            assert_eq!(
                claim.properties.get(key).map(String::as_str),
                value.as_str()
            );
        }
    }
}

fn assert_ticket(got: &AuthenticationTicket, want: &Value) {
    assert_eq!(got.scheme, str_of(want, "scheme"));
    let identities = want["identities"].as_array().unwrap();
    assert_eq!(got.principal.identities.len(), identities.len());
    for (identity, want) in got.principal.identities.iter().zip(identities) {
        assert_identity(identity, want);
    }
    let items = want["properties"].as_object().unwrap();
    assert_eq!(got.properties.len(), items.len());
    for (key, value) in items {
        assert_eq!(got.properties.get(key), value.as_str(), "property {key}");
    }
    assert_eq!(got.properties.issued_utc(), time_of(&want["issued"]));
    assert_eq!(got.properties.expires_utc(), time_of(&want["expires"]));
    assert_eq!(
        got.properties.is_persistent(),
        want["persistent"].as_bool().unwrap()
    );
}

#[test]
fn the_cookie_header_reassembles_to_the_payload() {
    for case in auth_cookie_cases() {
        let value = reassembled(&case);
        assert_eq!(value, str_of(&case, "payload"), "{}", case["name"]);
        let chunk_cookies = CookieHeader::parse(str_of(&case, "cookie_header"))
            .unwrap()
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{COOKIE}C")))
            .count();
        assert_eq!(
            chunk_cookies > 0,
            case["chunked"].as_bool().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn real_cookies_unprotect_and_read_as_dotnet_wrote_them() {
    for case in auth_cookie_cases() {
        let provider = provider(&case);
        let format = TicketDataFormat::for_cookie_scheme(&provider, str_of(&case, "scheme"));
        let ticket = format.unprotect(&reassembled(&case)).unwrap();
        assert_ticket(&ticket, &case["ticket"]);
        assert_eq!(
            ticket.principal.name(),
            ticket.principal.identities[0].name()
        );
    }
}

#[test]
fn tickets_serialize_back_to_the_exact_bytes() {
    for case in auth_cookie_cases() {
        let serialized = base64::engine::general_purpose::STANDARD
            .decode(str_of(&case, "serialized_b64"))
            .unwrap();
        let ticket = TicketSerializer::deserialize(&serialized).unwrap();
        assert_ticket(&ticket, &case["ticket"]);
        assert_eq!(
            TicketSerializer::serialize(&ticket).unwrap(),
            serialized,
            "{}",
            case["name"]
        );
        // And what came out of the cookie is that same ticket.
        let format = TicketDataFormat::for_cookie_scheme(&provider(&case), "Cookies");
        assert_eq!(format.unprotect(str_of(&case, "payload")).unwrap(), ticket);
    }
}

#[test]
fn split_reproduces_the_set_cookie_chunks() {
    for case in auth_cookie_cases() {
        let expected: Vec<(String, String)> = case["set_cookie"]
            .as_array()
            .unwrap()
            .iter()
            .map(|header| {
                let header = header.as_str().unwrap();
                let pair = header.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let got = ChunkingCookieManager::new().split(COOKIE, str_of(&case, "payload"));
        assert_eq!(got, expected, "{}", case["name"]);
        assert_eq!(got.len() > 1, case["chunked"].as_bool().unwrap());
    }
}

#[test]
fn the_wrong_scheme_or_application_does_not_open_a_real_cookie() {
    let case = &auth_cookie_cases()[0];
    let other_scheme = TicketDataFormat::for_cookie_scheme(&provider(case), "Identity.Application");
    assert!(other_scheme.unprotect(str_of(case, "payload")).is_err());
    let other_app = Provider::builder()
        .key_directory(real_dir().join(str_of(case, "ring")))
        .application_name("other")
        .read_only(true)
        .build()
        .unwrap();
    let format = TicketDataFormat::for_cookie_scheme(&other_app, "Cookies");
    assert!(matches!(
        format.unprotect(str_of(case, "payload")),
        Err(keyward_aspnetcore::TicketError::Unprotect(_))
    ));
}
