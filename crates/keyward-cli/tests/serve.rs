//! `keyward serve`: the sidecar's operations, refusals and access control, from an empty key
//! folder and from the ring ASP.NET Core 10 wrote.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use common::sidecar::{exchange, Sidecar};
use common::{keyward, ok, testdata_dir, BIN};

fn real_dir() -> PathBuf {
    testdata_dir().join("vectors/aspnetcore-real")
}

/// A copy of the ring .NET wrote (the sidecar may write to its folder; testdata stays as
/// it is).
fn real_ring(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(real_dir().join("ring")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    keys
}

/// The cases ASP.NET Core 10 recorded (`cases.json`).
fn real_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(real_dir().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A vector's purpose chain (the application name first).
fn chain(inputs: &Value) -> Vec<&str> {
    inputs["purposes_full_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[test]
fn protect_and_unprotect_round_trip_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &[]);

    // The sidecar created the ring's first key at start, as an ASP.NET Core app does.
    let health = sidecar.call("GET", "/v1/health", None);
    assert_eq!(health.status, 200, "{}", health.body);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"]["reachable"], true);
    let default_key = health["default_key"].as_str().unwrap().to_owned();
    assert!(health["next_rotation"].is_string(), "{health}");

    let protected = sidecar.call(
        "POST",
        "/v1/protect",
        Some(&json!({"purposes": ["Orders", "v1"], "plaintext": b64(b"order 42")})),
    );
    assert_eq!(protected.status, 200, "{}", protected.body);
    let payload = protected.json()["payload"].as_str().unwrap().to_owned();
    assert!(payload.starts_with("CfDJ8"), "{payload}");

    let opened = sidecar.call(
        "POST",
        "/v1/unprotect",
        Some(&json!({"purposes": ["Orders", "v1"], "payload": payload})),
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    let opened = opened.json();
    assert_eq!(opened["plaintext"], b64(b"order 42"));
    assert_eq!(opened["key_id"], default_key.as_str());
    assert!(opened.get("expires").is_none(), "{opened}");

    // The CLI reads the sidecar's payload, and the sidecar the CLI's: one ring.
    let cli_plain = ok(&keyward(
        &keys,
        "shop",
        &[
            "unprotect",
            "--purpose",
            "Orders",
            "--purpose",
            "v1",
            &payload,
        ],
        None,
    ));
    assert_eq!(cli_plain, "order 42");
    let cli_payload = ok(&keyward(
        &keys,
        "shop",
        &[
            "protect",
            "--purpose",
            "Orders",
            "--purpose",
            "v1",
            "from the CLI",
        ],
        None,
    ));
    let opened = sidecar.call(
        "POST",
        "/v1/unprotect",
        Some(&json!({"purposes": ["Orders", "v1"], "payload": cli_payload.trim()})),
    );
    assert_eq!(opened.json()["plaintext"], b64(b"from the CLI"));

    // Time-limited: the expiry comes back.
    let protected = sidecar.call(
        "POST",
        "/v1/protect",
        Some(&json!({"purposes": ["reset"], "plaintext": b64(b"user 7"), "expires": "2099-01-02T03:04:05Z"})),
    );
    assert_eq!(protected.status, 200, "{}", protected.body);
    let payload = protected.json()["payload"].as_str().unwrap().to_owned();
    let opened = sidecar.call(
        "POST",
        "/v1/unprotect",
        Some(&json!({"purposes": ["reset"], "payload": payload, "time_limited": true})),
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    let opened = opened.json();
    assert_eq!(opened["plaintext"], b64(b"user 7"));
    assert_eq!(opened["expires"], "2099-01-02T03:04:05Z");

    // Metrics: the library's gauges and the sidecar's request counter.
    let metrics = sidecar.call("GET", "/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.headers.contains("text/plain; version=0.0.4"),
        "{}",
        metrics.headers
    );
    assert!(
        metrics.body.contains("keyward_keys{status=\"default\"} 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("keyward_serve_requests_total{route=\"protect\",status=\"200\"} 2"),
        "{}",
        metrics.body
    );
}

#[test]
fn refusals_say_why_with_the_status_the_contract_names() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &["--max-body", "4096"]);
    let payload = sidecar
        .call(
            "POST",
            "/v1/protect",
            Some(&json!({"purposes": ["a"], "plaintext": b64(b"x")})),
        )
        .json()["payload"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = |body: Value| {
        let answer = sidecar.call("POST", "/v1/unprotect", Some(&body));
        let json = answer.json();
        assert_eq!(json["error"].as_str().unwrap().lines().count(), 1, "{json}");
        (answer.status, json["reason"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        refused(json!({"purposes": ["b"], "payload": payload})),
        (422, "invalid".into())
    );
    assert_eq!(
        refused(json!({"purposes": ["a"], "payload": "not a payload!"})),
        (422, "malformed".into())
    );
    let unknown_key = keyward::encoding::base64url_encode(&{
        let mut bytes = keyward::encoding::base64url_decode(&payload).unwrap();
        bytes[4] ^= 0xff; // the key id
        bytes
    });
    assert_eq!(
        refused(json!({"purposes": ["a"], "payload": unknown_key})),
        (422, "unknown_key".into())
    );
    let expired = sidecar
        .call(
            "POST",
            "/v1/protect",
            Some(&json!({"purposes": ["t"], "plaintext": b64(b"x"), "expires": "2001-01-01T00:00:00Z"})),
        )
        .json()["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        refused(json!({"purposes": ["t"], "payload": expired, "time_limited": true})),
        (422, "expired".into())
    );
    assert_eq!(
        refused(json!({"purposes": ["a"], "payload": payload, "surprise": 1})),
        (400, "bad_request".into())
    );

    let big = json!({"purposes": ["a"], "plaintext": b64(&[0u8; 8192])});
    let answer = sidecar.call("POST", "/v1/protect", Some(&big));
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(sidecar.call("GET", "/v1/protect", None).status, 405);
    assert_eq!(sidecar.call("GET", "/v2/anything", None).status, 404);
    let stream = std::os::unix::net::UnixStream::connect(&sidecar.socket).unwrap();
    let answer = exchange(stream, "POST", "/v1/protect", &[], Some(b"{nope".to_vec()));
    assert_eq!(answer.status, 400);
}

#[test]
fn the_net_ring_and_its_payloads_and_login_cookies_read_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let keys = real_ring(dir.path());
    let sidecar = Sidecar::start_with_env(
        dir.path(),
        &keys,
        "shop",
        &[],
        &[("KEYWARD_NOW", "2026-12-01T00:00:00Z")],
    );
    let cases = real_cases();
    let mut checked = 0;
    for case in &cases {
        if case["app"] != "shop" || case["ring"] != "ring" {
            continue;
        }
        let purposes = &case["purposes"];
        let unprotect = |time_limited: bool| {
            sidecar.call(
                "POST",
                "/v1/unprotect",
                Some(&json!({"purposes": purposes, "payload": case["payload"], "time_limited": time_limited})),
            )
        };
        match case["kind"].as_str().unwrap() {
            "protect" => {
                let answer = unprotect(false);
                assert_eq!(answer.status, 200, "{}", answer.body);
                assert_eq!(answer.json()["plaintext"], case["plaintext_b64"]);
            }
            "protect_string" => {
                let answer = unprotect(false);
                assert_eq!(
                    answer.json()["plaintext"],
                    b64(case["plaintext"].as_str().unwrap().as_bytes())
                );
            }
            "time_limited" => {
                let answer = unprotect(true).json();
                assert_eq!(
                    answer["plaintext"],
                    b64(case["plaintext"].as_str().unwrap().as_bytes())
                );
                assert_eq!(answer["expires"], "2031-01-02T03:04:05Z");
            }
            "time_limited_expired" => {
                let answer = unprotect(true);
                assert_eq!(
                    (answer.status, answer.json()["reason"].clone()),
                    (422, json!("expired"))
                );
            }
            "revoked" => {
                let answer = unprotect(false);
                assert_eq!(
                    (answer.status, answer.json()["reason"].clone()),
                    (422, json!("revoked"))
                );
            }
            "auth_cookie" => {
                let answer = sidecar.call(
                    "POST",
                    "/v1/login",
                    Some(
                        &json!({"cookie_header": case["cookie_header"], "scheme": case["scheme"]}),
                    ),
                );
                assert_eq!(answer.status, 200, "{}", answer.body);
                let ticket = answer.json();
                assert_eq!(ticket["scheme"], case["ticket"]["scheme"]);
                assert_eq!(ticket["identities"], case["ticket"]["identities"]);
                // As `keyward cookie decode` prints it.
                let decoded: Value = serde_json::from_str(&ok(&keyward(
                    &keys,
                    "shop",
                    &["cookie", "decode", case["cookie_header"].as_str().unwrap()],
                    None,
                )))
                .unwrap();
                assert_eq!(ticket, decoded);
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases ran");

    // No login: no cookie, a tampered one, the wrong scheme.
    let header = cases.iter().find(|c| c["kind"] == "auth_cookie").unwrap()["cookie_header"]
        .as_str()
        .unwrap()
        .to_owned();
    for (body, reason) in [
        (json!({"cookie_header": "theme=dark"}), "no_cookie"),
        (
            json!({"cookie_header": header.replacen("CfDJ8", "CfDJ9", 1)}),
            "malformed",
        ),
        (
            json!({"cookie_header": header, "scheme": "Other", "cookie_name": ".AspNetCore.Cookies"}),
            "invalid",
        ),
    ] {
        let answer = sidecar.call("POST", "/v1/login", Some(&body));
        assert_eq!(answer.status, 401, "{body}: {}", answer.body);
        assert_eq!(answer.json()["reason"], reason, "{body}");
    }
}

#[test]
fn an_expired_login_is_no_login() {
    let dir = tempfile::tempdir().unwrap();
    let keys = real_ring(dir.path());
    // The recorded tickets expire on 2031-01-02; the key itself is still readable then.
    let sidecar = Sidecar::start_with_env(
        dir.path(),
        &keys,
        "shop",
        &[],
        &[("KEYWARD_NOW", "2031-06-01T00:00:00Z")],
    );
    let cases = real_cases();
    let case = cases.iter().find(|c| c["kind"] == "auth_cookie").unwrap();
    let answer = sidecar.call(
        "POST",
        "/v1/login",
        Some(&json!({"cookie_header": case["cookie_header"]})),
    );
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.json()["reason"], "expired");
}

/// Runs `curl` against the socket as `uid` (a process of another user).
fn curl_as(uid: u32, socket: &Path, path: &str) -> String {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--unix-socket",
        ])
        .arg(socket)
        .arg(format!("http://keyward{path}"))
        .uid(uid)
        .gid(uid)
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether this test may act as another user (it runs as root, as CI does).
fn can_switch_users() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run as root: the uid checks need a process of another user"
        );
        eprintln!("skipped: not root, so no process of another user can be made");
    }
    root
}

/// The socket reachable by every user, so that the uid check (not the file mode) is what
/// refuses.
fn open_socket_to_all(dir: &Path, socket: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666)).unwrap();
}

#[test]
fn a_peer_of_another_uid_is_refused_unless_admitted() {
    if !can_switch_users() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &[]);
    let mode = std::fs::metadata(&sidecar.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "the socket is created 0660");
    open_socket_to_all(dir.path(), &sidecar.socket);
    assert_eq!(curl_as(65534, &sidecar.socket, "/v1/health"), "403");
    assert_eq!(curl_as(0, &sidecar.socket, "/v1/health"), "200");
    drop(sidecar);

    let dir = tempfile::tempdir().unwrap();
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &["--allow-uid", "65534"]);
    open_socket_to_all(dir.path(), &sidecar.socket);
    assert_eq!(curl_as(65534, &sidecar.socket, "/v1/health"), "200");
    // Naming another user admits only that user: root itself is now refused.
    assert_eq!(curl_as(0, &sidecar.socket, "/v1/health"), "403");
}

