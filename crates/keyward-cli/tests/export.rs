//! `keyward keys export` / `keys import`: a ring to one file and back; plaintext master keys
//! never reach a file unasked; import is idempotent and never replaces a key.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use common::*;
use serde_json::Value;

fn json(output: &std::process::Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

#[test]
fn a_ring_exported_and_imported_elsewhere_opens_its_payloads() {
    let source = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(source.path(), "a", &["protect", "secret"], None));
    ok(&keyward(source.path(), "a", &["keys", "new"], None));
    let first = ok(&keyward(
        source.path(),
        "a",
        &["keys", "list", "--json"],
        None,
    ));
    let first: Value = serde_json::from_str(&first).unwrap();
    let revoked = first[1]["id"].as_str().unwrap().to_owned();
    ok(&keyward(
        source.path(),
        "a",
        &["keys", "revoke", &revoked, "--reason", "test"],
        None,
    ));
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("ring.xml");
    let file_arg = file.to_str().unwrap();

    // Plaintext keys are refused without --allow-plaintext, and no file is written.
    let refused = failure_line(&keyward(
        source.path(),
        "a",
        &["keys", "export", "--output", file_arg],
        None,
    ));
    assert!(refused.contains("--allow-plaintext"), "{refused}");
    assert!(!file.exists());

    let report = json(&keyward(
        source.path(),
        "a",
        &[
            "keys",
            "export",
            "--output",
            file_arg,
            "--allow-plaintext",
            "--json",
        ],
        None,
    ));
    // Revoking the pending successor wrote a key to take over where it would have (issue 20).
    assert_eq!(report["keys"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(report["revocations"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an export file is owner-only");
    }

    let target = tempfile::tempdir().unwrap();
    let dry = json(&keyward(
        target.path(),
        "a",
        &["keys", "import", file_arg, "--dry-run", "--json"],
        None,
    ));
    assert_eq!(dry["imported_keys"].as_array().unwrap().len(), 3, "{dry}");
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
    let imported = json(&keyward(
        target.path(),
        "a",
        &["keys", "import", file_arg, "--json"],
        None,
    ));
    assert_eq!(imported["imported_keys"].as_array().unwrap().len(), 3);
    assert_eq!(imported["imported_revocations"], 1);
    assert_eq!(
        ok(&keyward(
            target.path(),
            "a",
            &["unprotect", payload.trim()],
            None
        )),
        "secret"
    );
    let listed: Value = serde_json::from_str(&ok(&keyward(
        target.path(),
        "a",
        &["keys", "list", "--json"],
        None,
    )))
    .unwrap();
    let status = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&revoked), "revoked");

    // Idempotent: the second import adds nothing.
    let again = json(&keyward(
        target.path(),
        "a",
        &["keys", "import", file_arg, "--json"],
        None,
    ));
    assert!(
        again["imported_keys"].as_array().unwrap().is_empty(),
        "{again}"
    );
    assert_eq!(again["already_present"].as_array().unwrap().len(), 3);
    assert_eq!(again["imported_revocations"], 0);
}

#[test]
fn a_kek_wraps_plaintext_keys_for_the_file() {
    let source = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(source.path(), "a", &["protect", "secret"], None));
    let files = tempfile::tempdir().unwrap();
    let kek = files.path().join("kek.b64");
    std::fs::write(&kek, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
    let file = files.path().join("ring.xml");
    let report = json(&keyward(
        source.path(),
        "a",
        &[
            "--kek-file",
            kek.to_str().unwrap(),
            "keys",
            "export",
            "--output",
            file.to_str().unwrap(),
            "--json",
        ],
        None,
    ));
    assert_eq!(report["wrapped"].as_array().unwrap().len(), 1, "{report}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("encryptedSecret") && !text.contains("<masterKey"),
        "{text}"
    );
    // Importing needs the KEK: without it the key would be unusable, and nothing is written.
    let target = tempfile::tempdir().unwrap();
    let refused = failure_line(&keyward(
        target.path(),
        "a",
        &["keys", "import", file.to_str().unwrap()],
        None,
    ));
    assert!(refused.contains("cannot be used by this ring"), "{refused}");
    assert!(refused.contains("--kek-file"), "{refused}");
    assert_eq!(key_files(target.path()), 0);
    ok(&keyward(
        target.path(),
        "a",
        &[
            "--kek-file",
            kek.to_str().unwrap(),
            "keys",
            "import",
            file.to_str().unwrap(),
        ],
        None,
    ));
    // The key comes back in the clear, as the source ring held it: a node without the KEK
    // (or .NET) opens its payloads.
    let opened = ok(&keyward(
        target.path(),
        "a",
        &["unprotect", payload.trim()],
        None,
    ));
    assert_eq!(opened, "secret");
    // Into the source ring (which holds the key in the clear): the same key, not a conflict.
    let back = json(&keyward(
        source.path(),
        "a",
        &[
            "--kek-file",
            kek.to_str().unwrap(),
            "keys",
            "import",
            file.to_str().unwrap(),
            "--json",
        ],
        None,
    ));
    assert_eq!(
        back["already_present"].as_array().unwrap().len(),
        1,
        "{back}"
    );
    assert!(back["conflicts"].as_array().unwrap().is_empty());
}

#[test]
fn import_checks_everything_before_writing_and_never_replaces_a_key() {
    let target = tempfile::tempdir().unwrap();
    ok(&keyward(target.path(), "a", &["protect", "x"], None));
    let existing = std::fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("key-"))
        .unwrap();
    let existing_xml = std::fs::read_to_string(&existing).unwrap();
    let id = existing
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("key-")
        .trim_end_matches(".xml")
        .to_owned();
    let files = tempfile::tempdir().unwrap();
    // A valid new key and a broken one: nothing is written.
    let fresh = fixture_key_xml(&FixtureKey {
        id: "22222222-2222-4222-8222-222222222222",
        created: "2027-01-01T00:00:00Z",
        activation: "2027-01-01T00:00:00Z",
        expiration: "2027-04-01T00:00:00Z",
    });
    let body = |s: &str| {
        s.trim_start_matches("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
            .to_owned()
    };
    let broken = body(&fresh)
        .replace(
            "22222222-2222-4222-8222-222222222222",
            "33333333-3333-4333-8333-333333333333",
        )
        .replace("<expirationDate>2027-04-01T00:00:00Z</expirationDate>", "");
    let bad = files.path().join("bad.xml");
    std::fs::write(
        &bad,
        format!("<repository>{}{}</repository>", body(&fresh), broken),
    )
    .unwrap();
    let before: Vec<_> = std::fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let error = failure_line(&keyward(
        target.path(),
        "a",
        &["keys", "import", bad.to_str().unwrap()],
        None,
    ));
    assert!(error.contains("expirationDate"), "{error}");
    let after: Vec<_> = std::fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len(), "nothing written");

    // A different key under an existing id is not imported, and says so.
    let impostor = body(&fixture_key_xml(&FixtureKey {
        id: &id,
        created: "2020-01-01T00:00:00Z",
        activation: "2020-01-01T00:00:00Z",
        expiration: "2030-01-01T00:00:00Z",
    }));
    let file = files.path().join("impostor.xml");
    std::fs::write(&file, format!("<repository>{impostor}</repository>")).unwrap();
    let output = keyward(
        target.path(),
        "a",
        &["keys", "import", file.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("never replaced"));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), existing_xml);

    // The same impostor with its id spelled another way (braces, upper case), beside a new
    // key: refused as a whole, so the new key is not written either.
    let spelled = impostor.replace(&id, &format!("{{{}}}", id.to_uppercase()));
    let file = files.path().join("spelled.xml");
    std::fs::write(
        &file,
        format!("<repository>{}{spelled}</repository>", body(&fresh)),
    )
    .unwrap();
    let before = key_files(target.path());
    let output = keyward(
        target.path(),
        "a",
        &["keys", "import", file.to_str().unwrap()],
        None,
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("never replaced"));
    assert_eq!(key_files(target.path()), before, "nothing written");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), existing_xml);
    ok(&keyward(target.path(), "a", &["keys", "list"], None));

    // One file naming one id twice with different keys: refused.
    let twice = format!(
        "<repository>{}{}</repository>",
        body(&fresh),
        body(&fresh).replace("2027-04-01T00:00:00Z", "2027-05-01T00:00:00Z")
    );
    std::fs::write(&file, twice).unwrap();
    let error = failure_line(&keyward(
        target.path(),
        "a",
        &["keys", "import", file.to_str().unwrap()],
        None,
    ));
    assert!(error.contains("two different keys"), "{error}");
}

