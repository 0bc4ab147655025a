//! Faults with a private PostgreSQL instance on a spare port (initdb + pg_ctl from the
//! machine's PostgreSQL): the server stops mid-run — the node keeps serving, creates no key —
//! and recovers when it returns.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use keyward::{Error, KeyRepository, Provider};
use keyward_postgres::PostgresRepository;

/// The directory of `pg_ctl` and `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists() && bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (PostgreSQL refuses root).
fn run(bin: &Path, tool: &str, args: &[&str]) -> bool {
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut command = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    // The server forked by `pg_ctl start` keeps inherited pipes open: never capture output.
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Instance {
    bin: PathBuf,
    data: String,
    options: String,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn create() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL server binaries are required in CI"
            );
            eprintln!("skipping: no PostgreSQL server binaries");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chown")
            .args(["postgres"])
            .arg(dir.path())
            .output();
        let data = dir.path().join("data").display().to_string();
        assert!(
            run(
                &bin,
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres"]
            ),
            "initdb failed"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            dir.path().display()
        );
        let instance = Self {
            bin,
            data,
            options,
            port,
            _dir: dir,
        };
        instance.start();
        Some(instance)
    }

    fn start(&self) {
        let log = format!("{}/../server.log", self.data);
        assert!(
            run(
                &self.bin,
                "pg_ctl",
                &[
                    "-D",
                    &self.data,
                    "-o",
                    &self.options,
                    "-l",
                    &log,
                    "-w",
                    "start"
                ]
            ),
            "pg_ctl start failed"
        );
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&self) {
        assert!(
            run(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data, "-m", "immediate", "-w", "stop"]
            ),
            "pg_ctl stop failed"
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = run(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data, "-m", "immediate", "stop"],
        );
    }
}

#[test]
fn the_server_stops_and_returns() {
    let Some(instance) = Instance::create() else {
        return;
    };
    let node = Provider::builder()
        .application_name("faults")
        .repository(PostgresRepository::open(&instance.url()).unwrap())
        .build()
        .unwrap();
    let protector = node.protector(["p"]);
    let before = protector.protect(b"before").unwrap();

    instance.stop();
    let err = node.refresh().unwrap_err();
    assert!(matches!(err, Error::Repository { .. }), "{err}");
    assert!(
        err.to_string().contains(&instance.port.to_string()),
        "names the store: {err}"
    );
    assert_eq!(protector.unprotect(&before).unwrap(), b"before");
    let during = protector.protect(b"during").unwrap();

    instance.start();
    node.refresh().unwrap();
    assert_eq!(protector.unprotect(&during).unwrap(), b"during");
    let rows = PostgresRepository::open(&instance.url())
        .unwrap()
        .load_elements()
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "still only the first key: nothing was created during the outage"
    );
}
