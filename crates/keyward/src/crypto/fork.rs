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

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Forks seen by this process's lineage (0 in the first process).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the child handler is registered: [`UNREGISTERED`], [`REGISTERING`], [`REGISTERED`]
/// or [`FAILED`]. An atomic rather than a `Once`: a fork while another thread registers must
/// not leave the child waiting forever on a `Once` that will never complete there.
static STATE: AtomicU8 = AtomicU8::new(UNREGISTERED);
const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;
const FAILED: u8 = 3;

/// Runs in the child right after `fork`: async-signal-safe (one atomic add).
extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current fork generation, or `None` while fork detection is not (or cannot be) set up:
/// callers then keep no state between draws (and draw from the OS).
pub(crate) fn generation() -> Option<u64> {
    match STATE.load(Ordering::Acquire) {
        REGISTERED => Some(GENERATION.load(Ordering::Relaxed)),
        UNREGISTERED => register(),
        // Another thread is registering (or a fork caught it mid-way), or registration
        // failed: no waiting, no state.
        _ => None,
    }
}

/// The current fork generation as one relaxed load, for hot paths that already called
/// [`generation`] once (so the handler is registered, or could not be: then this stays 0 and
/// forks go unnoticed, as [`generation`]'s `None` says).
#[inline]
pub(crate) fn current() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

#[cold]
fn register() -> Option<u64> {
    if STATE
        .compare_exchange(
            UNREGISTERED,
            REGISTERING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        return generation_if_registered();
    }
    #[allow(unsafe_code)]
    // SAFETY: `pthread_atfork` only records the handler pointers; `in_child` is a plain
    // `extern "C" fn` with no captured state that only performs an atomic add, which is
    // async-signal-safe as a handler in the child of a multi-threaded parent must be.
    let status = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    STATE.store(
        if status == 0 { REGISTERED } else { FAILED },
        Ordering::Release,
    );
    generation_if_registered()
}

fn generation_if_registered() -> Option<u64> {
    (STATE.load(Ordering::Acquire) == REGISTERED).then(|| GENERATION.load(Ordering::Relaxed))
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
