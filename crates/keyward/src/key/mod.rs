//! Keys: ids, metadata, key XML, the key ring and the default-key policy.

pub(crate) use crate::date;
mod document;
mod resolver;
mod ring;
mod ring_key;
pub(crate) mod signature_xml;
pub(crate) mod xml;

use std::fmt;

use time::OffsetDateTime;

pub use crate::key_id::{KeyId, ParseKeyIdError};
pub use crate::policy::ResolverPolicy;
pub use document::KeyDocument;
pub use resolver::{resolve_default_key, KeyCandidate, Resolution};
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
    /// keyward's `<keywardSignature>` child, when the key has one.
    pub(crate) signature: Option<signature_xml::StoredSignature>,
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
    /// Why the key cannot be used, if it cannot (encrypted at rest with something keyward
    /// does not hold, unsupported algorithm, bad master key, below the minimum key size):
    /// such a key is skipped, as .NET skips it, and its status is [`KeyStatus::Unreadable`].
    pub unusable_reason: Option<String>,
    /// A remark on a usable key (a weaker key allowed to unprotect only).
    pub note: Option<String>,
    /// How the master key is protected at rest.
    pub at_rest: AtRestProtection,
    /// keyward's signature on a certificate-encrypted key: whether keyward (or an operator
    /// who trusted the key) wrote it, or a store writer may have planted it.
    pub signature: KeySignature,
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
    ///     note: None,
    ///     at_rest: keyward::AtRestProtection::None,
    ///     signature: keyward::KeySignature::NotApplicable,
    /// };
    /// assert_eq!(key.status_at(datetime!(2026-01-02 0:00 UTC), None), KeyStatus::Pending);
    /// assert_eq!(key.status_at(datetime!(2026-02-01 0:00 UTC), None), KeyStatus::Active);
    /// assert_eq!(key.status_at(datetime!(2026-02-01 0:00 UTC), Some(key.id)), KeyStatus::Default);
    /// assert_eq!(key.status_at(datetime!(2026-04-01 0:00 UTC), None), KeyStatus::Expired);
    /// ```
    pub fn status_at(&self, now: OffsetDateTime, default_key: Option<KeyId>) -> KeyStatus {
        if self.revoked {
            KeyStatus::Revoked
        } else if self.unusable_reason.is_some() {
            KeyStatus::Unreadable
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

/// A `<key>` element in the ring whose id, dates or structure could not be read. It is
/// skipped, as .NET skips it; keyward keeps its name and the reason so that listings show
/// it and a payload under it is told why it cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableKey {
    /// The key id, when the `id` attribute could be read.
    pub id: Option<KeyId>,
    /// The stored element it came from (a file path, a Redis list entry, a table row).
    pub location: String,
    /// What is wrong (a missing element, a date that is not an `xs:dateTime`, …).
    pub reason: String,
    /// The creation date, when it could be read.
    pub creation: Option<OffsetDateTime>,
    /// The activation date, when it could be read.
    pub activation: Option<OffsetDateTime>,
    /// The expiration date, when it could be read.
    pub expiration: Option<OffsetDateTime>,
}

/// How a key's master key is protected at rest, as its `<encryptedSecret>` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtRestProtection {
    /// Stored in the clear (.NET's default off Windows without a certificate).
    None,
    /// Encrypted to an X.509 certificate (.NET's `ProtectKeysWithCertificate`): the
    /// certificate's SHA-1 thumbprint (upper-case hex), when the element names it.
    Certificate {
        /// The thumbprint, when the element carries the certificate.
        thumbprint: Option<String>,
    },
    /// Wrapped with a keyward key-encryption key: its id.
    Kek {
        /// The KEK id, when the element names it.
        kek_id: Option<String>,
    },
    /// Wrapped with a keyward passphrase.
    Passphrase,
    /// Windows DPAPI (`ProtectKeysWithDpapi`): readable only on the Windows account or
    /// machine that wrote it.
    Dpapi,
    /// Windows DPAPI-NG (`ProtectKeysWithDpapiNG`).
    DpapiNg,
    /// Another decryptor (Azure Key Vault, a custom `IXmlDecryptor`): its type name.
    Other {
        /// The `decryptorType` up to its first comma.
        decryptor_type: String,
    },
}

