//! `keyward inspect`: envelope, key status and opening, on payloads ASP.NET Core made
//! (testdata/vectors/aspnetcore-real) and on prepared rings, with a fixed clock.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{failure_line, keyward, ok, testdata_dir, write_fixture_ring, FixtureKey};

/// The clock of every test: after the real ring's keys were made, before they expire.
const NOW: &str = "2026-12-01T00:00:00Z";

/// The key every real payload but the revoked one names.
const REAL_KEY: &str = "a1f2cab3-8e12-4727-947e-8f42f5ccf8cb";

/// The revoked key of the real ring.
const REVOKED_KEY: &str = "73c0b29f-2581-4cff-a04b-cba3c0cca2a0";

const COOKIE_CHAIN: &str =
    "Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware / Cookies / v2";

fn real_dir() -> PathBuf {
    testdata_dir().join("vectors/aspnetcore-real")
}

fn real_ring() -> PathBuf {
    real_dir().join("ring")
}

/// The case of `kind` (and `name`, for auth cookies) from cases.json.
fn case(kind: &str, name: Option<&str>) -> serde_json::Value {
    let text = std::fs::read_to_string(real_dir().join("cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    cases
        .into_iter()
        .find(|c| c["kind"] == kind && name.is_none_or(|n| c["name"] == n))
        .unwrap_or_else(|| panic!("no case {kind} {name:?}"))
}

fn field(case: &serde_json::Value, field: &str) -> String {
    case[field].as_str().unwrap().to_owned()
}

/// `keyward --keys-dir RING --application-name shop --now NOW inspect ARGS…`.
fn inspect(ring: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut all = vec!["--now", NOW, "inspect"];
    all.extend_from_slice(args);
    keyward(ring, "shop", &all, stdin)
}

/// `keyward` without any application name.
fn inspect_without_name(ring: &Path, args: &[&str]) -> Output {
    Command::new(common::BIN)
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_CONTENT_ROOT")
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(ring)
        .args(["--now", NOW, "inspect"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Output with machine-specific paths replaced, for snapshots.
fn stable(text: &str) -> String {
    text.replace(&testdata_dir().display().to_string(), "[TESTDATA]")
}

/// A value of the report's JSON.
fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Asserts exit status 1, the report on stdout and one `keyward:` line on stderr; returns
/// both.
fn refused_with_report(output: &Output) -> (String, String) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.starts_with("keyward: "), "{stderr:?}");
    (stdout, stderr)
}

#[test]
fn the_real_chunked_cookie_names_its_key_and_opens_as_cookie_authentication() {
    let case = case("auth_cookie", Some("chunked"));
    assert_eq!(case["chunked"], true);
    let header = field(&case, "cookie_header");
    assert!(header.contains("chunks-"), "{header}");

    // Without purposes: the envelope and the key.
    let text = ok(&inspect(&real_ring(), &[&header], None));
    assert!(
        text.contains(&format!("key id:       {REAL_KEY}")),
        "{text}"
    );
    assert!(
        text.contains("chunked cookie .AspNetCore.Cookies (2 chunks)"),
        "{text}"
    );
    assert!(text.contains("opens:          not tried"), "{text}");

    // With the Cookie: prefix, on stdin, trying the known chains.
    let stdin = format!("Cookie: {header}\n");
    let output = inspect(
        &real_ring(),
        &["--try-known-purposes"],
        Some(stdin.as_bytes()),
    );
    let text = ok(&output);
    assert!(text.contains("opens:          yes"), "{text}");
    assert!(
        text.contains("as:           cookie authentication, scheme Cookies"),
        "{text}"
    );
    assert!(text.contains("application:  \"shop\""), "{text}");
    assert!(text.contains(COOKIE_CHAIN), "{text}");
    // The ticket is binary; its content is not shown without --show-plaintext.
    assert!(text.contains("bytes, binary"), "{text}");
    assert!(text.contains("content:      not shown"), "{text}");
    assert!(!text.contains("05000000"), "{text}");
    insta::assert_snapshot!("real_chunked_cookie_try_known_text", stable(&text));

    let output = inspect(
        &real_ring(),
        &["--try-known-purposes", "--json", &header],
        None,
    );
    let value = json(&output);
    assert_eq!(value["payload"]["key_id"], REAL_KEY);
    assert_eq!(value["input"]["form"], "chunked_cookie");
    assert_eq!(value["input"]["chunks"], 2);
    assert_eq!(value["open"]["opened"], true);
    assert_eq!(
        value["open"]["chain"]["label"],
        "cookie authentication, scheme Cookies"
    );
    assert_eq!(value["open"]["chain"]["application_name"], "shop");
    // The plaintext is the ticket .NET serialized.
    let serialized = base64_standard_decode(&field(&case, "serialized_b64"));
    assert_eq!(value["open"]["plaintext"]["size"], serialized.len());
    assert!(value["open"]["plaintext"]["base64"].is_null());
    insta::assert_snapshot!(
        "real_chunked_cookie_try_known_json",
        stable(&String::from_utf8(output.stdout).unwrap())
    );
}

/// Standard base64 (tests only).
fn base64_standard_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn show_plaintext_gives_the_whole_ticket() {
    let case = case("auth_cookie", Some("chunked"));
    let output = inspect(
        &real_ring(),
        &[
            "--try-known-purposes",
            "--show-plaintext",
            "--json",
            &field(&case, "cookie_header"),
        ],
        None,
    );
    let value = json(&ok_output(output));
    assert_eq!(
        value["open"]["plaintext"]["base64"],
        field(&case, "serialized_b64")
    );
}

fn ok_output(output: Output) -> Output {
    ok(&output);
    output
}

#[test]
fn the_real_simple_cookie_opens_the_same_way_and_with_its_chain_given() {
    let case = case("auth_cookie", Some("simple"));
    assert_eq!(case["chunked"], false);
    let header = field(&case, "cookie_header");
    let text = ok(&inspect(
        &real_ring(),
        &["--try-known-purposes", &format!("theme=dark; {header}")],
        None,
    ));
    assert!(
        text.contains(&format!("key id:       {REAL_KEY}")),
        "{text}"
    );
    assert!(
        text.contains("input:          cookie .AspNetCore.Cookies, base64url"),
        "{text}"
    );
    assert!(
        text.contains("as:           cookie authentication, scheme Cookies"),
        "{text}"
    );
    assert!(text.contains("tried:        1 of"), "{text}");

    // The chain given by hand, and the cookie picked by name.
    let purposes: Vec<String> = serde_json::from_value(case["purposes"].clone()).unwrap();
    let mut args = vec!["--cookie", ".AspNetCore.Cookies"];
    for purpose in &purposes {
        args.extend(["--purpose", purpose]);
    }
    let header_with_other = format!("other=CfDJ8abc; {header}");
    args.push(&header_with_other);
    let text = ok(&inspect(&real_ring(), &args, None));
    assert!(text.contains("opens:          yes"), "{text}");
    assert!(text.contains("tried:        1 of 1 chain\n"), "{text}");
}

#[test]
fn a_payload_under_a_revoked_key_shows_revoked_with_its_dates() {
    let case = case("revoked", None);
    assert_eq!(field(&case, "key_id"), REVOKED_KEY);
    let payload = field(&case, "payload");

    // Without purposes it parses: exit 0, status revoked.
    let text = ok(&inspect(&real_ring(), &[&payload], None));
    assert!(text.contains("key:            revoked"), "{text}");
    assert!(
        text.contains("created:      2026-11-27T23:21:19.8086189Z"),
        "{text}"
    );
    assert!(
        text.contains("expiration:   2027-02-25T23:21:19.808619Z"),
        "{text}"
    );

    // Asked to open: refused as revoked, and the chain is known to be right.
    let output = inspect(&real_ring(), &["--purpose", "rev", &payload], None);
    let (text, stderr) = refused_with_report(&output);
    assert!(stderr.contains("revoked"), "{stderr}");
    assert!(
        text.contains("if unrevoked: it would open, application \"shop\", purposes rev"),
        "{text}"
    );
    insta::assert_snapshot!("revoked_payload_text", stable(&text));

    let output = inspect(
        &real_ring(),
        &["--purpose", "rev", "--json", &payload],
        None,
    );
    let value = json(&output);
    assert_eq!(value["key"]["status"], "revoked");
    assert_eq!(value["open"]["failure"]["kind"], "revoked");
    insta::assert_snapshot!(
        "revoked_payload_json",
        stable(&String::from_utf8(output.stdout).unwrap())
    );
}

#[test]
fn a_payload_under_a_key_the_ring_lacks_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring");
    write_fixture_ring(
        &ring,
        &[FixtureKey {
            id: "11111111-2222-4333-8444-555555555555",
            created: "2026-11-01T00:00:00Z",
            activation: "2026-11-01T00:00:00Z",
            expiration: "2027-01-30T00:00:00Z",
        }],
        &[],
    );
    let payload = field(&case("time_limited", None), "payload");
    let text = ok(&inspect(&ring, &[&payload], None));
    let text = text.replace(&ring.display().to_string(), "[RING]");
    assert!(
        text.contains("key:            unknown: the ring at directory [RING]"),
        "{text}"
    );
    assert!(
        text.contains("body:         80 bytes (layout unknown without the key)"),
        "{text}"
    );
    insta::assert_snapshot!("unknown_key_text", text);

    let output = inspect(&ring, &["--purpose", "tl", "--json", &payload], None);
    let (_, stderr) = refused_with_report(&output);
    assert!(stderr.contains("unknown key"), "{stderr}");
    let value = json(&output);
    assert_eq!(value["key"]["status"], "unknown");
    assert_eq!(value["open"]["failure"]["kind"], "unknown_key");
    assert_eq!(value["open"]["tried"], 0);
}

#[test]
fn a_wrong_purpose_is_invalid_and_the_reasons_are_listed() {
    let payload = field(&case("protect_string", None), "payload");
    let output = inspect(&real_ring(), &["--purpose", "not-strings", &payload], None);
    let (text, stderr) = refused_with_report(&output);
    assert!(
        text.contains(
            "opens:          no: invalid: tampered, or other purposes or application name"
        ),
        "{text}"
    );
    assert!(
        stderr.contains("invalid: tampered, or other purposes or application name"),
        "{stderr}"
    );
    assert!(
        text.contains("likely:       it is time-limited: add --time-limited"),
        "{text}"
    );

    // The right purpose opens it; the text is shown only when asked.
    let output = inspect(&real_ring(), &["--purpose", "strings", &payload], None);
    let text = ok(&output);
    assert!(text.contains("opens:          yes"), "{text}");
    assert!(!text.contains("a string ünïcødé"), "{text}");
    let output = inspect(
        &real_ring(),
        &["--purpose", "strings", "--show-plaintext", &payload],
        None,
    );
    let text = ok(&output);
    assert!(text.contains("a string ünïcødé 🔑"), "{text}");
}

#[test]
fn an_expired_time_limited_payload_is_expired() {
    let payload = field(&case("time_limited_expired", None), "payload");
    let output = inspect(
        &real_ring(),
        &["--purpose", "tl", "--time-limited", &payload],
        None,
    );
    let (text, stderr) = refused_with_report(&output);
    assert!(
        text.contains("opens:          no: expired: the time-limited payload expired at"),
        "{text}"
    );
    assert!(stderr.contains("expired"), "{stderr}");
    // The one still valid opens, with its expiration.
    let payload = field(&case("time_limited", None), "payload");
    let value = json(&ok_output(inspect(
        &real_ring(),
        &[
            "--purpose",
            "tl",
            "--time-limited",
            "--json",
            "--show-plaintext",
            &payload,
        ],
        None,
    )));
    assert_eq!(value["open"]["expires"], "2031-01-02T03:04:05Z");
    assert_eq!(value["open"]["plaintext"]["text"], "tl-data");
    assert_eq!(value["open"]["plaintext"]["base64"], "dGwtZGF0YQ==");
}

#[test]
fn missing_and_extra_chunks_are_refused() {
    let header = field(&case("auth_cookie", Some("chunked")), "cookie_header");
    let parts: Vec<&str> = header.split("; ").collect();
    assert_eq!(parts.len(), 3, "{header}");

    let missing = [parts[0], parts[1]].join("; ");
    let line = failure_line(&inspect(&real_ring(), &[&missing], None));
    assert!(
        line.contains("chunk \".AspNetCore.CookiesC2\" of 2 is missing"),
        "{line}"
    );

    let extra = format!("{header}; .AspNetCore.CookiesC3=abc");
    let line = failure_line(&inspect(&real_ring(), &[&extra], None));
    assert!(
        line.contains("\".AspNetCore.CookiesC3\" is not one of the 2 chunks"),
        "{line}"
    );

    // Out of order is fine: chunks go back by number.
    let shuffled = [parts[2], parts[0], parts[1]].join("; ");
    ok(&inspect(&real_ring(), &[&shuffled], None));
}

#[test]
fn garbage_is_malformed_never_a_panic() {
    let mut inputs: Vec<Vec<u8>> = [
        "garbage!",
        "CfDJ8",
        "Zm9vYmFyYmF6",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "a=b",
        "Cookie: ",
        "x=chunks-999999999999; xC1=a",
        "x=chunks-2; xC1=a; xC2=%",
        "\u{1b}[31m=1; b=\u{202e}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Raw bytes: too short, and a header with nothing after it.
    inputs.push(vec![0x09, 0xF0, 0xC9, 0xF0, 1, 2, 3]);
    inputs.push(vec![0xff; 100]);
    for input in inputs {
        let output = inspect(&real_ring(), &[], Some(&input));
        let line = failure_line(&output);
        assert!(line.starts_with("keyward: "), "{line}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{202e}'),
            "{line:?}"
        );
    }
    let line = failure_line(&inspect(&real_ring(), &["garbage!"], None));
    assert!(line.contains("malformed payload"), "{line}");
    let line = failure_line(&inspect(&real_ring(), &[], Some(&[0xff; 100])));
    assert!(
        line.contains("malformed payload") && line.contains("magic"),
        "{line}"
    );
    // A header too large is refused before it is parsed.
    let huge = vec![b'a'; (1 << 20) + 10];
    let line = failure_line(&inspect(&real_ring(), &[], Some(&huge)));
    assert!(line.contains("at most"), "{line}");
}

#[test]
fn a_raw_payload_on_stdin_is_read_as_bytes() {
    use base64::Engine as _;
    let payload = field(&case("protect_string", None), "payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&payload)
        .unwrap();
    let value = json(&ok_output(inspect(
        &real_ring(),
        &["--json", "--purpose", "strings"],
        Some(&raw),
    )));
    assert_eq!(value["input"]["form"], "raw");
    assert_eq!(value["open"]["opened"], true);
    // Standard base64 with padding, as the session cookie uses, reads the same.
    let standard = base64::engine::general_purpose::STANDARD.encode(&raw);
    let value = json(&ok_output(inspect(
        &real_ring(),
        &["--json", &standard],
        None,
    )));
    assert_eq!(value["payload"]["key_id"], REAL_KEY);
}

#[test]
fn try_known_purposes_tries_every_name_and_says_when_none_opens() {
    let header = field(&case("auth_cookie", Some("simple")), "cookie_header");
    // Several names (before the subcommand: clap keeps only the last side's values of a
    // global option): the right one is found among them.
    let output = keyward(
        &real_ring(),
        "other",
        &[
            "--application-name",
            "shop",
            "--now",
            NOW,
            "inspect",
            "--try-known-purposes",
            "--json",
            &header,
        ],
        None,
    );
    let value = json(&ok_output(output));
    assert_eq!(value["open"]["chains"], 34);
    assert_eq!(value["open"]["chain"]["application_name"], "shop");

    // No name at all: tried without one, said so, and refused.
    let output = inspect_without_name(&real_ring(), &["--try-known-purposes", &header]);
    let (text, stderr) = refused_with_report(&output);
    assert!(
        text.contains("note:         no --application-name given: tried with no application name"),
        "{text}"
    );
    assert!(
        text.contains("likely:       no application name was given"),
        "{text}"
    );
    assert!(stderr.contains("none of"), "{stderr}");

    // A content root without its separator: the hint says so.
    let output = Command::new(common::BIN)
        .env("KEYWARD_LOG", "error")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .arg("--keys-dir")
        .arg(real_ring())
        .args(["--application-name", "/tmp/approot", "--now", NOW])
        .args(["inspect", "--try-known-purposes", &header])
        .output()
        .unwrap();
    let (text, _) = refused_with_report(&output);
    assert!(
        text.contains("looks like a content root without its trailing separator"),
        "{text}"
    );
}

#[test]
fn an_unconfigured_apps_payload_needs_its_content_root() {
    // --purpose needs an application name; --content-root derives it as .NET 10 did.
    let case = case("unconfigured_app", None);
    let ring = real_dir().join("ring-unconfigured");
    let payload = field(&case, "payload");
    let output = inspect_without_name(&ring, &["--purpose", "Orders", &payload]);
    let line = failure_line(&output);
    assert!(line.contains("no application name"), "{line}");
    let output = Command::new(common::BIN)
        .env("KEYWARD_LOG", "error")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .arg("--keys-dir")
        .arg(&ring)
        .args([
            "--content-root",
            &field(&case, "content_root"),
            "--now",
            NOW,
        ])
        .args([
            "inspect",
            "--purpose",
            "Orders",
            "--show-plaintext",
            &payload,
        ])
        .output()
        .unwrap();
    let text = ok(&output);
    assert!(text.contains("application:  \"/tmp/approot/\""), "{text}");
    assert!(text.contains("hello from an unconfigured app"), "{text}");
}
