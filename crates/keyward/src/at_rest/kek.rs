//! Key-encryption keys: AES-256-GCM wrapping of `<masterKey>`, the KEK's id in the element.

use std::fmt;

use super::{nonce_and_value, parse, seal, EncryptedElement, XmlDecryptor, XmlEncryptor};
use crate::element_tree::XmlElement;
use crate::encoding::{base64_standard_decode, base64_standard_encode};
use crate::error::AtRestError;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The `decryptorType` of KEK-wrapped master keys (keyward's own; .NET cannot read them).
pub const KEK_DECRYPTOR_TYPE: &str = "Keyward.XmlEncryption.KekXmlDecryptor, Keyward";

/// A 32-byte key-encryption key and its id (derived from the key, so every node agrees).
pub struct Kek {
    id: String,
    key: Secret,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek({})", self.id)
    }
}

impl Kek {
    /// A KEK from 32 bytes.
    ///
    /// # Errors
    /// [`Error::Configuration`] unless the key is 32 bytes.
    pub fn new(key: Secret) -> Result<Self> {
        if key.len() != 32 {
            return Err(Error::Configuration(crate::error::ConfigError::KekLength {
                len: key.len(),
            }));
        }
        let id = kek_id(key.expose());
        Ok(Self { id, key })
    }

    /// A KEK from base64 text (a file's or an environment variable's content).
    ///
    /// # Errors
    /// [`Error::Configuration`] for text that is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = zeroize::Zeroizing::new(text.trim().to_owned());
        let key = match base64_standard_decode(&bytes) {
            Ok(key) => key,
            // Also base64url, or standard base64 without padding.
            Err(standard) => crate::encoding::base64url_decode(&bytes).map_err(|_| {
                Error::Configuration(crate::error::ConfigError::KekNotBase64(standard))
            })?,
        };
        Self::new(Secret::new(key))
    }

    /// A fresh random KEK.
    pub fn generate() -> Self {
        let key = Secret::random(32);
        Self {
            id: kek_id(key.expose()),
            key,
        }
    }

    /// The KEK's id (16 hex digits of a SHA-256 of the key, domain-separated).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as base64 (to write a KEK file once).
    pub fn to_base64(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(base64_standard_encode(self.key.expose()))
    }
}

fn kek_id(key: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"keyward key-encryption key id\0")
        .chain_update(key)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// KEKs: the first encrypts, every one decrypts (so KEKs can rotate).
///
/// ```
/// use keyward::at_rest::{Kek, KekRing, XmlDecryptor, XmlEncryptor};
/// let (old, new) = (Kek::generate(), Kek::generate());
/// let (old_b64, new_b64) = (old.to_base64(), new.to_base64());
/// let master = keyward::store::XmlElement::new("masterKey").child(keyward::store::XmlElement::new("value").text("c2VjcmV0"));
/// let id = keyward::KeyId::random();
/// let sealed = KekRing::new(vec![old]).unwrap().encrypt(id, &master).unwrap();
/// let text = sealed.element.to_compact();
/// // After rotation the new KEK encrypts and the old one still decrypts.
/// let rotated = KekRing::new(vec![
///     Kek::from_base64(&new_b64).unwrap(),
///     Kek::from_base64(&old_b64).unwrap(),
/// ]).unwrap();
/// assert_eq!(*rotated.decrypt(id, &text).unwrap(), master.to_compact());
/// assert!(!rotated.is_current(id, &sealed.decryptor_type, &text));
/// // Bound to its key: the same element does not open under another key id.
/// assert!(rotated.decrypt(keyward::KeyId::random(), &text).is_err());
/// ```
#[derive(Debug)]
pub struct KekRing {
    keks: Vec<Kek>,
}

impl KekRing {
    /// A ring of KEKs; the first encrypts.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty list.
    pub fn new(keks: Vec<Kek>) -> Result<Self> {
        if keks.is_empty() {
            return Err(Error::Configuration(crate::error::ConfigError::NoKek));
        }
        Ok(Self { keks })
    }
}

impl XmlEncryptor for KekRing {
    fn encrypt(
        &self,
        key_id: crate::key_id::KeyId,
        master_key: &XmlElement,
    ) -> Result<EncryptedElement> {
        let kek = &self.keks[0];
        let plaintext = zeroize::Zeroizing::new(master_key.to_compact());
        let (nonce, sealed) = seal::seal(
            kek.key.expose(),
            aad(&kek.id, key_id).as_bytes(),
            plaintext.as_bytes(),
        )
        .ok_or_else(|| Error::EncryptionFailed("AES-256-GCM refused to seal the master key"))?;
        Ok(EncryptedElement {
            decryptor_type: KEK_DECRYPTOR_TYPE.into(),
            element: XmlElement::new("encryptedKey")
                .attr("kekId", kek.id.clone())
                .attr("algorithm", "AES-256-GCM")
                .comment(" This key is encrypted with a keyward key-encryption key. ")
                .child(XmlElement::new("nonce").text(base64_standard_encode(&nonce)))
                .child(XmlElement::new("value").text(base64_standard_encode(&sealed))),
        })
    }

    fn is_current(
        &self,
        _key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> bool {
        super::type_name_of(decryptor_type) == super::type_name_of(KEK_DECRYPTOR_TYPE)
            && parse(encrypted).is_some_and(|doc| {
                doc.root_element().attribute("kekId") == Some(self.keks[0].id.as_str())
            })
    }
}

/// Associated data: the decryptor type, the KEK id and the key id (a wrapped secret cannot
/// be moved to another key).
fn aad(kek_id: &str, key_id: crate::key_id::KeyId) -> String {
    format!(
        "{}|{kek_id}|{key_id}",
        super::type_name_of(KEK_DECRYPTOR_TYPE)
    )
}

impl XmlDecryptor for KekRing {
    fn type_name(&self) -> &str {
        super::type_name_of(KEK_DECRYPTOR_TYPE)
    }

    fn decrypt(
        &self,
        key_id: crate::key_id::KeyId,
        encrypted: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        let doc = parse(encrypted).ok_or(Error::AtRest(AtRestError::Malformed(
            "the KEK-encrypted element is not XML",
        )))?;
        let root = doc.root_element();
        let kek_id = root.attribute("kekId").unwrap_or("");
        let kek_error = |configured| {
            Error::AtRest(AtRestError::Kek {
                kek_id: kek_id.to_owned(),
                configured,
            })
        };
        let kek = self
            .keks
            .iter()
            .find(|k| k.id == kek_id)
            .ok_or_else(|| kek_error(false))?;
        let (nonce, sealed) = nonce_and_value(root, "the KEK-encrypted element")?;
        let plaintext = seal::open(
            kek.key.expose(),
            aad(kek_id, key_id).as_bytes(),
            &nonce,
            &sealed,
        )
        .ok_or_else(|| kek_error(true))?;
        let text = String::from_utf8(plaintext.to_vec())
            .map_err(|_| Error::AtRest(AtRestError::NotUtf8))?;
        Ok(zeroize::Zeroizing::new(text))
    }
}
