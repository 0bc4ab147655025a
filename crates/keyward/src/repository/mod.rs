//! Key repositories: where key and revocation XML documents are kept.
//!
//! A repository stores opaque XML elements, one per key or revocation, exactly as .NET's
//! `IXmlRepository` does, so .NET and keyward can share one. Repositories are synchronous:
//! keyward never runs repository I/O on a caller's async runtime, and `protect`/`unprotect`
//! never touch a repository at all.

mod process_owner;
pub use process_owner::ProcessOwner;
mod file;
mod memory;

use std::fmt;
use std::sync::Arc;

pub use file::{FileSystemRepository, ReadOnlyFileSystemRepository};
pub use memory::MemoryRepository;

use crate::element_tree::XmlElement;
use crate::error::Result;

/// One stored document: where it came from (for people), how its store finds it again (for
/// the store), and its text.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredElement {
    /// Where the document lives, for messages: a file path, `list[index]`, `table row id`.
    /// Never parsed back: stores find the element again by [`StoredElement::handle`].
    pub location: String,
    /// How the store that loaded the element finds it again (opaque to everyone else).
    pub handle: ElementHandle,
    /// The XML text (a document, or a single element with no declaration); empty when the
    /// store could not read the element (see [`StoredElement::unreadable`]).
    pub xml: String,
    /// Why the store did not read the element's text (larger than
    /// [`MAX_DOCUMENT_BYTES`](crate::store::MAX_DOCUMENT_BYTES), not UTF-8, …): the ring
    /// lists it as an unreadable key, and the rest of the ring keeps working.
    pub unreadable: Option<String>,
}

/// How a store finds one of its elements again: a file path, a list index, a row id. Opaque
/// outside the store that made it (only that store reads it back).
///
/// ```
/// use keyward::store::ElementHandle;
/// let handle = ElementHandle::new("42");
/// assert_eq!(handle.as_str(), "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ElementHandle(String);

impl ElementHandle {
    /// A handle made by a store.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The handle's value, for the store that made it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Documents can hold master keys: their text is wiped when dropped.
impl Drop for StoredElement {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.xml);
    }
}

impl StoredElement {
    /// An element as a store loaded it.
    pub fn new(location: impl Into<String>, handle: ElementHandle, xml: String) -> Self {
        Self {
            location: location.into(),
            handle,
            xml,
            unreadable: None,
        }
    }

    /// An element a store found but did not read, and why (the reason must not quote the
    /// element's text: it may hold a master key).
    ///
    /// ```
    /// use keyward::store::{ElementHandle, StoredElement};
    /// let element = StoredElement::unreadable("list[3]", ElementHandle::new("3"), "larger than the limit");
    /// assert_eq!(element.unreadable.as_deref(), Some("larger than the limit"));
    /// ```
    pub fn unreadable(
        location: impl Into<String>,
        handle: ElementHandle,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            location: location.into(),
            handle,
            xml: String::new(),
            unreadable: Some(reason.into()),
        }
    }
}

impl fmt::Debug for StoredElement {
    // Documents can hold master keys: never print their text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredElement")
            .field("location", &self.location)
            .field("bytes", &self.xml.len())
            .field("unreadable", &self.unreadable)
            .finish()
    }
}

/// A guard that holds a repository's exclusive key-generation lock until it is dropped.
pub struct GenerationLock {
    _guard: Box<dyn Send>,
}

impl GenerationLock {
    /// Wraps whatever releases the lock when dropped.
    pub fn new(guard: impl Send + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for GenerationLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GenerationLock")
    }
}

/// What a watching repository reports to its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// Another writer changed the store: refresh.
    Changed,
    /// Nothing happened; asked now and then so the watcher learns when to stop.
    StillListening,
}

/// Called by a watching repository; returns whether anybody still listens (stop when not).
pub type ChangeCallback = std::sync::Arc<dyn Fn(Notification) -> bool + Send + Sync>;

