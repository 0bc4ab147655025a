//! `keyward serve` against the library in the same run: protect and unprotect at 256 B and the
//! ASP.NET Core login-cookie read, per call, in process and through the sidecar over its Unix
//! socket and loopback TCP, with one client and with eight. Reports p50 and p99 latency (and
//! throughput for eight clients); criterion reports means, so this bench times each call
//! itself.
//!
//! Needs the release binary: `cargo build --release -p keyward-cli` (or `KEYWARD_BIN`), then
//! `cargo bench -p keyward-bench --bench sidecar`. With `KEYWARD_PYTHON` naming a Python that
//! has the `keyward` package installed, the Python package's rows (per call, through Python)
//! are measured in the same run, on the same ring (`bindings/python/bench/bench.py`).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A bench: a panic is a failure; it prints its table.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use keyward_aspnetcore::{CookieHeader, TicketDataFormat};

const TOKEN: &str = "bench-token-0123456789abcdef";
const ONE_CLIENT_CALLS: usize = 20_000;
const MANY_CLIENTS: usize = 8;
const MANY_CLIENT_CALLS: usize = 4_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` (criterion's protocol): nothing to list by name.
    }
    let binary = keyward_binary();
    let dir = tempfile::tempdir().unwrap();
    let keys = copy_real_ring(dir.path());
    let login = login_header();
    let provider = keyward::Provider::builder()
        .application_name("shop")
        .key_directory(&keys)
        .build()
        .unwrap();
    provider.ensure_default_key().unwrap();
    let sidecar = Sidecar::start(&binary, dir.path(), &keys);

    let plaintext = vec![0x5au8; 256];
    let protector = provider.protector(["bench", "256"]);
    let payload = keyward::encoding::base64url_encode(&protector.protect(&plaintext).unwrap());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&plaintext);
    let bodies = [
        (
            "protect",
            "/v1/protect",
            format!(r#"{{"purposes":["bench","256"],"plaintext":"{b64}"}}"#),
        ),
        (
            "unprotect",
            "/v1/unprotect",
            format!(r#"{{"purposes":["bench","256"],"payload":"{payload}"}}"#),
        ),
        (
            "login",
            "/v1/login",
            serde_json::json!({ "cookie_header": login }).to_string(),
        ),
    ];

    println!("| call | where | clients | p50 | p99 | throughput |");
    println!("|---|---|---|---|---|---|");
    python_rows(dir.path(), &keys, &login);
    let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
    for (name, path, body) in &bodies {
        let in_process = time_calls(ONE_CLIENT_CALLS, || match *name {
            "protect" => {
                let protected = protector.protect(&plaintext).unwrap();
                std::hint::black_box(keyward::encoding::base64url_encode(&protected));
            }
            "unprotect" => {
                let bytes = keyward::encoding::base64url_decode(&payload).unwrap();
                std::hint::black_box(protector.unprotect(&bytes).unwrap());
            }
            _ => {
                let cookies = CookieHeader::parse(&login).unwrap();
                let value = cookies.reassemble(".AspNetCore.Cookies").unwrap().unwrap();
                std::hint::black_box(format.unprotect(&value).unwrap());
            }
        });
        row(name, "in process", 1, &in_process, None);
        for transport in [Transport::Unix, Transport::Tcp] {
            let mut connection = sidecar.connect(transport);
            let one = time_calls(ONE_CLIENT_CALLS, || {
                assert_eq!(connection.post(path, body.as_bytes()), 200);
            });
            row(name, transport.name(), 1, &one, None);
            let started = Instant::now();
            let many: Vec<Duration> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..MANY_CLIENTS)
                    .map(|_| {
                        let sidecar = &sidecar;
                        scope.spawn(move || {
                            let mut connection = sidecar.connect(transport);
                            time_calls(MANY_CLIENT_CALLS, || {
                                assert_eq!(connection.post(path, body.as_bytes()), 200);
                            })
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            });
            let per_second = many.len() as f64 / started.elapsed().as_secs_f64();
            row(
                name,
                transport.name(),
                MANY_CLIENTS,
                &many,
                Some(per_second),
            );
        }
    }
}

/// The Python package's rows, when `KEYWARD_PYTHON` names an interpreter that has it.
fn python_rows(dir: &Path, keys: &Path, login: &str) {
    let Some(python) = std::env::var_os("KEYWARD_PYTHON") else {
        return;
    };
    let cookie = dir.join("cookie-header");
    std::fs::write(&cookie, login).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bindings/python/bench/bench.py");
    let output = Command::new(python)
        .arg(script)
        .arg(keys)
        .arg(&cookie)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the Python bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
}

fn row(call: &str, place: &str, clients: usize, times: &[Duration], per_second: Option<f64>) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    let throughput = per_second.map_or_else(
        || format!("{:.0}/s", 1.0 / mean(&sorted)),
        |r| format!("{r:.0}/s"),
    );
    println!(
        "| {call} | {place} | {clients} | {} | {} | {throughput} |",
        show(at(0.50)),
        show(at(0.99))
    );
}

fn mean(times: &[Duration]) -> f64 {
    times.iter().map(Duration::as_secs_f64).sum::<f64>() / times.len() as f64
}

fn show(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 10_000 {
        format!("{:.2} µs", nanos as f64 / 1000.0)
    } else {
        format!("{:.1} µs", nanos as f64 / 1000.0)
    }
}

/// Times each of `n` calls, after a warm-up of `n / 10`.
fn time_calls(n: usize, mut call: impl FnMut()) -> Vec<Duration> {
    for _ in 0..n / 10 {
        call();
    }
    (0..n)
        .map(|_| {
            let started = Instant::now();
            call();
            started.elapsed()
        })
        .collect()
}

fn keyward_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KEYWARD_BIN") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/keyward");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p keyward-cli` first (or set KEYWARD_BIN)",
        path.display()
    );
    path
}

