//! Faults with a private `redis-server` on a spare port: the store stops mid-run (the node keeps
//! serving and creates no key, then recovers), and comes back empty (the ring-shrank event
//! fires, payloads still unprotect, nothing is written).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward::{Error, KeyRepository, Provider};
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
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping: cannot run redis-server: {e}");
                return None;
            }
            Err(e) => panic!("redis-server is required in CI: {e}"),
        };
        let server = Self { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
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

fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_store_goes_away_and_comes_back_empty() {
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
