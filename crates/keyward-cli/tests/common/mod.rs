//! Helpers for running the `keyward` binary in tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyward");

/// The repository's `testdata` folder (its `vectors/` are the known-answer vectors), or
/// `KEYWARD_TESTDATA_DIR`.
pub fn testdata_dir() -> PathBuf {
    std::env::var_os("KEYWARD_TESTDATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata"))
}

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
