//! Key commands do only what they say (issue 16): on an empty ring `keys new` leaves exactly
//! one key, a refused command changes nothing, creation dates are the moment of creation, a
//! new key waits out the propagation window when the ring has a usable default, and keys that
//! cannot be read are listed and named.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::{Duration, OffsetDateTime};
use serde_json::Value;

fn list(dir: &Path) -> Vec<Value> {
    let text = ok(&keyward(dir, "a", &["keys", "list", "--json"], None));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn time(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

/// Every file in the directory, by name, with its bytes (`None`: no directory).
fn snapshot(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect(),
    )
}

fn key_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("key-"))
        .collect()
}

fn near(a: OffsetDateTime, b: OffsetDateTime, tolerance: Duration) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn keys_new_on_an_empty_ring_leaves_exactly_one_key() {
    for args in [
        &["keys", "new"][..],
        &["keys", "new", "--activate-at", "+1h"],
        &["keys", "new", "--activate-at", "-6d", "--lifetime", "7d"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let before = OffsetDateTime::now_utc();
        let id = ok(&keyward(dir.path(), "a", args, None)).trim().to_owned();
        assert_eq!(key_files(dir.path()).len(), 1, "{args:?}");
        let keys = list(dir.path());
        assert_eq!(keys.len(), 1, "{args:?}: {keys:?}");
        assert_eq!(keys[0]["id"], id.as_str(), "{args:?}");
        let created = time(&keys[0]["created"]);
        assert!(
            near(created, before, Duration::minutes(1)),
            "{args:?}: creationDate {created} is not the moment of creation ({before})"
        );
        let activation = time(&keys[0]["activation"]);
        let expected = match args.get(3) {
            Some(&"+1h") => before + Duration::hours(1),
            Some(&"-6d") => before - Duration::days(6),
            _ => before,
        };
        assert!(
            near(activation, expected, Duration::minutes(1)),
            "{args:?}: activation {activation}, expected about {expected}"
        );
    }
}

#[test]
fn a_past_activation_keeps_the_creation_date_now() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let before = OffsetDateTime::now_utc();
    let id = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "new", "--activate-at", "-3d"],
        None,
    ));
    let keys = list(dir.path());
    let key = keys.iter().find(|k| k["id"] == id.trim()).unwrap();
    assert!(
        near(time(&key["created"]), before, Duration::minutes(1)),
        "{key}"
    );
    assert!(near(
        time(&key["activation"]),
        before - Duration::days(3),
        Duration::minutes(1)
    ));
    // A mass revocation dated between the two takes the old key only.
    let old = keys.iter().find(|k| k["id"] != id.trim()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cut = (before - Duration::seconds(1)).max(
        time(&keys.iter().find(|k| k["id"] == old.as_str()).unwrap()["created"])
            + Duration::microseconds(1),
    );
    let cut = cut.format(&Rfc3339).unwrap();
    ok(&keyward(
        dir.path(),
        "a",
        &["keys", "revoke", "--all", "--before", &cut, "--reason", "t"],
        None,
    ));
    let after = list(dir.path());
    let status = |id: &str| {
        after.iter().find(|k| k["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(&old), "revoked");
    assert_ne!(status(id.trim()), "revoked");
}

#[test]
fn refused_commands_change_nothing() {
    let refused: &[&[&str]] = &[
        &["keys", "new", "--lifetime", "36h"],
        &["keys", "new", "--activate-at", "not-a-time"],
        &["keys", "new", "--lifetime", "soon"],
        &["keys", "revoke", "not-a-guid", "--reason", "x"],
        &[
            "keys", "revoke", "--all", "--before", "+1d", "--reason", "x",
        ],
        &[
            "keys",
            "revoke",
            "--all",
            "--before",
            "yesterday",
            "--reason",
            "x",
        ],
        &["keys", "delete", "--id", "not-a-guid"],
        &["keys", "delete", "--expired-before", "whenever"],
    ];
    // Three starting states: no directory, an empty one, a ring with a key.
    for state in ["missing", "empty", "ring"] {
        for args in refused {
            let parent = tempfile::tempdir().unwrap();
            let dir = parent.path().join("keys");
            match state {
                "empty" => std::fs::create_dir(&dir).unwrap(),
                "ring" => {
                    ok(&keyward(&dir, "a", &["protect", "x"], None));
                }
                _ => {}
            }
            let before = snapshot(&dir);
            let output = keyward(&dir, "a", args, None);
            assert_eq!(output.status.code(), Some(1), "{state} {args:?}");
            assert_eq!(
                snapshot(&dir),
                before,
                "{state} {args:?} changed the key directory; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

#[test]
fn keys_new_waits_out_the_propagation_window_when_a_default_exists() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let before = OffsetDateTime::now_utc();
    let output = keyward(dir.path(), "a", &["keys", "new"], None);
    let id = ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("propagation window"), "{stderr}");
    let keys = list(dir.path());
    let key = keys.iter().find(|k| k["id"] == id.trim()).unwrap();
    assert_eq!(key["status"], "pending");
    assert!(
        time(&key["activation"]) >= before + Duration::days(2),
        "{key}"
    );

    let before = OffsetDateTime::now_utc();
    let output = keyward(
        dir.path(),
        "a",
        &["keys", "new", "--activate-at", "now"],
        None,
    );
    let id = ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("not re-read"),
        "{stderr}"
    );
    let keys = list(dir.path());
    let key = keys.iter().find(|k| k["id"] == id.trim()).unwrap();
    assert!(
        near(time(&key["activation"]), before, Duration::minutes(1)),
        "{key}"
    );
}

#[test]
fn revoking_the_default_key_replaces_it_once() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let first = list(dir.path())[0]["id"].as_str().unwrap().to_owned();
    let out = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "revoke", &first, "--reason", "leaked"],
        None,
    ));
    assert!(out.contains("to replace the revoked default key"), "{out}");
    let keys = list(dir.path());
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(
        keys.iter().filter(|k| k["status"] == "default").count(),
        1,
        "{keys:?}"
    );
}

