//! The `keyward` binary's contract, run as a real process.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::process::{Command, Stdio};

mod common;

use common::*;

#[test]
fn protect_then_unprotect_text_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(
        dir.path(),
        "shop",
        &[
            "protect",
            "--purpose",
            "Orders",
            "--purpose",
            "v1",
            "héllo wörld",
        ],
        None,
    ));
    assert!(payload.starts_with("CfDJ8") && payload.ends_with('\n'));
    assert!(!payload.trim_end().contains('='), "no padding");
    let plain = keyward(
        dir.path(),
        "shop",
        &[
            "unprotect",
            "--purpose",
            "Orders",
            "--purpose",
            "v1",
            payload.trim(),
        ],
        None,
    );
    assert_eq!(ok(&plain), "héllo wörld", "exact bytes, nothing added");

    // stdin: arbitrary bytes in, exact bytes out; surrounding whitespace ignored on unprotect.
    let bytes: Vec<u8> = (0..=255u8).chain([0, 10, 13]).collect();
    let payload = ok(&keyward(
        dir.path(),
        "shop",
        &["protect", "--purpose", "bin"],
        Some(&bytes),
    ));
    let padded = format!("  \n{payload}\n\n");
    let plain = keyward(
        dir.path(),
        "shop",
        &["unprotect", "--purpose", "bin"],
        Some(padded.as_bytes()),
    );
    assert!(plain.status.success());
    assert_eq!(plain.stdout, bytes);
}

#[test]
fn gcm_keys_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(
        dir.path(),
        "a",
        &["--algorithm", "gcm", "protect", "--purpose", "p", "x"],
        None,
    ));
    assert_eq!(
        ok(&keyward(
            dir.path(),
            "a",
            &["unprotect", "--purpose", "p", payload.trim()],
            None
        )),
        "x"
    );
    let list = ok(&keyward(dir.path(), "a", &["keys", "list", "--json"], None));
    assert!(list.contains("\"AES_256_GCM\""), "{list}");
}

#[test]
fn failures_exit_1_with_one_line_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let payload = ok(&keyward(
        dir.path(),
        "a",
        &["protect", "--purpose", "p", "secret"],
        None,
    ));
    let payload = payload.trim();

    let wrong_purpose = failure_line(&keyward(
        dir.path(),
        "a",
        &["unprotect", "--purpose", "q", payload],
        None,
    ));
    assert!(wrong_purpose.contains("invalid"), "{wrong_purpose}");
    let wrong_app = failure_line(&keyward(
        dir.path(),
        "b",
        &["unprotect", "--purpose", "p", payload],
        None,
    ));
    assert!(wrong_app.contains("invalid"), "{wrong_app}");
    let garbage = failure_line(&keyward(
        dir.path(),
        "a",
        &["unprotect", "--purpose", "p", "%%%"],
        None,
    ));
    assert!(garbage.contains("base64"), "{garbage}");

    // Unknown key: another directory has other keys; the message names the key id.
    let list = ok(&keyward(dir.path(), "a", &["keys", "list", "--json"], None));
    let keys: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    let other = tempfile::tempdir().unwrap();
    let unknown = failure_line(&keyward(
        other.path(),
        "a",
        &["unprotect", "--purpose", "p", payload],
        None,
    ));
    assert!(
        unknown.contains(&id) && unknown.contains("not found"),
        "{unknown}"
    );

    // Revoked key (a .NET revocation element): refused, naming the key id.
    let revocation = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<revocation version=\"1\">\n  <revocationDate>2026-01-01T00:00:00Z</revocationDate>\n  <key id=\"{id}\" />\n  <reason>test</reason>\n</revocation>\n"
    );
    std::fs::write(dir.path().join(format!("revocation-{id}.xml")), revocation).unwrap();
    let revoked = failure_line(&keyward(
        dir.path(),
        "a",
        &["unprotect", "--purpose", "p", payload],
        None,
    ));
    assert!(
        revoked.contains(&id) && revoked.contains("revoked"),
        "{revoked}"
    );
}

