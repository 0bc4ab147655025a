//! keyward's Azure Blob Storage key repository: the whole ring in one block blob, the
//! `<repository>` document ASP.NET Core's `PersistKeysToAzureBlobStorage` reads and writes, so
//! .NET and keyward nodes share one blob.
//!
//! - Reads are conditional on the last ETag (`If-None-Match`: a 304 keeps the copy in memory);
//!   a missing blob is an empty ring, unless this node has seen the blob before (then it is an
//!   error: a vanished ring never reads as "empty, create a key").
//! - A write reads, appends, and uploads with `If-Match` (or `If-None-Match: *` when there is
//!   no blob yet), retrying on 409/412 as .NET does (the first two tries at once, then after
//!   a randomised ~200 ms pause; keyward's pauses double, up to [`WRITE_ATTEMPTS`] tries).
//! - A key the provider decided to create from the ring it read under
//!   [`KeyRepository::lock_for_generation`] (a lock within this process) is written by
//!   [`KeyRepository::store_new_key`], conditional on that read and not retried: a node that
//!   lost the race gets [`keyward::Error::RingChanged`], and the provider reads again and uses
//!   the other node's key. So nodes starting together on an empty container write one key.
//!   Every other write (an operator's new key, a revocation, a deletion) is retried as above,
//!   under the lock or not: it is right whatever other writers did meanwhile.
//! - The blob is at most [`MAX_BLOB_BYTES`] long; a longer one is refused before parsing.
//!
//! ```no_run
//! use keyward_azure::{AzureBlobRepository, BlobLocation};
//! let location = BlobLocation::from_connection_string("UseDevelopmentStorage=true", "keys", "ring.xml")?;
//! let provider = keyward::Provider::builder()
//!     .application_name("shop")
//!     .repository(AzureBlobRepository::new(location)?)
//!     .build()?;
//! # Ok::<(), keyward::Error>(())
//! ```

mod client;
mod document;
mod error;
mod location;
mod signing;

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use keyward::store::{
    ChangeCallback, ElementHandle, GenerationLock, KeyRepository, Notification, StoredElement,
    XmlElement,
};
use zeroize::Zeroizing;

use client::{BlobClient, Condition, Read, Write};
pub use location::BlobLocation;

/// The largest blob read (the XML parser's own document limit).
pub const MAX_BLOB_BYTES: u64 = keyward::store::MAX_DOCUMENT_BYTES as u64;

/// How often a watching provider polls the blob unless told otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// How many times a write is tried when other writers keep changing the blob. .NET tries 5
/// times with a fixed ~200 ms pause; keyward's pauses grow, so eight writers at once all
/// get through.
pub const WRITE_ATTEMPTS: u32 = 7;

/// What this node last read.
#[derive(Default)]
struct Cache {
    etag: Option<String>,
    elements: Vec<Zeroizing<String>>,
    /// The blob existed at some read: its disappearance is an error, not an empty ring.
    seen: bool,
}

/// The generation lock of this process (nodes of a farm are kept apart by the conditional
/// write, not by a lock).
#[derive(Default)]
struct ProcessLock {
    held: Mutex<bool>,
    released: Condvar,
}

/// The read a key decision rests on: made under the generation lock, by its holder.
#[derive(Default)]
struct LockedRead {
    /// The thread holding the generation lock.
    holder: Option<std::thread::ThreadId>,
    /// What that thread last read (or wrote) under the lock: the ETag and the elements.
    read: Option<(Option<String>, Vec<Zeroizing<String>>)>,
}

impl LockedRead {
    fn held_here(&self) -> bool {
        self.holder == Some(std::thread::current().id())
    }
}

/// The ring in one Azure blob.
pub struct AzureBlobRepository {
    client: Arc<BlobClient>,
    /// How often a watching provider asks whether the blob changed (a conditional read: a
    /// 304 costs little).
    poll_interval: Duration,
    cache: Mutex<Cache>,
    lock: Arc<ProcessLock>,
    /// The read made under the generation lock, which [`KeyRepository::store_new_key`] writes
    /// on.
    locked_read: Arc<Mutex<LockedRead>>,
}

