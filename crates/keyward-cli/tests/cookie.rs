//! `keyward cookie decode|encode` on the login cookies ASP.NET Core 10 made
//! (testdata/vectors/aspnetcore-real, `auth_cookie` cases) and on cookies it makes itself.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{failure_line, keyward, ok, testdata_dir};

fn real_dir() -> PathBuf {
    testdata_dir().join("vectors/aspnetcore-real")
}

/// The `auth_cookie` case `name` from cases.json.
fn case(name: &str) -> Value {
    let text = std::fs::read_to_string(real_dir().join("cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    cases
        .into_iter()
        .find(|c| c["kind"] == "auth_cookie" && c["name"] == name)
        .unwrap_or_else(|| panic!("no auth_cookie case {name}"))
}

fn decode(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Value {
    let mut all = vec!["cookie", "decode"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&keyward(dir, "shop", &all, stdin))).unwrap()
}

fn encode(dir: &Path, ticket: &Value) -> Vec<String> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), ticket.to_string()).unwrap();
    let out = ok(&keyward(
        dir,
        "shop",
        &["cookie", "encode", "--json", file.path().to_str().unwrap()],
        None,
    ));
    out.lines().map(str::to_owned).collect()
}

/// The same time, whatever its RFC 3339 spelling (.NET writes seven fraction digits).
fn same_time(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| {
        v.as_str().map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        })
    };
    parse(a) == parse(b)
}

/// `got` (decode's JSON) holds what .NET recorded in `want` (the case's `ticket`).
fn assert_recorded(got: &Value, want: &Value) {
    assert_eq!(got["scheme"], want["scheme"]);
    assert_eq!(got["identities"], want["identities"]);
    assert_eq!(got["properties"]["items"], want["properties"]);
    assert!(
        same_time(&got["issued"], &want["issued"]),
        "{}",
        got["issued"]
    );
    assert!(
        same_time(&got["expires"], &want["expires"]),
        "{}",
        got["expires"]
    );
    assert_eq!(got["persistent"], want["persistent"]);
}

/// File names and contents of a key folder.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_real_chunked_cookie_header_decodes_to_the_recorded_ticket() {
    let case = case("chunked");
    let ring = real_dir().join("ring");
    let before = snapshot(&ring);
    let header = case["cookie_header"].as_str().unwrap();
    let got = decode(&ring, &[header], None);
    assert_recorded(&got, &case["ticket"]);
    assert!(got["identities"][0]["claims"].as_array().unwrap().len() > 100);
    // With the `Cookie:` prefix, from stdin, naming the cookie.
    let got = decode(
        &ring,
        &["--cookie-name", ".AspNetCore.Cookies"],
        Some(format!("Cookie: {header}\n").as_bytes()),
    );
    assert_recorded(&got, &case["ticket"]);
    assert_eq!(snapshot(&ring), before, "decode wrote to the ring");
}

#[test]
fn the_real_simple_cookie_decodes_from_its_bare_value() {
    let case = case("simple");
    let ring = real_dir().join("ring");
    let got = decode(&ring, &[case["payload"].as_str().unwrap()], None);
    assert_recorded(&got, &case["ticket"]);
    let got = decode(
        &ring,
        &[],
        Some(case["cookie_header"].as_str().unwrap().as_bytes()),
    );
    assert_recorded(&got, &case["ticket"]);
}

#[test]
fn decode_refuses_the_wrong_scheme_and_never_creates_a_key() {
    let simple = case("simple");
    let payload = simple["payload"].as_str().unwrap();
    let line = failure_line(&keyward(
        &real_dir().join("ring"),
        "shop",
        &[
            "cookie",
            "decode",
            "--scheme",
            "Identity.Application",
            payload,
        ],
        None,
    ));
    assert!(line.contains("does not open"), "{line}");
    let empty = tempfile::tempdir().unwrap();
    let output = keyward(empty.path(), "shop", &["cookie", "decode", payload], None);
    assert!(!output.status.success());
    assert!(snapshot(empty.path()).is_empty(), "decode created a key");
    let line = failure_line(&keyward(
        &real_dir().join("ring"),
        "shop",
        &["cookie", "decode", "a=1; b=2"],
        None,
    ));
    assert!(line.contains("--cookie-name"), "{line}");
    let chunks = case("chunked");
    let header = chunks["cookie_header"].as_str().unwrap();
    let without_c2: Vec<&str> = header
        .split("; ")
        .filter(|p| !p.starts_with(".AspNetCore.CookiesC2="))
        .collect();
    let line = failure_line(&keyward(
        &real_dir().join("ring"),
        "shop",
        &["cookie", "decode", &without_c2.join("; ")],
        None,
    ));
    assert!(line.contains(".AspNetCore.CookiesC2"), "{line}");
}

