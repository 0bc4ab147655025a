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

/// A list addressed by index, deleting whatever sits at a selected element's index (what a
/// Redis list deleted by `LSET index tombstone` + `LREM tombstone` would do).
#[derive(Debug, Default)]
struct IndexAddressedList {
    items: std::sync::Mutex<Vec<String>>,
    inner: MemoryRepository,
}

impl keyward::KeyRepository for IndexAddressedList {
    fn load_elements(&self) -> keyward::Result<Vec<keyward::StoredElement>> {
        Ok(self
            .items
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(index, xml)| {
                keyward::StoredElement::new(
                    format!("list[{index}]"),
                    keyward::store::ElementHandle::new(index.to_string()),
                    xml.clone(),
                )
            })
            .collect())
    }

    fn store_element(&self, element: &keyward::XmlElement, _: &str) -> keyward::Result<()> {
        self.items.lock().unwrap().push(element.to_compact());
        Ok(())
    }

    fn lock_for_generation(&self) -> keyward::Result<keyward::GenerationLock> {
        self.inner.lock_for_generation()
    }

    fn location(&self) -> String {
        "list".into()
    }

    fn delete_elements(&self, elements: &[keyward::StoredElement]) -> keyward::Result<()> {
        let mut items = self.items.lock().unwrap();
        let mut indexes: Vec<usize> = elements
            .iter()
            .filter_map(|e| e.handle.as_str().parse().ok())
            .filter(|index| *index < items.len())
            .collect();
        indexes.sort_unstable();
        for index in indexes.into_iter().rev() {
            items.remove(index);
        }
        Ok(())
    }
}

#[test]
fn the_suite_catches_deletion_by_stale_index() {
    let caught = std::panic::catch_unwind(|| {
        keyward_conformance::stale_delete_after_the_store_shifted(&IndexAddressedList::default());
    });
    assert!(
        caught.is_err(),
        "deleting by a stale index must fail the conformance check"
    );
}
