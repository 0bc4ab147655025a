//! `keyward doctor` on prepared rings: one finding per line with a severity and a fix, exit
//! status 0 (healthy), 1 (warnings) or 2 (errors). Snapshot tests (insta) of the output;
//! each also asserts the finding that matters directly.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

const DEFAULT: &str = "11111111-1111-4111-8111-111111111111";
const NEXT: &str = "22222222-2222-4222-8222-222222222222";

fn healthy_keys() -> Vec<FixtureKey<'static>> {
    vec![
        FixtureKey {
            id: DEFAULT,
            created: "2027-01-01T00:00:00Z",
            activation: "2027-01-01T00:00:00Z",
            expiration: "2027-04-01T00:00:00Z",
        },
        FixtureKey {
            id: NEXT,
            created: "2027-03-20T00:00:00Z",
            activation: "2027-04-01T00:00:00Z",
            expiration: "2027-06-30T00:00:00Z",
        },
    ]
}

fn doctor(dir: &Path, now: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--now", now, "doctor"];
    args.extend_from_slice(extra);
    keyward(dir, "a", &args, None)
}

fn id_output(flag: &str) -> String {
    let out = std::process::Command::new("id").arg(flag).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The output with what differs between machines replaced: the directory, this user's
/// names, and the store's latency.
fn normalized(output: &Output, dir: &Path) -> String {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let text = text.replace(&dir.display().to_string(), "[DIR]");
    let user = id_output("-un");
    let group = id_output("-gn");
    let text = text
        .replace(&format!("owner {user}:{group}"), "owner [USER]:[GROUP]")
        .replace(&format!("this user ({user})"), "this user ([USER])");
    let mut lines = Vec::new();
    for line in text.lines() {
        let line = match line.find("answered in ") {
            Some(start) => {
                let rest = &line[start + "answered in ".len()..];
                let end = rest.find(" ms").unwrap_or(0);
                format!("{}answered in [N]{}", &line[..start], &rest[end..])
            }
            None => line.to_owned(),
        };
        lines.push(line);
    }
    format!("exit {:?}\n{}", output.status.code(), lines.join("\n"))
}

fn codes(dir: &Path, now: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let output = doctor(dir, now, &args);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(codes: &[(String, String)], severity: &str, code: &str) -> bool {
    codes.iter().any(|(s, c)| s == severity && c == code)
}

#[test]
fn a_healthy_ring_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    let output = doctor(dir.path(), "2027-03-30T00:00:00Z", &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        normalized(&output, dir.path())
    );
    insta::assert_snapshot!(normalized(&output, dir.path()));
    let found = codes(dir.path(), "2027-03-30T00:00:00Z", &[]);
    assert!(has(&found, "ok", "keys.successor"), "{found:?}");
}

#[test]
fn a_zero_byte_key_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    std::fs::write(dir.path().join(format!("key-{NEXT}.xml")), "").unwrap();
    let output = doctor(dir.path(), "2027-03-30T00:00:00Z", &[]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(normalized(&output, dir.path()));
    assert!(has(
        &codes(dir.path(), "2027-03-30T00:00:00Z", &[]),
        "error",
        "files.empty"
    ));
}

#[cfg(unix)]
#[test]
fn a_key_file_the_service_user_cannot_read_is_reported_before_it_fails() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for key in healthy_keys() {
        let path = dir.path().join(format!("key-{}.xml", key.id));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // `nobody` exists on every Linux system and owns nothing here.
    let output = doctor(
        dir.path(),
        "2027-03-30T00:00:00Z",
        &["--service-user", "nobody"],
    );
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(normalized(&output, dir.path()));
    let found = codes(
        dir.path(),
        "2027-03-30T00:00:00Z",
        &["--service-user", "nobody"],
    );
    assert_eq!(
        found
            .iter()
            .filter(|(s, c)| s == "error" && c == "files.unreadable_by_service")
            .count(),
        2,
        "{found:?}"
    );
    // Readable by the group: the finding goes away.
    let nogroup = id_group_of("nobody");
    if let Some(gid) = nogroup {
        let status = std::process::Command::new("chgrp")
            .arg(gid.to_string())
            .args(
                healthy_keys()
                    .iter()
                    .map(|k| dir.path().join(format!("key-{}.xml", k.id))),
            )
            .status()
            .unwrap();
        if status.success() {
            for key in healthy_keys() {
                let path = dir.path().join(format!("key-{}.xml", key.id));
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            }
            let found = codes(
                dir.path(),
                "2027-03-30T00:00:00Z",
                &["--service-user", "nobody"],
            );
            assert!(
                !has(&found, "error", "files.unreadable_by_service"),
                "{found:?}"
            );
        }
    }
}

fn id_group_of(user: &str) -> Option<u32> {
    let out = std::process::Command::new("id")
        .args(["-g", user])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

#[test]
fn a_dpapi_key_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    // The DPAPI key of a Windows node that joined the ring this year (live, not expired).
    let dpapi = std::fs::read_to_string(testdata_dir().join("vectors/keys/dpapi-shape.xml"))
        .unwrap()
        .replace("2015-03-19T23:32:02.3949887Z", "2026-12-01T00:00:00Z")
        .replace("2015-03-19T23:32:02.3839429Z", "2026-12-01T00:00:00Z")
        .replace("2015-06-17T23:32:02.3839429Z", "2027-03-01T00:00:00Z");
    std::fs::write(dir.path().join("key-dpapi.xml"), dpapi).unwrap();
    let output = doctor(dir.path(), "2027-03-30T00:00:00Z", &[]);
    insta::assert_snapshot!(normalized(&output, dir.path()));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("DPAPI keys open only on the Windows account"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("warning") && l.contains("DpapiXmlDecryptor")),
        "{text}"
    );
}

