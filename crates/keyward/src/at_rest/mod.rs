//! Master keys encrypted at rest: .NET's element shape, where `<masterKey>` is replaced by
//! `<encryptedSecret decryptorType="…">{encrypted element}</encryptedSecret>`, and keyward's
//! encryptors: key-encryption keys ([`KekRing`]) and passphrases ([`PassphraseEncryptor`]).
//!
//! The element formats are documented in `docs/at-rest.md`.

mod certificate;
mod describe;
mod kek;
mod passphrase;
mod seal;
pub(crate) mod signature;

use std::fmt::Debug;

pub use crate::key::signature_xml::{SIGNATURE_ALGORITHM, SIGNATURE_ELEMENT, SIGNATURE_NAMESPACE};
pub use certificate::{Certificate, CertificateEncryptor, ENCRYPTED_XML_DECRYPTOR_TYPE};
pub use kek::{Kek, KekRing, KEK_DECRYPTOR_TYPE};
pub use passphrase::{PassphraseEncryptor, PASSPHRASE_DECRYPTOR_TYPE};

use crate::element_tree::XmlElement;
use crate::error::{AtRestError, Result};

/// An encrypted `<masterKey>`: the element to place inside `<encryptedSecret>` and the
/// `decryptorType` that reads it back.
#[derive(Debug, Clone)]
pub struct EncryptedElement {
    /// Written as `decryptorType`; readers pick their decryptor by the type name before the
    /// first comma.
    pub decryptor_type: String,
    /// The encrypted element.
    pub element: XmlElement,
}

/// Encrypts a key's `<masterKey>` element before it is stored.
pub trait XmlEncryptor: Send + Sync + Debug {
    /// Encrypts the element of key `key_id` (its compact text is the secret). keyward's own
    /// formats bind the key id, so a secret cannot be moved to another key.
    ///
    /// # Errors
    /// When encryption fails.
    fn encrypt(
        &self,
        key_id: crate::key_id::KeyId,
        master_key: &XmlElement,
    ) -> Result<EncryptedElement>;

    /// Whether an element already encrypted (`decryptor_type`, `encrypted` as XML text) is
    /// encrypted the way this encryptor would (so `keys rewrap` can skip it).
    fn is_current(
        &self,
        key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> bool;

    /// The certificates, when this encryptor encrypts to certificates (keyward then signs the
    /// keys it encrypts with them).
    #[doc(hidden)]
    fn as_certificates(&self) -> Option<&CertificateEncryptor> {
        None
    }
}

/// Decrypts the element inside `<encryptedSecret>` back to the `<masterKey>` element.
pub trait XmlDecryptor: Send + Sync + Debug {
    /// The full type name this decryptor answers to (compared with the `decryptorType`
    /// attribute up to its first comma).
    fn type_name(&self) -> &str;

    /// Decrypts `encrypted` (the XML text of the element inside `<encryptedSecret>`) and
    /// returns the `<masterKey>` element's XML text.
    ///
    /// # Errors
    /// When the element is malformed or this decryptor's keys cannot open it; the message
    /// never contains secret material.
    fn decrypt(
        &self,
        key_id: crate::key_id::KeyId,
        encrypted: &str,
    ) -> Result<zeroize::Zeroizing<String>>;

    /// The certificates, when this decryptor decrypts with certificates (keyward then checks
    /// the signatures of certificate-encrypted keys with them).
    #[doc(hidden)]
    fn as_certificates(&self) -> Option<&CertificateEncryptor> {
        None
    }
}

/// The type name of a `decryptorType` value: the part before the first comma, trimmed.
pub(crate) fn type_name_of(decryptor_type: &str) -> &str {
    decryptor_type.split(',').next().unwrap_or("").trim()
}

/// The `<encryptedSecret>` wrapper .NET writes around an encrypted element.
pub(crate) fn encrypted_secret(encrypted: EncryptedElement) -> XmlElement {
    let mut inner = encrypted.element;
    if inner.attribute("xmlns").is_none() {
        // The wrapper's default namespace must not leak onto the encrypted element.
        inner = inner.attr("xmlns", "");
    }
    XmlElement::new("encryptedSecret")
        .attr("decryptorType", encrypted.decryptor_type)
        .attr("xmlns", crate::key::xml::DATA_PROTECTION_NAMESPACE)
        .child(inner)
}

/// Reads `<nonce>` and `<value>` (base64, whitespace and comments inside ignored) of an
/// encrypted element; `what` names the element in errors ("the KEK-encrypted element").
///
/// # Errors
/// Which child is missing or not base64, and why.
fn nonce_and_value(
    node: roxmltree::Node<'_, '_>,
    what: &'static str,
) -> std::result::Result<(Vec<u8>, Vec<u8>), AtRestError> {
    let read = |part: &'static str| {
        let child = node
            .children()
            .find(|c| c.is_element() && c.has_tag_name(part))
            .ok_or(AtRestError::MissingPart {
                element: what,
                part,
            })?;
        crate::encoding::base64_standard_decode(&element_text(child)).map_err(|source| {
            AtRestError::PartNotBase64 {
                element: what,
                part,
                source,
            }
        })
    };
    Ok((read("nonce")?, read("value")?))
}

