//! Cold start with real OS processes: eight processes open the same missing table at the same
//! moment, build a provider and protect. All succeed, and the table ends with one key.
//!
//! The children are this test binary again, run with `KEYWARD_COLD_START_TABLE` set, which
//! turns `cold_start_child` from a no-op into the child's work. Uses
//! `KEYWARD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); in CI a
//! missing server fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward::{KeyRepository, Provider};
use keyward_conformance::support::postgres_url as url;
use keyward_conformance::{reachable, unique_name};
use keyward_postgres::{PostgresOptions, PostgresRepository};

const TABLE: &str = "KEYWARD_COLD_START_TABLE";
const START_AT: &str = "KEYWARD_COLD_START_AT_MS";
const CHILDREN: usize = 8;

fn open(table: &str) -> keyward::Result<PostgresRepository> {
    PostgresRepository::open_with(
        &url(),
        PostgresOptions {
            table: table.to_owned(),
            ..PostgresOptions::default()
        },
    )
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// A child's work (a no-op unless run as a child).
#[test]
fn cold_start_child() {
    let Ok(table) = std::env::var(TABLE) else {
        return;
    };
    let start: u128 = std::env::var(START_AT).unwrap().parse().unwrap();
    while now_ms() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
    let repository = open(&table).unwrap_or_else(|e| panic!("open: {}", e.chain()));
    let provider = Provider::builder()
        .application_name("cold-start")
        .repository(repository)
        .build()
        .unwrap_or_else(|e| panic!("build: {}", e.chain()));
    provider
        .protector(["p"])
        .protect(b"x")
        .unwrap_or_else(|e| panic!("protect: {}", e.chain()));
}

#[test]
fn eight_processes_start_together_on_a_missing_table() {
    if std::env::var_os(TABLE).is_some() {
        return; // a child runs only cold_start_child
    }
    if reachable("PostgreSQL", open(&unique_name("probe"))).is_none() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
    // A few rounds: the catalog race this guards against does not show every time.
    for _ in 0..3 {
        let table = unique_name("keyward_cold");
        let start = now_ms() + 1500;
        let children: Vec<_> = (0..CHILDREN)
            .map(|_| {
                Command::new(&exe)
                    .args([
                        "cold_start_child",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(TABLE, &table)
                    .env(START_AT, start.to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "a child failed on {table}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_eq!(open(&table).unwrap().load_elements().unwrap().len(), 1);
        client
            .batch_execute(&format!("DROP TABLE \"{table}\""))
            .unwrap();
    }
}
