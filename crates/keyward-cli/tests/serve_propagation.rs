//! A rotation and a revocation made with the CLI while `keyward serve` runs reach the sidecar
//! within 2 s, on the file system, Redis and PostgreSQL (real servers from
//! `KEYWARD_TEST_REDIS_URL` / `KEYWARD_TEST_POSTGRES_URL`; in CI a missing server fails).
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use common::sidecar::Sidecar;
use common::{keyward, ok, postgres_uri, redis_uri};

/// How long a change may take to reach the sidecar.
const BOUND: Duration = Duration::from_secs(2);

/// Polls `check` until it holds or [`BOUND`] passes; returns how long it took.
fn within_bound(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < BOUND,
            "{what}: not seen within {BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_rotation_and_a_revocation_made_with_the_cli_reach_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let mut uris = vec![format!("file:{}", dir.path().join("keys").display())];
    uris.extend(redis_uri());
    uris.extend(postgres_uri());
    for uri in &uris {
        let run_dir = tempfile::tempdir().unwrap();
        // A folder is re-read every second; Redis and PostgreSQL push their changes.
        let mut args = vec!["--repository", uri.as_str()];
        if uri.starts_with("file:") {
            args.extend(["--refresh-period", "1"]);
        }
        let sidecar = Sidecar::start(run_dir.path(), dir.path(), "farm", &args);
        let protect = || {
            let answer = sidecar.call(
                "POST",
                "/v1/protect",
                Some(&json!({"purposes": ["p"], "plaintext": STANDARD.encode(b"x")})),
            );
            assert_eq!(answer.status, 200, "{uri}: {}", answer.body);
            answer.json()["payload"].as_str().unwrap().to_owned()
        };
        let unprotect = |payload: &str| -> (u16, Value) {
            let answer = sidecar.call(
                "POST",
                "/v1/unprotect",
                Some(&json!({"purposes": ["p"], "payload": payload})),
            );
            (answer.status, answer.json())
        };
        let first = protect();
        let (status, opened) = unprotect(&first);
        assert_eq!(status, 200, "{uri}: {opened}");
        let first_key = opened["key_id"].as_str().unwrap().to_owned();

        // Rotation: a key activated now becomes the sidecar's default key.
        let cli = |args: &[&str]| {
            let mut all = vec!["--repository", uri.as_str()];
            all.extend_from_slice(args);
            ok(&keyward(dir.path(), "farm", &all, None))
        };
        cli(&["keys", "new", "--activate-at", "now"]);
        let took = within_bound(&format!("{uri}: rotation"), || {
            let payload = protect();
            unprotect(&payload).1["key_id"] != first_key.as_str()
        });
        eprintln!("{uri}: rotation seen after {took:?}");

        // Revocation of the first key: its payloads are refused.
        cli(&["keys", "revoke", &first_key, "--reason", "test"]);
        let took = within_bound(&format!("{uri}: revocation"), || {
            let (status, body) = unprotect(&first);
            status == 422 && body["reason"] == "revoked"
        });
        eprintln!("{uri}: revocation seen after {took:?}");
    }
}
