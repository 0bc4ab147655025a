//! Helpers for running the `keyward` binary in tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyward");

#[allow(unused_imports)] // Each test file uses its own part of this.
pub use keyward_testdata::testdata_dir;

pub mod sidecar;

/// `keyward --keys-dir DIR --application-name APP ARGS…` with a clean environment.
pub fn keyward(dir: &Path, app: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(BIN);
    command
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_ALGORITHM")
        // Errors only: every command warns about unencrypted keys, and these tests read the
        // one failure line (unprotect is quiet by default anyway).
        .env("KEYWARD_LOG", "error")
        .arg("--keys-dir")
        .arg(dir)
        .args(["--application-name", app])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run keyward");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn failure_line(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    stderr
}

/// A key for a prepared ring: fixed id and dates (RFC 3339), so command output is the same
/// on every run (pair it with `--now`).
pub struct FixtureKey<'a> {
    pub id: &'a str,
    pub created: &'a str,
    pub activation: &'a str,
    pub expiration: &'a str,
}

/// The key XML .NET writes for `key` (CBC, a fixed plaintext master key).
pub fn fixture_key_xml(key: &FixtureKey<'_>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<key id=\"{id}\" version=\"1\">\n  <creationDate>{created}</creationDate>\n  <activationDate>{activation}</activationDate>\n  <expirationDate>{expiration}</expirationDate>\n  <descriptor deserializerType=\"Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=10.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60\">\n    <descriptor>\n      <encryption algorithm=\"AES_256_CBC\" />\n      <validation algorithm=\"HMACSHA256\" />\n      <masterKey p4:requiresEncryption=\"true\" xmlns:p4=\"http://schemas.asp.net/2015/03/dataProtection\">\n        <!-- Warning: the key below is in an unencrypted form. -->\n        <value>{master}</value>\n      </masterKey>\n    </descriptor>\n  </descriptor>\n</key>",
        id = key.id,
        created = key.created,
        activation = key.activation,
        expiration = key.expiration,
        master = "a2V5d2FyZCB0ZXN0IGZpeHR1cmUgbWFzdGVyIGtleTogc2l4dHktZm91ciBieXRlcywgbm8gc2VjcmV0ISEhIQ==",
    )
}

/// The revocation XML .NET writes for one key.
pub fn fixture_revocation_xml(id: &str, date: &str, reason: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<revocation version=\"1\">\n  <revocationDate>{date}</revocationDate>\n  <!--All keys created before the revocation date are revoked.-->\n  <key id=\"{id}\" />\n  <reason>{reason}</reason>\n</revocation>"
    )
    .replace(
        "  <!--All keys created before the revocation date are revoked.-->\n",
        "",
    )
}

/// Writes a prepared ring into `dir` (created if missing): `key-{id}.xml` per key and
/// `revocation-{id}.xml` per revoked id.
pub fn write_fixture_ring(dir: &Path, keys: &[FixtureKey<'_>], revoked: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for key in keys {
        std::fs::write(
            dir.join(format!("key-{}.xml", key.id)),
            fixture_key_xml(key),
        )
        .unwrap();
    }
    for (id, date) in revoked {
        std::fs::write(
            dir.join(format!("revocation-{id}.xml")),
            fixture_revocation_xml(id, date, "fixture"),
        )
        .unwrap();
    }
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", std::process::id())
        + &format!(
            "_{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        )
}

/// A Redis repository URI with a fresh list key (`KEYWARD_TEST_REDIS_URL`), or `None`
/// (skip) when the server does not answer outside CI.
pub fn redis_uri() -> Option<String> {
    let base =
        std::env::var("KEYWARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    service_up("Redis", &base, 6379).then(|| format!("{base}?key={}", unique("keyward-cli-test")))
}

/// A PostgreSQL repository URI with a fresh table (`KEYWARD_TEST_POSTGRES_URL`), or `None`
/// (skip) when the server does not answer outside CI.
pub fn postgres_uri() -> Option<String> {
    let base = std::env::var("KEYWARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    service_up("PostgreSQL", &base, 5432)
        .then(|| format!("{base}?table={}", unique("keyward_cli_test")))
}

/// Whether the service's port answers; outside CI a closed port skips, in CI it fails.
pub fn service_up(what: &str, url: &str, default_port: u16) -> bool {
    let authority = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let address = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    let up = std::net::TcpStream::connect(&address).is_ok();
    if !up {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} at {address} is not reachable in CI"
        );
        eprintln!("skipping: {what} at {address} is not reachable");
    }
    up
}
