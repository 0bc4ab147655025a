//! [`MemoryRepository`]: keys that live as long as the process.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use super::{ElementHandle, GenerationLock, KeyRepository, StoredElement};
use crate::element_tree::XmlElement;
use crate::error::Result;

/// An in-memory repository: for tests and ephemeral providers. Payloads protected with its
/// keys cannot be unprotected after the process ends.
#[derive(Default)]
pub struct MemoryRepository {
    /// `(location, xml)` in insertion order; locations are unique and stable.
    elements: Mutex<Vec<(String, String)>>,
    next: std::sync::atomic::AtomicU64,
    lock: Arc<(Mutex<bool>, Condvar)>,
}

impl MemoryRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for MemoryRepository {
    // The elements hold master keys: show how many there are, never their text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.elements.lock().map_or(0, |e| e.len());
        f.debug_struct("MemoryRepository")
            .field("elements", &count)
            .finish()
    }
}

struct MemoryLockGuard(Arc<(Mutex<bool>, Condvar)>);

impl Drop for MemoryLockGuard {
    fn drop(&mut self) {
        let (held, released) = &*self.0;
        *held.lock().unwrap_or_else(PoisonError::into_inner) = false;
        released.notify_one();
    }
}

impl KeyRepository for MemoryRepository {
    fn load_elements(&self) -> Result<Vec<StoredElement>> {
        let elements = self.elements.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(elements
            .iter()
            .map(|(location, xml)| {
                StoredElement::new(location.clone(), ElementHandle::new(location), xml.clone())
            })
            .collect())
    }

    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        let sequence = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.elements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((
                format!("memory:{sequence}:{friendly_name}"),
                element.to_compact(),
            ));
        Ok(())
    }

    fn lock_for_generation(&self) -> Result<GenerationLock> {
        let (held, released) = &*self.lock;
        let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
        while *held {
            held = released.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        *held = true;
        Ok(GenerationLock::new(MemoryLockGuard(Arc::clone(&self.lock))))
    }

    fn location(&self) -> String {
        "memory (keys die with the process)".into()
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let mut elements = self.elements.lock().unwrap_or_else(PoisonError::into_inner);
        match elements
            .iter_mut()
            .find(|(location, xml)| location == old.handle.as_str() && *xml == old.xml)
        {
            Some(entry) => {
                entry.1 = new.to_compact();
                Ok(())
            }
            None => Err(crate::error::Error::repository(
                self.location(),
                format!("{} changed or vanished; nothing replaced", old.location),
            )),
        }
    }

    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        self.elements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(location, xml)| {
                !elements
                    .iter()
                    .any(|e| e.handle.as_str() == location && e.xml == *xml)
            });
        Ok(())
    }
}