#[test]
fn a_missing_successor_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys()[..1], &[]);
    let output = doctor(dir.path(), "2027-03-30T00:00:00Z", &[]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(normalized(&output, dir.path()));
    assert!(has(
        &codes(dir.path(), "2027-03-30T00:00:00Z", &[]),
        "warning",
        "keys.successor_missing"
    ));
}

#[test]
fn a_revoked_default_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(
        dir.path(),
        &healthy_keys()[..1],
        &[(DEFAULT, "2027-02-01T00:00:00Z")],
    );
    let output = doctor(dir.path(), "2027-03-01T00:00:00Z", &[]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(normalized(&output, dir.path()));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains(&format!("{DEFAULT}, is revoked")), "{text}");
}

#[test]
fn a_plaintext_key_under_required_encryption() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    let output = doctor(
        dir.path(),
        "2027-03-30T00:00:00Z",
        &["--require-encryption"],
    );
    insta::assert_snapshot!(normalized(&output, dir.path()));
    let found = codes(
        dir.path(),
        "2027-03-30T00:00:00Z",
        &["--require-encryption"],
    );
    assert!(
        has(&found, "warning", "keys.plaintext_refused"),
        "{found:?}"
    );
}

#[test]
fn a_skewed_clock_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    // This node's clock is a month behind the node that wrote the successor.
    let output = doctor(dir.path(), "2027-02-15T00:00:00Z", &[]);
    insta::assert_snapshot!(normalized(&output, dir.path()));
    assert!(has(
        &codes(dir.path(), "2027-02-15T00:00:00Z", &[]),
        "warning",
        "time.created_in_future"
    ));
}

#[test]
fn an_unreachable_store_is_an_error() {
    let output = keyward(
        Path::new("/nonexistent"),
        "a",
        &["--repository", "redis://127.0.0.1:1/0", "doctor"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("store") && text.contains("cannot read the key ring"),
        "{text}"
    );
}

#[test]
fn the_store_clock_is_compared_with_this_one() {
    for uri in [redis_uri(), postgres_uri()].into_iter().flatten() {
        store_clock(&uri);
    }
}

fn store_clock(uri: &str) {
    let dir = tempfile::tempdir().unwrap();
    // A ring in the store (PostgreSQL's table is created by the first writer).
    ok(&keyward(
        dir.path(),
        "a",
        &["--repository", uri, "keys", "ensure"],
        None,
    ));
    // With this node's clock as it is: within the allowed skew.
    let output = keyward(
        dir.path(),
        "a",
        &["--repository", uri, "doctor", "--json"],
        None,
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"time.store"), "{report}");
    // A node whose clock is a day ahead of the store: an error naming the skew.
    let ahead = (keyward::time::OffsetDateTime::now_utc() + keyward::time::Duration::days(1))
        .format(&keyward::time::format_description::well_known::Rfc3339)
        .unwrap();
    let output = keyward(
        dir.path(),
        "a",
        &["--repository", uri, "--now", &ahead, "doctor"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("error") && l.contains("ahead of the store's")),
        "{text}"
    );
}
