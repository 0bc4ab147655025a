//! What a provider keeps per process, and how a forked child gets its own.
//!
//! After `fork`, the child has one thread: the parent's refresh thread and store watchers do
//! not exist there, and any lock one of the parent's threads held at the moment of the fork
//! stays locked for ever in the child. So a child never locks (nor joins, nor drops) what it
//! inherited of that kind: on its first call, the provider notices the new fork generation
//! (see `crypto::fork`) and swaps in fresh state, leaking the parent's on purpose.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::key_id::KeyId;
use crate::refresh::Refresher;

/// The part of a provider that belongs to one process: a forked child replaces it whole.
#[derive(Debug)]
pub(crate) struct ProcessLocal {
    /// The refresh thread of this process.
    pub(crate) refresher: Refresher,
    /// Serializes refreshes so an older read never replaces a newer one.
    pub(crate) refresh_lock: Mutex<()>,
    /// When an attempt to get a default key last failed (provider clock): protects the
    /// repository from one read per `protect` while no key can be had.
    pub(crate) last_failed_ensure: Mutex<Option<OffsetDateTime>>,
    /// Keys deleted on purpose: not kept from memory when they vanish from the store.
    pub(crate) deleted: Mutex<HashSet<KeyId>>,
}

impl ProcessLocal {
    /// Fresh state (no refresh thread yet), remembering `deleted`.
    pub(crate) fn new(deleted: HashSet<KeyId>) -> Self {
        Self {
            refresher: Refresher::new(),
            refresh_lock: Mutex::new(()),
            last_failed_ensure: Mutex::new(None),
            deleted: Mutex::new(deleted),
        }
    }
}

/// A copy of what `mutex` holds, if no (now vanished) thread holds it; else `T::default()`.
pub(crate) fn salvage<T: Clone + Default>(mutex: &Mutex<T>) -> T {
    match mutex.try_lock() {
        Ok(value) => value.clone(),
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().clone(),
        Err(TryLockError::WouldBlock) => T::default(),
    }
}

/// A mutex that a forked child replaces instead of locking: a thread of the parent may have
/// held it at the fork. Locked through [`Replaceable::with`].
pub(crate) struct Replaceable<T>(ArcSwap<Mutex<T>>);

impl<T: Default> Default for Replaceable<T> {
    fn default() -> Self {
        Self(ArcSwap::from_pointee(Mutex::default()))
    }
}

impl<T> Replaceable<T> {
    /// Runs `f` with the value locked.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mutex = self.0.load_full();
        let mut value = mutex.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut value)
    }
}

impl<T: Default> Replaceable<T> {
    /// In a forked child: a new mutex holding what the old one held (when no vanished thread
    /// holds it; else nothing). The old one is leaked: a guard of a thread that no longer
    /// exists may point into it.
    pub(crate) fn replace_after_fork(&self) {
        let old = self.0.load_full();
        let kept = match old.try_lock() {
            Ok(mut value) => std::mem::take(&mut *value),
            Err(TryLockError::Poisoned(poisoned)) => std::mem::take(&mut *poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => T::default(),
        };
        std::mem::forget(self.0.swap(Arc::new(Mutex::new(kept))));
        std::mem::forget(old);
    }
}
