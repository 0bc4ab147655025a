//! The conformance suite on the embedded repositories.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::{FileSystemRepository, MemoryRepository};
use keyward_conformance::Capabilities;

/// Every check on a fresh memory repository.
mod memory_repository {
    use super::*;

    keyward_conformance::repository_tests!(
        || Some(MemoryRepository::new()),
        Capabilities {
            ordered: true,
            deletes: true,
        }
    );
}

/// Every check on a fresh directory (removed when the test ends).
mod file_system_repository {
    use super::*;

    keyward_conformance::repository_tests!(
        {
            let root = tempfile::tempdir().unwrap();
            move || Some(FileSystemRepository::open(root.path().join("keys")).unwrap())
        },
        Capabilities {
            ordered: false,
            deletes: true,
        }
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
    fn load_elements(&self) -> keyward::Result<Vec<keyward::store::StoredElement>> {
        Ok(self
            .items
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(index, xml)| {
                keyward::store::StoredElement::new(
                    format!("list[{index}]"),
                    keyward::store::ElementHandle::new(index.to_string()),
                    xml.clone(),
                )
            })
            .collect())
    }

    fn store_element(&self, element: &keyward::store::XmlElement, _: &str) -> keyward::Result<()> {
        self.items.lock().unwrap().push(element.to_compact());
        Ok(())
    }

    fn lock_for_generation(&self) -> keyward::Result<keyward::store::GenerationLock> {
        self.inner.lock_for_generation()
    }

    fn location(&self) -> String {
        "list".into()
    }

    fn delete_elements(&self, elements: &[keyward::store::StoredElement]) -> keyward::Result<()> {
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