/// Runs a store's change listener on a thread of its own, reconnecting with backoff.
///
/// `listen` subscribes, reports every event to the callback it is given, and returns
/// `Ok(false)` once the callback says nobody listens any more (`Ok(true)` to subscribe again,
/// `Err` when the subscription broke). Used by the Redis and PostgreSQL repositories.
///
/// # Errors
/// [`crate::error::Error::Repository`] when the thread cannot be started.
pub fn spawn_watcher<E: std::fmt::Display>(
    thread_name: &str,
    store: String,
    on_change: ChangeCallback,
    mut listen: impl FnMut(&ChangeCallback) -> std::result::Result<bool, E> + Send + 'static,
) -> Result<()> {
    let location = store.clone();
    std::thread::Builder::new()
        .name(thread_name.to_owned())
        .spawn(move || {
            let mut failures = 0u32;
            loop {
                match listen(&on_change) {
                    Ok(false) => return,
                    Ok(true) => failures = 0,
                    Err(error) => {
                        if !on_change(Notification::StillListening) {
                            return;
                        }
                        failures = failures.saturating_add(1);
                        if failures == 1 {
                            tracing::warn!(%error, %store, "lost the key ring change subscription; retrying");
                        }
                        std::thread::sleep(std::time::Duration::from_millis(
                            250 * u64::from(failures.min(20)),
                        ));
                    }
                }
            }
        })
        .map(drop)
        .map_err(|e| crate::error::Error::Repository {
            store: location,
            reason: format!("could not start the change listener: {e}"),
            source: None,
        })
}

/// How long to wait before trying again after `retries` writes lost to other writers (a
/// store with conditional writes): nothing after the first (the other writer's write is
/// usually all there was), then a random pause of about 200 ms that doubles with each retry
/// (at most 3 s), so writers that keep colliding spread out. The provider uses it before
/// planning a key again; a store may use it before retrying a write.
///
/// ```
/// use keyward::store::retry_pause;
/// assert!(retry_pause(1).is_zero());
/// let pause = retry_pause(2);
/// assert!(pause.as_millis() >= 100 && pause.as_millis() < 300);
/// ```
pub fn retry_pause(retries: u32) -> std::time::Duration {
    if retries < 2 {
        return std::time::Duration::ZERO;
    }
    let base: u64 = 200 << (retries - 2).min(4);
    let pause = rand::Rng::gen_range(&mut rand::thread_rng(), base / 2..base + base / 2);
    std::time::Duration::from_millis(pause.min(3000))
}

/// Where a key ring is kept.
pub trait KeyRepository: Send + Sync + fmt::Debug {
    /// Reads every stored element. A failure is an error, never an empty ring.
    ///
    /// # Errors
    /// When the store cannot be read; the error names the store.
    fn load_elements(&self) -> Result<Vec<StoredElement>>;

    /// Stores one element. `friendly_name` is `key-{id}` or `revocation-…`; a store may use it
    /// as a file name or label, or ignore it. The element is stored whatever other writers
    /// did meanwhile (a store with conditional writes re-reads and retries).
    ///
    /// # Errors
    /// When the store cannot be written; nothing partial is left behind.
    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()>;

    /// Stores a key the provider decided to create from the ring it read under
    /// [`KeyRepository::lock_for_generation`] (on the same thread).
    ///
    /// A store without a lock of its own, whose writes are conditional on what it last read
    /// (one blob written with `If-Match`), writes the key only if the ring is unchanged since
    /// that read, and otherwise answers [`Error::RingChanged`](crate::Error::RingChanged):
    /// the provider then reads the ring again and creates a key only if one is still needed,
    /// so nodes starting together write one key. The default stores the key as
    /// [`KeyRepository::store_element`] does: a store whose lock keeps other writers out
    /// needs nothing more.
    ///
    /// # Errors
    /// As [`KeyRepository::store_element`], and `RingChanged` as above.
    fn store_new_key(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
        self.store_element(element, friendly_name)
    }

    /// Takes the exclusive lock under which a node decides whether to create a key, so only
    /// one node of a farm creates each key. Blocks until the lock is held.
    ///
    /// # Errors
    /// When the lock cannot be taken.
    fn lock_for_generation(&self) -> Result<GenerationLock>;

