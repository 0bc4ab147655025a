//! Stores whose writes are conditional (one blob written with `If-Match`, as ASP.NET Core's
//! Azure Blob repository does) have no lock of their own: a node that wrote after another's
//! write gets `Error::RingChanged`. The provider then reads the ring again instead of failing,
//! so nodes starting together on an empty store write one key, and a node whose write lost to
//! an unrelated one (a revocation) still writes the key the ring needs.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use keyward::store::{GenerationLock, KeyRepository, MemoryRepository, StoredElement, XmlElement};
use keyward::{Error, Provider};

/// The shared store: elements and a version that every write bumps (the blob's ETag).
#[derive(Debug, Default)]
struct Store {
    elements: MemoryRepository,
    version: AtomicU64,
}

/// One node's view of the store: writes succeed only if nothing was written since this node
/// last read.
#[derive(Debug)]
struct ConditionalRepository {
    store: Arc<Store>,
    seen: Mutex<Option<u64>>,
    /// Written by someone else just before this node's first write (then the write loses).
    interference: Mutex<Option<XmlElement>>,
}

impl ConditionalRepository {
    fn new(store: &Arc<Store>) -> Self {
        Self {
            store: Arc::clone(store),
            seen: Mutex::new(None),
            interference: Mutex::new(None),
        }
    }
}

impl ConditionalRepository {
    /// Makes the other writer's write, once.
    fn interfere(&self) -> keyward::Result<()> {
        if let Some(other) = self.interference.lock().unwrap().take() {
            self.store.elements.store_element(&other, "someone-else")?;
            self.store.version.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

impl KeyRepository for ConditionalRepository {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        // The version is read before the elements: a write in between makes the next
        // conditional write fail, never succeed on a stale read.
        let version = self.store.version.load(Ordering::SeqCst);
        let elements = self.store.elements.load_elements()?;
        *self.seen.lock().unwrap() = Some(version);
        Ok(elements)
    }

    /// Any other write is made whatever happened meanwhile (the blob store re-reads and
    /// retries).
    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> keyward::Result<()> {
        self.interfere()?;
        self.store.elements.store_element(element, friendly_name)?;
        self.store.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// A key decided on from the last read is written only if nothing changed since.
    fn store_new_key(&self, element: &XmlElement, friendly_name: &str) -> keyward::Result<()> {
        self.interfere()?;
        let seen = self.seen.lock().unwrap().unwrap_or(u64::MAX);
        // The conditional write: compare-and-bump the version, then store.
        if self
            .store
            .version
            .compare_exchange(seen, seen + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::RingChanged {
                store: self.location(),
            });
        }
        self.store.elements.store_element(element, friendly_name)
    }

    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        // No lock: the conditional write is the only guard, as for a blob.
        Ok(GenerationLock::new(()))
    }

    fn location(&self) -> String {
        "conditional test store".into()
    }
}

fn key_count(store: &Store) -> usize {
    store
        .elements
        .load_elements()
        .unwrap()
        .iter()
        .filter(|e| e.xml.contains("<key ") && !e.xml.contains("<revocation"))
        .count()
}

#[test]
fn nodes_starting_together_on_an_empty_store_write_one_key() {
    const NODES: usize = 8;
    for _round in 0..20 {
        let store = Arc::new(Store::default());
        let barrier = Arc::new(Barrier::new(NODES));
        let providers: Vec<Provider> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..NODES)
                .map(|_| {
                    let store = Arc::clone(&store);
                    let barrier = Arc::clone(&barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        let provider = Provider::builder()
                            .application_name("farm")
                            .repository(ConditionalRepository::new(&store))
                            .build()
                            .unwrap();
                        provider.ensure_default_key().unwrap();
                        provider
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(key_count(&store), 1, "one key for {NODES} nodes");
        // Every node protects with that key, and reads every other node's payloads.
        let payloads: Vec<Vec<u8>> = providers
            .iter()
            .map(|p| p.protector(["x"]).protect(b"farm").unwrap())
            .collect();
        for provider in &providers {
            for payload in &payloads {
                assert_eq!(
                    provider.protector(["x"]).unprotect(payload).unwrap(),
                    b"farm"
                );
            }
        }
    }
}

#[test]
fn a_write_that_lost_to_an_unrelated_one_is_made_again() {
    let store = Arc::new(Store::default());
    let repository = ConditionalRepository::new(&store);
    // A revocation of some other key lands between this node's read and its write.
    let revocation = XmlElement::new("revocation")
        .attr("version", "1")
        .child(XmlElement::new("revocationDate").text("2020-01-01T00:00:00Z"))
        .child(XmlElement::new("key").attr("id", "11111111-2222-3333-4444-555555555555"))
        .child(XmlElement::new("reason").text("unrelated"));
    *repository.interference.lock().unwrap() = Some(revocation);
    let provider = Provider::builder()
        .application_name("farm")
        .repository(repository)
        .build()
        .unwrap();
    provider.ensure_default_key().unwrap();
    assert_eq!(key_count(&store), 1);
    let all = store.elements.load_elements().unwrap();
    assert!(all.iter().any(|e| e.xml.contains("<revocation")));
    let payload = provider.protector(["x"]).protect(b"y").unwrap();
    assert_eq!(provider.protector(["x"]).unprotect(&payload).unwrap(), b"y");
}

/// `keys ensure` on a node whose planned key lost to another node's key: it plans again from
/// a fresh read, finds the other node's key enough, and writes none of its own.
#[test]
fn ensure_plans_again_when_another_node_wrote_the_key_first() {
    let other_store = Arc::new(MemoryRepository::new());
    let other_node = Provider::builder()
        .application_name("farm")
        .repository(Arc::clone(&other_store))
        .build()
        .unwrap();
    let other_key = other_node.ensure_default_key().unwrap();
    let other_xml = other_store
        .load_elements()
        .unwrap()
        .into_iter()
        .find(|e| e.xml.contains("<key "))
        .unwrap()
        .xml
        .clone();
    let store = Arc::new(Store::default());
    let repository = ConditionalRepository::new(&store);
    *repository.interference.lock().unwrap() =
        Some(keyward::store::parse_element(&other_xml).unwrap());
    let node = Provider::builder()
        .application_name("farm")
        .repository(repository)
        .automatic_key_generation(false)
        .build()
        .unwrap();
    let ensured = node.ensure_keys(false).unwrap();
    assert_eq!(
        key_count(&store),
        1,
        "the other node's key, and no second one"
    );
    assert!(ensured.created.is_empty(), "{ensured:?}");
    assert_eq!(node.default_key_at(node.now()), Some(other_key));
}
