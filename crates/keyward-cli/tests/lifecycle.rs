//! The lifecycle commands of the `keyward` binary: keys new/revoke/delete, keys list --at,
//! time-limited payloads and machine-key generate.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use common::*;
use serde_json::Value;

fn list(dir: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["keys", "list", "--json"];
    args.extend_from_slice(extra);
    let text = ok(&keyward(dir, "a", &args, None));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn status_of(keys: &[Value], id: &str) -> String {
    keys.iter().find(|k| k["id"] == id).unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn keys_list_at_plans_across_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let first = list(dir.path(), &[])[0]["id"].as_str().unwrap().to_owned();
    let next = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "new", "--activate-at", "+30d", "--lifetime", "60d"],
        None,
    ));
    let next = next.trim();
    assert_eq!(next.len(), 36, "prints the new key id: {next}");
    let now = list(dir.path(), &[]);
    assert_eq!(status_of(&now, &first), "default");
    assert_eq!(status_of(&now, next), "pending");
    let later = list(dir.path(), &["--at", "+31d"]);
    assert_eq!(status_of(&later, &first), "active");
    assert_eq!(status_of(&later, next), "default");
    let much_later = list(dir.path(), &["--at", "+100d"]);
    assert_eq!(status_of(&much_later, &first), "expired");
    assert_eq!(status_of(&much_later, next), "expired");
    let past = list(dir.path(), &["--at", "-1h"]);
    assert_eq!(status_of(&past, &first), "pending");
    let bad = failure_line(&keyward(
        dir.path(),
        "a",
        &["keys", "list", "--at", "someday"],
        None,
    ));
    assert!(bad.contains("not a time"), "{bad}");
}

#[test]
fn revoke_one_and_revoke_all() {
    let dir = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(
        dir.path(),
        "a",
        &["protect", "--purpose", "p", "x"],
        None,
    ));
    let id = list(dir.path(), &[])[0]["id"].as_str().unwrap().to_owned();
    ok(&keyward(
        dir.path(),
        "a",
        &["keys", "revoke", &id, "--reason", "compromised"],
        None,
    ));
    let keys = list(dir.path(), &[]);
    assert_eq!(status_of(&keys, &id), "revoked");
    assert_eq!(keys.len(), 2, "revoking the default key created a new one");
    let line = failure_line(&keyward(
        dir.path(),
        "a",
        &["unprotect", "--purpose", "p", payload.trim()],
        None,
    ));
    assert!(line.contains(&id) && line.contains("revoked"), "{line}");

    ok(&keyward(
        dir.path(),
        "a",
        &[
            "keys", "revoke", "--all", "--before", "now", "--reason", "rotate",
        ],
        None,
    ));
    let keys = list(dir.path(), &[]);
    assert_eq!(keys.iter().filter(|k| k["status"] == "revoked").count(), 2);
    assert_eq!(
        keys.iter().filter(|k| k["status"] == "default").count(),
        1,
        "a fresh default"
    );

    let future = failure_line(&keyward(
        dir.path(),
        "a",
        &[
            "keys", "revoke", "--all", "--before", "+1d", "--reason", "x",
        ],
        None,
    ));
    assert!(future.contains("future"), "{future}");

    // An id the ring does not hold is revoked too with --allow-unknown (as .NET does; the
    // library accepts ids the ring no longer holds, so a deleted key stays revoked on nodes
    // that kept it in memory). Without it, a mistyped id is refused (issue 20).
    let unknown = ok(&keyward(
        dir.path(),
        "a",
        &[
            "keys",
            "revoke",
            "00000000-0000-0000-0000-000000000001",
            "--reason",
            "x",
            "--allow-unknown",
        ],
        None,
    ));
    assert!(
        unknown.contains("revoked 00000000-0000-0000-0000-000000000001"),
        "{unknown}"
    );
}