#[test]
fn an_application_name_must_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .arg("--keys-dir")
        .arg(dir.path())
        .args(["protect", "x"])
        .output()
        .unwrap();
    let line = failure_line(&output);
    assert!(line.contains("--application-name"), "{line}");
    let output = Command::new(BIN)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .arg("--keys-dir")
        .arg(dir.path())
        .args(["--no-application-name", "protect", "x"])
        .output()
        .unwrap();
    assert!(output.status.success());
}

#[test]
fn a_bad_key_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let line = failure_line(&keyward(&file, "a", &["protect", "x"], None));
    assert!(line.contains(&file.display().to_string()), "{line}");
}

#[test]
fn keys_list_json_has_exactly_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(&keyward(dir.path(), "a", &["keys", "list", "--json"], None)).trim(),
        "[]"
    );
    ok(&keyward(dir.path(), "a", &["protect", "x"], None));
    let keys: serde_json::Value = serde_json::from_str(&ok(&keyward(
        dir.path(),
        "a",
        &["keys", "list", "--json"],
        None,
    )))
    .unwrap();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut fields: Vec<&str> = key.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "activation",
            "algorithm",
            "at_rest",
            "at_rest_id",
            "created",
            "dotnet_readable",
            "expiration",
            "id",
            "location",
            "reason",
            "status"
        ]
    );
    assert_eq!(key["at_rest"], "none");
    assert_eq!(key["dotnet_readable"], true);
    assert!(key["reason"].is_null() && key["location"].is_null());
    assert_eq!(key["status"], "default");
    assert_eq!(key["algorithm"], "AES_256_CBC/HMACSHA256");
    for field in ["created", "activation", "expiration"] {
        let text = key[field].as_str().unwrap();
        assert!(text.ends_with('Z'), "{field}: {text}");
        keyward::time::OffsetDateTime::parse(
            text,
            &keyward::time::format_description::well_known::Rfc3339,
        )
        .unwrap();
    }
    let table = ok(&keyward(dir.path(), "a", &["keys", "list"], None));
    assert!(
        table.contains(key["id"].as_str().unwrap()) && table.contains("default"),
        "{table}"
    );
}

#[test]
fn four_processes_on_an_empty_directory_create_exactly_one_key() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let children: Vec<_> = (0..4)
            .map(|i| {
                Command::new(BIN)
                    .env("KEYWARD_LOG", "warn")
                    .arg("--keys-dir")
                    .arg(&keys)
                    .args([
                        "--application-name",
                        "farm",
                        "protect",
                        "--purpose",
                        "p",
                        &format!("node {i}"),
                    ])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let payloads: Vec<String> = children
            .into_iter()
            .map(|c| ok(&c.wait_with_output().unwrap()))
            .collect();
        let key_files: Vec<_> = std::fs::read_dir(&keys)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".xml"))
            .collect();
        assert_eq!(key_files.len(), 1, "round {round}: {key_files:?}");
        for (i, payload) in payloads.iter().enumerate() {
            let plain = keyward(
                &keys,
                "farm",
                &["unprotect", "--purpose", "p", payload.trim()],
                None,
            );
            assert_eq!(ok(&plain), format!("node {i}"));
        }
    }
}

#[test]
fn reads_a_key_directory_written_by_dotnet() {
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata_dir().join("vectors/aspnetcore.json")).unwrap(),
    )
    .unwrap();
    let vector = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-bitwarden.xml")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata_dir().join("vectors/keys/unencrypted.xml"),
        dir.path()
            .join("key-6417072d-bd2e-4737-8995-fd280fe00251.xml"),
    )
    .unwrap();
    let payload = vector["inputs"]["protected_base64url"].as_str().unwrap();
    let plain = keyward(
        dir.path(),
        "Bitwarden",
        &["unprotect", "--purpose", "Test", payload],
        None,
    );
    assert_eq!(
        ok(&plain),
        vector["expected"]["plaintext_utf8"].as_str().unwrap()
    );
}
