//! A farm of OS processes over one Redis list, one PostgreSQL table and one Azure blob
//! (Azurite, `KEYWARD_TEST_AZURE_CONNECTION_STRING`; polled every 0.2 s): 8 nodes starting at
//! once create exactly one key; with a shared fast clock the farm goes through 6 rotations
//! while every node protects and every other node unprotects, with no failure and exactly one
//! new key per rotation; a revocation on one node reaches every node within a second.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::{self, OffsetDateTime};
use keyward::KeyRepository;

const NODES: usize = 8;
/// 2026-01-01T00:00:00Z.
const START: OffsetDateTime =
    OffsetDateTime::UNIX_EPOCH.saturating_add(time::Duration::days(20_454));

struct Node {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Node {
    fn spawn(uri: &str, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyward-farm-node"))
            .args([uri, &START.format(&Rfc3339).unwrap()])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            input,
            output,
        }
    }

    fn read(&mut self) -> String {
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "node exited");
        line.trim_end().to_owned()
    }

    fn send(&mut self, command: &str) {
        writeln!(self.input, "{command}").unwrap();
        self.input.flush().unwrap();
    }

    fn ask(&mut self, command: &str) -> String {
        self.send(command);
        self.read()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "QUIT");
        let _ = self.child.wait();
    }
}

fn key_count(repository: &dyn KeyRepository) -> usize {
    repository
        .load_elements()
        .unwrap()
        .iter()
        .filter(|e| e.xml.starts_with("<key "))
        .count()
}

fn run_farm(uri: &str, repository: &dyn KeyRepository, env: &[(&str, String)]) {
    // 8 processes start at the same instant on an empty store.
    let mut nodes: Vec<Node> = (0..NODES).map(|_| Node::spawn(uri, env)).collect();
    let defaults: Vec<String> = nodes.iter_mut().map(Node::read).collect();
    assert_eq!(
        key_count(repository),
        1,
        "exactly one key after a cold start of {NODES} nodes"
    );
    assert!(
        defaults
            .iter()
            .all(|d| d == &defaults[0] && d.starts_with("ready ")),
        "{defaults:?}"
    );

    // A shared fast clock: one simulated day per step, 6 rotations of 90 days.
    let days: i64 = std::env::var("FARM_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(6 * 90 + 10);
    let mut crossed = 0usize;
    let mut failures = 0usize;
    for day in 1..=days {
        let at = (START + time::Duration::days(day))
            .format(&Rfc3339)
            .unwrap();
        for node in &mut nodes {
            node.send(&format!("TIME {at}"));
        }
        for node in &mut nodes {
            assert_eq!(node.read(), "ok");
        }
        // Every node refreshes (the periodic refresh), at the same moment.
        for node in &mut nodes {
            node.send("REFRESH");
        }
        for node in &mut nodes {
            assert_eq!(node.read(), "ok");
        }
        let payloads: Vec<String> = (0..NODES)
            .map(|i| {
                let reply = nodes[i].ask(&format!("PROTECT node {i} day {day}"));
                reply
                    .strip_prefix("payload ")
                    .unwrap_or_else(|| panic!("{reply}"))
                    .to_owned()
            })
            .collect();
        for (i, payload) in payloads.iter().enumerate() {
            for (j, node) in nodes.iter_mut().enumerate() {
                if i == j {
                    continue;
                }
                let reply = node.ask(&format!("UNPROTECT {payload}"));
                if reply == format!("ok node {i} day {day}") {
                    crossed += 1;
                } else {
                    failures += 1;
                    eprintln!("day {day}: node {j} could not read node {i}: {reply}");
                }
            }
        }
    }
    let keys = key_count(repository);
    eprintln!("farm {uri}: {NODES} nodes, {days} simulated days, {} rotations, {crossed} payloads crossed, {failures} failures", keys - 1);
    assert_eq!(failures, 0);
    // One new key per 90-day rotation, each written 3 days (refresh period + propagation
    // window) before it takes over.
    let expected = 1 + usize::try_from((days + 3) / 90).unwrap();
    assert_eq!(keys, expected, "one new key per 90-day rotation");

    // A revocation on node 0 reaches every node within a second (pushed refresh).
    let payload = nodes[0].ask("PROTECT revoke me");
    let payload = payload.strip_prefix("payload ").unwrap().to_owned();
    let key = keyward::payload::parse(&keyward::encoding::base64url_decode(&payload).unwrap())
        .unwrap()
        .0;
    let started = Instant::now();
    assert_eq!(nodes[0].ask(&format!("REVOKE {key}")), "ok");
    let mut slowest = Duration::ZERO;
    for node in &mut nodes {
        loop {
            let reply = node.ask(&format!("UNPROTECT {payload}"));
            if reply == "err revoked" {
                slowest = slowest.max(started.elapsed());
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "revocation not seen within 1 s: {reply}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    eprintln!("farm {uri}: revocation reached all {NODES} nodes in {slowest:?}");
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", keyward::KeyId::random().as_uuid().simple())
}

fn available(
    what: &str,
    connected: keyward::Result<impl KeyRepository>,
) -> Option<impl KeyRepository> {
    match connected {
        Ok(r) => Some(r),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {what} not reachable: {e}");
            None
        }
        Err(e) => panic!("{what} not reachable in CI: {e}"),
    }
}

#[test]
fn redis_farm() {
    let base =
        std::env::var("KEYWARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let uri = format!("{base}?key={}", unique("keyward-farm"));
    let Some(repository) = available("Redis", keyward_redis::RedisRepository::open(&uri)) else {
        return;
    };
    run_farm(&uri, &repository, &[]);
}

#[test]
fn postgres_farm() {
    let base = std::env::var("KEYWARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let uri = format!("{base}?table={}", unique("keyward_farm"));
    let Some(repository) = available(
        "PostgreSQL",
        keyward_postgres::PostgresRepository::open(&uri),
    ) else {
        return;
    };
    run_farm(&uri, &repository, &[]);
}

#[test]
fn azure_blob_farm() {
    let connection = std::env::var("KEYWARD_TEST_AZURE_CONNECTION_STRING")
        .unwrap_or_else(|_| "UseDevelopmentStorage=true".into());
    let container = unique("kwfarm").replace('_', "").to_ascii_lowercase();
    let location =
        keyward_azure::BlobLocation::from_connection_string(&connection, &container, "farm.xml")
            .unwrap();
    let repository = keyward_azure::AzureBlobRepository::new(location).unwrap();
    let Some(repository) = available("Azurite", repository.load_elements().map(|_| repository))
    else {
        return;
    };
    let uri = format!("azblob://{container}/farm.xml?poll=0.2");
    run_farm(
        &uri,
        &repository,
        &[("AZURE_STORAGE_CONNECTION_STRING", connection.clone())],
    );
}