impl std::fmt::Debug for AzureBlobRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.client.location.display())
    }
}

impl AzureBlobRepository {
    /// The repository of the blob at `location` (nothing is read until the ring is).
    ///
    /// # Errors
    /// When the HTTP client cannot be set up.
    pub fn new(location: BlobLocation) -> keyward::Result<Self> {
        Ok(Self {
            client: Arc::new(BlobClient::new(location, MAX_BLOB_BYTES)?),
            poll_interval: DEFAULT_POLL_INTERVAL,
            cache: Mutex::new(Cache::default()),
            lock: Arc::new(ProcessLock::default()),
            locked_read: Arc::new(Mutex::new(LockedRead::default())),
        })
    }

    /// How often a provider watching this store polls it (default 30 s): a revocation made
    /// by any node reaches this one within that time.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(100));
        self
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn locked_read(&self) -> std::sync::MutexGuard<'_, LockedRead> {
        self.locked_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the blob (conditionally) and returns its ETag and elements; a read by the
    /// holder of the generation lock is kept as the one its key decisions rest on.
    fn read(&self) -> keyward::Result<(Option<String>, Vec<Zeroizing<String>>)> {
        let read = self.read_blob()?;
        let mut locked = self.locked_read();
        if locked.held_here() {
            locked.read = Some(read.clone());
        }
        Ok(read)
    }

    fn read_blob(&self) -> keyward::Result<(Option<String>, Vec<Zeroizing<String>>)> {
        let etag = self.cache().etag.clone();
        match self.client.get(etag.as_deref())? {
            Read::NotModified => {
                let cache = self.cache();
                Ok((cache.etag.clone(), cache.elements.clone()))
            }
            Read::NotFound => {
                let mut cache = self.cache();
                if cache.seen {
                    return Err(error::failed(
                        &self.location(),
                        "the blob vanished since it was read: not taken for an empty ring (restore it, or delete the keys on purpose)",
                    ));
                }
                cache.etag = None;
                cache.elements.clear();
                Ok((None, Vec::new()))
            }
            Read::Found { etag, body, .. } => {
                let body = Zeroizing::new(body);
                let elements = document::elements(&body, &self.location())?;
                let mut cache = self.cache();
                cache.etag = Some(etag.clone());
                cache.elements = elements.clone();
                cache.seen = true;
                Ok((Some(etag), elements))
            }
        }
    }

    /// Writes `elements` as the blob, conditional on `etag` (absent: no blob yet). `Ok(false)`
    /// when another writer was first.
    fn write(&self, etag: Option<&str>, elements: &[Zeroizing<String>]) -> keyward::Result<bool> {
        let body = document::document(elements)?;
        let condition = || match etag {
            Some(etag) => Condition::IfMatch(etag),
            None => Condition::IfAbsent,
        };
        let mut answer = self.client.put(body.as_bytes(), condition())?;
        if matches!(answer, Write::NoContainer) {
            self.client.create_container()?;
            answer = self.client.put(body.as_bytes(), condition())?;
        }
        match answer {
            Write::Stored(new_etag) => {
                let mut cache = self.cache();
                cache.etag = Some(new_etag).filter(|e| !e.is_empty());
                cache.elements = elements.to_vec();
                cache.seen = true;
                Ok(true)
            }
            Write::Changed => Ok(false),
            Write::NoContainer => Err(error::failed(
                &self.location(),
                "the container does not exist and could not be created",
            )),
        }
    }

