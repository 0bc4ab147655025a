//! [`KeyManagementPolicy`]: how keys are created, rotated and refreshed.

use std::time::Duration as StdDuration;

use time::Duration;

use crate::crypto::AesKeySize;
use crate::error::{Error, Result};

/// The key-management settings of a provider. The defaults are .NET's.
///
/// ```
/// let policy = keyward::KeyManagementPolicy::default();
/// assert_eq!(policy.key_lifetime, keyward::time::Duration::days(90));
/// assert!(policy.automatic_key_generation && !policy.read_only);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyManagementPolicy {
    /// The lifetime of new keys: 90 days, at least 7.
    pub key_lifetime: Duration,
    /// How long before its activation a new key is written, so every node has read it before
    /// any payload uses it: 2 days.
    pub propagation_window: Duration,
    /// The largest clock difference between nodes that is tolerated: 5 minutes.
    pub max_clock_skew: Duration,
    /// How often the key ring is re-read: 24 hours, shortened by up to `refresh_jitter`.
    pub refresh_period: Duration,
    /// The largest fraction taken off each refresh period at random (0.0–1.0): 0.2, so nodes
    /// started together do not refresh together.
    pub refresh_jitter: f64,
    /// Whether this node creates keys when the ring needs one: on.
    pub automatic_key_generation: bool,
    /// A read-only node never writes (another node or the CLI rotates): off.
    pub read_only: bool,
    /// The least time between two refreshes caused by payloads with unknown key ids: 30 s.
    pub unknown_key_refresh_interval: StdDuration,
    /// How long a caller waits for the refresh thread when an `unprotect` meets an unknown
    /// key id, or a `protect` finds no default key: 2 s. The wait is on a condition variable,
    /// never repository I/O on the caller's thread. `Duration::ZERO` never blocks a caller (a
    /// request then fails at once while the refresh thread reloads in the background).
    pub unknown_key_wait: StdDuration,
    /// The least time between two reloads of the ring, whatever the rate of change
    /// notifications from the store (a store writer publishing in a loop): 250 ms.
    pub min_refresh_interval: StdDuration,
    /// The weakest AES key size a key may have to be used: AES-256. A key below it never
    /// becomes the default key (whatever its dates: a store writer cannot plant an AES-128
    /// key and have every node protect with it) and, unless
    /// [`unprotect_with_weaker_keys`](Self::unprotect_with_weaker_keys), is not used at all.
    pub minimum_key_size: AesKeySize,
    /// Whether keys below [`minimum_key_size`](Self::minimum_key_size) still unprotect
    /// (never protect): for rings that .NET apps configured with smaller keys hold. Off.
    pub unprotect_with_weaker_keys: bool,
}

impl Default for KeyManagementPolicy {
    fn default() -> Self {
        Self {
            key_lifetime: Duration::days(90),
            propagation_window: Duration::days(2),
            max_clock_skew: Duration::minutes(5),
            refresh_period: Duration::hours(24),
            refresh_jitter: 0.2,
            automatic_key_generation: true,
            read_only: false,
            unknown_key_refresh_interval: StdDuration::from_secs(30),
            unknown_key_wait: StdDuration::from_secs(2),
            min_refresh_interval: StdDuration::from_millis(250),
            minimum_key_size: AesKeySize::Aes256,
            unprotect_with_weaker_keys: false,
        }
    }
}

/// The shortest key lifetime allowed (.NET's minimum): 7 days.
pub const MIN_KEY_LIFETIME: Duration = Duration::days(7);

impl KeyManagementPolicy {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Configuration`] naming the setting that is out of range.
    pub fn validate(&self) -> Result<()> {
        let problem = if self.key_lifetime < MIN_KEY_LIFETIME {
            "the new key lifetime must be at least 7 days"
        } else if self.propagation_window.is_negative() || self.max_clock_skew.is_negative() {
            "the propagation window and the clock skew cannot be negative"
        } else if self.propagation_window >= self.key_lifetime {
            "the propagation window must be shorter than the key lifetime"
        } else if self.key_lifetime > Duration::days(100 * 365) {
            "the new key lifetime must be at most 100 years"
        } else if self.max_clock_skew > Duration::days(1) {
            "the maximum clock skew must be at most one day"
        } else if self.refresh_period <= Duration::ZERO || self.refresh_period > Duration::days(365)
        {
            "the refresh period must be positive and at most one year"
        } else if !(0.0..=1.0).contains(&self.refresh_jitter) {
            "the refresh jitter must be between 0 and 1"
        } else if self.min_refresh_interval > StdDuration::from_secs(3600) {
            "the minimum refresh interval must be at most one hour"
        } else {
            return Ok(());
        };
        Err(Error::Configuration(crate::error::ConfigError::KeyPolicy(
            problem,
        )))
    }

    /// The windows the default-key resolver uses.
    pub fn resolver(&self) -> ResolverPolicy {
        ResolverPolicy {
            max_clock_skew: self.max_clock_skew,
            propagation_window: self.propagation_window,
        }
    }

    /// One refresh period with jitter applied (`period * (1 - U[0, jitter))`).
    pub(crate) fn jittered_refresh_period(&self) -> Duration {
        let mut byte = [0u8; 2];
        crate::crypto::rng::fill(&mut byte);
        let unit = f64::from(u16::from_le_bytes(byte)) / 65_536.0;
        self.refresh_period * (1.0 - self.refresh_jitter * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        let bad = KeyManagementPolicy {
            key_lifetime: Duration::days(6),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("7 days"));
        let bad = KeyManagementPolicy {
            refresh_jitter: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("jitter"));
        assert!(KeyManagementPolicy::default().validate().is_ok());
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let policy = KeyManagementPolicy::default();
        for _ in 0..200 {
            let period = policy.jittered_refresh_period();
            assert!(
                period <= Duration::hours(24) && period > Duration::hours(19),
                "{period}"
            );
        }
    }
}

/// The time windows the policy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolverPolicy {
    /// How far ahead of its activation a key may already be used (clock skew between nodes).
    pub max_clock_skew: Duration,
    /// How long a new key takes to reach every node.
    pub propagation_window: Duration,
}

impl Default for ResolverPolicy {
    fn default() -> Self {
        Self {
            max_clock_skew: Duration::minutes(5),
            propagation_window: Duration::days(2),
        }
    }
}
