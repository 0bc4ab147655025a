//! Details of issue 20 (items 7 and 8): weaker keys named, durations refused in one line, a
//! key directory that is a file, a closed stdout, and man pages that exist.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

/// A ring whose one key is AES-128-CBC (a .NET app configured for AES-128), and a payload
/// protected with it under the purpose `orders` for the application `shop`.
fn aes128_ring(dir: &Path) -> String {
    let provider = keyward::Provider::builder()
        .application_name("shop")
        .key_directory(dir)
        .algorithm(keyward::Algorithm::Cbc {
            key_size: keyward::AesKeySize::Aes128,
            validation: keyward::ValidationAlgorithm::HmacSha256,
        })
        .minimum_key_size(keyward::AesKeySize::Aes128)
        .build()
        .unwrap();
    provider
        .protector(["orders"])
        .protect_str("weakly kept")
        .unwrap()
}

#[test]
fn a_weaker_key_is_named_below_keywards_minimum_with_the_ways_to_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let payload = aes128_ring(dir.path());
    let wanted = [
        "AES-128",
        "below keyward's minimum key size (AES-256)",
        "--allow-weaker-keys",
        "unprotect_with_weaker_keys",
        "never protect",
    ];

    let listed: Value = serde_json::from_str(&ok(&keyward(
        dir.path(),
        "shop",
        &["keys", "list", "--json"],
        None,
    )))
    .unwrap();
    let row = &listed.as_array().unwrap()[0];
    assert_eq!(row["status"], "unreadable", "{row}");
    let reason = row["reason"].as_str().unwrap();
    for part in wanted {
        assert!(reason.contains(part), "{part:?} not in {reason}");
    }

    let line = failure_line(&keyward(
        dir.path(),
        "shop",
        &["unprotect", "--purpose", "orders", &payload],
        None,
    ));
    for part in wanted {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    assert!(!line.contains("unsupported algorithm"), "{line}");

    let opened = ok(&keyward(
        dir.path(),
        "shop",
        &[
            "--allow-weaker-keys",
            "unprotect",
            "--purpose",
            "orders",
            &payload,
        ],
        None,
    ));
    assert_eq!(opened, "weakly kept");
}

#[test]
fn expires_in_zero_negative_or_out_of_range_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let protect = |expires_in: &[&str]| {
        let mut args = vec!["protect"];
        args.extend_from_slice(expires_in);
        args.push("x");
        failure_line(&keyward(dir.path(), "shop", &args, None))
    };
    for zero in [
        &["--expires-in", "0s"][..],
        &["--expires-in", "0d"],
        &["--expires-in=0h0m"],
    ] {
        let line = protect(zero);
        assert!(
            line.contains("--expires-in") && line.contains("positive"),
            "{zero:?}: {line}"
        );
    }
    for negative in [
        &["--expires-in", "-1d"][..],
        &["--expires-in=-1d"],
        &["--expires-in", "-30m"],
    ] {
        let line = protect(negative);
        assert!(
            line.contains("--expires-in") && line.contains("positive"),
            "{negative:?}: {line}"
        );
    }
    for huge in [
        "999999999999d",
        "99999999999999999999999d",
        "9223372036854775807s",
        "520000w",
    ] {
        let line = protect(&["--expires-in", huge]);
        assert!(
            line.contains("out of range") && line.contains(huge),
            "{huge}: {line}"
        );
    }
    // Refused before the ring is opened: no key was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The same for the key lifetime and times given as +DURATION.
    for lifetime in [&["--lifetime", "-90d"][..], &["--lifetime=-90d"]] {
        let mut args = vec!["keys", "new"];
        args.extend_from_slice(lifetime);
        let line = failure_line(&keyward(dir.path(), "shop", &args, None));
        assert!(line.contains("negative"), "{lifetime:?}: {line}");
    }
    let line = failure_line(&keyward(
        dir.path(),
        "shop",
        &["keys", "new", "--lifetime", "999999999999d"],
        None,
    ));
    assert!(line.contains("out of range"), "{line}");
    let line = failure_line(&keyward(
        dir.path(),
        "shop",
        &["keys", "list", "--at", "+999999999999d"],
        None,
    ));
    assert!(line.contains("out of range"), "{line}");
    // A plain one still works.
    ok(&keyward(
        dir.path(),
        "shop",
        &["protect", "--expires-in", "1h", "x"],
        None,
    ));
}

