//! Faults with a private `redis-server` on a spare port: the store stops mid-run (the node keeps
//! serving and creates no key, then recovers), and comes back empty (the ring-shrank event
//! fires, payloads still unprotect, nothing is written).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward::{Error, KeyRepository, Provider};
use keyward_conformance::support::{missing, spare_port};
use keyward_redis::RedisRepository;

/// Captures every log line of this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(port: u16) -> Option<Self> {
        let spawned = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                missing("redis-server", e);
                return None;
            }
        };
        let mut server = Self { child, port };
        server.wait_ready(&format!("redis://127.0.0.1:{port}/0"));
        Some(server)
    }

    /// Waits until this server (not another process on the port) answers PING.
    fn wait_ready(&mut self, url: &str) {
        let started = Instant::now();
        loop {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "redis-server exited (port {} taken?)",
                self.port
            );
            if RedisRepository::open(url).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0?key=keyward-faults", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tests here start servers on spare ports: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn the_store_goes_away_and_comes_back_empty() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let port = spare_port();
    let Some(server) = Server::start(port) else {
        return;
    };
    let node = Provider::builder()
        .application_name("faults")
        .repository(RedisRepository::open(&server.url()).unwrap())
        .build()
        .unwrap();
    let protector = node.protector(["p"]);
    let before = protector.protect(b"before").unwrap();

    // The store stops: the node keeps serving from its ring and creates no key.
    drop(server);
    let err = node.refresh().unwrap_err();
    assert!(matches!(err, Error::Repository { .. }), "{err}");
    assert!(
        err.to_string().contains(&port.to_string()),
        "names the store: {err}"
    );
    assert_eq!(protector.unprotect(&before).unwrap(), b"before");
    let during = protector.protect(b"during").unwrap();
    assert_eq!(protector.unprotect(&during).unwrap(), b"during");

    // It comes back empty (no persistence): the ring shrank; payloads still unprotect on this
    // node, which holds the keys, and nothing is written or deleted because of it.
    let server = Server::start(port).unwrap();
    node.refresh().unwrap();
    assert_eq!(protector.unprotect(&before).unwrap(), b"before");
    assert_eq!(protector.unprotect(&during).unwrap(), b"during");
    let raw = RedisRepository::open(&server.url()).unwrap();
    assert!(
        raw.load_elements().unwrap().is_empty(),
        "nothing written to the emptied store"
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("ERROR") && text.contains("the key ring shrank"),
        "{text}"
    );
    assert_eq!(
        text.matches("key created").count(),
        1,
        "only the first key, before the faults: {text}"
    );
}

#[test]
fn tls_through_the_url() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        missing("openssl", "it could not make a test certificate");
        return;
    }
    let port = spare_port();
    let spawned = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--tls-port",
            &port.to_string(),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
        ])
        .arg("--tls-cert-file")
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .arg("--tls-ca-cert-file")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) => {
            missing("redis-server", e);
            return;
        }
    };
    let mut server = Server { child, port };
    // A self-signed test certificate: verification off via the URL, for this test only.
    let url = format!("rediss://127.0.0.1:{port}/0?key=keyward-tls#insecure");
    server.wait_ready(&url);
    let node = Provider::builder()
        .application_name("tls")
        .repository(RedisRepository::open(&url).unwrap())
        .build()
        .unwrap();
    let payload = node.protector(["p"]).protect(b"over tls").unwrap();
    assert_eq!(
        node.protector(["p"]).unprotect(&payload).unwrap(),
        b"over tls"
    );
    assert_eq!(
        RedisRepository::open(&url)
            .unwrap()
            .load_elements()
            .unwrap()
            .len(),
        1
    );
    // Plain TCP to the TLS port fails at open, naming the store.
    assert!(RedisRepository::open(&format!("redis://127.0.0.1:{port}/0")).is_err());
}

/// `kill -SIG pid` (the test has no libc binding; the `kill` utility is everywhere).
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn releasing_the_generation_lock_never_hangs_on_a_frozen_server() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(server) = Server::start(spare_port()) else {
        return;
    };
    let repository = RedisRepository::open(&server.url()).unwrap();
    let lock = repository.lock_for_generation().unwrap();

    // The server stops answering (its socket still accepts connections): dropping the guard
    // returns within its bound instead of waiting on the server.
    let pid = server.child.id();
    signal(pid, "-STOP");
    let started = Instant::now();
    drop(lock);
    let took = started.elapsed();
    signal(pid, "-CONT");
    assert!(
        took < Duration::from_secs(3),
        "dropping the lock guard blocked for {took:?}"
    );

    // Once the server answers again the release goes through (or the lock expires): the lock
    // can be taken again well before its 30 s TTL would free it.
    let started = Instant::now();
    let again = repository.lock_for_generation().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the lock was not released: waited {:?}",
        started.elapsed()
    );
    drop(again);
}
