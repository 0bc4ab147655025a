//! [`Provider`] and [`ProviderBuilder`]: the root of keyward — one key ring, one application.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once, PoisonError};

use arc_swap::ArcSwap;
use time::{Duration, OffsetDateTime};

use crate::at_rest::{AtRest, EscrowSink, XmlDecryptor, XmlEncryptor};
use crate::clock::{Clock, SystemClock};
use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use crate::key::{date, xml, ElementContent, KeyId, KeyInfo, KeyRing};
use crate::policy::KeyManagementPolicy;
use crate::protector::Protector;
use crate::refresh::Refresher;
use crate::repository::{FileSystemRepository, KeyRepository, MemoryRepository};
use crate::secret::Secret;
use crate::subkeys::{SubkeyCache, SubkeyReuse};

/// The lifetime of new keys unless configured: 90 days, as .NET.
pub const DEFAULT_KEY_LIFETIME: Duration = Duration::days(90);

pub use crate::policy::MIN_KEY_LIFETIME;

/// What every protector of a provider shares: the repository, the current key ring snapshot,
/// the policy and the refresh thread.
#[derive(Debug)]
pub(crate) struct Shared {
    repository: Box<dyn KeyRepository>,
    clock: Arc<dyn Clock>,
    algorithm: Algorithm,
    policy: KeyManagementPolicy,
    /// The current snapshot: readers never lock; a refresh swaps in a new `Arc`.
    ring: ArcSwap<KeyRing>,
    /// Encryption of master keys at rest, and the cache of decrypted ones.
    at_rest: AtRest,
    /// Serializes refreshes so an older read never replaces a newer one.
    refresh_lock: Mutex<()>,
    /// Whether a real ring has been installed (the first install replaces an empty placeholder).
    loaded: std::sync::atomic::AtomicBool,
    /// When an attempt to get a default key last failed (provider clock): protects the
    /// repository from one read per `protect` while no key can be had.
    last_failed_ensure: Mutex<Option<OffsetDateTime>>,
    /// Keys deleted on purpose: not kept from memory when they vanish from the store.
    deleted: Mutex<HashSet<KeyId>>,
    pub(crate) refresher: Refresher,
    /// How many payloads `protect` issues under one key modifier.
    pub(crate) subkey_reuse: SubkeyReuse,
    /// Subkeys derived by `unprotect` or issued by `protect`, by key, purposes and modifier.
    pub(crate) subkeys: SubkeyCache,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.refresher.stop();
    }
}

impl Shared {
    pub(crate) fn ring(&self) -> arc_swap::Guard<Arc<KeyRing>> {
        self.ring.load()
    }