#[test]
fn a_keys_dir_that_is_a_file_is_named_as_a_file_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.xml");
    std::fs::write(&file, "<key/>").unwrap();
    let shown = file.display().to_string();
    for args in [
        &["keys", "list"][..],
        &["keys", "list", "--json"],
        &["keys", "new"],
        &["keys", "ensure"],
        &["keys", "timeline"],
        &["keys", "export"],
        &["protect", "x"],
        &["unprotect", "CfDJ8AAAAAAAAAAAAAAAAAAAAAA"],
        &["cookie", "decode", "CfDJ8AAAAAAAAAAAAAAAAAAAAAA"],
        &["inspect", "CfDJ8AAAAAAAAAAAAAAAAAAAAAA"],
    ] {
        let line = failure_line(&keyward(&file, "shop", args, None));
        assert!(
            line.contains(&shown) && line.contains("is a file, not a directory"),
            "{args:?}: {line}"
        );
    }
    // Nothing was written beside or into it.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "<key/>");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // The doctor says it too (its exit status is its own).
    let out = Command::new(BIN)
        .env_remove("KEYWARD_REPOSITORY")
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(&file)
        .arg("doctor")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("is a file, not a directory"), "{all}");
}

/// Runs keyward with stdout a pipe whose reading end is already closed.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_REPOSITORY")
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(dir)
        .args(["--application-name", "shop"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    ok(&keyward(dir.path(), "shop", &["keys", "new"], None));
    let ticket = dir.path().join("ticket.json");
    std::fs::write(
        &ticket,
        r#"{"identities": [{"authentication_type": "Cookies", "claims": [{"type": "name", "value": "a"}]}]}"#,
    )
    .unwrap();
    // The doctor's status is the ring's health, whoever reads the report.
    for args in [&["doctor"][..], &["doctor", "--json"]] {
        let open = Command::new(BIN)
            .env_remove("KEYWARD_REPOSITORY")
            .env("KEYWARD_LOG", "error")
            .arg("--keys-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        let closed = with_closed_stdout(dir.path(), args);
        assert_eq!(closed.status.code(), open.status.code(), "{args:?}");
        assert!(closed.stderr.is_empty(), "{args:?}");
    }
    for args in [
        &["keys", "list"][..],
        &["keys", "list", "--json"],
        &["keys", "timeline"],
        &["protect", "x"],
        &["man"],
        &["completions", "bash"],
        &["machine-key", "generate"],
        &["machine-key", "generate", "--json"],
        &["cookie", "encode", "--json", ticket.to_str().unwrap()],
    ] {
        let out = with_closed_stdout(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{args:?}: {:?}",
            out.status
        );
    }
}

/// `name(1)` references in a roff page (`\-` is a hyphen).
fn page_references(page: &str) -> Vec<String> {
    let text = page.replace("\\-", "-");
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("(1)") {
        let before = &rest[..at];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(0, |i| i + 1);
        found.push(before[start..].to_owned());
        rest = &rest[at + 3..];
    }
    found
}

#[test]
fn man_names_only_pages_that_exist() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .env_remove("KEYWARD_APPLICATION_NAME")
            .args(args)
            .output()
            .unwrap();
        ok(&out)
    };
    // One page on stdout: it refers to no other page.
    let page = run(&["man"]);
    assert!(page.contains(".TH keyward"), "{page:.200}");
    assert!(page.contains("doctor"));
    assert_eq!(page_references(&page), Vec::<String>::new(), "{page}");

    // Every page with --dir: each reference is a page written.
    let dir = tempfile::tempdir().unwrap();
    let listing = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for wanted in [
        "keyward.1",
        "keyward-keys.1",
        "keyward-keys-list.1",
        "keyward-machine-key-decode.1",
        "keyward-cookie-encode.1",
        "keyward-man.1",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} not in {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    assert_eq!(listing.lines().count(), names.len(), "{listing}");
    let mut references = 0;
    for name in &names {
        let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
        for reference in page_references(&page) {
            references += 1;
            assert!(
                names.contains(&format!("{reference}.1")),
                "{name} names {reference}(1), which was not written ({names:?})"
            );
        }
    }
    assert!(references > 10, "{references}");
}
