//! The conformance suite on the embedded repositories.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::{FileSystemRepository, MemoryRepository};
use keyward_conformance::{run_all, Capabilities};

#[test]
fn memory_repository_conforms() {
    run_all(
        MemoryRepository::new,
        Capabilities {
            ordered: true,
            deletes: true,
        },
    );
}

#[test]
fn file_system_repository_conforms() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_all(
        || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            FileSystemRepository::open(root.path().join(n.to_string())).unwrap()
        },
        Capabilities {
            ordered: false,
            deletes: true,
        },
    );
}
