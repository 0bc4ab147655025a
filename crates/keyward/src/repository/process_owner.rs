//! [`ProcessOwner`]: which process a store's connections belong to, so that a forked child
//! lets go of the ones it inherited exactly once.

use std::sync::atomic::{AtomicU32, Ordering};

/// The process that owns a store's connections (its `std::process::id`). After a `fork`,
/// the first caller in the child takes over and must drop or leak what it inherited: a
/// socket shared with the parent must never carry the child's requests.
///
/// ```
/// let owner = keyward::store::ProcessOwner::new();
/// assert!(owner.is_current());
/// assert!(!owner.take_over(), "nothing to take over in the process that made it");
/// ```
#[derive(Debug)]
pub struct ProcessOwner(AtomicU32);

impl ProcessOwner {
    /// Owned by this process.
    pub fn new() -> Self {
        Self(AtomicU32::new(std::process::id()))
    }

    /// Whether this process owns the connections (false in a forked child until it takes
    /// over).
    pub fn is_current(&self) -> bool {
        self.0.load(Ordering::Acquire) == std::process::id()
    }

    /// Makes this process the owner. True exactly once per fork, for the one caller that
    /// must then let go of the inherited connections; false in the owning process.
    pub fn take_over(&self) -> bool {
        let me = std::process::id();
        let owner = self.0.load(Ordering::Acquire);
        owner != me
            && self
                .0
                .compare_exchange(owner, me, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

impl Default for ProcessOwner {
    fn default() -> Self {
        Self::new()
    }
}
