//! The Azure Blob repository against Azurite (the Azure Storage emulator), from
//! `KEYWARD_TEST_AZURE_CONNECTION_STRING` (default `UseDevelopmentStorage=true`, Azurite on
//! 127.0.0.1:10000). Each test uses its own container. In CI a missing Azurite fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::{Arc, Barrier};

use keyward::store::KeyRepository;
use keyward::Provider;
use keyward_azure::{AzureBlobRepository, BlobLocation};
use keyward_conformance::{reachable, Capabilities};

fn connection_string() -> String {
    std::env::var("KEYWARD_TEST_AZURE_CONNECTION_STRING")
        .unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

/// A container name unique to this run (lowercase letters and digits).
fn container() -> String {
    format!("kw{}", keyward::KeyId::random().as_uuid().simple())
}

fn repository(container: &str) -> Option<AzureBlobRepository> {
    let location =
        BlobLocation::from_connection_string(&connection_string(), container, "keys.xml").unwrap();
    let repository = AzureBlobRepository::new(location).unwrap();
    // One read shows whether Azurite answers (an empty container reads as an empty ring).
    reachable("Azurite", repository.load_elements().map(|_| ())).map(|()| repository)
}

keyward_conformance::repository_tests!(
    || repository(&container()),
    Capabilities {
        ordered: true,
        deletes: true,
    }
);

#[test]
fn eight_nodes_starting_together_write_one_key() {
    let container = container();
    if repository(&container).is_none() {
        return;
    }
    const NODES: usize = 8;
    let barrier = Arc::new(Barrier::new(NODES));
    let providers: Vec<Provider> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..NODES)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let container = container.clone();
                scope.spawn(move || {
                    let repository = repository(&container).unwrap();
                    barrier.wait();
                    let provider = Provider::builder()
                        .application_name("farm")
                        .repository(repository)
                        .build()
                        .unwrap();
                    provider.ensure_default_key().unwrap();
                    provider
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored = repository(&container).unwrap().load_elements().unwrap();
    assert_eq!(stored.len(), 1, "one key for {NODES} nodes");
    let payload = providers[0].protector(["x"]).protect(b"farm").unwrap();
    for provider in &providers {
        assert_eq!(
            provider.protector(["x"]).unprotect(&payload).unwrap(),
            b"farm"
        );
    }
}

/// A revocation written by one node reaches a watching node within its poll interval.
#[test]
fn a_revocation_reaches_a_polling_node() {
    let container = container();
    let Some(first) = repository(&container) else {
        return;
    };
    let watching = Provider::builder()
        .application_name("farm")
        .repository(first.with_poll_interval(std::time::Duration::from_millis(200)))
        .build()
        .unwrap();
    let payload = watching.protector(["x"]).protect(b"y").unwrap();
    let key = watching.keys()[0].id;
    let other = Provider::builder()
        .application_name("farm")
        .repository(repository(&container).unwrap())
        .watch_changes(false)
        .build()
        .unwrap();
    other
        .revoke(
            keyward::revocation::RevocationTarget::Key(key),
            "test",
            false,
        )
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        match watching.protector(["x"]).unprotect(&payload) {
            Err(keyward::Error::KeyRevoked(_)) => break,
            Ok(_) => {}
            Err(error) => panic!("{error}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the revocation did not arrive within 2 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
