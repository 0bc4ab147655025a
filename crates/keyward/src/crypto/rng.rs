//! Randomness for keys, key modifiers, IVs and nonces.
//!
//! A per-thread ChaCha12 generator (rand's `StdRng`) seeded from the operating system CSPRNG,
//! reseeded from it every 64 KiB of output and on the first draw after every `fork` (see
//! [`super::fork`]): a child never replays its parent's output. Why not the OS on every draw:
//! it costs 446 ns here, aws-lc's generator 370 ns for 32 bytes, this one ≈ 25 ns — more than
//! the rest of a small `protect` (see `BENCHMARKS.md`).
//!
//! If fork detection cannot be set up, or the thread is being torn down, every draw comes
//! from the OS.

use std::cell::RefCell;

use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};

/// Output after which a thread's generator is reseeded from the OS.
const RESEED_AFTER_BYTES: usize = 64 * 1024;

/// One thread's generator and the process it was seeded in.
struct ThreadGenerator {
    rng: StdRng,
    generation: u64,
    drawn: usize,
}

thread_local! {
    static GENERATOR: RefCell<Option<ThreadGenerator>> = const { RefCell::new(None) };
}

/// Fills `out` with cryptographically secure random bytes.
///
/// # Panics
/// Only if the operating system's CSPRNG fails (as every Rust CSPRNG does: there is no
/// secure way to go on).
pub(crate) fn fill(out: &mut [u8]) {
    let Some(generation) = super::fork::generation() else {
        OsRng.fill_bytes(out);
        return;
    };
    let drawn = GENERATOR.try_with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return false;
        };
        let fresh = match slot.as_ref() {
            Some(current) => {
                current.generation != generation || current.drawn >= RESEED_AFTER_BYTES
            }
            None => true,
        };
        if fresh {
            let Ok(rng) = StdRng::from_rng(OsRng) else {
                return false;
            };
            *slot = Some(ThreadGenerator {
                rng,
                generation,
                drawn: 0,
            });
        }
        match slot.as_mut() {
            Some(current) => {
                current.rng.fill_bytes(out);
                current.drawn = current.drawn.saturating_add(out.len());
                true
            }
            None => false,
        }
    });
    if drawn != Ok(true) {
        OsRng.fill_bytes(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_the_generator_reseeds() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        // Past the reseed threshold the thread's generator is replaced, and output goes on.
        let mut big = vec![0u8; RESEED_AFTER_BYTES + 1];
        fill(&mut big);
        fill(&mut a);
        let drawn = GENERATOR.with(|cell| cell.borrow().as_ref().map(|g| g.drawn));
        assert_eq!(drawn, Some(32));
    }
}
