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
    run_with(home, &[], args)
}

/// As [`run`], with more environment variables (and none of .NET's other key-folder
/// variables unless given).
fn run_with(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    for name in ["WEBSITE_INSTANCE_ID", "LOCALAPPDATA", "USERPROFILE"] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
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

/// On Azure App Service (`WEBSITE_INSTANCE_ID` set) .NET keeps keys in
/// `$HOME/ASP.NET/DataProtection-Keys`, before the user profile's folder: so does
/// `--dotnet-default-keys`, and `doctor` says which folder and why.
#[test]
fn app_service_keys_are_found_where_dotnet_puts_them() {
    let case = unconfigured_case();
    let home = tempfile::tempdir().unwrap();
    let keys = home.path().join("ASP.NET/DataProtection-Keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(ring_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    let app_service = [("WEBSITE_INSTANCE_ID", "0123abcd")];
    let args = [
        "--dotnet-default-keys",
        "--content-root",
        &case.content_root,
        "unprotect",
        "--purpose",
        &case.purpose,
        &case.payload,
    ];
    assert_eq!(
        ok(&run_with(home.path(), &app_service, &args)),
        case.plaintext
    );
    // Off App Service, the same HOME means $HOME/.aspnet/DataProtection-Keys: not there.
    let elsewhere = run_with(home.path(), &[], &args);
    assert!(!elsewhere.status.success());

    let doctor = run_with(
        home.path(),
        &app_service,
        &[
            "--dotnet-default-keys",
            "--content-root",
            "/x",
            "doctor",
            "--json",
        ],
    );
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "config.dotnet_default_keys")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(finding["severity"], "info");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("WEBSITE_INSTANCE_ID") && message.contains("ASP.NET/DataProtection-Keys"),
        "{message}"
    );
}

/// Without any of the variables .NET reads, there is no folder to use: said, not guessed.
#[test]
fn no_profile_means_no_default_folder() {
    let output = Command::new(BIN)
        .env_clear()
        .env("KEYWARD_LOG", "error")
        .args([
            "--dotnet-default-keys",
            "--no-application-name",
            "keys",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("registry"), "{stderr}");
}