    pub(crate) fn ring_full(&self) -> Arc<KeyRing> {
        self.ring.load_full()
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub(crate) fn policy(&self) -> &KeyManagementPolicy {
        &self.policy
    }

    pub(crate) fn location(&self) -> String {
        self.repository.location()
    }

    fn load_ring(&self) -> Result<KeyRing> {
        let elements = self.repository.load_elements()?;
        self.ring_of(&elements)
    }

    /// The ring these stored elements make, at the provider's current time.
    fn ring_of(&self, elements: &[crate::repository::StoredElement]) -> Result<KeyRing> {
        KeyRing::from_elements(
            elements,
            self.repository.location(),
            self.clock.now(),
            self.policy,
            &self.at_rest,
        )
    }

    fn may_create_keys(&self) -> bool {
        self.policy.automatic_key_generation && !self.policy.read_only
    }

    /// Re-reads the ring, creates the next key if the ring needs one (under the repository's
    /// generation lock, after re-reading), and installs the new snapshot. A failed read
    /// changes nothing: the last good ring stays, and no key is created.
    pub(crate) fn refresh(&self) -> Result<Arc<KeyRing>> {
        let _serial = self
            .refresh_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut ring = self.load_ring()?;
        self.keep_vanished_keys(&mut ring);
        if self.may_create_keys() && ring.plan_new_key(self.now()).is_some() {
            let _lock = self.repository.lock_for_generation()?;
            ring = self.load_ring()?;
            self.keep_vanished_keys(&mut ring);
            let now = date::to_ticks_precision(self.now());
            if let Some(plan) = ring.plan_new_key(now) {
                let id =
                    self.write_key(now.min(plan.activation), plan.activation, plan.expiration)?;
                tracing::info!(
                    key_id = %id,
                    activation = %date::format(plan.activation),
                    expiration = %date::format(plan.expiration),
                    location = %self.repository.location(),
                    "key created"
                );
                ring = self.load_ring()?;
                self.keep_vanished_keys(&mut ring);
            }
        }
        Ok(self.install(ring))
    }

    /// Carries over keys this node holds that the freshly read ring lacks (the store lost
    /// them): see `KeyRing::retain_from_memory`. Deliberately deleted keys are not kept.
    fn keep_vanished_keys(&self, ring: &mut KeyRing) {
        if !self.loaded.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let old = self.ring.load_full();
        let deleted = self
            .deleted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let missing: Vec<&crate::key::RingKey> = old
            .keys_held()
            .filter(|k| !ring.contains(&k.info.id) && !deleted.contains(&k.info.id))
            .collect();
        if missing.is_empty() {
            return;
        }
        let ids: Vec<String> = missing.iter().map(|k| k.info.id.to_string()).collect();
        // Keys deleted on purpose elsewhere (old ones, never the default) are let go; a store
        // that lost everything, or lost the key this node protects with, was emptied by
        // accident (Redis restarted without persistence): keep using what this node holds.
        let now = self.now();
        let lost_default = old
            .default_key_at(now)
            .is_some_and(|d| !ring.contains(&d.info.id));
        if !ring.is_empty() && !lost_default {
            tracing::info!(deleted = %ids.join(", "), "keys were deleted from the repository");
            self.at_rest.forget(missing.iter().map(|k| k.info.id));
            return;
        }
        // A store emptied by accident must not make this node's payloads unreadable, nor make
        // it write: keep using the keys it holds.
        tracing::error!(missing = %ids.join(", "), "the key ring shrank: keys this node held are gone from the repository; still using them from memory, writing and deleting nothing because of it");
        ring.retain_from_memory(self.now(), missing.into_iter().cloned());
    }

    fn install(&self, ring: KeyRing) -> Arc<KeyRing> {
        let now = self.now();
        let old = self.ring.load_full();
        if !self.loaded.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let default_key = ring.default_key_at(now).map(|k| k.info.id.to_string());
            tracing::debug!(keys = ring.keys().count(), default_key = ?default_key, location = %ring.location(), "key ring loaded");
            let ring = Arc::new(ring);
            self.ring.store(Arc::clone(&ring));
            return ring;
        }
        let before = old.default_key_at(now).map(|k| k.info.id);
        let after = ring.default_key_at(now).map(|k| k.info.id);
        if before != after {
            match after {
                Some(id) => tracing::info!(key_id = %id, "default key changed"),
                None => {
                    tracing::warn!(location = %ring.location(), "the key ring has no default key")
                }
            }
        }
        tracing::debug!(keys = ring.keys().count(), location = %ring.location(), "key ring refreshed");
        self.subkeys.retain(|id| ring.contains(id));
        let ring = Arc::new(ring);
        self.ring.store(Arc::clone(&ring));
        ring
    }

