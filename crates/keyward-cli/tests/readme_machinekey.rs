//! The README's `machine-key` lines run as written against the recorded vectors: in the
//! folders of testdata/machinekey/ (whose web.config files hold the vectors' keys) with the
//! vectors' values in place of the placeholders, and as testdata/machinekey/README.md spells
//! them out from the repository root.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, testdata_dir};
use serde_json::Value;

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vector(id: &str) -> Value {
    let path = testdata_dir().join("vectors/legacy-machinekey.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

/// The `keyward … machine-key decode|encode|bridge --config …` lines of a markdown file,
/// without their comments.
fn machine_key_lines(markdown: &Path) -> Vec<String> {
    std::fs::read_to_string(markdown)
        .unwrap()
        .lines()
        .filter(|l| {
            l.contains("keyward ")
                && l.contains(" machine-key ")
                && l.contains("--config ")
                && [" decode ", " encode ", " bridge "]
                    .iter()
                    .any(|c| l.contains(c))
                && !l.trim_start().starts_with('|')
        })
        .map(|l| match l.find("  #") {
            Some(comment) => l[..comment].trim().to_owned(),
            None => l.trim().to_owned(),
        })
        .collect()
}

/// Runs one line (leading `NAME=value` words are the environment) in `dir` with a scratch
/// key ring, after replacing words as `replace` says.
fn run(line: &str, dir: &Path, keys: &Path, replace: &dyn Fn(&str) -> String) -> String {
    let mut words = line.split_whitespace().peekable();
    let mut command = Command::new(common::BIN);
    command
        .current_dir(dir)
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_REPOSITORY")
        .env_remove("KEYWARD_NOW")
        .env("KEYWARD_KEYS_DIR", keys)
        .env("KEYWARD_LOG", "error");
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        command.env(name, value);
        words.next();
    }
    assert_eq!(words.next(), Some("keyward"), "{line}");
    command.args(words.map(replace));
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&out)
}

/// What each line printed is what the vector holds.
fn check_output(line: &str, stdout: &str) {
    let ticket = vector("lac-fx45-hmacsha512-aes256");
    if line.contains(" forms-ticket ") && line.contains(" decode ") {
        let json: Value = serde_json::from_str(stdout).unwrap();
        assert_eq!(json["name"], ticket["expected"]["name"], "{line}");
        assert_eq!(json["user_data"], ticket["expected"]["user_data"], "{line}");
    } else if line.contains(" viewstate ") {
        let json: Value = serde_json::from_str(stdout).unwrap();
        assert_eq!(
            json["protection"], "mac-only (readable by anyone)",
            "{line}"
        );
    } else if line.contains(" protect ") {
        let json: Value = serde_json::from_str(stdout).unwrap();
        assert_eq!(json["length"], 18, "{line}");
    } else if line.contains(" encode ") {
        let hex = stdout.trim();
        assert!(
            hex.len() > 100 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}: {stdout}"
        );
    } else if line.contains(" bridge ") {
        assert!(
            stdout.starts_with(".AspNetCore.Cookies="),
            "{line}: {stdout}"
        );
    } else {
        panic!("unexpected line {line}");
    }
}

#[test]
fn the_readme_machine_key_lines_run_in_the_testdata_folders() {
    let ticket = vector("lac-fx45-hmacsha512-aes256");
    let viewstate = vector("bs-vs-legacy-noenc-sha1");
    let protect = vector("lld-antixsrf-machinekey-protect");
    let lines = machine_key_lines(&repository_root().join("README.md"));
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let folders = testdata_dir().join("machinekey");
    for line in &lines {
        let folder = if line.contains(" viewstate ") {
            "viewstate"
        } else if line.contains(" protect ") {
            "protect"
        } else {
            "forms"
        };
        let replace = |word: &str| match word {
            "9A1B…" => ticket["ticket_hex"].as_str().unwrap().to_owned(),
            "/wEP…" => viewstate["viewstate"].as_str().unwrap().to_owned(),
            "P1" => protect["purposes"][0].as_str().unwrap().to_owned(),
            "VALUE" => protect["protected"].as_str().unwrap().to_owned(),
            other => other.to_owned(),
        };
        assert!(
            line.contains("EDD8C9AE") == (folder == "viewstate"),
            "the README's generator is the vector's: {line}"
        );
        let keys = tempfile::tempdir().unwrap();
        // The vector's ticket was valid from 15:20 to 16:20 UTC on 2019-06-26.
        let line = if line.contains(" bridge ") {
            format!("KEYWARD_NOW=2019-06-26T15:30:00Z {line}")
        } else {
            line.clone()
        };
        let stdout = run(&line, &folders.join(folder), keys.path(), &replace);
        check_output(&line, &stdout);
    }
}

#[test]
fn the_testdata_readme_lines_run_as_written() {
    let lines = machine_key_lines(&testdata_dir().join("machinekey/README.md"));
    assert_eq!(lines.len(), 5, "{lines:#?}");
    for line in &lines {
        assert!(!line.contains('…'), "a placeholder is left: {line}");
        let keys = tempfile::tempdir().unwrap();
        let stdout = run(line, &repository_root(), keys.path(), &|w| w.to_owned());
        check_output(line, &stdout);
    }
}
