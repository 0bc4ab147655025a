//! Every command over every repository URI, and `keys migrate` between them (real Redis and
//! PostgreSQL from `KEYWARD_TEST_REDIS_URL` / `KEYWARD_TEST_POSTGRES_URL`; in CI a missing
//! server is a failure).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use common::*;

fn with_repository(uri: &str, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let unused = tempfile::tempdir().unwrap();
    let mut all = vec!["--repository", uri];
    all.extend_from_slice(args);
    keyward(unused.path(), "farm", &all, stdin)
}

#[test]
fn every_command_works_with_every_repository() {
    let dir = tempfile::tempdir().unwrap();
    let file_uri = format!("file:{}", dir.path().join("keys").display());
    let mut uris = vec![file_uri];
    uris.extend(redis_uri());
    uris.extend(postgres_uri());
    for uri in &uris {
        let payload = ok(&with_repository(
            uri,
            &["protect", "--purpose", "p", "hello"],
            None,
        ));
        assert_eq!(
            ok(&with_repository(
                uri,
                &["unprotect", "--purpose", "p", payload.trim()],
                None
            )),
            "hello",
            "{uri}"
        );
        let list: serde_json::Value = serde_json::from_str(&ok(&with_repository(
            uri,
            &["keys", "list", "--json"],
            None,
        )))
        .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{uri}");
        let id = list[0]["id"].as_str().unwrap().to_owned();
        ok(&with_repository(
            uri,
            &["keys", "new", "--activate-at", "+10d"],
            None,
        ));
        ok(&with_repository(
            uri,
            &["keys", "revoke", &id, "--reason", "test"],
            None,
        ));
        let line = failure_line(&with_repository(
            uri,
            &["unprotect", "--purpose", "p", payload.trim()],
            None,
        ));
        assert!(line.contains("revoked"), "{uri}: {line}");
        let time_limited = ok(&with_repository(
            uri,
            &["protect", "--purpose", "t", "--expires-in", "1h", "x"],
            None,
        ));
        assert_eq!(
            ok(&with_repository(
                uri,
                &[
                    "unprotect",
                    "--purpose",
                    "t",
                    "--time-limited",
                    time_limited.trim()
                ],
                None
            )),
            "x"
        );
        // Activated moments ago: deletion is refused, even as a dry run.
        let refused = failure_line(&with_repository(
            uri,
            &["keys", "delete", "--id", &id, "--dry-run"],
            None,
        ));
        assert!(refused.contains("refusing"), "{uri}: {refused}");
    }
}

#[test]
fn migrate_copies_everything_once_between_repositories() {
    let (Some(redis), Some(postgres)) = (redis_uri(), postgres_uri()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = format!("file:{}", dir.path().join("keys").display());
    let payload = ok(&with_repository(
        &file,
        &["protect", "--purpose", "p", "moved"],
        None,
    ));
    ok(&with_repository(
        &file,
        &["keys", "new", "--activate-at", "+5d"],
        None,
    ));
    let id = keyward_list_ids(&file)[0].clone();
    // Revoking the default key makes a replacement: 3 keys and 1 revocation in all.
    ok(&with_repository(
        &file,
        &["keys", "revoke", &id, "--reason", "r"],
        None,
    ));
    let first = keyward_list_ids(&file);
    assert_eq!(first.len(), 3);

    let dry = ok(&keyward(
        dir.path(),
        "farm",
        &[
            "keys",
            "migrate",
            "--from",
            &file,
            "--to",
            &redis,
            "--dry-run",
        ],
        None,
    ));
    assert!(dry.contains("would copy 4 element(s)"), "{dry}");
    let copied = ok(&keyward(
        dir.path(),
        "farm",
        &["keys", "migrate", "--from", &file, "--to", &redis],
        None,
    ));
    assert!(copied.contains("copied 4 element(s)"), "{copied}");
    let again = ok(&keyward(
        dir.path(),
        "farm",
        &["keys", "migrate", "--from", &file, "--to", &redis],
        None,
    ));
    assert!(again.contains("copied 0 element(s)"), "idempotent: {again}");
    let onward = ok(&keyward(
        dir.path(),
        "farm",
        &["keys", "migrate", "--from", &redis, "--to", &postgres],
        None,
    ));
    assert!(onward.contains("copied 4 element(s)"), "{onward}");

    for uri in [&redis, &postgres] {
        let mut ids = keyward_list_ids(uri);
        ids.sort();
        let mut expected = first.clone();
        expected.sort();
        assert_eq!(ids, expected, "{uri}");
        // The revocation came along, and the payload's key is there.
        let line = failure_line(&with_repository(
            uri,
            &["unprotect", "--purpose", "p", payload.trim()],
            None,
        ));
        assert!(line.contains("revoked"), "{uri}: {line}");
    }
}

fn keyward_list_ids(uri: &str) -> Vec<String> {
    let list: serde_json::Value = serde_json::from_str(&ok(&with_repository(
        uri,
        &["keys", "list", "--json"],
        None,
    )))
    .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Eight `keyward` processes started at once on a store that holds nothing yet (for
/// PostgreSQL: a table that does not exist) all succeed, and exactly one key is created: the
/// way a farm arrives on its first deployment.
#[test]
fn eight_processes_start_together_on_an_empty_store() {
    let mut uris = Vec::new();
    uris.extend(postgres_uri());
    uris.extend(redis_uri());
    for uri in &uris {
        for round in 0..2 {
            let uri = format!("{uri}{round}");
            let unused = tempfile::tempdir().unwrap();
            let children: Vec<_> = (0..8)
                .map(|n| {
                    std::process::Command::new(BIN)
                        .env_remove("KEYWARD_KEYS_DIR")
                        .env_remove("KEYWARD_REPOSITORY")
                        .env("KEYWARD_LOG", "error")
                        .arg("--keys-dir")
                        .arg(unused.path())
                        .args(["--application-name", "cold", "--repository", &uri])
                        .args(["protect", "--purpose", "p", &format!("node {n}")])
                        .stdin(std::process::Stdio::null())
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            let payloads: Vec<String> = children
                .into_iter()
                .map(|child| ok(&child.wait_with_output().unwrap()).trim().to_owned())
                .collect();
            let listed = ok(&keyward(
                unused.path(),
                "cold",
                &["--repository", &uri, "keys", "list", "--json"],
                None,
            ));
            let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
            assert_eq!(
                keys.as_array().unwrap().len(),
                1,
                "{uri}: one key for eight nodes, got {listed}"
            );
            for (n, payload) in payloads.iter().enumerate() {
                let read = ok(&keyward(
                    unused.path(),
                    "cold",
                    &["--repository", &uri, "unprotect", "--purpose", "p", payload],
                    None,
                ));
                assert_eq!(read, format!("node {n}"));
            }
        }
    }
}
