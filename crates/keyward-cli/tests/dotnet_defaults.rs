//! Apps that never configured Data Protection (issue 16, finding 7): `--content-root` derives
//! the application name as .NET does, `--dotnet-default-keys` finds .NET's key folder, and a
//! content root given as an application name without its trailing separator gets a hint.
//! The payload and ring were made by a real .NET 10 app with no configuration
//! (`testdata/vectors/aspnetcore-real/`).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

struct Case {
    content_root: String,
    app: String,
    purpose: String,
    plaintext: String,
    payload: String,
}

fn unconfigured_case() -> Case {
    let dir = testdata_dir().join("vectors/aspnetcore-real");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "unconfigured_app")
        .expect("an unconfigured_app case");
    let text = |field: &str| case[field].as_str().unwrap().to_owned();
    Case {
        content_root: text("content_root"),
        app: text("app"),
        purpose: case["purposes"][0].as_str().unwrap().to_owned(),
        plaintext: text("plaintext"),
        payload: text("payload"),
    }
}

fn ring_dir() -> std::path::PathBuf {
    testdata_dir().join("vectors/aspnetcore-real/ring-unconfigured")
}

/// `keyward ARGS…` with no keyward environment and HOME set to `home`.
fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_CONTENT_ROOT")
        .env("KEYWARD_LOG", "error")
        .env("HOME", home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn content_root_opens_the_payload_of_an_unconfigured_app() {
    let case = unconfigured_case();
    assert!(
        case.app.ends_with('/'),
        "the recorded discriminator: {}",
        case.app
    );
    let home = tempfile::tempdir().unwrap();
    let ring = ring_dir();
    let ring = ring.to_str().unwrap();
    let opened = ok(&run(
        home.path(),
        &[
            "--keys-dir",
            ring,
            "--content-root",
            &case.content_root,
            "unprotect",
            "--purpose",
            &case.purpose,
            &case.payload,
        ],
    ));
    assert_eq!(opened, case.plaintext);
    // The older rule (no separator) does not open it: the rule matters.
    let older = run(
        home.path(),
        &[
            "--keys-dir",
            ring,
            "--content-root",
            &case.content_root,
            "--content-root-rule",
            "net5",
            "unprotect",
            "--purpose",
            &case.purpose,
            &case.payload,
        ],
    );
    assert_eq!(older.status.code(), Some(1));
}

#[test]
fn dotnet_default_keys_reads_the_folder_dotnet_uses() {
    let case = unconfigured_case();
    let home = tempfile::tempdir().unwrap();
    let keys = home.path().join(".aspnet/DataProtection-Keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(ring_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    let opened = ok(&run(
        home.path(),
        &[
            "--dotnet-default-keys",
            "--content-root",
            &case.content_root,
            "unprotect",
            "--purpose",
            &case.purpose,
            &case.payload,
        ],
    ));
    assert_eq!(opened, case.plaintext);
    let listed = ok(&run(
        home.path(),
        &[
            "--dotnet-default-keys",
            "--content-root",
            "/x",
            "keys",
            "list",
            "--json",
        ],
    ));
    assert!(listed.contains("\"status\""), "{listed}");
}

#[test]
fn an_application_name_without_the_trailing_separator_gets_a_hint() {
    let case = unconfigured_case();
    let home = tempfile::tempdir().unwrap();
    let ring = ring_dir();
    let error = failure_line(&run(
        home.path(),
        &[
            "--keys-dir",
            ring.to_str().unwrap(),
            "--application-name",
            &case.content_root,
            "unprotect",
            "--purpose",
            &case.purpose,
            &case.payload,
        ],
    ));
    assert!(
        error.contains("without its trailing separator") && error.contains("--content-root"),
        "{error}"
    );
    // A plain name that is wrong gets no such hint.
    let error = failure_line(&run(
        home.path(),
        &[
            "--keys-dir",
            ring.to_str().unwrap(),
            "--application-name",
            "shop",
            "unprotect",
            "--purpose",
            &case.purpose,
            &case.payload,
        ],
    ));
    assert!(!error.contains("trailing separator"), "{error}");
}
