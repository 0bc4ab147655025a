//! Operator actions on a provider's ring: create, revoke and delete keys. Each one writes
//! to the store (never implicitly), then re-reads the ring. Trusting a .NET key is in
//! `trust.rs`, re-encrypting the ring in `rewrap.rs`.

use std::collections::HashSet;
use std::sync::PoisonError;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::key::{date, xml, ElementContent, KeyId, KeyInfo};
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

impl Provider {
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
}
