//! Property tests: any ticket serializes and reads back equal; protected tickets unprotect;
//! large ones chunk and reassemble.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::collections::BTreeMap;

use keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, ChunkingCookieManager, Claim, ClaimsIdentity,
    ClaimsPrincipal, CookieHeader, TicketDataFormat, TicketSerializer, NAME_CLAIM_TYPE,
    ROLE_CLAIM_TYPE, STRING_VALUE_TYPE,
};
use proptest::prelude::*;

/// Any string but the reserved `"\0"` (which the format cannot carry in defaultable fields):
/// empty, ASCII, any Unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,8}",
        any::<String>(),
        "\\PC{0,40}",
    ]
    .prop_filter("the placeholder", |s| s != "\0")
}

/// A field that is often its default, so the compact form is exercised.
fn or_default(default: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![Just(default.to_owned()), text()]
}

fn claim(name_type: String) -> impl Strategy<Value = Claim> {
    (
        prop_oneof![Just(name_type), Just(ROLE_CLAIM_TYPE.to_owned()), text()],
        text(),
        or_default(STRING_VALUE_TYPE),
        or_default("LOCAL AUTHORITY"),
        prop::option::of(text()),
        prop::collection::btree_map(text(), text(), 0..3),
    )
        .prop_map(
            |(claim_type, value, value_type, issuer, original, properties)| Claim {
                claim_type,
                value,
                value_type,
                original_issuer: original.unwrap_or_else(|| issuer.clone()),
                issuer,
                properties,
            },
        )
}

fn identity_without_actor() -> impl Strategy<Value = ClaimsIdentity> {
    (
        prop::option::of(text().prop_filter("empty reads as None", |s| !s.is_empty())),
        or_default(NAME_CLAIM_TYPE),
        or_default(ROLE_CLAIM_TYPE),
        prop::option::of(text().prop_filter("empty is not written", |s| !s.is_empty())),
    )
        .prop_flat_map(|(authentication_type, name_type, role_type, bootstrap)| {
            prop::collection::vec(claim(name_type.clone()), 0..6).prop_map(move |claims| {
                ClaimsIdentity {
                    authentication_type: authentication_type.clone(),
                    name_claim_type: name_type.clone(),
                    role_claim_type: role_type.clone(),
                    label: None,
                    bootstrap_context: bootstrap.clone(),
                    actor: None,
                    claims,
                }
            })
        })
}

fn identity() -> impl Strategy<Value = ClaimsIdentity> {
    identity_without_actor().prop_recursive(4, 16, 1, |inner| {
        (identity_without_actor(), inner).prop_map(|(mut identity, actor)| {
            identity.actor = Some(Box::new(actor));
            identity
        })
    })
}

fn properties() -> impl Strategy<Value = AuthenticationProperties> {
    prop::collection::vec((text(), text()), 0..6).prop_map(|items| {
        let mut properties = AuthenticationProperties::new();
        for (key, value) in items {
            properties.insert(key, value);
        }
        properties
    })
}

