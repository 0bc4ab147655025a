//! Operator actions on a provider's ring: create, revoke, delete and rewrap keys. Each one
//! writes to the store (never implicitly), then re-reads the ring.

use std::collections::HashSet;
use std::sync::PoisonError;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::key::{date, xml, ElementContent, KeyDocument, KeyId, KeyInfo};
use crate::provider::janitor::PlannedKey;
use crate::provider::Provider;

/// What [`Provider::delete_keys`] deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deletion {
    /// The keys.
    pub keys: Vec<KeyInfo>,
    /// The stored revocation elements that only concerned deleted or missing keys.
    pub revocations: Vec<String>,
    /// Whether this was a dry run (nothing was deleted).
    pub dry_run: bool,
}

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

/// The key as the ring reads it and its master key, for signing: `None` for a key whose
/// descriptor names no algorithm keyward knows.
///
/// # Errors
/// When the element cannot be read or the `<masterKey>` holds no base64 value.
fn signed_fields(
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
fn signed_key<'a>(
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

    /// Writes a new key with the given activation and expiration, and re-reads the ring.
    ///
    /// # Errors
    /// When the expiration is not after the activation, the provider is read-only, or the
    /// repository fails.
    pub fn create_key(
        &self,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        if expiration <= activation {
            return Err(Error::InvalidArgument(
                crate::error::ArgumentError::ExpirationNotAfterActivation,
            ));
        }
        let now = date::to_ticks_precision(self.shared.now());
        self.refuse_stranding(now)?;
        let activation = date::to_ticks_precision(activation);
        let expiration = date::to_ticks_precision(expiration);
        // The creation date is always the moment of creation, as .NET records it: a mass
        // revocation ("every key created before T") must never take a key made after T.
        let id = self.shared.write_key(now, activation, expiration)?;
        tracing::info!(key_id = %id, activation = %date::format(activation), expiration = %date::format(expiration), "key created");
        self.shared.refresh()?;
        Ok(id)
    }

    /// Refuses to write an encrypted key into a ring that was never encrypted while this node
    /// requires encryption (see `KeyRing::only_refused_plaintext_keys`).
    fn refuse_stranding(&self, now: OffsetDateTime) -> Result<()> {
        let ring = self.shared.ring();
        if ring.only_refused_plaintext_keys(now) {
            return Err(Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: crate::error::NoDefaultKeyReason::NotCreated(
                    crate::error::CreationBlocked::StrandedPlaintext,
                ),
            });
        }
        Ok(())
    }

    /// The key [`Provider::create_next_key`] would write now (`id: None`): activated one
    /// propagation window from now, or now on a ring without a usable default key.
    pub fn plan_next_key(&self, lifetime: time::Duration) -> PlannedKey {
        self.plan_next_key_at(date::to_ticks_precision(self.shared.now()), lifetime)
    }

    fn plan_next_key_at(&self, now: OffsetDateTime, lifetime: time::Duration) -> PlannedKey {
        let has_default = self.shared.ring().default_key_at(now).is_some();
        let activation = if has_default {
            now.saturating_add(self.shared.policy.propagation_window)
        } else {
            now
        };
        PlannedKey {
            id: None,
            activation,
            expiration: activation.saturating_add(lifetime),
        }
    }

    /// Writes a new key for `lifetime`, activated exactly one propagation window after its
    /// creation, so every node reads it before it protects; on a ring without a usable
    /// default key it is activated at once (nothing else could protect meanwhile). Returns the
    /// key as written.
    ///
    /// # Errors
    /// A lifetime below [`MIN_KEY_LIFETIME`](crate::MIN_KEY_LIFETIME), a read-only provider,
    /// repository errors.
    pub fn create_next_key(&self, lifetime: time::Duration) -> Result<PlannedKey> {
        if lifetime < crate::MIN_KEY_LIFETIME {
            return Err(Error::InvalidArgument(
                crate::error::ArgumentError::LifetimeTooShort,
            ));
        }
        let now = date::to_ticks_precision(self.shared.now());
        self.refuse_stranding(now)?;
        let PlannedKey {
            activation,
            expiration,
            ..
        } = self.plan_next_key_at(now, lifetime);
        let id = self.shared.write_key(now, activation, expiration)?;
        tracing::info!(key_id = %id, activation = %date::format(activation), expiration = %date::format(expiration), "key created");
        self.shared.refresh()?;
        Ok(PlannedKey {
            id: Some(id),
            activation,
            expiration,
        })
    }

    /// Revokes one key (.NET-compatible revocation XML). Its payloads then fail with
    /// [`Error::KeyRevoked`]; if it was the default key, a new key is created at once.
    ///
    /// An id the ring does not hold is revoked too (with a warning): nodes that still hold
    /// that key in memory after it vanished from the store must stop using it.
    ///
    /// # Errors
    /// Repository errors; a read-only provider.
    pub fn revoke_key(&self, key_id: KeyId, reason: &str) -> Result<()> {
        self.shared.check_writable()?;
        let ring = self.shared.ring();
        if !ring.contains(&key_id) {
            tracing::warn!(%key_id, location = %ring.location(), "revoking a key the ring does not hold (nodes that hold it in memory stop using it)");
        }
        drop(ring);
        let now = date::to_ticks_precision(self.now());
        let element = xml::revocation_element(key_id, now, reason);
        self.shared
            .repository
            .store_element(&element, &format!("revocation-{key_id}"))?;
        tracing::warn!(%key_id, %reason, "key revoked");
        self.shared.refresh().map(drop)
    }

    /// Revokes every key created strictly before `created_before` (.NET's `RevokeAllKeys`).
    /// If that takes the default key, a new key is created at once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a date in the future (it would revoke the keys created
    /// to replace the revoked ones); repository errors.
    pub fn revoke_all_keys(&self, created_before: OffsetDateTime, reason: &str) -> Result<()> {
        self.shared.check_writable()?;
        if created_before > self.now() {
            return Err(Error::InvalidArgument(
                crate::error::ArgumentError::FutureMassRevocation,
            ));
        }
        let date = date::to_ticks_precision(created_before);
        let element = xml::mass_revocation_element(date, reason);
        self.shared
            .repository
            .store_element(&element, &xml::mass_revocation_name(date))?;
        tracing::warn!(created_before = %date::format(date), %reason, "all keys created before the date revoked");
        self.shared.refresh().map(drop)
    }

    /// Deletes the keys `select` picks — never implicitly, and never the default key or a
    /// key activated within the last propagation window (or not yet activated): picking one
    /// of those is refused and nothing is deleted. Revocation records that only concerned
    /// deleted (or missing) keys go too. Payloads of deleted keys can never be unprotected
    /// again. With `dry_run`, nothing is deleted and the result says what would be.
    ///
    /// # Errors
    /// [`Error::DeletionRefused`]; repository errors (including repositories that cannot
    /// delete).
    pub fn delete_keys(
        &self,
        select: impl Fn(&KeyInfo) -> bool,
        dry_run: bool,
    ) -> Result<Deletion> {
        // A dry run only reads: a read-only provider may do it, and no lock is taken.
        let _lock = if dry_run {
            None
        } else {
            self.shared.check_writable()?;
            Some(self.shared.repository.lock_for_generation()?)
        };
        let elements = self.shared.repository.load_elements()?;
        let ring = self.shared.ring_of(&elements)?;
        let now = self.now();
        let default_key = ring.default_key_at(now).map(|k| k.info.id);
        let recent = now - self.shared.policy.propagation_window;
        let mut keys = Vec::new();
        for key in ring.keys().filter(|k| select(&k.info)) {
            let refusal = if Some(key.info.id) == default_key {
                Some("it is the default key")
            } else if key.info.activation > recent {
                Some("it was activated within the last propagation window, or is not active yet")
            } else {
                None
            };
            if let Some(reason) = refusal {
                return Err(Error::DeletionRefused {
                    key_id: key.info.id,
                    reason,
                });
            }
            keys.push(key.info.clone());
        }
        let doomed: HashSet<KeyId> = keys.iter().map(|k| k.id).collect();
        let mut key_locations = Vec::new();
        let mut revocations = Vec::new();
        for source in ring.sources() {
            let holds_doomed = source
                .contents
                .iter()
                .any(|c| matches!(c, ElementContent::Key(id) if doomed.contains(id)));
            if holds_doomed {
                if source.contents.len() != 1 {
                    return Err(Error::Unsupported(crate::error::Unsupported {
                        location: source.location.clone(),
                        kind: crate::error::UnsupportedKind::DeleteFromSharedDocument,
                    }));
                }
                key_locations.push(source.location.clone());
                continue;
            }
            // Only revocations of the keys deleted now: a revocation of a key absent from the
            // store still binds the nodes that hold that key in memory.
            let stale_revocation = !source.contents.is_empty()
                && source
                    .contents
                    .iter()
                    .all(|c| matches!(c, ElementContent::RevokeKey(id) if doomed.contains(id)));
            if stale_revocation {
                revocations.push(source.location.clone());
            }
        }
        if !dry_run && !keys.is_empty() {
            self.shared
                .local()
                .deleted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(doomed.iter().copied());
            self.shared.at_rest.forget(doomed.iter().copied());
            let all: Vec<crate::repository::StoredElement> = elements
                .iter()
                .filter(|e| {
                    key_locations.contains(&e.location) || revocations.contains(&e.location)
                })
                .cloned()
                .collect();
            self.shared.repository.delete_elements(&all)?;
            for key in &keys {
                tracing::warn!(key_id = %key.id, "key deleted: its payloads can never be unprotected again");
            }
            for location in &revocations {
                tracing::info!(%location, "revocation record deleted with its key");
            }
            drop(_lock);
            self.shared.refresh()?;
        }
        Ok(Deletion {
            keys,
            revocations,
            dry_run,
        })
    }

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
