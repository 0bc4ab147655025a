//! Time-limited payloads, compatible with .NET's `TimeLimitedDataProtector`: the purpose
//! `Microsoft.AspNetCore.DataProtection.TimeLimitedDataProtector.v1` is appended to the chain,
//! and the plaintext is prefixed with the expiration as 8 big-endian bytes of .NET ticks
//! (100 ns units since 0001-01-01 UTC).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::encoding::{base64url_decode, base64url_encode};
use crate::error::{Error, Result};
use crate::live_ring::LiveRing;
use crate::protector::Protector;

/// The purpose .NET appends for time-limited protectors.
pub const TIME_LIMITED_PURPOSE: &str =
    "Microsoft.AspNetCore.DataProtection.TimeLimitedDataProtector.v1";

const TICKS_PER_SECOND: i128 = 10_000_000;

fn epoch() -> OffsetDateTime {
    time::macros::datetime!(0001-01-01 00:00 UTC)
}

/// .NET ticks (UTC) of `at`. Times before year 1 give 0.
pub fn to_ticks(at: OffsetDateTime) -> u64 {
    let nanos = (at - epoch()).whole_nanoseconds();
    u64::try_from(nanos / 100).unwrap_or(0)
}

/// The time of .NET `ticks` (UTC), if it is a valid `DateTimeOffset`.
pub fn from_ticks(ticks: u64) -> Option<OffsetDateTime> {
    let ticks = i128::from(ticks);
    let seconds = i64::try_from(ticks / TICKS_PER_SECOND).ok()?;
    let nanos = i64::try_from(ticks % TICKS_PER_SECOND * 100).ok()?;
    epoch().checked_add(Duration::seconds(seconds) + Duration::nanoseconds(nanos))
}

/// `DateTimeOffset.MaxValue`: what .NET writes for "no expiration".
pub fn max_expiration() -> OffsetDateTime {
    time::macros::datetime!(9999-12-31 23:59:59.9999999 UTC)
}

/// Protects data that expires: the expiration is authenticated with the data.
///
/// ```
/// # let provider = keyward::Provider::ephemeral("app").unwrap();
/// use keyward::time::Duration;
/// let reset = provider.protector(["PasswordReset"]).to_time_limited();
/// let expires = provider.now() + Duration::hours(1);
/// let token = reset.protect_str("user 42", expires)?;
/// let (user, expiration) = reset.unprotect_str(&token)?;
/// assert_eq!((user.as_str(), expiration.unix_timestamp()), ("user 42", expires.unix_timestamp()));
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TimeLimitedProtector {
    shared: Arc<LiveRing>,
    /// The caller's chain (without the time-limited suffix).
    purposes: Vec<String>,
    inner: Protector,
}

impl TimeLimitedProtector {
    pub(crate) fn new(shared: Arc<LiveRing>, purposes: Vec<String>) -> Self {
        let mut chain = purposes.clone();
        chain.push(TIME_LIMITED_PURPOSE.to_owned());
        let inner = Protector::new(Arc::clone(&shared), chain);
        Self {
            shared,
            purposes,
            inner,
        }
    }

    /// A time-limited protector with `purpose` added before the time-limited suffix (as
    /// .NET's `CreateProtector` on a time-limited protector).
    pub fn protector(&self, purpose: impl Into<String>) -> Self {
        let mut chain = self.purposes.clone();
        chain.push(purpose.into());
        Self::new(Arc::clone(&self.shared), chain)
    }

    /// The whole purpose chain, time-limited suffix included.
    pub fn purposes(&self) -> &[String] {
        self.inner.purposes()
    }

    /// Protects `plaintext` until `expiration`.
    ///
    /// # Errors
    /// As [`Protector::protect`].
    pub fn protect(&self, plaintext: &[u8], expiration: OffsetDateTime) -> Result<Vec<u8>> {
        let mut inner = zeroize::Zeroizing::new(Vec::with_capacity(8 + plaintext.len()));
        inner.extend_from_slice(&to_ticks(expiration).to_be_bytes());
        inner.extend_from_slice(plaintext);
        self.inner.protect(&inner)
    }

    /// Unprotects and checks the expiration against the provider's clock; returns the data
    /// and its expiration.
    ///
    /// # Errors
    /// [`Error::Expired`] once the expiration has passed; otherwise as
    /// [`Protector::unprotect`].
    pub fn unprotect(&self, protected: &[u8]) -> Result<(Vec<u8>, OffsetDateTime)> {
        // The inner `unprotect` records its own failures; those after it are recorded here.
        let inner = self.inner.unprotect(protected)?;
        self.check(inner)
            .inspect_err(crate::metrics::unprotect_failed)
    }

    /// Splits the expiration off an unprotected inner plaintext and checks it.
    fn check(&self, inner: Vec<u8>) -> Result<(Vec<u8>, OffsetDateTime)> {
        // The inner plaintext is wiped on every path, the successful one included (the data
        // returned is a copy without the 8-byte header).
        let inner = zeroize::Zeroizing::new(inner);
        let Some((ticks, data)) = inner.split_first_chunk::<8>() else {
            return Err(Error::InvalidPayload);
        };
        let expiration = from_ticks(u64::from_be_bytes(*ticks)).ok_or(Error::InvalidPayload)?;
        if self.shared.now() > expiration {
            return Err(Error::Expired {
                expired_at: expiration,
            });
        }
        Ok((data.to_vec(), expiration))
    }

    /// [`TimeLimitedProtector::protect`] for strings (UTF-8, then base64url).
    ///
    /// # Errors
    /// As [`TimeLimitedProtector::protect`].
    pub fn protect_str(&self, plaintext: &str, expiration: OffsetDateTime) -> Result<String> {
        self.protect(plaintext.as_bytes(), expiration)
            .map(|p| base64url_encode(&p))
    }

    /// [`TimeLimitedProtector::unprotect`] for strings.
    ///
    /// # Errors
    /// As [`TimeLimitedProtector::unprotect`], plus invalid base64 and [`Error::NotUtf8`].
    pub fn unprotect_str(&self, protected: &str) -> Result<(String, OffsetDateTime)> {
        let payload = base64url_decode(protected).inspect_err(crate::metrics::unprotect_failed)?;
        let (data, expiration) = self.unprotect(&payload)?;
        let text = String::from_utf8(data)
            .map_err(|_| Error::NotUtf8)
            .inspect_err(crate::metrics::unprotect_failed)?;
        Ok((text, expiration))
    }
}

impl Protector {
    /// A time-limited protector over this chain (.NET's `ToTimeLimitedDataProtector`).
    pub fn to_time_limited(&self) -> TimeLimitedProtector {
        TimeLimitedProtector::new(self.shared_handle(), self.purposes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ticks_match_dotnet() {
        assert_eq!(
            to_ticks(datetime!(2000-01-01 0:00 UTC)),
            630_822_816_000_000_000
        );
        assert_eq!(
            to_ticks(max_expiration()).to_be_bytes(),
            [0x2B, 0xCA, 0x28, 0x75, 0xF4, 0x37, 0x3F, 0xFF]
        );
        let at = datetime!(2026-11-24 08:00:00.1234567 UTC);
        assert_eq!(from_ticks(to_ticks(at)), Some(at));
        assert_eq!(from_ticks(u64::MAX), None);
    }
}
