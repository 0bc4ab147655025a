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
