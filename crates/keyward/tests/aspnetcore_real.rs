//! Conformance with payloads made by real ASP.NET Core 10 (`testdata/vectors/aspnetcore-real/`,
//! see its README): every case opens, or is refused as its kind says; the login cookies'
//! payloads unprotect to the recorded `TicketSerializer` bytes.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use keyward::discriminator::{application_name_from_content_root, ContentRootRule};
use keyward::{Error, KeyId, Provider};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = common::testdata_dir().join("vectors/aspnetcore-real/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A read-only provider on the case's ring under the case's application name.
fn provider_for(case: &Value) -> Provider {
    let ring = common::testdata_dir()
        .join("vectors/aspnetcore-real")
        .join(case["ring"].as_str().unwrap());
    let builder = Provider::builder().key_directory(ring).read_only(true);
    match case["app"].as_str() {
        Some(app) => builder.application_name(app),
        None => builder.no_application_discriminator(),
    }
    .build()
    .unwrap()
}

fn purposes(case: &Value) -> Vec<String> {
    case["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {case}"))
}

fn standard_base64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn every_case_made_by_aspnetcore_opens_or_is_refused_as_its_kind_says() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for case in cases() {
        let kind = text(&case, "kind").to_owned();
        *seen.entry(kind.clone()).or_default() += 1;
        let provider = provider_for(&case);
        let protector = provider.protector(purposes(&case));
        let payload = text(&case, "payload");
        match kind.as_str() {
            "protect" => {
                let bytes = keyward::encoding::base64url_decode(payload).unwrap();
                let opened = protector.unprotect(&bytes).unwrap();
                assert_eq!(
                    opened,
                    standard_base64(text(&case, "plaintext_b64")),
                    "{case}"
                );
                let key_id: KeyId = text(&case, "key_id").parse().unwrap();
                assert_eq!(keyward::payload::parse(&bytes).unwrap().0, key_id);
            }
            "protect_string" => {
                assert_eq!(
                    protector.unprotect_str(payload).unwrap(),
                    text(&case, "plaintext"),
                    "{case}"
                );
            }
            "time_limited" => {
                let (plaintext, expires) =
                    protector.to_time_limited().unprotect_str(payload).unwrap();
                assert_eq!(plaintext, text(&case, "plaintext"));
                let recorded = keyward::time::OffsetDateTime::parse(
                    text(&case, "expires"),
                    &keyward::time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                assert_eq!(expires, recorded);
            }
            "time_limited_expired" => {
                let error = protector
                    .to_time_limited()
                    .unprotect_str(payload)
                    .unwrap_err();
                assert!(matches!(error, Error::Expired { .. }), "{error}");
            }
            "revoked" => {
                let key_id: KeyId = text(&case, "key_id").parse().unwrap();
                let error = protector.unprotect_str(payload).unwrap_err();
                assert!(
                    matches!(error, Error::KeyRevoked(id) if id == key_id),
                    "{error}"
                );
                assert!(error.to_string().contains(&key_id.to_string()));
            }
            "unconfigured_app" => {
                // The recorded discriminator is what --content-root derives (.NET ≥ 7 rule).
                assert_eq!(
                    application_name_from_content_root(
                        text(&case, "content_root"),
                        ContentRootRule::Net7
                    )
                    .as_deref(),
                    Some(text(&case, "app"))
                );
                assert_eq!(
                    protector.unprotect_str(payload).unwrap(),
                    text(&case, "plaintext")
                );
            }
            "auth_cookie" => {
                let bytes = keyward::encoding::base64url_decode(payload).unwrap();
                let ticket = protector.unprotect(&bytes).unwrap();
                assert_eq!(
                    ticket,
                    standard_base64(text(&case, "serialized_b64")),
                    "{}",
                    text(&case, "name")
                );
            }
            other => panic!("a case of unknown kind {other}: handle it"),
        }
    }
    for kind in [
        "protect",
        "protect_string",
        "time_limited",
        "time_limited_expired",
        "revoked",
        "unconfigured_app",
        "auth_cookie",
    ] {
        assert!(seen.contains_key(kind), "no case of kind {kind}: {seen:?}");
    }
}

#[test]
fn the_ring_dotnet_wrote_lists_as_dotnet_sees_it() {
    let case = cases()
        .into_iter()
        .find(|c| c["kind"] == "revoked")
        .unwrap();
    let provider = provider_for(&case);
    let keys = provider.keys();
    assert_eq!(keys.len(), 2);
    let revoked: KeyId = text(&case, "key_id").parse().unwrap();
    for key in &keys {
        assert_eq!(key.revoked, key.id == revoked, "{key:?}");
        assert_eq!(key.at_rest, keyward::AtRestProtection::None);
        assert!(key.unusable_reason.is_none(), "{key:?}");
    }
    assert!(provider.unreadable_keys().is_empty());
}
