//! Private PostgreSQL instances on spare ports (initdb + pg_ctl from the machine's
//! PostgreSQL), shared by the tests that stop, freeze or reconfigure a server. Outside CI a
//! machine without the server binaries skips; in CI it fails.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (PostgreSQL refuses root).
fn run(bin: &Path, tool: &str, args: &[&str]) -> bool {
    let mut command = if as_root() {
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

/// Gives `path` to the `postgres` user when we are root.
pub fn give_to_postgres(path: &Path) {
    if as_root() {
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(path)
            .output();
    }
}

/// How a private instance differs from a plain one.
#[derive(Default)]
pub struct Setup {
    /// Extra `postgres` command-line options (`-c name=value …`).
    pub options: String,
    /// The whole `pg_hba.conf`, when not initdb's.
    pub hba: Option<String>,
}

pub struct Instance {
    bin: PathBuf,
    data: String,
    options: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Instance {
    /// A plain instance (trust authentication, plain TCP on 127.0.0.1), started.
    pub fn create() -> Option<Self> {
        Self::create_with(|_| Setup::default())
    }

    /// An instance whose setup `prepare` writes into the instance's directory (certificates,
    /// …) and returns, started.
    pub fn create_with(prepare: impl FnOnce(&Path) -> Setup) -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            keyward_conformance::support::missing(
                "PostgreSQL server binaries",
                "none under /usr/lib/postgresql",
            );
            return None;
        };
        let dir = tempfile::tempdir().ok()?;
        give_to_postgres(dir.path());
        let data = dir.path().join("data").display().to_string();
        assert!(
            run(
                &bin,
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres"]
            ),
            "initdb failed"
        );
        let setup = prepare(dir.path());
        if let Some(hba) = &setup.hba {
            std::fs::write(format!("{data}/pg_hba.conf"), hba).expect("writing pg_hba.conf");
        }
        give_to_postgres(dir.path());
        let port = keyward_conformance::support::spare_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 {}",
            dir.path().display(),
            setup.options
        );
        let instance = Self {
            bin,
            data,
            options,
            port,
            dir,
        };
        instance.start();
        Some(instance)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn start(&self) {
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
            "pg_ctl start failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
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

    pub fn stop(&self) {
        assert!(
            run(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data, "-m", "immediate", "-w", "stop"]
            ),
            "pg_ctl stop failed"
        );
    }

    /// Stops (SIGSTOP) the postmaster and every backend: connections stay open and nothing
    /// answers. Returns the frozen processes, for [`Instance::thaw`].
    pub fn freeze(&self) -> Vec<String> {
        let pid_file = std::fs::read_to_string(format!("{}/postmaster.pid", self.data))
            .expect("postmaster.pid");
        let postmaster = pid_file
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut pids = vec![postmaster.clone()];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if parent == Some(postmaster.as_str()) {
                pids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        let stopped = Command::new("kill")
            .arg("-STOP")
            .args(&pids)
            .status()
            .is_ok_and(|s| s.success());
        assert!(stopped, "could not SIGSTOP {pids:?}");
        pids
    }

    /// Resumes what [`Instance::freeze`] stopped.
    pub fn thaw(&self, pids: &[String]) {
        let _ = Command::new("kill").arg("-CONT").args(pids).status();
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("127.0.0.1")
    }

    /// The URL with `host` as the host name.
    pub fn url_for(&self, host: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres", self.port)
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
