//! Faults with a private PostgreSQL instance on a spare port (initdb + pg_ctl from the
//! machine's PostgreSQL): the server stops mid-run — the node keeps serving, creates no key —
//! and recovers when it returns; a frozen server does not hold up dropping the generation lock.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::time::{Duration, Instant};

use common::Instance;
use keyward::{Error, KeyRepository, Provider};
use keyward_postgres::PostgresRepository;

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

#[test]
fn dropping_the_generation_lock_does_not_wait_for_a_frozen_server() {
    let Some(instance) = Instance::create() else {
        return;
    };
    let repository = PostgresRepository::open(&instance.url()).unwrap();
    let lock = repository.lock_for_generation().unwrap();
    let frozen = instance.freeze();
    let (done, dropped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        drop(lock);
        let _ = done.send(started.elapsed());
    });
    let took = dropped.recv_timeout(Duration::from_secs(10));
    instance.thaw(&frozen);
    let took = took.expect("dropping the lock guard blocked for 10 s on a frozen server");
    assert!(took < Duration::from_secs(5), "the drop took {took:?}");

    // The session was ended: once the server runs again, another node takes the lock.
    let other = PostgresRepository::open(&instance.url()).unwrap();
    let started = Instant::now();
    drop(other.lock_for_generation().unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the lock was held for {:?} after the drop",
        started.elapsed()
    );
}
