//! Every vector of `testdata/vectors/legacy-machinekey.json`, in both directions where the
//! format allows: decrypt/validate the recorded value, and make one with the recorded keys
//! and read it back (or, for the deterministic formats, make exactly the recorded value).
//! Kinds this crate does not handle are listed as skipped with a reason; a handled kind whose
//! count drops fails.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;

use common::{hex, legacy_vectors, str_of};
use keyward::Secret;
use keyward_machinekey::resource::ResourceKind;
use keyward_machinekey::viewstate::{self, Page, Protection};
use keyward_machinekey::{
    forms_ticket, framework45, resource, CompatibilityMode, MachineKeyDecryption, MachineKeys,
    Purpose,
};
use serde_json::Value;

/// How many vectors of each handled kind must pass (a drop fails the test).
const HANDLED: &[(&str, usize)] = &[
    ("forms-ticket-framework45", 1),
    ("forms-ticket-framework20sp2", 3),
    ("machinekey-protect", 2),
    ("viewstate-framework45", 5),
    ("viewstate-legacy-mac", 7),
    ("viewstate-legacy-encrypted", 15),
    ("resource-url-framework45", 3),
    ("resource-url-legacy", 2),
];

/// Kinds skipped, with the reason.
const SKIPPED: &[(&str, &str)] = &[(
    "cookie-chunking",
    "ASP.NET Core ChunkingCookieManager arithmetic: belongs to keyward-aspnetcore, no machineKey crypto",
)];

type Outcome = Result<(), String>;

fn keys(v: &Value, mode: CompatibilityMode) -> MachineKeys {
    // MAC-only ViewState vectors record no decryption key: it takes part in nothing there.
    let decryption_key = v["decryptionKey"]
        .as_str()
        .unwrap_or("00112233445566778899AABBCCDDEEFF0011223344556677");
    MachineKeys::from_hex(
        str_of(v, "validation"),
        str_of(v, "validationKey"),
        v["decryption"].as_str().unwrap_or("AES"),
        decryption_key,
        mode,
    )
    .unwrap()
}