#[test]
fn tcp_needs_loopback_and_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "0123456789abcdef0123456789abcdef\n").unwrap();

    // Refused at start: a public address, and TCP without a token.
    for args in [
        vec![
            "--listen",
            "0.0.0.0:0",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        vec!["--listen", "127.0.0.1:0"],
    ] {
        let output = keyward(&keys, "shop", &[&["serve"], args.as_slice()].concat(), None);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("loopback") || stderr.contains("--token-file"),
            "{stderr}"
        );
    }
    // Refused at start: neither a socket nor a port.
    let output = keyward(&keys, "shop", &["serve"], None);
    assert!(!output.status.success());

    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let sidecar = Sidecar::start(
        dir.path(),
        &keys,
        "shop",
        &[
            "--listen",
            &address,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let call = |headers: &[(&str, &str)]| {
        let stream = std::net::TcpStream::connect(&address).unwrap();
        exchange(stream, "GET", "/v1/health", headers, None)
    };
    let missing = call(&[]);
    assert_eq!(missing.status, 401);
    assert!(
        missing.headers.contains("www-authenticate: Bearer"),
        "{}",
        missing.headers
    );
    assert_eq!(
        call(&[("Authorization", "Bearer wrong-token-wrong-token")]).status,
        401
    );
    assert_eq!(
        call(&[("Authorization", "Basic 0123456789abcdef0123456789abcdef")]).status,
        401
    );
    assert_eq!(
        call(&[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")]).status,
        200
    );
    // The socket still admits by uid, without a token.
    assert_eq!(sidecar.call("GET", "/v1/health", None).status, 200);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_policy_limits_each_peer_to_its_purposes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "0123456789abcdef0123456789abcdef\n").unwrap();
    let me = nix::unistd::geteuid().as_raw();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        json!({"peers": [
            {"uid": me, "purposes": [["Orders"]]},
            {"token": true, "purposes": ["Billing"]}
        ]})
        .to_string(),
    )
    .unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let sidecar = Sidecar::start(
        dir.path(),
        &keys,
        "shop",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--listen",
            &address,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let protect = |purposes: &[&str]| {
        sidecar.call(
            "POST",
            "/v1/protect",
            Some(&json!({"purposes": purposes, "plaintext": b64(b"x")})),
        )
    };
    assert_eq!(protect(&["Orders", "v1"]).status, 200);
    let refused = protect(&["Billing"]);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["reason"], "forbidden");
    assert_eq!(protect(&["OrdersArchive"]).status, 403);
    // The login cookie's purposes are not the socket user's.
    let login = sidecar.call("POST", "/v1/login", Some(&json!({"cookie_header": "a=b"})));
    assert_eq!(login.status, 403);

    let tcp = |purposes: &[&str]| {
        let stream = std::net::TcpStream::connect(&address).unwrap();
        let body = json!({"purposes": purposes, "plaintext": b64(b"x")}).to_string();
        exchange(
            stream,
            "POST",
            "/v1/protect",
            &[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")],
            Some(body.into_bytes()),
        )
        .status
    };
    assert_eq!(tcp(&["Billing", "v2"]), 200);
    assert_eq!(tcp(&["Orders"]), 403);
}

#[test]
fn sigterm_stops_it_cleanly_and_a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    // A socket file left by a crash: nobody listens on it.
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("keyward.sock")).unwrap());
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &[]);
    assert_eq!(sidecar.call("GET", "/v1/health", None).status, 200);
    let (socket, ready) = (sidecar.socket.clone(), sidecar.ready.clone());
    assert_eq!(
        std::fs::read_to_string(&ready).unwrap().trim(),
        sidecar.pid().to_string()
    );
    let (status, stderr) = sidecar.terminate();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!socket.exists(), "the socket file is removed");
    assert!(!ready.exists(), "the ready file is removed");
    // Nothing the user did not cause: the only warning is .NET's own about keys stored
    // unencrypted (no KEK given here).
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| !l.contains("no XML encryptor configured"))
        .collect();
    assert!(unexpected.is_empty(), "{stderr}");

    // A live sidecar's socket, or a file that is no socket, is never taken over.
    let first = Sidecar::start(dir.path(), &keys, "shop", &[]);
    let output = Command::new(BIN)
        .args([
            "--keys-dir",
            keys.to_str().unwrap(),
            "--application-name",
            "shop",
        ])
        .args(["serve", "--socket"])
        .arg(&first.socket)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("another process is listening"));
    drop(first);
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "data").unwrap();
    let output = Command::new(BIN)
        .args([
            "--keys-dir",
            keys.to_str().unwrap(),
            "--application-name",
            "shop",
        ])
        .args(["serve", "--socket"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

/// The vectors of `kind` in `testdata/vectors/FILE`.
fn vectors(file: &str, kind: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(testdata_dir().join("vectors").join(file)).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == kind)
        .cloned()
        .collect()
}

/// The purpose edge-case vectors through the sidecar: a ring written from each vector's
/// master key (the unencrypted key XML of testdata as the template).
#[test]
fn the_purpose_vectors_open_through_the_sidecar() {
    let template =
        std::fs::read_to_string(testdata_dir().join("vectors/keys/unencrypted.xml")).unwrap();
    let template = template.trim_start_matches('\u{feff}');
    let all = vectors("keyward-purposes.json", "purpose_edge_payload");
    assert!(all.len() >= 10);
    for vector in &all {
        let inputs = &vector["inputs"];
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        let master = STANDARD.encode(hex_bytes(inputs["master_key_hex"].as_str().unwrap()));
        let mut xml = template
            .replace("6417072d-bd2e-4737-8995-fd280fe00251", inputs["key_id"].as_str().unwrap())
            .replace(
                "4spzUFTZ6BOimQExKLSlcZmN7JmzsZP+8B7ynFMlwss5eCXWXDojqy+zq0ov1t0ImMgU5P5PqO3ZusXu5jPcvQ==",
                &master,
            );
        if inputs["algorithm"]
            .as_str()
            .unwrap()
            .starts_with("AES_256_GCM")
        {
            xml = xml.replace(
                "<encryption algorithm=\"AES_256_CBC\" />\n      <validation algorithm=\"HMACSHA256\" />",
                "<encryption algorithm=\"AES_256_GCM\" />",
            );
            assert!(xml.contains("AES_256_GCM"));
        }
        std::fs::write(keys.join("key.xml"), xml).unwrap();
        let chain = chain(inputs);
        let sidecar = Sidecar::start(dir.path(), &keys, chain[0], &[]);
        let answer = sidecar.call(
            "POST",
            "/v1/unprotect",
            Some(&json!({"purposes": chain[1..], "payload": vector["expected"]["protected_base64url"]})),
        );
        assert_eq!(answer.status, 200, "{}: {}", vector["name"], answer.body);
        assert_eq!(
            answer.json()["plaintext"],
            b64(inputs["plaintext_utf8"].as_str().unwrap().as_bytes()),
            "{}",
            vector["name"]
        );
    }
}

/// .NET projects' end-to-end vectors (certificate-encrypted keys) through the sidecar.
#[test]
fn the_end_to_end_vectors_open_through_the_sidecar() {
    for vector in vectors("aspnetcore.json", "end_to_end_unprotect") {
        let inputs = &vector["inputs"];
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        std::fs::copy(
            testdata_dir()
                .join("vectors")
                .join(inputs["key_xml_file"].as_str().unwrap()),
            keys.join("key.xml"),
        )
        .unwrap();
        let pfx = dir.path().join("cert.pfx");
        std::fs::write(
            &pfx,
            STANDARD
                .decode(inputs["pfx_base64"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, inputs["pfx_password"].as_str().unwrap()).unwrap();
        let chain = chain(inputs);
        let sidecar = Sidecar::start(
            dir.path(),
            &keys,
            chain[0],
            &[
                "--certificate",
                pfx.to_str().unwrap(),
                "--certificate-password-file",
                password.to_str().unwrap(),
            ],
        );
        let answer = sidecar.call(
            "POST",
            "/v1/unprotect",
            Some(&json!({"purposes": chain[1..], "payload": inputs["protected_base64url"]})),
        );
        assert_eq!(answer.status, 200, "{}: {}", vector["name"], answer.body);
        assert_eq!(
            answer.json()["plaintext"],
            b64(vector["expected"]["plaintext_utf8"]
                .as_str()
                .unwrap()
                .as_bytes())
        );
    }
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
