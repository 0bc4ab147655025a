//! Keys: ids, metadata, key XML, the key ring and the default-key policy.

pub(crate) mod date;
mod document;
pub(crate) mod id;
mod resolver;
mod ring;
mod ring_key;
mod rotation;
pub(crate) mod xml;

use std::fmt;

use time::OffsetDateTime;

pub use document::KeyDocument;
pub use id::{KeyId, ParseKeyIdError};
pub use resolver::{resolve_default_key, KeyCandidate, Resolution, ResolverPolicy};
pub(crate) use ring::{ElementContent, KeyRing};
pub(crate) use ring_key::RingKey;

use crate::crypto::Algorithm;
use crate::secret::Secret;

/// A key as read from its XML, before revocations are applied.
#[derive(Debug)]
pub(crate) struct KeyRecord {
    pub(crate) id: KeyId,
    pub(crate) creation: OffsetDateTime,
    pub(crate) activation: OffsetDateTime,
    pub(crate) expiration: OffsetDateTime,
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) material: KeyMaterial,
}

/// What a key's descriptor holds.
pub(crate) enum KeyMaterial {
    /// The master key, in the clear (as .NET writes it with no XML encryptor).
    Plain(Secret),
    /// The master key is inside an `<encryptedSecret>`.
    Encrypted {
        decryptor_type: String,
        /// The text of the element inside `<encryptedSecret>`, for a decryptor.
        encrypted_xml: String,
    },
    /// The descriptor cannot be used (unknown algorithm, missing or bad master key).
    Unsupported { detail: String },
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(secret) => write!(f, "Plain({secret:?})"),
            Self::Encrypted { decryptor_type, .. } => write!(f, "Encrypted({decryptor_type})"),
            Self::Unsupported { detail } => write!(f, "Unsupported({detail})"),
        }
    }
}

/// What is known about a key, without its secret: for listings and decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub id: KeyId,
    /// When the key was created.
    pub creation: OffsetDateTime,
    /// From when the key may protect.
    pub activation: OffsetDateTime,
    /// From when the key no longer protects (it still unprotects).
    pub expiration: OffsetDateTime,
    /// The key's algorithm, when its descriptor names one keyward knows.
    pub algorithm: Option<Algorithm>,
    /// Whether a revocation covers the key.
    pub revoked: bool,
    /// Why the key cannot be used, if it cannot (encrypted at rest, unsupported algorithm).
    pub unusable_reason: Option<String>,
}

impl KeyInfo {
    /// The key's status at `now`, given the ring's default key.
    ///
    /// ```
    /// # use keyward::{KeyInfo, KeyId, KeyStatus};
    /// # use time::macros::datetime;
    /// let key = KeyInfo {
    ///     id: KeyId::random(),
    ///     creation: datetime!(2026-01-01 0:00 UTC),
    ///     activation: datetime!(2026-01-03 0:00 UTC),
    ///     expiration: datetime!(2026-04-01 0:00 UTC),
    ///     algorithm: None,
    ///     revoked: false,
    ///     unusable_reason: None,
    /// };
    /// assert_eq!(key.status_at(datetime!(2026-01-02 0:00 UTC), None), KeyStatus::Pending);
    /// assert_eq!(key.status_at(datetime!(2026-02-01 0:00 UTC), None), KeyStatus::Active);
    /// assert_eq!(key.status_at(datetime!(2026-02-01 0:00 UTC), Some(key.id)), KeyStatus::Default);
    /// assert_eq!(key.status_at(datetime!(2026-04-01 0:00 UTC), None), KeyStatus::Expired);
    /// ```
    pub fn status_at(&self, now: OffsetDateTime, default_key: Option<KeyId>) -> KeyStatus {
        if self.revoked {
            KeyStatus::Revoked
        } else if default_key == Some(self.id) {
            KeyStatus::Default
        } else if self.expiration <= now {
            KeyStatus::Expired
        } else if self.activation > now {
            KeyStatus::Pending
        } else {
            KeyStatus::Active
        }
    }
}

/// Where a key stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// The key new payloads are protected with.
    Default,
    /// Activated, unexpired, unrevoked, but not the default.
    Active,
    /// Not yet activated.
    Pending,
    /// Past its expiration: it still unprotects.
    Expired,
    /// Revoked: it neither protects nor unprotects.
    Revoked,
}

impl KeyStatus {
    /// The lowercase name (`default`, `active`, `pending`, `expired`, `revoked`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the ring opens master keys stored encrypted, and whether it accepts one in the clear.
/// Implemented by at-rest encryption (`at_rest::AtRest`), so `key/` depends on no encryptor.
pub(crate) trait MasterKeyOpener {
    /// Decrypts a master key with the decryptor its `decryptorType` names: `None` when none
    /// is configured, `Some(Err(reason))` when it fails.
    fn open(
        &self,
        key_id: KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> Option<std::result::Result<Secret, String>>;

    /// Whether a plaintext master key must be refused (encryption at rest is on).
    fn refuses_plaintext(&self) -> bool;

    /// Called for each plaintext master key read (for a warning).
    fn note_plaintext_key(&self, key_id: KeyId);
}