fn real_dir() -> PathBuf {
    keyward_testdata::testdata_dir().join("vectors/aspnetcore-real")
}

fn copy_real_ring(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(real_dir().join("ring")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    keys
}

/// The Cookie header of the recorded ~0.9 KB login (`simple` case).
fn login_header() -> String {
    let text = std::fs::read_to_string(real_dir().join("cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    cases
        .iter()
        .find(|c| c["kind"] == "auth_cookie" && c["name"] == "simple")
        .unwrap()["cookie_header"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[derive(Clone, Copy)]
enum Transport {
    Unix,
    Tcp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Self::Unix => "sidecar, Unix socket",
            Self::Tcp => "sidecar, loopback TCP",
        }
    }
}

struct Sidecar {
    child: Child,
    socket: PathBuf,
    address: String,
}

impl Sidecar {
    fn start(binary: &Path, dir: &Path, keys: &Path) -> Self {
        let socket = dir.join("keyward.sock");
        let ready = dir.join("ready");
        let token = dir.join("token");
        std::fs::write(&token, TOKEN).unwrap();
        let address = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().to_string()
        };
        let child = Command::new(binary)
            .env("KEYWARD_LOG", "error")
            .arg("--keys-dir")
            .arg(keys)
            .args(["--application-name", "shop", "serve", "--socket"])
            .arg(&socket)
            .args(["--listen", &address, "--token-file"])
            .arg(&token)
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "keyward serve never became ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            socket,
            address,
        }
    }

    fn connect(&self, transport: Transport) -> Connection {
        let stream: Box<dyn ReadWrite> = match transport {
            Transport::Unix => {
                Box::new(std::os::unix::net::UnixStream::connect(&self.socket).unwrap())
            }
            Transport::Tcp => {
                let stream = std::net::TcpStream::connect(&self.address).unwrap();
                stream.set_nodelay(true).unwrap();
                Box::new(stream)
            }
        };
        Connection {
            stream,
            token: matches!(transport, Transport::Tcp),
            buffer: Vec::with_capacity(8192),
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

/// A keep-alive HTTP/1.1 connection.
struct Connection {
    stream: Box<dyn ReadWrite>,
    token: bool,
    buffer: Vec<u8>,
}

impl Connection {
    /// Posts `body` and returns the status, the answer read whole.
    fn post(&mut self, path: &str, body: &[u8]) -> u16 {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: keyward\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if self.token {
            request.push_str(&format!("Authorization: Bearer {TOKEN}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).unwrap();
        self.buffer.clear();
        let mut chunk = [0u8; 8192];
        let (head_end, length) = loop {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the sidecar closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).unwrap();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap();
                break (end + 4, length);
            }
        };
        while self.buffer.len() < head_end + length {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the sidecar closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
        std::str::from_utf8(&self.buffer[9..12])
            .unwrap()
            .parse()
            .unwrap()
    }
}
