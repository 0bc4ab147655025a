//! The fixed reasons of failures: [`Error::kind`] and the metrics' `reason` label.

use super::Error;

/// Why a `protect` or `unprotect` failed, in a small fixed set: [`Error::kind`], and the
/// `reason` label of keyward's failure metrics (`keyward::metrics::Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The payload's shape is wrong (empty, short, bad header, truncated, bad base64).
    Malformed,
    /// The payload names a key id the ring does not hold.
    UnknownKey,
    /// The payload's key is in the ring but cannot be used (unreadable XML, encrypted at rest
    /// with something keyward cannot open, unsupported algorithm, stored unencrypted though
    /// encryption is required).
    UnreadableKey,
    /// The payload's key is revoked.
    Revoked,
    /// Authentication failed: tampered with, or protected for other purposes or another
    /// application name (cryptographically the same thing).
    Invalid,
    /// A time-limited payload has expired.
    Expired,
    /// No key can protect and none could be had.
    NoDefaultKey,
    /// The key repository failed (I/O, a store error, invalid key XML in the store).
    Repository,
    /// Anything else.
    Other,
}

impl Reason {
    /// Every reason, in the order of the table in `docs/metrics.md`.
    pub const ALL: [Reason; 9] = [
        Reason::Malformed,
        Reason::UnknownKey,
        Reason::UnreadableKey,
        Reason::Revoked,
        Reason::Invalid,
        Reason::Expired,
        Reason::NoDefaultKey,
        Reason::Repository,
        Reason::Other,
    ];

    /// The reason of an error.
    pub fn of(error: &Error) -> Self {
        match error {
            Error::MalformedPayload(_) => Self::Malformed,
            Error::KeyNotFound { .. } => Self::UnknownKey,
            Error::KeyUnreadable { .. }
            | Error::KeyNotDecryptable { .. }
            | Error::KeyDecryptionFailed { .. }
            | Error::KeyNotEncrypted(_)
            | Error::KeyNotSigned { .. }
            | Error::UnsupportedAlgorithm { .. }
            | Error::KeyBelowMinimumSize { .. } => Self::UnreadableKey,
            Error::KeyRevoked(_) => Self::Revoked,
            Error::InvalidPayload => Self::Invalid,
            Error::Expired { .. } => Self::Expired,
            Error::NoDefaultKey { .. } => Self::NoDefaultKey,
            Error::Io { .. }
            | Error::Repository { .. }
            | Error::RingChanged { .. }
            | Error::KeyXml { .. } => Self::Repository,
            _ => Self::Other,
        }
    }

    /// The label value: `malformed`, `unknown_key`, `unreadable_key`, `revoked`, `invalid`,
    /// `expired`, `no_default_key`, `repository` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::UnreadableKey => "unreadable_key",
            Self::Revoked => "revoked",
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::NoDefaultKey => "no_default_key",
            Self::Repository => "repository",
            Self::Other => "other",
        }
    }
}