    /// Returns a ring with a default key at the current time, refreshing (and creating a key
    /// if allowed) when the current snapshot has none.
    pub(crate) fn ensure_default_key(&self) -> Result<Arc<KeyRing>> {
        const RETRY_AFTER: Duration = Duration::seconds(5);
        let now = self.now();
        let last_failure = *self
            .last_failed_ensure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ring = match last_failure {
            // Failed moments ago: answer from memory, no repository I/O.
            Some(failed) if now >= failed && now - failed < RETRY_AFTER => self.ring_full(),
            _ => self
                .refresh()
                .inspect_err(|_| self.note_failed_ensure(now))?,
        };
        if ring.default_key_at(self.now()).is_some() {
            return Ok(ring);
        }
        self.note_failed_ensure(now);
        let undecryptable = ring.undecryptable_decryptor();
        let reason = if let Some(decryptor) = undecryptable {
            format!("the ring holds keys encrypted at rest with {decryptor}, which keyward cannot decrypt; it will not add an unencrypted key beside them (create one explicitly with `keyward keys new` if that is acceptable)")
        } else if self.policy.read_only {
            "this node is read-only: another node or `keyward keys new` must create a key".into()
        } else if !self.policy.automatic_key_generation {
            "automatic key generation is disabled: create a key with `keyward keys new`".into()
        } else {
            "no key qualifies as the default key".into()
        };
        Err(Error::NoDefaultKey {
            ring_location: ring.location().to_owned(),
            reason,
        })
    }

    fn note_failed_ensure(&self, at: OffsetDateTime) {
        *self
            .last_failed_ensure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    fn check_writable(&self) -> Result<()> {
        if self.policy.read_only {
            return Err(Error::Configuration(
                "this provider is read-only: it never writes to the key repository".into(),
            ));
        }
        Ok(())
    }

    fn write_key(
        &self,
        creation: OffsetDateTime,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        self.check_writable()?;
        let id = KeyId::random();
        let master_key = Secret::random(64);
        let secret_element = self
            .at_rest
            .protect_master_key(id, xml::master_key_element(&master_key))?;
        let element = xml::key_element_with(
            id,
            creation,
            activation,
            expiration,
            self.algorithm,
            secret_element,
        );
        self.repository
            .store_element(&element, &format!("key-{id}"))?;
        Ok(id)
    }
}

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

/// The data-protection provider: owns the key ring of one application and hands out
/// [`Protector`]s. Cheap to clone; clones share the ring and its refresh thread.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use keyward::Provider;
/// let provider = Provider::builder()
///     .application_name("shop")
///     .key_directory(dir.path().join("keys"))
///     .build()?;
/// let orders = provider.protector(["Orders", "v1"]);
/// let token = orders.protect_str("order 42")?;
/// assert!(token.starts_with("CfDJ8"));
/// assert_eq!(orders.unprotect_str(&token)?, "order 42");
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    shared: Arc<Shared>,
    root_purposes: Vec<String>,
}