    /// Applies `change` to the current elements and writes the result, as .NET does: the
    /// first two tries at once, then a randomised back-off (~200 ms, doubling with each try,
    /// up to [`WRITE_ATTEMPTS`] tries in all) on 409/412.
    fn update(
        &self,
        change: impl Fn(&mut Vec<Zeroizing<String>>) -> keyward::Result<()>,
    ) -> keyward::Result<()> {
        for attempt in 1..=WRITE_ATTEMPTS {
            std::thread::sleep(keyward::store::retry_pause(attempt - 1));
            let (etag, mut elements) = self.read()?;
            change(&mut elements)?;
            if self.write(etag.as_deref(), &elements)? {
                return Ok(());
            }
        }
        Err(error::failed(
            &self.location(),
            format!(
                "other writers kept changing the blob: not written after {WRITE_ATTEMPTS} tries"
            ),
        ))
    }
}

/// What `doctor` reports of a blob: read once, unconditionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFacts {
    /// Whether the blob exists (an absent blob is an empty ring).
    pub exists: bool,
    /// Its length in bytes.
    pub bytes: usize,
    /// Its ETag.
    pub etag: Option<String>,
    /// Its content type (.NET writes `application/xml; charset=utf-8`).
    pub content_type: Option<String>,
    /// How many `<key>`/`<revocation>` elements its `<repository>` holds.
    pub elements: usize,
}

impl AzureBlobRepository {
    /// Reads the blob once and reports what `doctor` shows: size, ETag, content type and
    /// element count.
    ///
    /// # Errors
    /// When the blob cannot be read or is not a `<repository>` document.
    pub fn inspect(&self) -> keyward::Result<BlobFacts> {
        match self.client.get(None)? {
            Read::Found {
                etag,
                body,
                content_type,
            } => {
                let body = Zeroizing::new(body);
                Ok(BlobFacts {
                    exists: true,
                    bytes: body.len(),
                    etag: Some(etag),
                    content_type: Some(content_type).filter(|c| !c.is_empty()),
                    elements: document::elements(&body, &self.location())?.len(),
                })
            }
            _ => Ok(BlobFacts {
                exists: false,
                bytes: 0,
                etag: None,
                content_type: None,
                elements: 0,
            }),
        }
    }
}

/// For tests of this crate and its users: not part of the stable API.
#[doc(hidden)]
pub mod testing {
    use super::{client::Condition, AzureBlobRepository};

    /// The blob's bytes and content type, as any reader (such as .NET) gets them; `None`
    /// when there is no blob.
    ///
    /// # Errors
    /// When the read fails.
    pub fn download(
        repository: &AzureBlobRepository,
    ) -> keyward::Result<Option<(Vec<u8>, String)>> {
        Ok(match repository.client.get(None)? {
            super::client::Read::Found {
                body, content_type, ..
            } => Some((body, content_type)),
            _ => None,
        })
    }

    /// Uploads `bytes` as the blob, whatever is there (what another writer, such as .NET,
    /// might have saved).
    ///
    /// # Errors
    /// When the upload fails.
    pub fn upload(repository: &AzureBlobRepository, bytes: &[u8]) -> keyward::Result<()> {
        let etag = match repository.client.get(None)? {
            super::client::Read::Found { etag, .. } => Some(etag),
            _ => None,
        };
        let condition = match etag.as_deref() {
            Some(etag) => Condition::IfMatch(etag),
            None => Condition::IfAbsent,
        };
        match repository.client.put(bytes, condition)? {
            super::client::Write::Stored(_) => Ok(()),
            super::client::Write::NoContainer => {
                repository.client.create_container()?;
                upload(repository, bytes)
            }
            super::client::Write::Changed => upload(repository, bytes),
        }
    }
}

/// Releases the process's generation lock.
struct Held {
    lock: Arc<ProcessLock>,
    locked_read: Arc<Mutex<LockedRead>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        *self
            .locked_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = LockedRead::default();
        *self
            .lock
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
        self.lock.released.notify_one();
    }
}