/// All text inside an element (CDATA included, comments and processing instructions left
/// out), as .NET's `(string)XElement` reads it.
pub(crate) fn element_text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

/// Parses the encrypted element's text (DTDs refused).
fn parse(encrypted: &str) -> Option<roxmltree::Document<'_>> {
    crate::element_tree::parse_limited(encrypted).ok()
}

/// A sink called with every new key's `<masterKey>` element before it is encrypted (for
/// example to seal a copy to an offline escrow KEK or certificate).
pub type EscrowSink = std::sync::Arc<dyn Fn(crate::key_id::KeyId, &XmlElement) + Send + Sync>;

/// A provider's at-rest configuration and its cache of decrypted master keys.
#[derive(Default)]
pub(crate) struct AtRest {
    pub(crate) encryptor: Option<std::sync::Arc<dyn XmlEncryptor>>,
    pub(crate) decryptors: Vec<std::sync::Arc<dyn XmlDecryptor>>,
    pub(crate) require_encryption: bool,
    pub(crate) escrow: Option<EscrowSink>,
    /// Whether certificate-encrypted keys without a valid keyward signature are used even
    /// where encryption at rest is required (rings .NET nodes keep writing to).
    pub(crate) accept_unsigned_certificate_keys: bool,
    /// Decryption results by key id, with a fingerprint of what was decrypted: a refresh
    /// never decrypts the same element twice, successes and failures alike (so a hostile
    /// element costs one attempt, not one per refresh).
    /// Replaced, never locked, in a forked child (the parent's refresh thread may have held
    /// it at the fork, decrypting).
    pub(crate) cache: crate::process::Replaceable<
        std::collections::HashMap<crate::key_id::KeyId, CachedDecryption>,
    >,
    /// Keys already reported as stored unencrypted (one warning per key and process).
    pub(crate) plaintext_seen:
        crate::process::Replaceable<std::collections::HashSet<crate::key_id::KeyId>>,
}

impl Debug for AtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtRest")
            .field("encryptor", &self.encryptor)
            .field("decryptors", &self.decryptors)
            .field("require_encryption", &self.require_encryption)
            .field("escrow", &self.escrow.is_some())
            .field(
                "accept_unsigned_certificate_keys",
                &self.accept_unsigned_certificate_keys,
            )
            .finish_non_exhaustive()
    }
}

/// One cached decryption: what was decrypted (SHA-256 of type and element) and the result.
pub(crate) struct CachedDecryption {
    fingerprint: [u8; 32],
    result: std::result::Result<crate::secret::Secret, AtRestError>,
}

fn fingerprint(decryptor_type: &str, encrypted: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(decryptor_type.as_bytes())
        .chain_update([0])
        .chain_update(encrypted.as_bytes())
        .finalize()
        .into()
}

static PLAINTEXT_WARNING: std::sync::Once = std::sync::Once::new();

impl AtRest {
    /// Whether plaintext master keys are refused: encryption at rest is required, or an
    /// encryptor or a decryptor is configured (the ring is meant to be encrypted, so a
    /// plaintext key came from elsewhere: a read-only consumer with only a decryptor must not
    /// adopt a planted key either).
    pub(crate) fn refuses_plaintext(&self) -> bool {
        self.require_encryption || self.encryptor.is_some() || !self.decryptors.is_empty()
    }

    /// Notes (at debug level, once per key and process) that a key is stored unencrypted:
    /// reading a ring .NET wrote is no news; key creation and `doctor` say it once.
    pub(crate) fn note_plaintext_key(&self, key_id: crate::key_id::KeyId) {
        let first = self.plaintext_seen.with(|seen| seen.insert(key_id));
        if first {
            tracing::debug!(%key_id, "the key is stored unencrypted at rest (anyone who can read the key store can forge and read payloads); configure a KEK, passphrase or certificate and run `keyward keys rewrap`");
        }
    }

