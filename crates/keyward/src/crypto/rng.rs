//! Randomness for keys, key modifiers, IVs and nonces.
//!
//! A per-thread ChaCha12 generator seeded from the operating system CSPRNG, reseeded every
//! 64 KiB and after `fork` (rand's `ThreadRng`): a system call per payload costs more than the
//! rest of a small `protect` (see `PERF-NOTES.md`).

use rand::RngCore;

/// Fills `out` with cryptographically secure random bytes.
pub(crate) fn fill(out: &mut [u8]) {
    rand::thread_rng().fill_bytes(out);
}
