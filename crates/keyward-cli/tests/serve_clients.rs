//! The client examples in `examples/sidecar-clients` (curl, Python, Node, Go) against a
//! running `keyward serve`: each protects and unprotects, its payload opens with the CLI, and
//! each says clearly that the sidecar is down when it is. A toolchain that is not installed
//! skips its client, except under CI (which installs them all).
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sidecar::Sidecar;
use common::{keyward, ok};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sidecar-clients")
}

/// The command that runs each client, when its toolchain is installed.
fn clients() -> Vec<(&'static str, Vec<String>)> {
    let dir = examples();
    let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let mut found = Vec::new();
    for (tool, args) in [
        ("bash", vec![file("curl.sh")]),
        ("python3", vec![file("client.py")]),
        ("node", vec![file("client.js")]),
        ("go", vec![file("client.go")]),
    ] {
        let present = Command::new(tool)
            .arg(if tool == "go" { "version" } else { "--version" })
            .output()
            .is_ok_and(|o| o.status.success());
        let present = present && (tool != "bash" || which("curl"));
        if present {
            found.push((tool, args));
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install {tool}: its client example is tested"
            );
            eprintln!("skipped the {tool} client: not installed");
        }
    }
    found
}

fn which(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Go's client, built once (`go run` would hide its exit status).
fn go_binary(source: &str) -> PathBuf {
    let binary = std::env::temp_dir().join(format!("keyward-go-client-{}", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(source)
        .env("GOCACHE", std::env::temp_dir().join("keyward-go-cache"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

fn run(tool: &str, args: &[String], socket: &Path, text: &str) -> std::process::Output {
    let mut command = if tool == "go" {
        Command::new(go_binary(&args[0]))
    } else {
        let mut command = Command::new(tool);
        command.args(args);
        command
    };
    command
        .arg(text)
        .env("KEYWARD_SOCKET", socket)
        .output()
        .unwrap()
}

#[test]
fn every_client_example_protects_and_unprotects_through_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let sidecar = Sidecar::start(dir.path(), &keys, "shop", &[]);
    let clients = clients();
    for (tool, args) in &clients {
        let text = format!("hello from the {tool} client");
        let output = run(tool, args, &sidecar.socket, &text);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{tool}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("plaintext: {text}\n")),
            "{tool}: {stdout}"
        );
        // Its payload is the ring's: the CLI opens it.
        let payload = stdout
            .lines()
            .find_map(|l| l.strip_prefix("payload: "))
            .unwrap();
        let opened = ok(&keyward(
            &keys,
            "shop",
            &[
                "unprotect",
                "--purpose",
                "Orders",
                "--purpose",
                "v1",
                payload,
            ],
            None,
        ));
        assert_eq!(opened, text, "{tool}");
    }
    assert!(!clients.is_empty());

    // The sidecar down: each client says so and fails.
    let socket = sidecar.socket.clone();
    drop(sidecar);
    for (tool, args) in &clients {
        let output = run(tool, args, &socket, "x");
        assert_eq!(output.status.code(), Some(2), "{tool}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("keyward sidecar") && stderr.contains(socket.to_str().unwrap()),
            "{tool}: {stderr}"
        );
    }
}
