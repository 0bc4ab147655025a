//! [`Issuing`]: the subkeys a protector is issuing payloads under, their budget shared by
//! threads without contention, and the window of `protect`'s fast path.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::DerivedSubkeys;
use crate::crypto::KeyIdentity;
use crate::key_id::KeyId;

/// The subkeys a protector is issuing payloads under, with their remaining budget.
///
/// Threads protecting at once must not contend for one counter: the budget is claimed from a
/// shared pool in chunks of [`Issuing::CHUNK`] into [`Issuing::SHARDS`] counters on cache lines
/// of their own, and a thread counts on its own counter, touching the pool once per chunk.
/// When the pool is empty a thread takes what other counters still hold, so the whole budget
/// is used and never exceeded, however the threads share it.
pub(crate) struct Issuing {
    pub(crate) derived: Arc<DerivedSubkeys>,
    since: OffsetDateTime,
    /// When the key modifier's maximum age is reached (the one place that rule is applied:
    /// [`Issuing::take`] and the fast window both read it).
    expires: OffsetDateTime,
    /// Payloads not yet claimed by any shard.
    pool: AtomicU64,
    shards: [BudgetShard; Issuing::SHARDS],
    /// The process that started issuing (its fork generation): a forked child never issues
    /// under its parent's key modifier.
    generation: Option<u64>,
    /// `protect`'s fast path (see [`Issuing::take_fast`]): where these subkeys may be used
    /// without reading the key ring again.
    fast: FastWindow,
}

/// While the key ring snapshot `ring_version` is the current one, and the clock reads in
/// `from..until` (nanoseconds since the Unix epoch), the key these subkeys belong to is the
/// default key, no refresh is due and the modifier is within its age: the ring need not be
/// read. Empty (never holds) unless set.
#[derive(Debug, Clone, Copy, Default)]
struct FastWindow {
    ring_version: u64,
    from: i128,
    /// When issuing began: a clock that reads before it went back, and the modifier's age
    /// can no longer be told, so the fast path ends (the full path then starts a new
    /// modifier). Compared with the latest bound of the time: a coarse clock may read up to
    /// a tick before the precise time issuing began.
    issued: i128,
    until: i128,
}

/// Payloads claimed from the pool and not yet used, for the threads that count here.
/// Aligned so no two shards share a cache line (128 bytes: adjacent-line prefetch pairs
/// 64-byte lines on x86).
#[repr(align(128))]
#[derive(Default)]
struct BudgetShard {
    available: AtomicU64,
}

/// Takes up to `wanted` from `counter` (never below zero); returns how many were taken.
fn take_up_to(counter: &AtomicU64, wanted: u64) -> u64 {
    match counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        (n > 0).then(|| n - n.min(wanted))
    }) {
        Ok(before) => before.min(wanted),
        Err(_) => 0,
    }
}

impl Issuing {
    /// Budget shards per key modifier (a power of two, at least the cores of most servers).
    pub(crate) const SHARDS: usize = 8;
    /// Payloads a shard claims from the pool at once.
    pub(crate) const CHUNK: u64 = 256;

    /// Starts issuing under `derived` at `now`, with a budget of `max_payloads`; the first
    /// payload (already made) is counted.
    pub(crate) fn new(
        derived: Arc<DerivedSubkeys>,
        now: OffsetDateTime,
        max_payloads: u32,
        max_age: Duration,
    ) -> Self {
        // An age beyond what a date can hold ends at once (the builder bounds it to an hour).
        let expires = time::Duration::try_from(max_age)
            .ok()
            .and_then(|age| now.checked_add(age))
            .unwrap_or(now);
        let issuing = Self {
            derived,
            since: now,
            expires,
            pool: AtomicU64::new(u64::from(max_payloads)),
            shards: Default::default(),
            generation: crate::crypto::fork::generation(),
            fast: FastWindow::default(),
        };
        issuing.take_budget();
        issuing
    }

    /// Counts one more payload and says whether it may use these subkeys: same process (not
    /// a forked child), same key, before its maximum age (a clock that went back before the
    /// first payload ends it too), and within budget.
    pub(crate) fn take(
        &self,
        key_id: &KeyId,
        key_identity: &KeyIdentity,
        now: OffsetDateTime,
    ) -> bool {
        self.same_process()
            && self.derived.key_id == *key_id
            && self.derived.key_identity == *key_identity
            && self.since <= now
            && now < self.expires
            && self.take_budget()
    }

    /// These subkeys, usable on `protect`'s fast path while the snapshot `ring_version` is
    /// current and the clock is in `from..until` (the default key's span, ended by the next
    /// refresh) and before the modifier's maximum age. The window starts where the key's
    /// span does, not when issuing began: a coarse clock may read a little before that.
    pub(crate) fn with_fast_window(
        mut self,
        ring_version: u64,
        (from, until): (OffsetDateTime, OffsetDateTime),
    ) -> Self {
        self.fast = FastWindow {
            ring_version,
            from: from.unix_timestamp_nanos(),
            issued: self.since.unix_timestamp_nanos(),
            until: until.min(self.expires).unix_timestamp_nanos(),
        };
        self
    }

    /// The fast path's [`Issuing::take`]: counts one more payload and says whether it may use
    /// these subkeys, knowing only the current ring version and the time. Same process, the
    /// ring these subkeys were issued under, inside their window, within budget; when it says
    /// no, `take` on the full path decides.
    pub(crate) fn take_fast(&self, ring_version: u64, (earliest, latest): (i128, i128)) -> bool {
        self.fast.ring_version == ring_version
            && self.fast.from <= earliest
            && self.fast.issued <= latest
            && latest < self.fast.until
            && self.same_process()
            && self.take_budget()
    }

    /// Whether this process started issuing (a forked child never issues under its parent's
    /// key modifier).
    fn same_process(&self) -> bool {
        self.generation.is_some() && self.generation == crate::crypto::fork::generation()
    }

    /// Counts one payload on this thread's shard: from what it holds, else from a new chunk
    /// of the pool, else (the pool empty) from what another shard holds.
    fn take_budget(&self) -> bool {
        let own = thread_shard();
        let shard = &self.shards[own].available;
        if take_up_to(shard, 1) == 1 {
            return true;
        }
        match take_up_to(&self.pool, Self::CHUNK) {
            0 => (1..Self::SHARDS)
                .any(|i| take_up_to(&self.shards[(own + i) % Self::SHARDS].available, 1) == 1),
            claimed => {
                // One of the chunk is this payload; the rest waits in this thread's shard.
                shard.fetch_add(claimed - 1, Ordering::Relaxed);
                true
            }
        }
    }
}

/// This thread's budget shard: threads are numbered in the order they first protect.
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % Issuing::SHARDS;
    }
    SHARD.with(|shard| *shard)
}
