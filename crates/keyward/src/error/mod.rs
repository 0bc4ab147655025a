//! The one error type of the `keyward` crate, [`Error`], and the typed details its variants
//! carry (configuration, at-rest, argument and no-default-key reasons).
//!
//! Every failure of `unprotect` says *why* to the operator — malformed payload, unknown key,
//! revoked key, invalid payload — without telling an attacker more than that: a tampered payload
//! and a payload protected for another purpose fail in the same way, because cryptographically
//! they are the same thing.

use std::path::PathBuf;

use crate::key_id::KeyId;

mod argument;
mod at_rest;
mod base64;
mod config;
mod malformed;
mod no_default_key;
mod reason;

pub use argument::{ArgumentError, Unsupported, UnsupportedKind};
pub use at_rest::AtRestError;
pub use base64::Base64Error;
pub use config::{BoxedCause, ConfigError, Setting};
pub use malformed::MalformedReason;
pub use no_default_key::{CreationBlocked, NoDefaultKeyReason};
pub use reason::Reason;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `keyward`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The payload's shape is wrong: empty, too short, wrong magic header, newer version,
    /// truncated body, or invalid base64.
    #[error("malformed payload: {0}")]
    MalformedPayload(MalformedReason),

    /// The payload names a key that the key ring does not hold.
    #[error("the key {{{key_id}}} was not found in the key ring (read from {ring_location})")]
    KeyNotFound {
        /// The key id the payload names.
        key_id: KeyId,
        /// Where the key ring was read from (a directory, a store).
        ring_location: String,
    },

    /// The payload names a key that is in the ring but could not be read (a missing element,
    /// a bad date, bad base64, an unknown algorithm): it is skipped, as .NET skips it.
    #[error("the key {{{key_id}}} is in the key ring ({location}) but cannot be read: {reason}")]
    KeyUnreadable {
        /// The key id the payload names.
        key_id: KeyId,
        /// The stored element holding the key.
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The payload's key has been revoked.
    #[error("the key {{{0}}} has been revoked")]
    KeyRevoked(KeyId),

    /// The payload failed authentication: it was tampered with, or it was protected for other
    /// purposes or another application name.
    #[error(
        "the payload was invalid: it was tampered with, or protected for other purposes or another application name"
    )]
    InvalidPayload,

    /// A key file or element is not valid key XML.
    #[error("invalid key XML in {location}: {reason}")]
    KeyXml {
        /// The file or element the XML came from.
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing the key repository failed.
    #[error("key repository I/O error at {}: {source}", path.display())]
    Io {
        /// The path that could not be read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A key store (Redis, PostgreSQL, …) failed or could not be reached.
    ///
    /// `reason` says what keyward was doing; the store client's own error, when there is one,
    /// is the [`source`](std::error::Error::source) (walk the chain to show it, as the CLI
    /// does). Neither ever holds credentials.
    #[error("key repository {store}: {reason}")]
    Repository {
        /// The store, without credentials.
        store: String,
        /// What went wrong (or what keyward was doing when it went wrong).
        reason: String,
        /// The store client's error, kept whole.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// A conditional write found the store changed since the read it was based on: another
    /// node wrote first (a store whose writes are conditional, such as one blob, says so
    /// instead of overwriting). A key created under
    /// [`KeyRepository::lock_for_generation`](crate::store::KeyRepository::lock_for_generation)
    /// is then not written: the provider reads the ring again and uses what the other node
    /// wrote (creating its key only if the ring still needs one).
    #[error(
        "key repository {store}: the key ring changed since it was read (another node wrote first)"
    )]
    RingChanged {
        /// The store, without credentials.
        store: String,
    },

    /// The key's master key is encrypted at rest in a way keyward cannot decrypt.
    #[error(
        "the master key of key {{{key_id}}} is encrypted at rest with {decryptor_type}, which keyward cannot decrypt"
    )]
    KeyNotDecryptable {
        /// The key whose master key is encrypted.
        key_id: KeyId,
        /// The `decryptorType` named in the key XML.
        decryptor_type: String,
    },

    /// The key's master key is encrypted at rest, a decryptor for it is configured, and it
    /// could not decrypt it (wrong key-encryption key, passphrase or certificate; tampering).
    #[error(
        "the master key of key {{{key_id}}} could not be decrypted with {decryptor_type}: {reason}"
    )]
    KeyDecryptionFailed {
        /// The key.
        key_id: KeyId,
        /// The `decryptorType` named in the key XML.
        decryptor_type: String,
        /// Why (never secret material).
        #[source]
        reason: AtRestError,
    },

    /// The key's master key is stored unencrypted although encryption at rest is required or
    /// an encryptor is configured: the key is not used (a store writer may have planted it).
    #[error("the key {{{0}}} is stored unencrypted although encryption at rest is required or configured; it is not used")]
    KeyNotEncrypted(KeyId),

    /// A certificate-encrypted key without a valid keyward signature, where encryption at rest
    /// is required: the key is not used (a store writer may have planted it). `reason` says
    /// what is wrong and how to trust a key .NET wrote.
    #[error("the key {{{key_id}}} is not used: {}", unsigned_reason(*key_id, *invalid_signature))]
    KeyNotSigned {
        /// The key.
        key_id: KeyId,
        /// Why its signature does not verify; `None` when it has none.
        invalid_signature: Option<&'static str>,
    },

    /// Writing a key unencrypted was refused (`require_encryption_at_rest`).
    #[error("refusing to store key {{{0}}} unencrypted: encryption at rest is required and no XML encryptor is configured")]
    EncryptionRequired(KeyId),

    /// The key's descriptor names an algorithm keyward does not implement.
    #[error("the key {{{key_id}}} uses an unsupported algorithm: {detail}")]
    UnsupportedAlgorithm {
        /// The key whose descriptor is not supported.
        key_id: KeyId,
        /// What was found.
        detail: String,
    },

    /// The key is weaker than the minimum key size (a .NET app configured for AES-128 or
    /// AES-192, where keyward's minimum is AES-256): it never protects, and unprotects only
    /// with [`ProviderBuilder::unprotect_with_weaker_keys`](crate::builder::ProviderBuilder::unprotect_with_weaker_keys)
    /// (the CLI's `--allow-weaker-keys`).
    #[error("the key {{{key_id}}} is {}: {}", weaker_key_size(*key_bits), weaker_key_reason(*minimum_bits))]
    KeyBelowMinimumSize {
        /// The key.
        key_id: KeyId,
        /// Its AES key size in bits.
        key_bits: usize,
        /// The minimum key size in bits (256 unless the builder lowered it).
        minimum_bits: usize,
    },

    /// The key ring has no key that can protect, and none could be created.
    #[error("the key ring at {ring_location} has no usable default key: {reason}")]
    NoDefaultKey {
        /// Where the key ring was read from.
        ring_location: String,
        /// Why no key could be used or created.
        reason: NoDefaultKeyReason,
    },

    /// A time-limited payload has expired.
    #[error("the payload expired at {}", crate::date::format(*expired_at))]
    Expired {
        /// When it expired.
        expired_at: time::OffsetDateTime,
    },

    /// A deletion picked a key that must not be deleted; nothing was deleted.
    #[error("refusing to delete the key {{{key_id}}}: {reason}; nothing was deleted")]
    DeletionRefused {
        /// The key.
        key_id: KeyId,
        /// Why it must stay.
        reason: &'static str,
    },

    /// The provider was configured wrongly (a builder setting, a KEK, passphrase or
    /// certificate that cannot be used).
    #[error("invalid configuration: {0}")]
    Configuration(#[source] ConfigError),

    /// A call was made with arguments it cannot take (an expiration before the activation, a
    /// mass revocation dated in the future).
    #[error("invalid argument: {0}")]
    InvalidArgument(#[source] ArgumentError),

    /// The repository (or the document layout it holds) does not support the operation.
    #[error("unsupported operation: {0}")]
    Unsupported(Unsupported),

    /// A read-only provider was asked to write.
    #[error("this provider is read-only: it never writes to the key repository")]
    ReadOnly,

    /// A master key could not be encrypted or decrypted at rest (a malformed encrypted
    /// element, a wrong KEK, passphrase or certificate); never secret material.
    #[error("master key encryption at rest: {0}")]
    AtRest(#[source] AtRestError),

    /// Encrypting failed (a primitive refused its input): nothing was produced.
    #[error("encryption failed: {0}")]
    EncryptionFailed(&'static str),

    /// The unprotected bytes are not UTF-8 (from `unprotect_str`).
    #[error("the unprotected data is not valid UTF-8")]
    NotUtf8,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(reason: MalformedReason) -> Self {
        Self::MalformedPayload(reason)
    }

    /// A store failure with nothing underneath it.
    pub fn repository(store: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Repository {
            store: store.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// A store failure caused by the store client's `source` error, which stays reachable
    /// through [`std::error::Error::source`].
    pub fn repository_caused(
        store: impl Into<String>,
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Repository {
            store: store.into(),
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }

    /// This error and its causes, joined with `": "`, each cause once (for one-line reports).
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// Any error and its causes, joined with `": "`, each cause shown once (a cause whose text
/// the line already holds is skipped): the one-line report of the CLI.
///
/// ```
/// let err = keyward::Error::repository_caused("redis://cache:6379/0", "reading keys",
///     std::io::Error::other("connection reset"));
/// assert_eq!(keyward::error_chain(&err), "key repository redis://cache:6379/0: reading keys: connection reset");
/// ```
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(err) = cause {
        let shown = err.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = err.source();
    }
    text
}

/// Why a certificate-encrypted key without a valid signature is not used, and how to trust
/// it: for [`Error::KeyNotSigned`] and the key's listed reason.
pub(crate) fn unsigned_reason(id: KeyId, invalid_signature: Option<&str>) -> String {
    let what = match invalid_signature {
        Some(reason) => format!("its keyward signature is invalid: {reason}"),
        None => "it has no keyward signature".to_owned(),
    };
    format!(
        "encrypted to the certificate, but {what}; anyone who can write to the store can encrypt a key to the certificate (its public part is in every key), so a node requiring encryption at rest does not use it. If a .NET node wrote it, trust it with `keyward --certificate FILE keys trust {id}` (Provider::trust_certificate_key), or accept unsigned certificate keys (--accept-unsigned-certificate-keys, ProviderBuilder::accept_unsigned_certificate_keys)"
    )
}

/// `AES-128`: a key size in bits, as .NET's configuration names it.
pub(crate) fn weaker_key_size(bits: usize) -> String {
    format!("AES-{bits}")
}

/// Why a weaker key is not used, and how to read it: for [`Error::KeyBelowMinimumSize`] and
/// the key's listed reason.
pub(crate) fn weaker_key_reason(minimum_bits: usize) -> String {
    format!(
        "below keyward's minimum key size (AES-{minimum_bits}); such keys never protect, and unprotect only when allowed (--allow-weaker-keys in the CLI, ProviderBuilder::unprotect_with_weaker_keys(true) in code)"
    )
}

impl Error {
    /// The fixed reason of this error, as the metrics record it (`malformed`, `unknown_key`,
    /// `unreadable_key`, `revoked`, `invalid`, `expired`, `no_default_key`, `repository`,
    /// `other`).
    ///
    /// ```
    /// use keyward::{metrics::Reason, Error};
    /// assert_eq!(Error::InvalidPayload.kind(), Reason::Invalid);
    /// assert_eq!(Error::InvalidPayload.kind().as_str(), "invalid");
    /// ```
    pub fn kind(&self) -> Reason {
        Reason::of(self)
    }

    /// Whether no later refresh of the key ring can change the outcome: a malformed,
    /// tampered or wrong-purpose payload, a revoked key, an expired time-limited payload, a
    /// plaintext that is not UTF-8. Other errors (an unknown key id, a store that failed, no
    /// default key yet) may pass once the ring is re-read.
    ///
    /// ```
    /// assert!(keyward::Error::InvalidPayload.is_permanent());
    /// assert!(!keyward::Error::ReadOnly.is_permanent());
    /// ```
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::NotUtf8)
            || matches!(
                self.kind(),
                Reason::Malformed | Reason::Invalid | Reason::Revoked | Reason::Expired
            )
    }
}
