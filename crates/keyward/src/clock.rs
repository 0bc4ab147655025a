//! [`Clock`]: where keyward reads the time, so tests can move it instead of sleeping.

use std::fmt::Debug;

use time::OffsetDateTime;

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> OffsetDateTime;

    /// The current time in nanoseconds since the Unix epoch: [`Clock::now`] as a number, for
    /// comparisons on the hot path. Override it only with the same time, read more cheaply.
    fn now_unix_nanos(&self) -> i128 {
        self.now().unix_timestamp_nanos()
    }

    /// Bounds on the current time in nanoseconds since the Unix epoch, `(earliest, latest)`:
    /// the time [`Clock::now`] would read lies between them. A clock that can read a coarser,
    /// cheaper time answers with that time and its tick; the default reads
    /// [`Clock::now_unix_nanos`] and answers it twice. `protect`'s fast path uses these
    /// bounds only to decide whether it is still inside a window, so a wider answer is
    /// always safe (it leaves the fast path sooner) and a narrower one never is.
    fn now_unix_nanos_bounds(&self) -> (i128, i128) {
        let now = self.now_unix_nanos();
        (now, now)
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn now_unix_nanos(&self) -> i128 {
        // The clock `OffsetDateTime::now_utc` reads, without building a date from it.
        let nanos = |d: std::time::Duration| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX);
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => nanos(since),
            Err(before) => -nanos(before.duration()),
        }
    }

    /// On Linux, `CLOCK_REALTIME_COARSE`: the real-time clock as of the kernel's last tick,
    /// read from the vDSO in a few nanoseconds where the precise clock may take 20 on a VM.
    /// The precise time is at least the coarse one and less than a tick later; the latest
    /// bound adds four ticks (at least 4 ms) to leave room for a late tick.
    #[cfg(target_os = "linux")]
    fn now_unix_nanos_bounds(&self) -> (i128, i128) {
        let coarse = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        let earliest = i128::from(coarse.tv_sec) * 1_000_000_000 + i128::from(coarse.tv_nsec);
        (earliest, earliest + coarse_slack())
    }
}

/// Four ticks of the coarse clock, at least 4 ms (measured once).
#[cfg(target_os = "linux")]
fn coarse_slack() -> i128 {
    static SLACK: std::sync::OnceLock<i128> = std::sync::OnceLock::new();
    *SLACK.get_or_init(|| {
        let tick = rustix::time::clock_getres(rustix::time::ClockId::RealtimeCoarse);
        let tick = i128::from(tick.tv_sec) * 1_000_000_000 + i128::from(tick.tv_nsec);
        (tick * 4).max(4_000_000)
    })
}

/// A clock that moves only when told: for tests of rotation, expiry and propagation that move
/// time instead of sleeping. Clones share the time.
///
/// ```
/// use keyward::{Clock, ManualClock};
/// use keyward::time::{macros::datetime, Duration};
/// let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
/// clock.advance(Duration::days(1));
/// assert_eq!(clock.now(), datetime!(2026-01-02 0:00 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(std::sync::Arc<std::sync::Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(start)))
    }

    /// Sets the time.
    pub fn set(&self, at: OffsetDateTime) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Another clock shifted by a fixed offset (a node whose clock runs ahead or behind).
#[derive(Debug, Clone)]
pub struct OffsetClock<C> {
    inner: C,
    offset: time::Duration,
}

impl<C: Clock> OffsetClock<C> {
    /// `inner`'s time plus `offset`.
    pub fn new(inner: C, offset: time::Duration) -> Self {
        Self { inner, offset }
    }
}

impl<C: Clock> Clock for OffsetClock<C> {
    fn now(&self) -> OffsetDateTime {
        self.inner.now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The system clock's bounds hold the precise time: the earliest never after a precise
    /// read made just after, the latest never before one made just before.
    #[test]
    fn the_system_clock_bounds_hold_the_precise_time() {
        let clock = SystemClock;
        for _ in 0..10_000 {
            let before = clock.now_unix_nanos();
            let (earliest, latest) = clock.now_unix_nanos_bounds();
            let after = clock.now_unix_nanos();
            assert!(earliest <= after, "{earliest} > {after}");
            assert!(latest > before, "{latest} <= {before}");
            assert!(earliest <= latest);
        }
        let manual = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
        let exact = manual.now().unix_timestamp_nanos();
        assert_eq!(manual.now_unix_nanos_bounds(), (exact, exact));
    }
}