    /// Where the ring lives, for messages (`directory /srv/keys`).
    fn location(&self) -> String;

    /// Calls `on_change` (on a thread of the repository's) with [`Notification::Changed`]
    /// whenever a writer changes the store, and with [`Notification::StillListening`] every
    /// second or so, until it returns `false`. Stores without notifications return
    /// `Ok(false)` (the default): periodic refresh covers them.
    ///
    /// # Errors
    /// When the subscription cannot be started.
    fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
        let _ = on_change;
        Ok(false)
    }

    /// Replaces the stored element `old` (by its location, and only if its text is still
    /// `old.xml`) with `new`, atomically: a reader sees the old element or the new one.
    ///
    /// # Errors
    /// When the element changed or vanished meanwhile, the store fails, or the repository
    /// cannot replace (the default).
    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
        let _ = (old, new);
        Err(crate::error::Error::Unsupported(
            crate::error::Unsupported {
                location: self.location(),
                kind: crate::error::UnsupportedKind::ReplaceElements,
            },
        ))
    }

    /// Deletes these elements, as [`KeyRepository::load_elements`] returned them. A store
    /// deletes an element only while it still holds the same text at that location (or,
    /// for stores without stable locations, the same text): never whatever else sits there
    /// now. Only explicit deletions call this; keyward never deletes implicitly.
    ///
    /// # Errors
    /// When the store cannot delete, or does not support deletion (the default).
    fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
        let _ = elements;
        Err(crate::error::Error::Unsupported(
            crate::error::Unsupported {
                location: self.location(),
                kind: crate::error::UnsupportedKind::DeleteKeys,
            },
        ))
    }

    /// The store's own clock (Redis `TIME`, PostgreSQL `now()`), for checking clock skew
    /// between this node and the store. `None` (the default) for stores without one.
    ///
    /// # Errors
    /// When the store cannot be asked.
    fn server_time(&self) -> Option<Result<time::OffsetDateTime>> {
        None
    }

    /// Called in a forked child (by the provider, on its first call there) before the child
    /// uses the repository: a store holding connections lets go of the ones it inherited
    /// without closing the parent's sessions on them (no `QUIT`, no `Terminate`: leak what
    /// would send one) and connects again when next used; a store that watches for changes
    /// needs nothing here (the provider calls [`KeyRepository::watch`] again: the parent's
    /// watcher thread does not exist in the child). It must not block, and must not lock
    /// anything a thread of the parent may have held at the fork: replace such state instead.
    /// The default does nothing (files, memory).
    fn after_fork(&self) {}
}

/// Implements [`KeyRepository`] for a pointer type by forwarding every method.
macro_rules! forward_repository {
    ($(#[$doc:meta])* $pointer:ident) => {
        $(#[$doc])*
        impl<R: KeyRepository + ?Sized> KeyRepository for $pointer<R> {
            fn load_elements(&self) -> Result<Vec<StoredElement>> {
                (**self).load_elements()
            }
            fn store_element(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
                (**self).store_element(element, friendly_name)
            }
            fn store_new_key(&self, element: &XmlElement, friendly_name: &str) -> Result<()> {
                (**self).store_new_key(element, friendly_name)
            }
            fn lock_for_generation(&self) -> Result<GenerationLock> {
                (**self).lock_for_generation()
            }
            fn location(&self) -> String {
                (**self).location()
            }
            fn watch(&self, on_change: ChangeCallback) -> Result<bool> {
                (**self).watch(on_change)
            }
            fn delete_elements(&self, elements: &[StoredElement]) -> Result<()> {
                (**self).delete_elements(elements)
            }
            fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> Result<()> {
                (**self).replace_element(old, new)
            }
            fn server_time(&self) -> Option<Result<time::OffsetDateTime>> {
                (**self).server_time()
            }
            fn after_fork(&self) {
                (**self).after_fork()
            }
        }
    };
}

forward_repository!(
    /// A boxed repository is a repository (so a choice made at run time can be passed to the
    /// builder).
    Box
);
forward_repository!(
    /// A shared repository is a repository (several providers over one in-memory store, as
    /// nodes of a farm share one store).
    Arc
);
