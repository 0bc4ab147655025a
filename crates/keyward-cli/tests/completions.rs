//! Shell completions and the man page come from the clap definitions; key commands need no
//! application name.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::process::Command;

use common::*;

fn run(args: &[&str]) -> String {
    let output = Command::new(BIN)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .args(args)
        .output()
        .unwrap();
    ok(&output)
}

#[test]
fn completions_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        for command in [
            "doctor", "inspect", "ensure", "timeline", "export", "import",
        ] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let man = run(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH keyward"),
        "{man}"
    );
    assert!(man.contains("doctor"), "{man}");
}

#[test]
fn key_commands_need_no_application_name() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().to_str().unwrap();
    let created = run(&["--keys-dir", keys_dir, "keys", "new"]);
    assert_eq!(created.trim().len(), 36, "{created}");
    let listed = run(&["--keys-dir", keys_dir, "keys", "list", "--json"]);
    assert!(listed.contains(created.trim()), "{listed}");
    // Protecting still needs one: purposes start with it.
    let output = Command::new(BIN)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .args(["--keys-dir", keys_dir, "protect", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no application name"));
}
