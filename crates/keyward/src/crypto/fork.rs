//! Which process this is: a counter that every `fork` increments in the child.
//!
//! A forked child starts as a copy of its parent: the same userspace generator state, the
//! same key modifier being issued. Without this, each pre-forked worker of a server would
//! repeat its parent's next key modifiers, IVs and GCM nonces (a GCM nonce reuse: plaintext
//! XOR and forgery). Checking the pid on every draw costs a system call (≈ 240 ns here, more
//! than a whole small `protect`); a `pthread_atfork` child handler that bumps an atomic costs
//! nothing until a fork happens, and the check is one atomic load.
//!
//! The handler runs for every `fork(2)` made through the C library (`fork`, `libc::fork`,
//! `nix::unistd::fork`, `std::process::Command` before `exec`). A raw `clone(2)` system call
//! without the C library bypasses it: such a child must `exec` (or use no keyward state).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Once;

/// Forks seen by this process's lineage (0 in the first process).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the child handler is registered (if not, no state may be trusted across draws).
static REGISTERED: AtomicBool = AtomicBool::new(false);
static REGISTER: Once = Once::new();

/// Runs in the child right after `fork`: async-signal-safe (one atomic add).
extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current fork generation, or `None` when fork detection could not be set up (then
/// callers keep no state between draws).
pub(crate) fn generation() -> Option<u64> {
    REGISTER.call_once(|| {
        #[allow(unsafe_code)]
        // SAFETY: `pthread_atfork` only records the handler pointers; `in_child` is a plain
        // `extern "C" fn` with no captured state that only performs an atomic add, which is
        // async-signal-safe as a handler in the child of a multi-threaded parent must be.
        let status = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        REGISTERED.store(status == 0, Ordering::SeqCst);
    });
    REGISTERED
        .load(Ordering::Relaxed)
        .then(|| GENERATION.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_and_stable_without_a_fork() {
        let first = generation().expect("pthread_atfork registered");
        assert_eq!(generation(), Some(first));
    }
}
