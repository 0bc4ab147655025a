//! Running `keyward serve` in a test, and a minimal HTTP/1.1 client for its Unix socket and
//! TCP port (raw requests, so the tests see exactly what goes over the wire).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::BIN;

/// A running sidecar; killed when dropped (a test that checks shutdown calls `terminate`).
pub struct Sidecar {
    child: Option<Child>,
    /// The socket, when it listens on one.
    pub socket: PathBuf,
    /// The ready file.
    pub ready: PathBuf,
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

impl Sidecar {
    /// `keyward --keys-dir KEYS --application-name APP serve --socket DIR/keyward.sock
    /// --ready-file DIR/ready EXTRA…`, waiting until it is ready.
    pub fn start(dir: &Path, keys: &Path, app: &str, extra: &[&str]) -> Self {
        Self::start_with_env(dir, keys, app, extra, &[])
    }

    /// As [`Sidecar::start`], with environment variables.
    pub fn start_with_env(
        dir: &Path,
        keys: &Path,
        app: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let socket = dir.join("keyward.sock");
        let ready = dir.join("ready");
        let mut command = Command::new(BIN);
        command
            .env_remove("KEYWARD_KEYS_DIR")
            .env_remove("KEYWARD_APPLICATION_NAME")
            .env_remove("KEYWARD_NOW")
            .env("KEYWARD_LOG", "warn")
            .arg("--keys-dir")
            .arg(keys)
            .args(["--application-name", app, "serve", "--socket"])
            .arg(&socket)
            .arg("--ready-file")
            .arg(&ready)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start keyward serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                panic!("keyward serve exited with {status}: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "keyward serve never became ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child: Some(child),
            socket,
            ready,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// A request over the Unix socket.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let stream = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        exchange(
            stream,
            method,
            path,
            &[],
            body.map(|b| b.to_string().into_bytes()),
        )
    }

    /// Sends SIGTERM and returns the exit status and stderr.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        (
            output.status,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One request with `Connection: close`; the whole answer.
pub fn exchange(
    mut stream: impl Read + Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let body = body.unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: keyward\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // A server that answers before reading the whole body (413) may close early.
    let _ = stream.write_all(&body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    Answer {
        status,
        headers: head.to_owned(),
        body: body.to_owned(),
    }
}