impl Provider {
    /// Starts configuring a provider.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    /// A provider whose keys live in memory for the life of the process. Its payloads cannot
    /// be unprotected after a restart or on another server; a warning says so once.
    ///
    /// # Errors
    /// Never in practice (the memory repository cannot fail).
    pub fn ephemeral(application_name: impl Into<String>) -> Result<Self> {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!("using an ephemeral key ring: payloads protected now cannot be unprotected after this process ends");
        });
        Self::builder()
            .application_name(application_name)
            .repository(MemoryRepository::new())
            .build()
    }

    /// A protector for a purpose chain. The application name, if set, comes first, exactly as
    /// in .NET, so `protector(["Orders"])` here equals .NET's `CreateProtector("Orders")` on a
    /// provider configured with `SetApplicationName`.
    pub fn protector<I, S>(&self, purposes: I) -> Protector
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut chain = self.root_purposes.clone();
        chain.extend(purposes.into_iter().map(Into::into));
        Protector::new(Arc::clone(&self.shared), chain)
    }

    /// Every key of the ring, oldest first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.shared.ring().keys().map(|k| k.info.clone()).collect()
    }

    /// The key the ring would protect with at `at` (`None` if no key qualifies): the planning
    /// view, computed from the keys the ring holds now.
    pub fn default_key_at(&self, at: OffsetDateTime) -> Option<KeyId> {
        self.shared.ring().resolve(at).default_key
    }

    /// The current time on the provider's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// The key-management policy.
    pub fn policy(&self) -> KeyManagementPolicy {
        self.shared.policy
    }

    /// Re-reads the key ring now, creating the next key if it is due (the refresh thread does
    /// this on its own every refresh period). On failure the current ring stays in use and no
    /// key is created.
    ///
    /// # Errors
    /// When the repository cannot be read or written, or holds invalid XML.
    pub fn refresh(&self) -> Result<()> {
        self.shared.refresh().map(drop)
    }

    /// Makes sure the ring has a default key now, creating one if it has none and this
    /// provider may, and returns its id.
    ///
    /// # Errors
    /// When the repository fails, or no key qualifies and none may be created.
    pub fn ensure_default_key(&self) -> Result<KeyId> {
        let ring = self.shared.ensure_default_key()?;
        ring.default_key_at(self.now())
            .map(|k| k.info.id)
            .ok_or_else(|| Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: "no key qualifies".into(),
            })
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
            return Err(Error::Configuration(
                "a key's expiration must come after its activation".into(),
            ));
        }
        let now = date::to_ticks_precision(self.shared.now());
        let activation = date::to_ticks_precision(activation);
        let expiration = date::to_ticks_precision(expiration);
        let id = self
            .shared
            .write_key(now.min(activation), activation, expiration)?;
        tracing::info!(key_id = %id, activation = %date::format(activation), expiration = %date::format(expiration), "key created");
        self.shared.refresh()?;
        Ok(id)
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
    /// [`Error::Configuration`] for a date in the future (it would revoke the keys created
    /// to replace the revoked ones); repository errors.
    pub fn revoke_all_keys(&self, created_before: OffsetDateTime, reason: &str) -> Result<()> {
        self.shared.check_writable()?;
        if created_before > self.now() {
            return Err(Error::Configuration(
                "a mass revocation cannot be dated in the future: every key created until then would be revoked too".into(),
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
        self.shared.check_writable()?;
        let _lock = self.shared.repository.lock_for_generation()?;
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
                    reason: reason.into(),
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
                    return Err(Error::Configuration(format!(
                        "{} holds several elements; delete keys from it by hand",
                        source.location
                    )));
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
        let encryptor = at_rest.encryptor.clone().ok_or_else(|| {
            Error::Configuration(
                "rewrapping needs an XML encryptor (a KEK, passphrase or certificate)".into(),
            )
        })?;
        let _lock = self.shared.repository.lock_for_generation()?;
        let stored = self.shared.repository.load_elements()?;
        let mut report = Rewrap {
            dry_run,
            ..Rewrap::default()
        };
        let mut keys = Vec::new();
        for stored in stored {
            let element = crate::xml::parse_element(&stored.xml)?;
            match element.name() {
                "key" => keys.push((stored, element)),
                "revocation" => {}
                // A container (Azure Blob's <repository>) cannot be rewrapped key by key.
                _ if element.child_element("key").is_some() => {
                    return Err(Error::Configuration(format!(
                        "{} holds several keys in one document; rewrap cannot replace them one at a time",
                        stored.location
                    )))
                }
                _ => {}
            }
        }
        let creation = |element: &crate::xml::XmlElement| {
            element
                .child_element("creationDate")
                .and_then(|d| date::parse(&d.text_content()))
        };
        let is_plain = crate::at_rest::has_plaintext_secret;
        // The creation of the first key stored encrypted: plaintext keys created after it did
        // not come from an encrypting keyward node.
        let encrypted_since = keys
            .iter()
            .filter(|(_, element)| !is_plain(element))
            .filter_map(|(_, element)| creation(element))
            .min();
        let total = keys.len();
        for (done, (stored, mut element)) in keys.into_iter().enumerate() {
            let id: KeyId = element
                .attribute("id")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| Error::KeyXml {
                    location: stored.location.clone(),
                    reason: "a key without a valid id".into(),
                })?;
            let suspect = is_plain(&element)
                && !trusted.contains(&id)
                && encrypted_since
                    .is_some_and(|since| creation(&element).is_none_or(|c| c > since));
            if suspect {
                tracing::warn!(key_id = %id, "a plaintext key created after the ring's first encrypted key is not rewrapped (it may have been planted); name it to trust it");
                report.suspect.push(id);
                progress(done + 1, total);
                continue;
            }
            let Some(crate::xml::XmlNode::Element(secret)) =
                crate::at_rest::secret_slot(&mut element).map(|s| s.clone())
            else {
                return Err(Error::KeyXml {
                    location: stored.location.clone(),
                    reason: "no <masterKey> or <encryptedSecret> in the descriptor".into(),
                });
            };
            let master = at_rest
                .master_key_of(id, &secret, encryptor.as_ref())
                .map_err(|reason| Error::KeyDecryptionFailed {
                    key_id: id,
                    decryptor_type: secret
                        .attribute("decryptorType")
                        .unwrap_or("(none)")
                        .to_owned(),
                    reason,
                })?;
            let Some(master) = master else {
                report.unchanged.push(id);
                progress(done + 1, total);
                continue;
            };
            if !dry_run {
                let sealed = crate::at_rest::encrypted_secret(encryptor.encrypt(id, &master)?);
                if let Some(slot) = crate::at_rest::secret_slot(&mut element) {
                    *slot = crate::xml::XmlNode::Element(sealed);
                }
                self.shared.repository.replace_element(&stored, &element)?;
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

    /// Where the key ring lives.
    pub fn location(&self) -> String {
        self.shared.repository.location()
    }

    /// The application name (the first purpose of every chain), if one is set.
    pub fn application_name(&self) -> Option<&str> {
        self.root_purposes.first().map(String::as_str)
    }
}

/// Configures a [`Provider`].
#[derive(Default)]
pub struct ProviderBuilder {
    application_name: Option<String>,
    no_application_discriminator: bool,
    key_directory: Option<PathBuf>,
    repository: Option<Box<dyn KeyRepository>>,
    algorithm: Algorithm,
    clock: Option<Arc<dyn Clock>>,
    policy: KeyManagementPolicy,
    encryptor: Option<Arc<dyn XmlEncryptor>>,
    decryptors: Vec<Arc<dyn XmlDecryptor>>,
    require_encryption: bool,
    escrow: Option<EscrowSink>,
    subkey_reuse: SubkeyReuse,
}

impl std::fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("application_name", &self.application_name)
            .field("key_directory", &self.key_directory)
            .field("repository", &self.repository)
            .field("algorithm", &self.algorithm)
            .field("policy", &self.policy)
            .field("encryptor", &self.encryptor)
            .field("decryptors", &self.decryptors)
            .field("require_encryption", &self.require_encryption)
            .field("subkey_reuse", &self.subkey_reuse)
            .finish_non_exhaustive()
    }
}

impl ProviderBuilder {
    /// The application name: the first purpose of every chain, exactly as .NET's
    /// `SetApplicationName(name)` (used verbatim: no trimming). Apps that share payloads
    /// must use the same name.
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Uses no application name, as a .NET provider created without one (for example
    /// `DataProtectionProvider.Create(directory)` with no host).
    #[must_use]
    pub fn no_application_discriminator(mut self) -> Self {
        self.no_application_discriminator = true;
        self
    }

    /// Keeps keys in this directory (created `0700` if missing): the embedded default.
    #[must_use]
    pub fn key_directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.key_directory = Some(directory.into());
        self
    }

    /// Keeps keys in this repository instead of a directory.
    #[must_use]
    pub fn repository(mut self, repository: impl KeyRepository + 'static) -> Self {
        self.repository = Some(Box::new(repository));
        self
    }

    /// The algorithm of keys this provider creates (default: AES-256-CBC + HMACSHA256). A
    /// payload is always unprotected with its own key's algorithm.
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The whole key-management policy.
    #[must_use]
    pub fn policy(mut self, policy: KeyManagementPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The lifetime of new keys (default 90 days, at least 7).
    #[must_use]
    pub fn key_lifetime(mut self, lifetime: Duration) -> Self {
        self.policy.key_lifetime = lifetime;
        self
    }

    /// How long before activation new keys are written (default 2 days).
    #[must_use]
    pub fn propagation_window(mut self, window: Duration) -> Self {
        self.policy.propagation_window = window;
        self
    }

    /// The tolerated clock difference between nodes (default 5 minutes).
    #[must_use]
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.policy.max_clock_skew = skew;
        self
    }

    /// How often the ring is re-read (default 24 hours, minus up to 20 % jitter).
    #[must_use]
    pub fn refresh_period(mut self, period: Duration) -> Self {
        self.policy.refresh_period = period;
        self
    }

    /// The weakest AES key size a key may have to be used (default AES-256): weaker keys
    /// never become the default key, and unprotect only with
    /// [`unprotect_with_weaker_keys`](Self::unprotect_with_weaker_keys).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use keyward::{AesKeySize, Provider};
    /// // A .NET ring that still holds AES-128 keys: read them, never protect with them.
    /// let provider = Provider::builder()
    ///     .application_name("shop")
    ///     .key_directory(dir.path())
    ///     .unprotect_with_weaker_keys(true)
    ///     .build()?;
    /// # Ok::<(), keyward::Error>(())
    /// ```
    #[must_use]
    pub fn minimum_key_size(mut self, size: crate::AesKeySize) -> Self {
        self.policy.minimum_key_size = size;
        self
    }

    /// Lets keys below the minimum key size unprotect (never protect). Default off.
    #[must_use]
    pub fn unprotect_with_weaker_keys(mut self, allowed: bool) -> Self {
        self.policy.unprotect_with_weaker_keys = allowed;
        self
    }

    /// The least time between two reloads of the ring, whatever the rate of the store's
    /// change notifications (default 1 s, at most one hour).
    #[must_use]
    pub fn min_refresh_interval(mut self, interval: std::time::Duration) -> Self {
        self.policy.min_refresh_interval = interval;
        self
    }

    /// Turns automatic key generation off (default on): keys then come only from
    /// [`Provider::create_key`], the CLI, or another node.
    #[must_use]
    pub fn automatic_key_generation(mut self, enabled: bool) -> Self {
        self.policy.automatic_key_generation = enabled;
        self
    }

    /// Encrypts new master keys at rest with `encryptor` (which is also used by
    /// [`Provider::rewrap_keys`]).
    #[must_use]
    pub fn xml_encryptor(mut self, encryptor: Arc<dyn XmlEncryptor>) -> Self {
        self.encryptor = Some(encryptor);
        self
    }

    /// Adds a decryptor for master keys encrypted at rest (chosen by each key's
    /// `decryptorType`).
    #[must_use]
    pub fn xml_decryptor(mut self, decryptor: Arc<dyn XmlDecryptor>) -> Self {
        self.decryptors.push(decryptor);
        self
    }

    /// Encrypts with the first KEK and decrypts with any of them.
    #[must_use]
    pub fn key_encryption_keys(self, keks: crate::at_rest::KekRing) -> Self {
        let keks = Arc::new(keks);
        self.xml_encryptor(keks.clone()).xml_decryptor(keks)
    }

    /// Encrypts with the first certificate (as .NET's `ProtectKeysWithCertificate`) and
    /// decrypts with any of them (`UnprotectKeysWithAnyCertificate`).
    #[must_use]
    pub fn certificates(self, certificates: crate::at_rest::CertificateEncryptor) -> Self {
        let certificates = Arc::new(certificates);
        self.xml_encryptor(certificates.clone())
            .xml_decryptor(certificates)
    }

    /// Encrypts and decrypts master keys with a passphrase (Argon2id-derived KEKs).
    #[must_use]
    pub fn passphrase(self, passphrase: crate::at_rest::PassphraseEncryptor) -> Self {
        let passphrase = Arc::new(passphrase);
        self.xml_encryptor(passphrase.clone())
            .xml_decryptor(passphrase)
    }

    /// Refuses to store a master key unencrypted (default: store it, with a warning once
    /// per process, as .NET does without an XML encryptor).
    #[must_use]
    pub fn require_encryption_at_rest(mut self) -> Self {
        self.require_encryption = true;
        self
    }

    /// Calls `escrow` with every new key's `<masterKey>` element before it is encrypted.
    #[must_use]
    pub fn key_escrow(mut self, escrow: EscrowSink) -> Self {
        self.escrow = Some(escrow);
        self
    }

    /// A read-only provider never writes to the repository (default off).
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.policy.read_only = read_only;
        self
    }

    /// How many payloads `protect` issues under one key modifier (default
    /// [`SubkeyReuse::DEFAULT`]: 65 536 payloads or 60 s); [`SubkeyReuse::PerPayload`] derives
    /// new subkeys for every payload, as ASP.NET Core does. Payloads are readable by every
    /// reader either way. See [`SubkeyReuse`] for the bound and what it reveals.
    #[must_use]
    pub fn subkey_reuse(mut self, reuse: SubkeyReuse) -> Self {
        self.subkey_reuse = reuse;
        self
    }

    /// Opens the repository, reads the key ring (creating the first or next key if due and
    /// allowed), starts the refresh thread and returns the provider. Configuration and
    /// repository problems are reported here, naming the directory or store.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the application name is neither set nor explicitly
    /// omitted, no repository is given, or the policy is out of range; [`Error::Io`] and
    /// [`Error::KeyXml`] when the key ring cannot be read.
    pub fn build(self) -> Result<Provider> {
        let root_purposes = match (self.application_name, self.no_application_discriminator) {
            (Some(_), true) => {
                return Err(Error::Configuration(
                    "set an application name or no_application_discriminator(), not both".into(),
                ))
            }
            (Some(name), false) => vec![name],
            (None, true) => Vec::new(),
            (None, false) => {
                return Err(Error::Configuration(
                    "set the application name (the .NET app's SetApplicationName value) or call no_application_discriminator()".into(),
                ))
            }
        };
        self.policy.validate()?;
        self.subkey_reuse.validate()?;
        if self.algorithm.key_size().bytes() < self.policy.minimum_key_size.bytes() {
            return Err(Error::Configuration(format!(
                "new keys would use {}-bit AES, below the minimum key size ({} bits)",
                self.algorithm.key_size().bytes() * 8,
                self.policy.minimum_key_size.bytes() * 8
            )));
        }
        let repository: Box<dyn KeyRepository> = match (self.repository, self.key_directory) {
            (Some(repository), None) => repository,
            (None, Some(directory)) if self.policy.read_only => {
                Box::new(FileSystemRepository::open_read_only(directory)?)
            }
            (None, Some(directory)) => Box::new(FileSystemRepository::open(directory)?),
            (Some(_), Some(_)) => {
                return Err(Error::Configuration(
                    "set a key directory or a repository, not both".into(),
                ))
            }
            (None, None) => {
                return Err(Error::Configuration(
                    "set a key directory or a repository".into(),
                ))
            }
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let at_rest = AtRest {
            encryptor: self.encryptor,
            decryptors: self.decryptors,
            require_encryption: self.require_encryption,
            escrow: self.escrow,
            ..AtRest::default()
        };
        let empty = KeyRing::from_elements(
            &[],
            repository.location(),
            clock.now(),
            self.policy,
            &at_rest,
        )?;
        let shared = Arc::new(Shared {
            repository,
            clock,
            algorithm: self.algorithm,
            policy: self.policy,
            at_rest,
            ring: ArcSwap::from_pointee(empty),
            refresh_lock: Mutex::new(()),
            loaded: std::sync::atomic::AtomicBool::new(false),
            last_failed_ensure: Mutex::new(None),
            deleted: Mutex::new(HashSet::new()),
            refresher: Refresher::new(),
            subkey_reuse: self.subkey_reuse,
            subkeys: SubkeyCache::new(),
        });
        shared.refresh()?;
        shared.refresher.start(Arc::downgrade(&shared));
        let weak = Arc::downgrade(&shared);
        let on_change: crate::repository::ChangeCallback =
            Arc::new(move |notification| match weak.upgrade() {
                Some(shared) => {
                    if notification == crate::repository::Notification::Changed {
                        shared.refresher.request_after_change();
                    }
                    true
                }
                None => false,
            });
        if shared.repository.watch(on_change)? {
            tracing::debug!(location = %shared.location(), "watching the key repository for changes");
        }
        Ok(Provider {
            shared,
            root_purposes,
        })
    }
}
