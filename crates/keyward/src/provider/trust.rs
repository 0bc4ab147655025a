//! Trusting a certificate-encrypted key keyward did not sign (one a .NET node wrote): checked
//! against a configured certificate, then signed.

use crate::error::{Error, Result};
use crate::key::{xml, KeyDocument, KeyId};
use crate::provider::Provider;

/// The key as the ring reads it and its master key, for signing: `None` for a key whose
/// descriptor names no algorithm keyward knows.
///
/// # Errors
/// When the element cannot be read or the `<masterKey>` holds no base64 value.
pub(super) fn signed_fields(
    stored: &crate::repository::StoredElement,
    master: &crate::element_tree::XmlElement,
) -> Result<Option<(crate::key::KeyRecord, crate::secret::Secret)>> {
    let record = xml::parse_document(&stored.xml, &stored.location)?
        .into_iter()
        .find_map(|element| match element {
            xml::RingElement::Key(record) => Some(record),
            _ => None,
        });
    let Some(record) = record.filter(|r| r.algorithm.is_some()) else {
        return Ok(None);
    };
    let master_key = xml::master_key_from_xml(&zeroize::Zeroizing::new(master.to_compact()))
        .map_err(|reason| Error::KeyDecryptionFailed {
            key_id: record.id,
            decryptor_type: "(the decrypted master key)".into(),
            reason,
        })?;
    Ok(Some((*record, master_key)))
}

/// What a key's signature covers.
pub(super) fn signed_key<'a>(
    record: &crate::key::KeyRecord,
    master_key: &'a crate::secret::Secret,
) -> crate::at_rest::signature::SignedKey<'a> {
    crate::at_rest::signature::SignedKey {
        id: record.id,
        creation: record.creation,
        activation: record.activation,
        expiration: record.expiration,
        // Callers pass records with an algorithm (`signed_fields`).
        algorithm: record
            .algorithm
            .unwrap_or(crate::crypto::Algorithm::AES_256_CBC_HMACSHA256),
        master_key: master_key.expose(),
    }
}

impl Provider {
    /// Trusts a certificate-encrypted key that keyward did not sign (one a .NET node wrote):
    /// checks that a configured certificate decrypts it, then signs it with the first
    /// configured certificate and stores it again (the element keeps everything else, so .NET
    /// reads it as before). Returns false when the key already carries a valid signature
    /// (nothing is written).
    ///
    /// Trust only keys you know a .NET node of the farm wrote: a key planted by a store writer
    /// becomes as trusted as keyward's own.
    ///
    /// # Errors
    /// [`Error::Configuration`] without a certificate; [`Error::KeyNotFound`] when the store
    /// holds no such key; [`Error::InvalidArgument`] for a key not encrypted to a certificate;
    /// [`Error::KeyDecryptionFailed`] when no configured certificate decrypts it;
    /// [`Error::UnsupportedAlgorithm`]; a read-only provider; repository errors.
    pub fn trust_certificate_key(&self, key_id: KeyId) -> Result<bool> {
        use crate::key::KeyMaterial;
        self.shared.check_writable()?;
        let certificates = self.shared.at_rest.certificate_decryptor().ok_or_else(|| {
            Error::Configuration(crate::error::ConfigError::TrustNeedsCertificate)
        })?;
        let _lock = self.shared.repository.lock_for_generation()?;
        let (mut found, mut signed_now) = (false, false);
        for stored in self.shared.repository.load_elements()? {
            let mut document = KeyDocument::parse(&stored.xml)?;
            if document.is_container() {
                let holds = xml::parse_document(&stored.xml, &stored.location)?
                    .iter()
                    .any(|e| matches!(e, xml::RingElement::Key(r) if r.id == key_id));
                if holds {
                    return Err(Error::Unsupported(crate::error::Unsupported {
                        location: stored.location.clone(),
                        kind: crate::error::UnsupportedKind::SignKeyInSharedDocument,
                    }));
                }
                continue;
            }
            if !document.is_key() || document.key_id() != Some(key_id) {
                continue;
            }
            let record = xml::parse_document(&stored.xml, &stored.location)?
                .into_iter()
                .find_map(|element| match element {
                    xml::RingElement::Key(record) => Some(record),
                    _ => None,
                })
                .ok_or_else(|| Error::KeyXml {
                    location: stored.location.clone(),
                    reason: "the key's id, dates or structure cannot be read".into(),
                })?;
            let not_certificate = || {
                Error::InvalidArgument(crate::error::ArgumentError::NotCertificateEncrypted(key_id))
            };
            let KeyMaterial::Encrypted {
                decryptor_type,
                encrypted_xml,
            } = &record.material
            else {
                return Err(not_certificate());
            };
            if crate::at_rest::type_name_of(decryptor_type)
                != crate::at_rest::type_name_of(crate::at_rest::ENCRYPTED_XML_DECRYPTOR_TYPE)
            {
                return Err(not_certificate());
            }
            if record.algorithm.is_none() {
                return Err(Error::UnsupportedAlgorithm {
                    key_id,
                    detail: "its descriptor names no algorithm keyward knows".into(),
                });
            }
            let failed = |reason: crate::error::AtRestError| Error::KeyDecryptionFailed {
                key_id,
                decryptor_type: decryptor_type.clone(),
                reason,
            };
            let xml_text =
                crate::at_rest::XmlDecryptor::decrypt(certificates, key_id, encrypted_xml)
                    .map_err(|e| {
                        failed(crate::error::AtRestError::Decryptor(std::sync::Arc::new(e)))
                    })?;
            let master_key = xml::master_key_from_xml(&xml_text).map_err(failed)?;
            let signed = signed_key(&record, &master_key);
            if !certificates
                .verify_key(record.signature.as_ref(), &signed)
                .needs_trust()
            {
                found = true;
                continue;
            }
            document.set_signature(Some(certificates.sign_key(&signed)?));
            self.shared
                .repository
                .replace_element(&stored, document.element())?;
            tracing::warn!(%key_id, "certificate-encrypted key trusted: signed with the certificate");
            // Every stored copy of the key is signed (a retried write may have stored two).
            found = true;
            signed_now = true;
        }
        drop(_lock);
        if !found {
            return Err(Error::KeyNotFound {
                key_id,
                ring_location: self.shared.repository.location(),
            });
        }
        if signed_now {
            self.shared.refresh()?;
        }
        Ok(signed_now)
    }
}
