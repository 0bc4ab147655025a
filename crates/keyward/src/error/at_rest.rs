//! Why a master key could not be encrypted or decrypted at rest.

use std::sync::Arc;

use super::Base64Error;

/// Why a master key could not be encrypted or decrypted at rest
/// ([`Error::AtRest`](crate::error::Error::AtRest), and the cause of
/// [`Error::KeyDecryptionFailed`](crate::error::Error::KeyDecryptionFailed)). Never secret material:
/// the messages name parts of the element, never its text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AtRestError {
    /// The encrypted element is not what its decryptor reads (not XML, a part missing or out
    /// of range).
    #[error("{0}")]
    Malformed(&'static str),
    /// A part of the encrypted element is missing.
    #[error("{element} lacks <{part}>")]
    MissingPart {
        /// The element ("the KEK-encrypted element").
        element: &'static str,
        /// The missing child.
        part: &'static str,
    },
    /// A part of the element is not base64.
    #[error("{what} is not base64: {source}")]
    NotBase64 {
        /// The part ("the X509Certificate").
        what: &'static str,
        /// What is wrong with it.
        source: Base64Error,
    },
    /// A child of the encrypted element is not base64.
    #[error("{element}'s <{part}> is not base64: {source}")]
    PartNotBase64 {
        /// The element ("the KEK-encrypted element").
        element: &'static str,
        /// The child.
        part: &'static str,
        /// What is wrong with it.
        source: Base64Error,
    },
    /// The element names a key-encryption key that is not configured, or the one it names
    /// does not open it.
    #[error("{}", kek_message(kek_id, *configured))]
    Kek {
        /// The KEK id the element names (never the key).
        kek_id: String,
        /// Whether a KEK with that id is configured (and failed to open the element).
        configured: bool,
    },
    /// The configured secret does not open the element: a wrong passphrase or certificate,
    /// or tampering.
    #[error("{0}")]
    WrongSecret(&'static str),
    /// The decrypted element is not UTF-8.
    #[error("the decrypted element is not UTF-8")]
    NotUtf8,
    /// A primitive refused its input while encrypting or deriving.
    #[error("{0}")]
    Primitive(&'static str),
    /// No configured decryptor reads the element's `decryptorType`.
    #[error("no configured decryptor reads it")]
    NoDecryptor,
    /// A configured decryptor (possibly the application's own) failed with this error.
    #[error("{0}")]
    Decryptor(Arc<crate::error::Error>),
}

fn kek_message(kek_id: &str, configured: bool) -> String {
    if configured {
        format!("the key-encryption key {kek_id} does not open this element (tampered?)")
    } else {
        format!("no configured key-encryption key has the id {kek_id:?}")
    }
}

impl From<AtRestError> for crate::error::Error {
    fn from(error: AtRestError) -> Self {
        crate::error::Error::AtRest(error)
    }
}