fn ticket() -> impl Strategy<Value = AuthenticationTicket> {
    (
        text(),
        prop::collection::vec(identity(), 0..3),
        properties(),
    )
        .prop_map(|(scheme, identities, properties)| AuthenticationTicket {
            scheme,
            principal: ClaimsPrincipal { identities },
            properties,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_ticket_round_trips(ticket in ticket()) {
        let bytes = TicketSerializer::serialize(&ticket).unwrap();
        let back = TicketSerializer::deserialize(&bytes).unwrap();
        prop_assert_eq!(&back, &ticket);
        prop_assert_eq!(TicketSerializer::serialize(&back).unwrap(), bytes);
    }

    #[test]
    fn properties_keep_their_insertion_order(keys in prop::collection::vec("[a-z.]{1,6}", 0..10)) {
        let mut properties = AuthenticationProperties::new();
        let mut order = Vec::new();
        for key in keys {
            if !order.contains(&key) {
                order.push(key.clone());
            }
            properties.insert(key, "v");
        }
        let ticket = AuthenticationTicket::new("s", ClaimsPrincipal::default(), properties);
        let back = TicketSerializer::deserialize(&TicketSerializer::serialize(&ticket).unwrap()).unwrap();
        let got: Vec<&str> = back.properties.iter().map(|(k, _)| k).collect();
        prop_assert_eq!(got, order);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn protected_tickets_of_any_size_chunk_and_come_back(
        ticket in ticket(),
        extra_claims in 0usize..400,
        chunk_size in prop_oneof![Just(4050usize), 100usize..600],
    ) {
        let mut ticket = ticket;
        let mut identity = ClaimsIdentity::new("Cookies");
        identity.claims = (0..extra_claims)
            .map(|i| Claim::new("permission", format!("resource-{i:04}:read,write")))
            .collect();
        ticket.principal.identities.push(identity);
        let provider = keyward::Provider::ephemeral("shop").unwrap();
        let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
        let value = format.protect(&ticket).unwrap();
        let manager = ChunkingCookieManager { chunk_size: Some(chunk_size) };
        let split = manager.try_split(
            ".AspNetCore.Cookies",
            &value,
            keyward_aspnetcore::DEFAULT_COOKIE_ATTRIBUTES,
        );
        // More chunks than reassembly takes back are refused when splitting, not later.
        let per_chunk = chunk_size
            - ".AspNetCore.Cookies=".len()
            - keyward_aspnetcore::DEFAULT_COOKIE_ATTRIBUTES.len()
            - 3;
        if value.len().div_ceil(per_chunk) > keyward_aspnetcore::MAX_CHUNKS {
            prop_assert!(
                matches!(split, Err(keyward_aspnetcore::CookieError::TooManyChunks { .. })),
                "{split:?}"
            );
            return Ok(());
        }
        let cookies = split.unwrap();
        if cookies.len() > 1 {
            prop_assert_eq!(&cookies[0].1, &format!("chunks-{}", cookies.len() - 1));
        }
        // Each Set-Cookie fits the chunk size with the default attributes (.NET's `- 3`
        // leaves room for `C` and two digits: from C10 a chunk may reach the size exactly).
        for (name, value) in cookies.iter().skip(1).take(99) {
            prop_assert!(name.len() + 1 + value.len()
                + keyward_aspnetcore::DEFAULT_COOKIE_ATTRIBUTES.len() <= chunk_size);
        }
        // As a browser sends them back, in any order, among other cookies.
        let mut parts: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        parts.reverse();
        parts.insert(1, "theme=dark".into());
        let header = format!("Cookie: {}", parts.join("; "));
        let pairs = CookieHeader::parse(&header).unwrap();
        let back = manager
            .reassemble(".AspNetCore.Cookies", pairs.iter())
            .unwrap()
            .unwrap();
        prop_assert_eq!(&back, &value);
        prop_assert_eq!(format.unprotect(&back).unwrap(), ticket);
    }
}

#[test]
fn a_large_ticket_needs_chunks_at_the_default_size() {
    let mut identity = ClaimsIdentity::new("Cookies");
    identity.claims = (0..200)
        .map(|i| Claim::new("permission", format!("resource-{i:04}:read,write")))
        .collect();
    identity.claims[0]
        .properties
        .insert("k".into(), "é".repeat(100));
    let ticket = AuthenticationTicket::new(
        "Cookies",
        ClaimsPrincipal::new(identity),
        AuthenticationProperties::from(BTreeMap::from([(".persistent".to_owned(), String::new())])),
    );
    let provider = keyward::Provider::ephemeral("shop").unwrap();
    let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
    let value = format.protect(&ticket).unwrap();
    let cookies = ChunkingCookieManager::new().split(".AspNetCore.Cookies", &value);
    assert!(cookies.len() >= 3, "{} cookies", cookies.len());
    let back = ChunkingCookieManager::new()
        .reassemble(
            ".AspNetCore.Cookies",
            cookies.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )
        .unwrap()
        .unwrap();
    let read = format.unprotect(&back).unwrap();
    assert_eq!(read, ticket);
    assert!(read.properties.is_persistent());
}
