//! Re-encrypting the ring with the current XML encryptor, or storing it in the clear again:
//! one key at a time, each replaced atomically.

use crate::error::{Error, Result};
use crate::key::{KeyDocument, KeyId};
use crate::provider::trust::{signed_fields, signed_key};
use crate::provider::Provider;

/// What [`Provider::rewrap_keys`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrap {
    /// Keys re-encrypted with the current encryptor.
    pub rewrapped: Vec<KeyId>,
    /// Keys already encrypted as the current encryptor would.
    pub unchanged: Vec<KeyId>,
    /// Plaintext keys created after the ring's first encrypted key: left as they are (a
    /// store writer may have planted them). Name them in `trusted` to rewrap them.
    pub suspect: Vec<KeyId>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Provider {
    /// Re-encrypts every key with the current XML encryptor: each key is decrypted with any
    /// configured decryptor (or read in the clear) and replaced atomically, one at a time, so
    /// an interrupted rewrap loses nothing and a rerun finishes the job. `progress` is called
    /// with (done, total) after each key.
    ///
    /// # Errors
    /// [`Error::Configuration`] without an encryptor; [`Error::KeyDecryptionFailed`] naming a
    /// key no configured decryptor opens; repository errors. Keys done before an error stay
    /// done.
    pub fn rewrap_keys(&self, dry_run: bool, progress: impl FnMut(usize, usize)) -> Result<Rewrap> {
        self.rewrap_keys_trusting(dry_run, &[], progress)
    }

    /// Stores every key's master key in the clear again, as .NET writes it without an XML
    /// encryptor: for a ring that ASP.NET Core nodes must read after it was wrapped with a
    /// keyward KEK or passphrase. Anyone who can read the store can then forge and read
    /// payloads; callers confirm this first. Keys already in the clear are left as they are.
    /// This provider's own ring is not re-read: with a decryptor configured it would refuse
    /// the plaintext keys; use a provider without one.
    ///
    /// # Errors
    /// [`Error::Configuration`] when this provider requires encryption at rest;
    /// [`Error::KeyDecryptionFailed`] naming a key no configured decryptor opens (keys done
    /// before stay done); a read-only provider; repository errors.
    pub fn unwrap_keys_to_plaintext(&self, dry_run: bool) -> Result<Rewrap> {
        self.shared.check_writable()?;
        let at_rest = &self.shared.at_rest;
        if at_rest.require_encryption {
            return Err(Error::Configuration(
                crate::error::ConfigError::EncryptionRequired,
            ));
        }
        let _lock = self.shared.repository.lock_for_generation()?;
        let mut report = Rewrap {
            dry_run,
            ..Rewrap::default()
        };
        for stored in self.shared.repository.load_elements()? {
            let mut document = KeyDocument::parse(&stored.xml)?;
            if !document.is_key() {
                continue;
            }
            let (Some(id), Some(secret)) = (document.key_id(), document.secret().cloned()) else {
                continue;
            };
            if document.has_plaintext_secret() {
                report.unchanged.push(id);
                continue;
            }
            let master = at_rest
                .open_master_key(id, &secret)
                .map_err(|reason| decryption_failed(id, &secret, reason))?;
            if !dry_run {
                document.replace_secret(master);
                // A signature speaks for certificate-encrypted keys only.
                document.set_signature(None);
                self.shared
                    .repository
                    .replace_element(&stored, document.element())?;
                tracing::info!(key_id = %id, "key stored in the clear");
            }
            report.rewrapped.push(id);
        }
        // No refresh: this provider holds a decryptor, so it refuses the keys it just stored
        // in the clear (as a planted plaintext key); nodes without one read them.
        drop(_lock);
        Ok(report)
    }

    /// [`Provider::rewrap_keys`], also encrypting the plaintext keys named in `trusted`.
    ///
    /// A plaintext key created after the ring's first encrypted key is *suspect*: once
    /// encryption is on, a plaintext key comes from a store writer, not from keyward, and
    /// encrypting it would make a planted key trusted everywhere. Suspect keys are reported in
    /// [`Rewrap::suspect`] and left alone unless their ids are in `trusted`.
    ///
    /// # Errors
    /// As [`Provider::rewrap_keys`].
    pub fn rewrap_keys_trusting(
        &self,
        dry_run: bool,
        trusted: &[KeyId],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Rewrap> {
        self.shared.check_writable()?;
        let at_rest = &self.shared.at_rest;
        let encryptor = at_rest
            .encryptor
            .clone()
            .ok_or_else(|| Error::Configuration(crate::error::ConfigError::RewrapNeedsEncryptor))?;
        let _lock = self.shared.repository.lock_for_generation()?;
        let stored = self.shared.repository.load_elements()?;
        let mut report = Rewrap {
            dry_run,
            ..Rewrap::default()
        };
        let mut keys = Vec::new();
        for stored in stored {
            let document = KeyDocument::parse(&stored.xml)?;
            if document.is_key() {
                keys.push((stored, document));
            } else if document.is_container() {
                // A container (Azure Blob's <repository>) cannot be rewrapped key by key.
                return Err(Error::Unsupported(crate::error::Unsupported {
                    location: stored.location.clone(),
                    kind: crate::error::UnsupportedKind::RewrapKeyInSharedDocument,
                }));
            }
        }
        // The creation of the first key stored encrypted: plaintext keys created after it did
        // not come from an encrypting keyward node.
        let encrypted_since = keys
            .iter()
            .filter(|(_, document)| !document.has_plaintext_secret())
            .filter_map(|(_, document)| document.creation())
            .min();
        let total = keys.len();
        for (done, (stored, mut document)) in keys.into_iter().enumerate() {
            let id: KeyId = document.key_id().ok_or_else(|| Error::KeyXml {
                location: stored.location.clone(),
                reason: "a key without a valid id".into(),
            })?;
            let suspect = document.has_plaintext_secret()
                && !trusted.contains(&id)
                && encrypted_since
                    .is_some_and(|since| document.creation().is_none_or(|c| c > since));
            if suspect {
                tracing::warn!(key_id = %id, "a plaintext key created after the ring's first encrypted key is not rewrapped (it may have been planted); name it to trust it");
                report.suspect.push(id);
                progress(done + 1, total);
                continue;
            }
            let Some(secret) = document.secret().cloned() else {
                return Err(Error::KeyXml {
                    location: stored.location.clone(),
                    reason: "no <masterKey> or <encryptedSecret> in the descriptor".into(),
                });
            };
            let master = at_rest
                .master_key_of(id, &secret, encryptor.as_ref())
                .map_err(|reason| decryption_failed(id, &secret, reason))?;
            let Some(master) = master else {
                report.unchanged.push(id);
                progress(done + 1, total);
                continue;
            };
            // A certificate-encrypted key without a valid signature may have been planted:
            // re-encrypting (and signing) it would make it trusted everywhere.
            let signed = signed_fields(&stored, &master)?;
            let unsigned = crate::at_rest::is_certificate_secret(&secret)
                && !trusted.contains(&id)
                && signed.as_ref().is_none_or(|(record, master_key)| {
                    at_rest
                        .certificate_decryptor()
                        .map(|c| {
                            c.verify_key(record.signature.as_ref(), &signed_key(record, master_key))
                        })
                        .is_none_or(|s| s.needs_trust())
                });
            if unsigned {
                tracing::warn!(key_id = %id, "a certificate-encrypted key without a valid keyward signature is not rewrapped (it may have been planted); trust it first (`keys trust`) or name it");
                report.suspect.push(id);
                progress(done + 1, total);
                continue;
            }
            if !dry_run {
                let sealed = crate::at_rest::encrypted_secret(encryptor.encrypt(id, &master)?);
                let signature = match &signed {
                    Some((record, master_key)) => {
                        at_rest.sign_if_certificate(&signed_key(record, master_key), &sealed)?
                    }
                    None => None,
                };
                document.replace_secret(sealed);
                document.set_signature(signature);
                self.shared
                    .repository
                    .replace_element(&stored, document.element())?;
                tracing::info!(key_id = %id, "key re-encrypted at rest");
            }
            report.rewrapped.push(id);
            progress(done + 1, total);
        }
        drop(_lock);
        if !dry_run {
            self.shared.refresh()?;
        }
        Ok(report)
    }
}

/// The error for a key whose `secret` no configured decryptor opens.
fn decryption_failed(
    id: KeyId,
    secret: &crate::element_tree::XmlElement,
    reason: crate::error::AtRestError,
) -> Error {
    Error::KeyDecryptionFailed {
        key_id: id,
        decryptor_type: secret
            .attribute("decryptorType")
            .unwrap_or("(none)")
            .to_owned(),
        reason,
    }
}
