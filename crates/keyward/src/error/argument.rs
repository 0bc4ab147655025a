//! Arguments a call cannot take, and operations a store cannot do.

use std::fmt;

use crate::key_id::KeyId;

/// An argument a call cannot take ([`Error::InvalidArgument`](crate::error::Error::InvalidArgument)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgumentError {
    /// A key whose expiration is not after its activation.
    #[error("a key's expiration must come after its activation")]
    ExpirationNotAfterActivation,
    /// A key lifetime under seven days.
    #[error("the key lifetime must be at least 7 days")]
    LifetimeTooShort,
    /// A mass revocation dated in the future.
    #[error("a mass revocation cannot be dated in the future: every key created until then would be revoked too")]
    FutureMassRevocation,
    /// Trusting a key that is not encrypted to a certificate.
    #[error("the key {{{0}}} is not encrypted to a certificate: only certificate-encrypted keys carry keyward's signature")]
    NotCertificateEncrypted(KeyId),
    /// An import that would replace keys the ring holds under the same ids.
    #[error("the ring holds a different key under the id(s) {}: an existing key is never replaced, and nothing was imported", join(.0))]
    ImportWouldReplace(Vec<KeyId>),
}

fn join(ids: &[KeyId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a store or document cannot do ([`Error::Unsupported`](crate::error::Error::Unsupported)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsupportedKind {
    /// The repository cannot replace an element in place.
    ReplaceElements,
    /// The repository cannot delete elements.
    DeleteKeys,
    /// A document holding several keys: one cannot be signed on its own.
    SignKeyInSharedDocument,
    /// A document holding several keys: they cannot be rewrapped one at a time.
    RewrapKeyInSharedDocument,
    /// A document holding several elements: keys in it are deleted by hand.
    DeleteFromSharedDocument,
}

/// An operation a store or document does not support, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The repository or stored element (never credentials).
    pub location: String,
    /// What it cannot do.
    pub kind: UnsupportedKind,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = &self.location;
        match self.kind {
            UnsupportedKind::ReplaceElements => write!(
                f,
                "the repository at {location} does not support replacing elements"
            ),
            UnsupportedKind::DeleteKeys => write!(
                f,
                "the repository at {location} does not support deleting keys"
            ),
            UnsupportedKind::SignKeyInSharedDocument => write!(
                f,
                "{location} holds several keys in one document; a key in it cannot be signed on its own"
            ),
            UnsupportedKind::RewrapKeyInSharedDocument => write!(
                f,
                "{location} holds several keys in one document; rewrap cannot replace them one at a time"
            ),
            UnsupportedKind::DeleteFromSharedDocument => write!(
                f,
                "{location} holds several elements; delete keys from it by hand"
            ),
        }
    }
}
