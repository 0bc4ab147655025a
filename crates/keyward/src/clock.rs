//! [`Clock`]: where keyward reads the time, so tests can move it instead of sleeping.

use std::fmt::Debug;

use time::OffsetDateTime;

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