#[test]
fn delete_guards_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let id = list(dir.path(), &[])[0]["id"].as_str().unwrap().to_owned();
    let refused = failure_line(&keyward(
        dir.path(),
        "a",
        &["keys", "delete", "--id", &id],
        None,
    ));
    assert!(
        refused.contains("refusing") && refused.contains(&id),
        "{refused}"
    );
    // An old expired key can go; the dry run says so and deletes nothing.
    let old = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "new", "--activate-at", "-200d", "--lifetime", "90d"],
        None,
    ));
    let old = old.trim();
    let dry = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "delete", "--expired-before", "now", "--dry-run"],
        None,
    ));
    assert!(dry.contains("would delete") && dry.contains(old), "{dry}");
    assert_eq!(list(dir.path(), &[]).len(), 2);
    let done = ok(&keyward(
        dir.path(),
        "a",
        &["keys", "delete", "--id", old],
        None,
    ));
    assert!(done.contains("deleted key") && done.contains(old), "{done}");
    assert_eq!(list(dir.path(), &[]).len(), 1);
}

#[test]
fn time_limited_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = ok(&keyward(
        dir.path(),
        "a",
        &[
            "protect",
            "--purpose",
            "reset",
            "--expires-in",
            "1h",
            "user 1",
        ],
        None,
    ));
    let plain = keyward(
        dir.path(),
        "a",
        &[
            "unprotect",
            "--purpose",
            "reset",
            "--time-limited",
            fresh.trim(),
        ],
        None,
    );
    assert_eq!(ok(&plain), "user 1");
    let stale = ok(&keyward(
        dir.path(),
        "a",
        &[
            "protect",
            "--purpose",
            "reset",
            "--expires-at",
            "-1m",
            "user 2",
        ],
        None,
    ));
    let line = failure_line(&keyward(
        dir.path(),
        "a",
        &[
            "unprotect",
            "--purpose",
            "reset",
            "--time-limited",
            stale.trim(),
        ],
        None,
    ));
    assert!(line.contains("expired"), "{line}");
    // Without --time-limited the chain differs: invalid, not silently accepted.
    let line = failure_line(&keyward(
        dir.path(),
        "a",
        &["unprotect", "--purpose", "reset", fresh.trim()],
        None,
    ));
    assert!(line.contains("invalid"), "{line}");
}

#[test]
fn machine_key_generate() {
    let dir = tempfile::tempdir().unwrap();
    for (framework, validation, decryption, vlen, dlen, mode) in [
        ("4.5", "HMACSHA256", "AES", 128, 64, Some("Framework45")),
        ("2.0", "SHA1", "AES", 128, 64, None),
        ("4.0", "HMACSHA512", "3DES", 256, 48, Some("Framework20SP2")),
        ("1.1", "SHA1", "3DES", 128, 48, None),
    ] {
        let mut args = vec![
            "machine-key",
            "generate",
            "--framework",
            framework,
            "--validation",
            validation,
            "--decryption",
            decryption,
            "--json",
        ];
        // SHA1 and 3DES are weak: generate makes them only when told to.
        if framework != "4.5" {
            args.push("--allow-weak");
        }
        let text = ok(&keyward(dir.path(), "a", &args, None));
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["validationKey"].as_str().unwrap().len(), vlen);
        assert_eq!(json["decryptionKey"].as_str().unwrap().len(), dlen);
        assert_eq!(json["compatibilityMode"].as_str(), mode);
        let element = json["element"].as_str().unwrap();
        assert!(
            element.starts_with("<machineKey ") && element.ends_with(" />"),
            "{element}"
        );
        assert!(element.contains(&format!("validation=\"{validation}\"")));
        assert_eq!(element.contains("decryption="), framework != "1.1");
    }
    let element = ok(&keyward(
        dir.path(),
        "a",
        &["machine-key", "generate"],
        None,
    ));
    assert!(
        element.contains(
            "validation=\"HMACSHA256\" decryption=\"AES\" compatibilityMode=\"Framework45\""
        ),
        "{element}"
    );
    let line = failure_line(&keyward(
        dir.path(),
        "a",
        &[
            "machine-key",
            "generate",
            "--framework",
            "4.5",
            "--validation",
            "MD5",
        ],
        None,
    ));
    assert!(line.contains("does not accept"), "{line}");
    let line = failure_line(&keyward(
        dir.path(),
        "a",
        &[
            "machine-key",
            "generate",
            "--framework",
            "1.1",
            "--decryption",
            "AES",
        ],
        None,
    ));
    assert!(line.contains("does not accept"), "{line}");
}