    /// Decrypts a master key with the decryptor its `decryptorType` names: `None` when no
    /// such decryptor is configured, `Some(Err(reason))` when it fails.
    pub(crate) fn decrypt(
        &self,
        key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> Option<std::result::Result<crate::secret::Secret, AtRestError>> {
        let print = fingerprint(decryptor_type, encrypted);
        self.cache.with(|cache| {
            if let Some(hit) = cache.get(&key_id).filter(|c| c.fingerprint == print) {
                return Some(hit.result.clone());
            }
            let wanted = type_name_of(decryptor_type);
            let decryptor = self.decryptors.iter().find(|d| d.type_name() == wanted)?;
            let result = decryptor
                .decrypt(key_id, encrypted)
                .map_err(|e| AtRestError::Decryptor(std::sync::Arc::new(e)))
                .and_then(|xml| crate::key::xml::master_key_from_xml(&xml));
            cache.insert(
                key_id,
                CachedDecryption {
                    fingerprint: print,
                    result: result.clone(),
                },
            );
            Some(result)
        })
    }

    /// In a forked child: fresh locks for the caches (keeping what they held when no vanished
    /// thread of the parent held them).
    pub(crate) fn after_fork(&self) {
        self.cache.replace_after_fork();
        self.plaintext_seen.replace_after_fork();
    }

    /// The `<masterKey>` element held in `secret` (plain, or decrypted with a configured
    /// decryptor), and whether `encryptor` already encrypts it as it would.
    pub(crate) fn master_key_of(
        &self,
        key_id: crate::key_id::KeyId,
        secret: &XmlElement,
        encryptor: &dyn XmlEncryptor,
    ) -> std::result::Result<Option<XmlElement>, AtRestError> {
        self.master_key_unless(key_id, secret, |decryptor_type, inner| {
            encryptor.is_current(key_id, decryptor_type, inner)
        })
    }

    /// The `<masterKey>` element held in `secret`, plain or decrypted with a configured
    /// decryptor.
    pub(crate) fn open_master_key(
        &self,
        key_id: crate::key_id::KeyId,
        secret: &XmlElement,
    ) -> std::result::Result<XmlElement, AtRestError> {
        self.master_key_unless(key_id, secret, |_, _| false)
            .map(|master| master.unwrap_or_else(|| secret.clone()))
    }

    fn master_key_unless(
        &self,
        key_id: crate::key_id::KeyId,
        secret: &XmlElement,
        current: impl Fn(&str, &str) -> bool,
    ) -> std::result::Result<Option<XmlElement>, AtRestError> {
        if secret.name() == "masterKey" {
            return Ok(Some(secret.clone()));
        }
        let decryptor_type = secret.attribute("decryptorType").unwrap_or("");
        let inner = secret
            .children()
            .iter()
            .find_map(|c| match c {
                crate::element_tree::XmlNode::Element(e) => Some(e.to_compact()),
                _ => None,
            })
            .ok_or(AtRestError::Malformed("the <encryptedSecret> is empty"))?;
        if current(decryptor_type, &inner) {
            return Ok(None);
        }
        let wanted = type_name_of(decryptor_type);
        let decryptor = self
            .decryptors
            .iter()
            .find(|d| d.type_name() == wanted)
            .ok_or(AtRestError::NoDecryptor)?;
        let xml = decryptor
            .decrypt(key_id, &inner)
            .map_err(|e| AtRestError::Decryptor(std::sync::Arc::new(e)))?;
        crate::element_tree::parse_element(&xml)
            .map(Some)
            .map_err(|e| AtRestError::Decryptor(std::sync::Arc::new(e)))
    }

    /// The certificates that decrypt certificate-encrypted keys (and check their signatures):
    /// those of the first decryptor answering to .NET's `EncryptedXmlDecryptor`.
    pub(crate) fn certificate_decryptor(&self) -> Option<&CertificateEncryptor> {
        let wanted = type_name_of(ENCRYPTED_XML_DECRYPTOR_TYPE);
        self.decryptors
            .iter()
            .find(|d| d.type_name() == wanted)
            .and_then(|d| d.as_certificates())
    }

    /// Whether certificate-encrypted keys without a valid signature are used: encryption at
    /// rest is not required, or the operator accepts them.
    pub(crate) fn accepts_unsigned_certificate_keys(&self) -> bool {
        !self.require_encryption || self.accept_unsigned_certificate_keys
    }

    /// keyward's signature of a key, when `secret` (its `<masterKey>` or `<encryptedSecret>`)
    /// is encrypted to a certificate: made with the first certificate of the encryptor (the
    /// one new keys are encrypted to), else of the certificate decryptor. `None` for keys not
    /// encrypted to a certificate, or with no certificate configured.
    ///
    /// # Errors
    /// When the certificate's key cannot sign.
    pub(crate) fn sign_if_certificate(
        &self,
        key: &signature::SignedKey<'_>,
        secret: &XmlElement,
    ) -> Result<Option<XmlElement>> {
        if !is_certificate_secret(secret) {
            return Ok(None);
        }
        let signer = self
            .encryptor
            .as_ref()
            .and_then(|e| e.as_certificates())
            .or_else(|| self.certificate_decryptor());
        match signer {
            Some(certificates) => certificates.sign_key(key).map(Some),
            None => Ok(None),
        }
    }

    /// Drops cached secrets of keys that are gone.
    pub(crate) fn forget(&self, ids: impl Iterator<Item = crate::key_id::KeyId>) {
        self.cache.with(|cache| {
            for id in ids {
                cache.remove(&id);
            }
        });
    }

    /// The element to store in place of `<masterKey>`: encrypted when an encryptor is
    /// configured, after the escrow sink has seen the plaintext element.
    pub(crate) fn protect_master_key(
        &self,
        key_id: crate::key_id::KeyId,
        master_key: XmlElement,
    ) -> Result<XmlElement> {
        if let Some(escrow) = &self.escrow {
            escrow(key_id, &master_key);
        }
        match &self.encryptor {
            Some(encryptor) => Ok(encrypted_secret(encryptor.encrypt(key_id, &master_key)?)),
            None if self.require_encryption => Err(crate::error::Error::EncryptionRequired(key_id)),
            None => {
                // Warned here: reading it back needs no second warning.
                self.plaintext_seen.with(|seen| seen.insert(key_id));
                PLAINTEXT_WARNING.call_once(|| {
                    tracing::warn!(%key_id, "no XML encryptor configured: the key is stored unencrypted (as .NET does without one); configure a KEK, passphrase or certificate, or require_encryption_at_rest()");
                });
                Ok(master_key)
            }
        }
    }
}

impl crate::key::MasterKeyOpener for AtRest {
    fn open(
        &self,
        key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> Option<std::result::Result<crate::secret::Secret, AtRestError>> {
        self.decrypt(key_id, decryptor_type, encrypted)
    }

    fn refuses_plaintext(&self) -> bool {
        AtRest::refuses_plaintext(self)
    }

    fn note_plaintext_key(&self, key_id: crate::key_id::KeyId) {
        AtRest::note_plaintext_key(self, key_id);
    }

    fn protection(&self, decryptor_type: &str, encrypted: &str) -> crate::key::AtRestProtection {
        describe::protection(decryptor_type, encrypted)
    }

    fn signature(
        &self,
        record: &crate::key::KeyRecord,
        decryptor_type: &str,
        master_key: &crate::secret::Secret,
    ) -> crate::key::KeySignature {
        use crate::key::KeySignature;
        if type_name_of(decryptor_type) != type_name_of(ENCRYPTED_XML_DECRYPTOR_TYPE) {
            return KeySignature::NotApplicable;
        }
        let Some(algorithm) = record.algorithm else {
            return KeySignature::NotApplicable;
        };
        let key = signature::SignedKey {
            id: record.id,
            creation: record.creation,
            activation: record.activation,
            expiration: record.expiration,
            algorithm,
            master_key: master_key.expose(),
        };
        match self.certificate_decryptor() {
            Some(certificates) => certificates.verify_key(record.signature.as_ref(), &key),
            None => KeySignature::Invalid {
                reason: "no configured certificate can check it",
            },
        }
    }

    fn accepts_unsigned_certificate_keys(&self) -> bool {
        AtRest::accepts_unsigned_certificate_keys(self)
    }
}

/// Whether a key's secret element is an `<encryptedSecret>` for .NET's `EncryptedXmlDecryptor`.
pub(crate) fn is_certificate_secret(secret: &XmlElement) -> bool {
    secret.name().ends_with("encryptedSecret")
        && type_name_of(secret.attribute("decryptorType").unwrap_or(""))
            == type_name_of(ENCRYPTED_XML_DECRYPTOR_TYPE)
}