fn check(condition: bool, what: impl Into<String>) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn forms_ticket_vector(v: &Value, mode: CompatibilityMode) -> Outcome {
    let keys = keys(v, mode);
    let ticket =
        forms_ticket::decrypt(&keys, str_of(v, "ticket_hex")).map_err(|e| e.to_string())?;
    let e = &v["expected"];
    check(
        i64::from(ticket.version) == e["version"].as_i64().unwrap(),
        "version",
    )?;
    check(ticket.name == str_of(e, "name"), "name")?;
    check(ticket.user_data == str_of(e, "user_data"), "user_data")?;
    check(
        ticket.cookie_path == str_of(e, "cookie_path"),
        "cookie_path",
    )?;
    check(
        ticket.is_persistent == e["persistent"].as_bool().unwrap(),
        "persistent",
    )?;
    check(
        ticket.issue_utc_ticks == e["issue_utc_ticks"].as_i64().unwrap(),
        "issued",
    )?;
    check(
        ticket.expiration_utc_ticks == e["expiration_utc_ticks"].as_i64().unwrap(),
        "expires",
    )?;
    // The other direction: encrypt with the recorded keys, decrypt, same ticket.
    let again = forms_ticket::encrypt(&keys, &ticket).map_err(|e| e.to_string())?;
    check(
        again != str_of(v, "ticket_hex"),
        "a random IV makes a new value",
    )?;
    let back = forms_ticket::decrypt(&keys, &again).map_err(|e| e.to_string())?;
    check(back == ticket, "encrypt-then-decrypt")?;
    // The other mode must not read it.
    let other = if mode.is_legacy() {
        CompatibilityMode::Framework45
    } else {
        CompatibilityMode::Framework20SP2
    };
    check(
        forms_ticket::decrypt(&keys.with_mode(other), &again).is_err(),
        "read in the other mode",
    )
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn protect_vector(v: &Value) -> Outcome {
    let purposes: Vec<String> = v["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let purpose = Purpose::machine_key_protect(&purposes);
    let value = str_of(v, "protected");
    let bytes = match str_of(v, "encoding") {
        "UrlToken" => keyward_machinekey::encoding::url_token_decode(value),
        "base64url-nopad" => keyward_machinekey::encoding::from_base64url(value),
        other => return Err(format!("unknown encoding {other}")),
    }
    .ok_or("the value does not decode")?;
    let expected = hex(str_of(&v["expected"], "plaintext_hex"));
    let keys = if v["validationKey"].is_string() {
        let keys = keys(v, CompatibilityMode::Framework45);
        let plaintext =
            framework45::unprotect(&keys, &purpose, &bytes).map_err(|e| e.to_string())?;
        check(plaintext == expected, "plaintext")?;
        // MachineKey.Protect ignores compatibilityMode.
        let legacy = keys.with_mode(CompatibilityMode::Framework20SP1);
        check(
            framework45::unprotect(&legacy, &purpose, &bytes).is_ok(),
            "any mode",
        )?;
        legacy
    } else {
        // Decrypt-only: no validation key was published; the MAC is stripped, not checked.
        let cipher: MachineKeyDecryption = str_of(v, "decryption").parse().unwrap();
        let key = Secret::new(hex(str_of(v, "decryptionKey")));
        let mac_len = usize::try_from(v["assumed_mac_len"].as_u64().unwrap()).unwrap();
        let plaintext = framework45::decrypt_unverified(cipher, &key, &purpose, &bytes, mac_len)
            .map_err(|e| e.to_string())?;
        let plaintext = if v["gzip"].as_bool() == Some(true) {
            gunzip(&plaintext)
        } else {
            plaintext
        };
        check(plaintext == expected, "plaintext")?;
        MachineKeys::from_hex(
            "HMACSHA256",
            &"5A".repeat(64),
            str_of(v, "decryption"),
            str_of(v, "decryptionKey"),
            CompatibilityMode::Framework45,
        )
        .unwrap()
    };
    let again = framework45::protect(&keys, &purpose, &expected).map_err(|e| e.to_string())?;
    check(
        framework45::unprotect(&keys, &purpose, &again).map_err(|e| e.to_string())? == expected,
        "protect-then-unprotect",
    )?;
    let mut other = purposes.clone();
    other.push("x".into());
    check(
        framework45::unprotect(&keys, &Purpose::machine_key_protect(&other), &again).is_err(),
        "other purposes",
    )
}

fn page_of(v: &Value) -> Page {
    let mut page = Page::default();
    for purpose in v["specific_purposes"].as_array().into_iter().flatten() {
        let purpose = purpose.as_str().unwrap();
        if let Some(d) = purpose.strip_prefix("TemplateSourceDirectory: ") {
            page.template_source_directory = Some(d.to_owned());
        } else if let Some(t) = purpose.strip_prefix("Type: ") {
            page.page_type = Some(t.to_owned());
        } else if let Some(k) = purpose.strip_prefix("ViewStateUserKey: ") {
            page.view_state_user_key = Some(k.to_owned());
        } else {
            panic!("unknown page purpose {purpose}");
        }
    }
    if let Some(generator) = v["generator"].as_str() {
        page.generator = Some(viewstate::parse_generator(generator).unwrap());
    }
    if let Some(key) = v["viewStateUserKey"].as_str() {
        page.view_state_user_key = Some(key.to_owned());
    }
    page
}

fn viewstate_vector(v: &Value, mode: CompatibilityMode, protection: Protection) -> Outcome {
    let keys = keys(v, mode);
    let page = page_of(v);
    let value = str_of(v, "viewstate");
    let decoded = viewstate::decode(&keys, &page, value).map_err(|e| e.to_string())?;
    check(
        decoded.protection == protection,
        format!("protection {:?}", decoded.protection),
    )?;
    check(
        decoded
            .state
            .starts_with(&hex(str_of(&v["expected"], "plaintext_prefix_hex"))),
        "FF 01",
    )?;
    if let Some(full) = v["derived_by_this_research"]["plaintext_hex"].as_str() {
        check(decoded.state == hex(full), "state")?;
    }
    let encrypt = protection != Protection::LegacyMac;
    let again =
        viewstate::encode(&keys, &page, &decoded.state, encrypt).map_err(|e| e.to_string())?;
    if protection == Protection::LegacyMac {
        check(again == value, "a MAC-only state is made exactly")?;
    }
    let back = viewstate::decode(&keys, &page, &again).map_err(|e| e.to_string())?;
    check(back == decoded, "encode-then-decode")?;
    // Another page must not validate it.
    let mut other = page.clone();
    other.generator = other.generator.map(|g| g ^ 1);
    other.page_type = other.page_type.map(|t| format!("{t}X"));
    let other_page = viewstate::decode(&keys, &other, &again);
    if protection == Protection::LegacyMac && str_of(v, "validation") == "MD5" {
        // .NET's quirk: the MD5 "MAC" copies the key over the modifier, so the page (the
        // generator) only adds zero bytes and any page of the site validates it.
        check(other_page.is_ok(), "the MD5 modifier quirk")
    } else {
        check(other_page.is_err(), "another page")
    }
}

fn resource_vector(v: &Value, mode: CompatibilityMode) -> Outcome {
    let keys = keys(v, mode);
    let kind = match v["primary_purpose"].as_str() {
        Some(Purpose::SCRIPT_RESOURCE) => ResourceKind::ScriptResource,
        Some(Purpose::WEB_RESOURCE) | None => ResourceKind::WebResource,
        Some(other) => return Err(format!("unknown purpose {other}")),
    };
    let token = str_of(v, "token");
    let plaintext = resource::decode(&keys, kind, token).map_err(|e| e.to_string())?;
    let expected = str_of(&v["derived_by_this_research"], "plaintext_utf8");
    check(plaintext == expected.as_bytes(), "plaintext")?;
    // Deterministic: the same plaintext makes exactly the recorded value (this checks the
    // predictable IV / hash prefix too).
    let again = resource::encode(&keys, kind, &plaintext).map_err(|e| e.to_string())?;
    check(again == token, format!("re-encoded {again}"))
}

#[test]
fn every_vector_passes_or_is_skipped_with_a_reason() {
    let mut handled: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let vectors = legacy_vectors();
    for v in &vectors {
        let id = str_of(v, "id");
        let kind = str_of(v, "kind");
        use CompatibilityMode::*;
        let outcome = match kind {
            "forms-ticket-framework45" => forms_ticket_vector(v, Framework45),
            "forms-ticket-framework20sp2" => forms_ticket_vector(v, Framework20SP2),
            "machinekey-protect" => protect_vector(v),
            "viewstate-framework45" => viewstate_vector(v, Framework45, Protection::Framework45),
            "viewstate-legacy-mac" => viewstate_vector(v, Framework20SP1, Protection::LegacyMac),
            "viewstate-legacy-encrypted" => {
                viewstate_vector(v, Framework20SP1, Protection::LegacyEncrypted)
            }
            "resource-url-framework45" => resource_vector(v, Framework45),
            "resource-url-legacy" => resource_vector(v, Framework20SP1),
            other => {
                let reason = SKIPPED
                    .iter()
                    .find(|(k, _)| *k == other)
                    .map(|(_, r)| *r)
                    .unwrap_or_else(|| panic!("vector {id}: kind {other} is neither handled nor skipped with a reason"));
                println!("skipped {id} ({other}): {reason}");
                *skipped.entry(other.to_owned()).or_default() += 1;
                continue;
            }
        };
        match outcome {
            Ok(()) => *handled.entry(kind.to_owned()).or_default() += 1,
            Err(why) => failures.push(format!("{id}: {why}")),
        }
    }
    for (kind, count) in &handled {
        println!("handled {kind}: {count}");
    }
    println!(
        "{} handled, {} skipped, {} failed of {}",
        handled.values().sum::<usize>(),
        skipped.values().sum::<usize>(),
        failures.len(),
        vectors.len()
    );
    assert!(
        failures.is_empty(),
        "failed vectors:\n{}",
        failures.join("\n")
    );
    for (kind, minimum) in HANDLED {
        let count = handled.get(*kind).copied().unwrap_or(0);
        assert!(
            count >= *minimum,
            "{kind}: {count} vectors passed, expected at least {minimum}"
        );
    }
}
