//! The hot path never does repository I/O on the caller's thread: `protect` on a ring whose
//! default key has expired (no successor yet) and `unprotect` of an unknown key id both hand
//! the reload to the refresh thread and wait for it (at most `unknown_key_wait`).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::{Arc, Mutex};

use keyward::store::{ChangeCallback, GenerationLock, StoredElement, XmlElement};
use keyward::time::macros::datetime;
use keyward::time::Duration;
use keyward::{Clock as _, KeyRepository, ManualClock, MemoryRepository, Provider};

/// A memory repository that records which thread each call ran on.
#[derive(Default)]
struct Recording {
    inner: MemoryRepository,
    threads: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recording")
    }
}

impl Recording {
    fn note(&self) {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        self.threads.lock().unwrap().push(name);
    }
}

#[derive(Debug)]
struct Handle(Arc<Recording>);

impl KeyRepository for Handle {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        self.0.note();
        self.0.inner.load_elements()
    }
    fn store_element(&self, element: &XmlElement, name: &str) -> keyward::Result<()> {
        self.0.note();
        self.0.inner.store_element(element, name)
    }
    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        self.0.note();
        self.0.inner.lock_for_generation()
    }
    fn location(&self) -> String {
        "recording".into()
    }
    fn watch(&self, _on_change: ChangeCallback) -> keyward::Result<bool> {
        Ok(false)
    }
}

#[test]
fn protect_and_unprotect_leave_repository_io_to_the_refresh_thread() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
    let recording = Arc::new(Recording::default());
    let provider = Provider::builder()
        .application_name("hot")
        .repository(Handle(Arc::clone(&recording)))
        .clock(Arc::clone(&clock) as Arc<dyn keyward::Clock>)
        .build()
        .unwrap();
    let orders = provider.protector(["orders"]);
    let first = orders.protect(b"first").unwrap();

    // Past the key's expiration with no successor written: protect needs a new key.
    clock.advance(Duration::days(200));
    recording.threads.lock().unwrap().clear();
    let second = orders.protect(b"second").unwrap();
    assert_ne!(first[4..20], second[4..20], "a new key was created");
    assert_eq!(orders.unprotect(&first).unwrap(), b"first");
    let mut threads = std::mem::take(&mut *recording.threads.lock().unwrap());
    assert!(!threads.is_empty(), "protect had the ring read");

    // A payload under a key this node has not read yet (another node writes it: building
    // that node and creating the key are the operator's calls, on their own thread).
    let other = Provider::builder()
        .application_name("hot")
        .repository(Handle(Arc::clone(&recording)))
        .clock(Arc::clone(&clock) as Arc<dyn keyward::Clock>)
        .build()
        .unwrap();
    let now = clock.now();
    let newest = other
        .create_key(now + Duration::minutes(1), now + Duration::days(90))
        .unwrap();
    clock.advance(Duration::minutes(2));
    let third = other.protector(["orders"]).protect(b"third").unwrap();
    assert_eq!(third[4..20], newest.to_guid_bytes());
    recording.threads.lock().unwrap().clear();
    assert_eq!(orders.unprotect(&third).unwrap(), b"third");

    let unprotect_threads = recording.threads.lock().unwrap().clone();
    assert!(!unprotect_threads.is_empty(), "unprotect had the ring read");
    threads.extend(unprotect_threads);
    assert!(
        threads.iter().all(|name| name == "keyward-refresh"),
        "repository calls on the caller's thread: {threads:?}"
    );
}