fn key_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("key-")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn export_never_writes_a_clear_master_key_unasked_nor_over_a_file() {
    let source = tempfile::tempdir().unwrap();
    ok(&keyward(source.path(), "a", &["protect", "x"], None));
    // A decoy <encryptedSecret> before the real <masterKey>: the ring reads the key in the
    // clear, and so must export.
    let path = std::fs::read_dir(source.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("key-"))
        .unwrap();
    let xml = std::fs::read_to_string(&path).unwrap();
    let decoyed = xml.replacen(
        "<masterKey",
        "<encryptedSecret>x</encryptedSecret><masterKey",
        1,
    );
    assert_ne!(decoyed, xml);
    std::fs::write(&path, decoyed).unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("ring.xml");
    let kek = files.path().join("kek.b64");
    std::fs::write(&kek, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
    // (With a KEK configured the ring also logs that the plaintext key is not used.)
    let output = keyward(
        source.path(),
        "a",
        &[
            "--kek-file",
            kek.to_str().unwrap(),
            "keys",
            "export",
            "--output",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let refused = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(refused.contains("stored in the clear"), "{refused}");
    assert!(!file.exists());

    // An existing file is not replaced without --force; the key directory is refused.
    std::fs::write(&file, "keep").unwrap();
    let refused = failure_line(&keyward(
        source.path(),
        "a",
        &[
            "keys",
            "export",
            "--allow-plaintext",
            "--output",
            file.to_str().unwrap(),
        ],
        None,
    ));
    assert!(refused.contains("--force"), "{refused}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    ok(&keyward(
        source.path(),
        "a",
        &[
            "keys",
            "export",
            "--allow-plaintext",
            "--force",
            "--output",
            file.to_str().unwrap(),
        ],
        None,
    ));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("<repository"));
    let inside = source.path().join("backup.xml");
    let refused = failure_line(&keyward(
        source.path(),
        "a",
        &[
            "keys",
            "export",
            "--allow-plaintext",
            "--output",
            inside.to_str().unwrap(),
        ],
        None,
    ));
    assert!(refused.contains("inside the key directory"), "{refused}");
    assert!(!inside.exists());
}