impl KeyRepository for AzureBlobRepository {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        let (_, elements) = self.read()?;
        let location = self.location();
        Ok(elements
            .iter()
            .enumerate()
            .map(|(index, xml)| {
                StoredElement::new(
                    format!("{location}[{index}]"),
                    ElementHandle::new(index.to_string()),
                    xml.to_string(),
                )
            })
            .collect())
    }

    fn store_element(&self, element: &XmlElement, _friendly_name: &str) -> keyward::Result<()> {
        let text = Zeroizing::new(element.to_compact());
        self.update(|elements| {
            elements.push(text.clone());
            Ok(())
        })
    }

    /// One conditional write on the read made under the generation lock, not retried:
    /// [`keyward::Error::RingChanged`] when another writer was first. Without that read (not
    /// the lock's holder, or nothing read under it) the key is stored as any element is.
    fn store_new_key(&self, element: &XmlElement, friendly_name: &str) -> keyward::Result<()> {
        let decided_on = {
            let locked = self.locked_read();
            locked.read.clone().filter(|_| locked.held_here())
        };
        let Some((etag, mut elements)) = decided_on else {
            return self.store_element(element, friendly_name);
        };
        elements.push(Zeroizing::new(element.to_compact()));
        if !self.write(etag.as_deref(), &elements)? {
            return Err(keyward::Error::RingChanged {
                store: self.location(),
            });
        }
        let written = self.cache().etag.clone();
        self.locked_read().read = Some((written, elements));
        Ok(())
    }

    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        let mut held = self
            .lock
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *held {
            held = self
                .lock
                .released
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *held = true;
        *self.locked_read() = LockedRead {
            holder: Some(std::thread::current().id()),
            read: None,
        };
        Ok(GenerationLock::new(Held {
            lock: Arc::clone(&self.lock),
            locked_read: Arc::clone(&self.locked_read),
        }))
    }

    fn location(&self) -> String {
        self.client.location.display()
    }

    /// Polls the blob every poll interval with a conditional read and reports a change when
    /// its ETag moves (a 304 says nothing changed).
    fn watch(&self, on_change: ChangeCallback) -> keyward::Result<bool> {
        let client = Arc::clone(&self.client);
        let interval = self.poll_interval;
        let mut etag = self.cache().etag.clone();
        std::thread::Builder::new()
            .name("keyward-azure-poll".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    std::thread::sleep(interval);
                    if !on_change(Notification::StillListening) {
                        return;
                    }
                    match client.get(etag.as_deref()) {
                        Ok(Read::NotModified) => failing = false,
                        Ok(Read::Found { etag: new, .. }) => {
                            failing = false;
                            etag = Some(new);
                            if !on_change(Notification::Changed) {
                                return;
                            }
                        }
                        Ok(Read::NotFound) => {
                            failing = false;
                            if etag.take().is_some() && !on_change(Notification::Changed) {
                                return;
                            }
                        }
                        Err(error) => {
                            if !failing {
                                tracing::warn!(%error, "polling the key ring blob failed; retrying");
                            }
                            failing = true;
                        }
                    }
                }
            })
            .map(|_| true)
            .map_err(|e| error::failed(&self.location(), format!("could not start the poller: {e}")))
    }

    fn replace_element(&self, old: &StoredElement, new: &XmlElement) -> keyward::Result<()> {
        let text = Zeroizing::new(new.to_compact());
        let index: usize = old
            .handle
            .as_str()
            .parse()
            .map_err(|_| error::failed(&self.location(), "not an element of this blob"))?;
        self.update(|elements| match elements.get_mut(index) {
            Some(current) if current.as_str() == old.xml => {
                *current = text.clone();
                Ok(())
            }
            _ => Err(error::failed(
                &self.location(),
                "the element changed or moved since it was read: not replaced",
            )),
        })
    }

    fn delete_elements(&self, doomed: &[StoredElement]) -> keyward::Result<()> {
        // By what each element holds, not where it sat: another writer may have shifted the
        // blob's elements since they were read. An element already gone removes nothing.
        self.update(|elements| {
            for element in doomed {
                if let Some(index) = elements.iter().position(|e| e.as_str() == element.xml) {
                    elements.remove(index);
                }
            }
            Ok(())
        })
    }
}