impl AtRestProtection {
    /// Whether ASP.NET Core can read such a key (given the matching configuration on the .NET
    /// side: the certificate, the Windows account, the Key Vault). keyward's own KEK and
    /// passphrase formats are unknown to .NET.
    pub fn dotnet_readable(&self) -> bool {
        !matches!(self, Self::Kek { .. } | Self::Passphrase)
    }

    /// A short name: `none`, `certificate`, `kek`, `passphrase`, `dpapi`, `dpapi-ng`, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Certificate { .. } => "certificate",
            Self::Kek { .. } => "kek",
            Self::Passphrase => "passphrase",
            Self::Dpapi => "dpapi",
            Self::DpapiNg => "dpapi-ng",
            Self::Other { .. } => "other",
        }
    }
}

impl fmt::Display for AtRestProtection {
    /// `none`, `certificate THUMBPRINT`, `kek ID`, `passphrase`, `dpapi`, `dpapi-ng`, or the
    /// decryptor's type name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate {
                thumbprint: Some(thumbprint),
            } => write!(f, "certificate {thumbprint}"),
            Self::Kek { kek_id: Some(id) } => write!(f, "kek {id}"),
            Self::Other { decryptor_type } => write!(f, "{decryptor_type}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// keyward's signature on a certificate-encrypted key (`<keywardSignature>`, see
/// `docs/at-rest.md`). A key encrypted to a certificate proves nothing about who wrote it (the
/// certificate's public part is in every stored key); the signature, made with the
/// certificate's private key, does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySignature {
    /// Nothing to check: not a certificate-encrypted key, or its master key was not decrypted.
    NotApplicable,
    /// Signed by the configured certificate with this SHA-1 thumbprint (upper-case hex).
    Signed {
        /// The signing certificate's thumbprint.
        thumbprint: String,
    },
    /// No signature: .NET wrote the key (it never signs), or a store writer planted it.
    Unsigned,
    /// A signature that does not verify (the key was altered, or signed by a certificate that
    /// is not configured).
    Invalid {
        /// Why it does not verify.
        reason: &'static str,
    },
}

impl KeySignature {
    /// Whether this is a certificate-encrypted key without a valid signature (unsigned or
    /// invalid): a node requiring encryption at rest does not use it unless trusted.
    pub fn needs_trust(&self) -> bool {
        matches!(self, Self::Unsigned | Self::Invalid { .. })
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
    /// In the ring but unusable (see [`KeyInfo::unusable_reason`]): skipped.
    Unreadable,
}

impl KeyStatus {
    /// The lowercase name (`default`, `active`, `pending`, `expired`, `revoked`,
    /// `unreadable`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Unreadable => "unreadable",
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
    ) -> Option<std::result::Result<Secret, crate::error::AtRestError>>;

    /// Whether a plaintext master key must be refused (encryption at rest is on).
    fn refuses_plaintext(&self) -> bool;

    /// Called for each plaintext master key read (for a warning).
    fn note_plaintext_key(&self, key_id: KeyId);

    /// How an encrypted master key is protected, from its `decryptorType` and element.
    fn protection(&self, decryptor_type: &str, encrypted: &str) -> AtRestProtection;

    /// keyward's signature on a key whose master key (`master_key`) was decrypted with the
    /// decryptor `decryptor_type` names.
    fn signature(
        &self,
        record: &KeyRecord,
        decryptor_type: &str,
        master_key: &Secret,
    ) -> KeySignature;

    /// Whether certificate-encrypted keys without a valid signature are used (encryption at
    /// rest is not required, or the operator accepts them).
    fn accepts_unsigned_certificate_keys(&self) -> bool;
}