#[test]
fn encode_then_decode_round_trips() {
    let ring = tempfile::tempdir().unwrap();
    // What decode printed for a real cookie, and the recorded ticket's own (flat) shape.
    let decoded = decode(
        &real_dir().join("ring"),
        &[case("simple")["payload"].as_str().unwrap()],
        None,
    );
    for ticket in [decoded.clone(), case("simple")["ticket"].clone()] {
        let lines = encode(ring.path(), &ticket);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("CfDJ8"));
        let back = decode(ring.path(), &[&lines[0]], None);
        assert_eq!(back, decoded);
    }
    // A ticket with everything the format carries.
    let ticket = json!({
        "scheme": "Cookies",
        "identities": [{
            "authentication_type": "Cookies",
            "name_claim_type": "sub",
            "role_claim_type": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
            "label": null,
            "bootstrap_context": "bootstrap",
            "actor": {
                "authentication_type": null,
                "name_claim_type": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "role_claim_type": "r",
                "label": null,
                "bootstrap_context": null,
                "actor": null,
                "claims": [{"type": "r", "value": "", "value_type": "t", "issuer": "i",
                            "original_issuer": "o", "properties": {"k": "v"}}]
            },
            "claims": [{"type": "sub", "value": "zoë 🦀", "value_type": "http://www.w3.org/2001/XMLSchema#string",
                        "issuer": "LOCAL AUTHORITY", "original_issuer": "LOCAL AUTHORITY", "properties": {}}]
        }],
        "properties": {"items": {".redirect": "/orders", ".issued": "Thu, 01 Jan 2026 00:00:00 GMT",
                                 ".expires": "Thu, 15 Jan 2026 00:00:00 GMT", ".persistent": ""}},
        "issued": "2026-01-01T00:00:00Z",
        "expires": "2026-01-15T00:00:00Z",
        "persistent": true
    });
    let lines = encode(ring.path(), &ticket);
    let back = decode(ring.path(), &[&lines[0]], None);
    assert_eq!(back, ticket);
}

#[test]
fn a_large_ticket_encodes_to_chunk_lines_that_decode() {
    let ring = tempfile::tempdir().unwrap();
    let claims: Vec<Value> = (0..300)
        .map(|i| json!({"type": "permission", "value": format!("resource-{i:04}:read,write")}))
        .collect();
    let ticket = json!({
        "scheme": "Cookies",
        "identities": [{"authentication_type": "Cookies", "claims": claims}],
        "properties": {"items": {}},
        "issued": "2026-01-01T00:00:00Z",
        "expires": "2026-01-15T00:00:00Z",
        "persistent": false
    });
    let lines = encode(ring.path(), &ticket);
    assert!(lines.len() >= 4, "{} lines", lines.len());
    let chunks = lines.len() - 1;
    assert_eq!(lines[0], format!(".AspNetCore.Cookies=chunks-{chunks}"));
    for (index, line) in lines[1..].iter().enumerate() {
        assert!(
            line.starts_with(&format!(".AspNetCore.CookiesC{}=", index + 1)),
            "{line:.40}"
        );
        assert!(line.len() < 4050);
    }
    let back = decode(ring.path(), &[&lines.join("; ")], None);
    let claims = back["identities"][0]["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 300);
    assert_eq!(claims[299]["value"], "resource-0299:read,write");
    assert_eq!(claims[0]["issuer"], "LOCAL AUTHORITY");
}

#[test]
fn encode_refuses_a_scheme_other_than_the_protectors() {
    let ring = tempfile::tempdir().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        r#"{"scheme": "Identity.Application", "identities": []}"#,
    )
    .unwrap();
    let line = failure_line(&keyward(
        ring.path(),
        "shop",
        &["cookie", "encode", "--json", file.path().to_str().unwrap()],
        None,
    ));
    assert!(line.contains("--scheme"), "{line}");
}

/// `cookie encode --json FILE` of `ticket`: the one failure line.
fn encode_failure(ticket: &Value) -> String {
    let ring = tempfile::tempdir().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), ticket.to_string()).unwrap();
    failure_line(&keyward(
        ring.path(),
        "shop",
        &["cookie", "encode", "--json", file.path().to_str().unwrap()],
        None,
    ))
}

#[test]
fn encode_refuses_unknown_fields_in_one_line() {
    let identity = |extra: (&str, Value)| {
        let mut identity = json!({"authentication_type": "Cookies",
                                  "claims": [{"type": "name", "value": "a"}]});
        identity[extra.0] = extra.1;
        identity
    };
    let cases = [
        // A misspelled top-level field: the expiry would silently default to 14 days.
        (
            json!({"identities": [identity(("label", Value::Null))], "expiry": "2026-01-01T00:00:00Z"}),
            "expiry",
        ),
        (
            json!({"identities": [identity(("claim", json!([{"type": "role", "value": "admin"}])))]}),
            "claim",
        ),
        (
            json!({"identities": [{"authentication_type": "Cookies",
                                   "claims": [{"type": "name", "value": "a", "valu_type": "x"}]}]}),
            "valu_type",
        ),
    ];
    for (ticket, field) in cases {
        let line = encode_failure(&ticket);
        assert!(
            line.contains("unknown field") && line.contains(field),
            "{field}: {line}"
        );
    }
}

#[test]
fn encode_refuses_a_ticket_without_an_identity_in_one_line() {
    for ticket in [
        json!({"scheme": "Cookies"}),
        json!({"scheme": "Cookies", "identities": []}),
        json!({"identities": [], "properties": {"items": {}}}),
    ] {
        let line = encode_failure(&ticket);
        assert!(line.contains("no identity"), "{ticket}: {line}");
    }
    // The accepted shapes still encode: decode's own output and the recorded flat shape
    // (encode_then_decode_round_trips), and a minimal ticket.
    let ring = tempfile::tempdir().unwrap();
    let lines = encode(
        ring.path(),
        &json!({"identities": [{"claims": [{"type": "name", "value": "a"}]}]}),
    );
    assert_eq!(lines.len(), 1);
}