/// Makes a ring with one key and a payload under it, then rewrites the key file with
/// `change`; returns the directory, the key id and the payload.
fn damaged_ring(change: impl Fn(&str) -> String) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(dir.path(), "a", &["protect", "secret"], None))
        .trim()
        .to_owned();
    let id = list(dir.path())[0]["id"].as_str().unwrap().to_owned();
    let file = &key_files(dir.path())[0];
    let xml = std::fs::read_to_string(file).unwrap();
    let changed = change(&xml);
    assert_ne!(changed, xml, "the change applies");
    std::fs::write(file, changed).unwrap();
    (dir, id, payload)
}

fn between<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml.find(open).unwrap() + open.len();
    let end = start + xml[start..].find(close).unwrap();
    &xml[start..end]
}

#[test]
fn unreadable_keys_are_listed_and_named() {
    type Damage = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "missing element",
            Box::new(|xml: &str| {
                let date = between(xml, "<expirationDate>", "</expirationDate>").to_owned();
                xml.replace(&format!("<expirationDate>{date}</expirationDate>"), "")
            }),
            "<expirationDate> is missing",
        ),
        (
            "bad base64",
            Box::new(|xml: &str| {
                let value = between(xml, "<value>", "</value>").to_owned();
                xml.replace(&value, "!!not*base64!!")
            }),
            "not base64",
        ),
        (
            "unknown algorithm",
            Box::new(|xml: &str| xml.replace("AES_256_CBC", "TWOFISH_256_CBC")),
            "unsupported descriptor",
        ),
        (
            "at-rest encryptor keyward does not hold",
            Box::new(|xml: &str| {
                let value = between(xml, "<masterKey", "</masterKey>").to_owned();
                xml.replace(
                    &format!("<masterKey{value}</masterKey>"),
                    r#"<encryptedSecret decryptorType="Contoso.VaultXmlDecryptor, Contoso" xmlns="http://schemas.asp.net/2015/03/dataProtection"><vaultKey xmlns="">abc</vaultKey></encryptedSecret>"#,
                )
            }),
            "Contoso.VaultXmlDecryptor",
        ),
    ];
    for (name, change, expected) in cases {
        let (dir, id, payload) = damaged_ring(change);
        let keys = list(dir.path());
        let key = keys
            .iter()
            .find(|k| k["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{name}: the key is not listed: {keys:?}"));
        assert_eq!(key["status"], "unreadable", "{name}: {key}");
        let reason = key["reason"].as_str().unwrap_or("");
        assert!(reason.contains(expected), "{name}: {reason}");
        let table = ok(&keyward(dir.path(), "a", &["keys", "list"], None));
        assert!(
            table.contains(&id) && table.contains("unreadable") && table.contains(expected),
            "{name}: {table}"
        );
        let error = failure_line(&keyward(dir.path(), "a", &["unprotect", &payload], None));
        assert!(
            error.contains(&id) && error.contains(expected),
            "{name}: {error}"
        );
        assert!(!error.contains("was not found"), "{name}: {error}");
    }
}
