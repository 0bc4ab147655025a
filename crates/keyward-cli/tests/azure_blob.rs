//! The CLI over an Azure blob (Azurite, from `KEYWARD_TEST_AZURE_CONNECTION_STRING`, default
//! `UseDevelopmentStorage=true`; in CI a missing Azurite fails): `azblob://CONTAINER/BLOB`
//! with the connection string in `AZURE_STORAGE_CONNECTION_STRING`, `keys migrate` to and from
//! a folder, and payloads made through the blob ring opening through the folder copy and back.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::process::{Command, Output, Stdio};

use common::{ok, service_up, BIN};

fn connection_string() -> String {
    std::env::var("KEYWARD_TEST_AZURE_CONNECTION_STRING")
        .unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

/// `keyward --application-name shop ARGS…` with the connection string in the environment.
fn command<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_REPOSITORY")
        .env("KEYWARD_LOG", "error")
        .env("AZURE_STORAGE_CONNECTION_STRING", connection_string())
        .args(["--application-name", "shop"])
        .args(args)
        .stdin(Stdio::null());
    command
}

/// Runs [`command`] to the end.
fn keyward(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

#[test]
fn the_cli_uses_a_blob_ring_and_migrates_to_and_from_a_folder() {
    if !service_up("Azurite", "http://127.0.0.1:10000", 10000) {
        return;
    }
    let container = format!("kw{}", keyward::KeyId::random().as_uuid().simple());
    let blob = format!("azblob://{container}/dp/keys.xml");
    let dir = tempfile::tempdir().unwrap();
    let folder = format!("file:{}", dir.path().join("keys").display());

    let payload = ok(&keyward(&[
        "--repository",
        &blob,
        "protect",
        "--purpose",
        "p",
        "hello",
    ]));
    assert_eq!(
        ok(&keyward(&[
            "--repository",
            &blob,
            "unprotect",
            "--purpose",
            "p",
            payload.trim()
        ])),
        "hello"
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(&keyward(&[
        "--repository",
        &blob,
        "keys",
        "list",
        "--json",
    ])))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // doctor reports the blob: size, elements, ETag, content type (.NET's).
    let doctor: serde_json::Value =
        serde_json::from_slice(&keyward(&["--repository", &blob, "doctor", "--json"]).stdout)
            .unwrap();
    let finding = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "store.blob")
        .unwrap_or_else(|| panic!("{doctor}"));
    assert_eq!(finding["severity"], "ok", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("1 element(s)")
            && message.contains("application/xml")
            && message.contains("ETag"),
        "{message}"
    );

    // Blob → folder: the payload opens through the folder copy.
    let copied = ok(&keyward(&[
        "keys", "migrate", "--from", &blob, "--to", &folder,
    ]));
    assert!(copied.contains("copied 1 element(s)"), "{copied}");
    assert_eq!(
        ok(&keyward(&[
            "--repository",
            &folder,
            "unprotect",
            "--purpose",
            "p",
            payload.trim()
        ])),
        "hello"
    );
    // Folder → a fresh blob, and back: a folder payload opens through the blob.
    let from_folder = ok(&keyward(&[
        "--repository",
        &folder,
        "protect",
        "--purpose",
        "p",
        "back",
    ]));
    let second = format!("azblob://{container}/copy.xml");
    let copied = ok(&keyward(&[
        "keys", "migrate", "--from", &folder, "--to", &second,
    ]));
    assert!(copied.contains("copied 1 element(s)"), "{copied}");
    assert_eq!(
        ok(&keyward(&[
            "--repository",
            &second,
            "unprotect",
            "--purpose",
            "p",
            from_folder.trim()
        ])),
        "back"
    );
    let again = ok(&keyward(&[
        "keys", "migrate", "--from", &folder, "--to", &second,
    ]));
    assert!(again.contains("copied 0 element(s)"), "idempotent: {again}");

    // Without the connection string, azblob:// says what it needs (and nothing secret).
    let output = Command::new(BIN)
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env("KEYWARD_LOG", "error")
        .args(["--repository", &blob, "keys", "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("AZURE_STORAGE_CONNECTION_STRING"));
}

/// Runs `keyward ARGS…` for each of `runs` at once (one process each) and returns their
/// outputs, in order.
fn keyward_all_at_once(runs: &[Vec<String>]) -> Vec<Output> {
    let children: Vec<std::process::Child> = runs
        .iter()
        .map(|args| {
            command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// Eight operators (or deploy scripts) adding a key to one blob at the same moment: every
/// key lands, none overwrites another. Then eight revoke one each at once: every revocation
/// lands, and the ring is left without a gap (the replacement a node plans from a read that
/// another node's write made stale is planned again, not written twice or lost).
#[test]
fn eight_processes_adding_and_revoking_at_once_lose_nothing() {
    if !service_up("Azurite", "http://127.0.0.1:10000", 10000) {
        return;
    }
    let container = format!("kw{}", keyward::KeyId::random().as_uuid().simple());
    let blob = format!("azblob://{container}/keys.xml");
    let first = ok(&keyward(&["--repository", &blob, "keys", "new"]));

    let added: Vec<String> = keyward_all_at_once(&vec![
        vec![
            "--repository".to_owned(),
            blob.clone(),
            "keys".to_owned(),
            "new".to_owned(),
        ];
        8
    ])
    .iter()
    .map(|output| ok(output).trim().to_owned())
    .collect();
    let listed = |blob: &str| -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(&ok(&keyward(&[
            "--repository",
            blob,
            "keys",
            "list",
            "--json",
        ])))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
    };
    let keys = listed(&blob);
    assert_eq!(keys.len(), 9, "the first key and the eight added: {keys:?}");
    for id in added.iter().chain([&first.trim().to_owned()]) {
        assert!(keys.iter().any(|k| k["id"] == id.as_str()), "{id} lost");
    }

    let revoked = keyward_all_at_once(
        &added
            .iter()
            .map(|id| {
                [
                    "--repository",
                    &blob,
                    "keys",
                    "revoke",
                    id,
                    "--reason",
                    "drill",
                ]
                .map(str::to_owned)
                .to_vec()
            })
            .collect::<Vec<_>>(),
    );
    for output in &revoked {
        ok(output);
    }
    let keys = listed(&blob);
    for id in &added {
        let key = keys.iter().find(|k| k["id"] == id.as_str()).unwrap();
        assert_eq!(key["status"], "revoked", "{key}");
    }
    let ensured = ok(&keyward(&[
        "--repository",
        &blob,
        "keys",
        "ensure",
        "--dry-run",
    ]));
    assert!(ensured.starts_with("nothing to do"), "{ensured}");
}
