//! [`LiveRing`]: the key ring a provider serves from, and the protocol that keeps it current:
//! read the store, keep keys a store lost, create the successor key under the store's lock,
//! swap the snapshot in.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, Weak};

use arc_swap::ArcSwap;
use time::{Duration, OffsetDateTime};

use crate::at_rest::AtRest;
use crate::clock::Clock;
use crate::crypto::Algorithm;
use crate::error::{Error, NoDefaultKeyReason, Result};
use crate::key::{date, xml, KeyId, KeyRing};
use crate::policy::KeyManagementPolicy;
use crate::process::{salvage, ProcessLocal};
use crate::refresh::Reload;
use crate::repository::KeyRepository;
use crate::secret::Secret;
use crate::subkeys::{SubkeyCache, SubkeyReuse};

/// The key ring a provider serves from, and what keeps it current: the repository, the
/// snapshot protectors read, the policy, at-rest encryption, the refresh thread and the
/// subkey cache. Every protector of a provider shares one.
#[derive(Debug)]
pub(crate) struct LiveRing {
    pub(crate) repository: Box<dyn KeyRepository>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) algorithm: Algorithm,
    pub(crate) policy: KeyManagementPolicy,
    /// The current snapshot: readers never lock; a refresh swaps in a new `Arc`.
    pub(crate) ring: ArcSwap<KeyRing>,
    /// Counts the snapshots installed: `protect`'s fast path uses its subkeys only while the
    /// snapshot they were issued under is still the current one.
    pub(crate) ring_version: AtomicU64,
    /// Encryption of master keys at rest, and the cache of decrypted ones.
    pub(crate) at_rest: AtRest,
    /// Whether a real ring has been installed (the first install replaces an empty placeholder).
    pub(crate) loaded: std::sync::atomic::AtomicBool,
    /// The refresh thread and the locks of the process this provider runs in: a forked child
    /// swaps in its own (see [`LiveRing::check_process`]).
    pub(crate) process: ArcSwap<ProcessLocal>,
    /// The fork generation `process` belongs to.
    pub(crate) generation: AtomicU64,
    /// The fork generation a thread is setting this provider up for (one thread does it).
    pub(crate) claimed: AtomicU64,
    /// This ring, for the threads it starts (the refresh thread, the store's watcher).
    pub(crate) me: Weak<LiveRing>,
    /// Whether the store's change notifications are watched.
    pub(crate) watch_changes: bool,
    /// How many payloads `protect` issues under one key modifier.
    pub(crate) subkey_reuse: SubkeyReuse,
    /// Subkeys derived by `unprotect` or issued by `protect`, by key, purposes and modifier.
    pub(crate) subkeys: SubkeyCache,
}

impl Drop for LiveRing {
    fn drop(&mut self) {
        if crate::crypto::fork::current() == *self.generation.get_mut() {
            self.process.load().refresher.stop();
            return;
        }
        // A forked child that drops a provider it never used: the refresher is the parent's
        // (its thread does not exist here, its handle must be neither joined nor detached,
        // its locks may be held for ever), so it is leaked; the store drops its inherited
        // connections without closing the parent's sessions.
        std::mem::forget(
            self.process
                .swap(Arc::new(ProcessLocal::new(HashSet::new()))),
        );
        self.repository.after_fork();
    }
}

impl LiveRing {
    pub(crate) fn ring(&self) -> arc_swap::Guard<Arc<KeyRing>> {
        self.check_process();
        self.ring.load()
    }

    pub(crate) fn ring_full(&self) -> Arc<KeyRing> {
        self.check_process();
        self.ring.load_full()
    }

    /// The refresh thread and locks of this process.
    pub(crate) fn local(&self) -> arc_swap::Guard<Arc<ProcessLocal>> {
        self.process.load()
    }

    /// Makes sure this provider runs its own refresh thread, watcher and store connections in
    /// this process: one load and compare, unless the process was forked since the provider
    /// last ran here. Every entry point (`protect`, `unprotect`, reading the ring, `refresh`)
    /// calls it first.
    #[inline]
    pub(crate) fn check_process(&self) {
        let current = crate::crypto::fork::current();
        if current != self.generation.load(Ordering::Acquire) {
            self.enter_process(current);
        }
    }

    /// The first call in a forked child: one thread restarts what the parent's threads did
    /// (the others wait for it, briefly: it does no I/O).
    #[cold]
    #[inline(never)]
    fn enter_process(&self, current: u64) {
        let claimed = self.claimed.load(Ordering::Acquire);
        if claimed != current
            && self
                .claimed
                .compare_exchange(claimed, current, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.restart_in_this_process();
            self.generation.store(current, Ordering::Release);
            return;
        }
        let started = std::time::Instant::now();
        while self.generation.load(Ordering::Acquire) != current
            && crate::crypto::fork::current() == current
            && started.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::yield_now();
        }
    }

    fn restart_in_this_process(&self) {
        tracing::debug!(location = %self.repository.location(), "a forked process: restarting the key ring's refresh thread, change watcher and store connections");
        // Connections first: the parent's must never be used (nor closed) from here.
        self.repository.after_fork();
        self.at_rest.after_fork();
        let deleted = salvage(&self.local().deleted);
        // The parent's refresher is leaked on purpose: its thread does not exist here, its
        // join handle must be neither joined nor detached, and its locks may be held for ever.
        std::mem::forget(self.process.swap(Arc::new(ProcessLocal::new(deleted))));
        if let Err(error) = self.start_background() {
            tracing::warn!(%error, "could not watch the key repository for changes in this process; refreshing periodically");
        }
        // Whatever changed since the fork: read it now.
        self.local().refresher.request_after_change();
    }

    /// Starts this process's refresh thread and, unless turned off, the store's watcher.
    ///
    /// # Errors
    /// When the store's subscription cannot be started.
    pub(crate) fn start_background(&self) -> Result<()> {
        let reloader: Weak<dyn Reload> = self.me.clone();
        self.local().refresher.start(reloader);
        if !self.watch_changes {
            return Ok(());
        }
        let weak = self.me.clone();
        let on_change: crate::repository::ChangeCallback =
            Arc::new(move |notification| match weak.upgrade() {
                Some(shared) => {
                    if notification == crate::repository::Notification::Changed {
                        shared.local().refresher.request_after_change();
                    }
                    true
                }
                None => false,
            });
        if self.repository.watch(on_change)? {
            tracing::debug!(location = %self.location(), "watching the key repository for changes");
        }
        Ok(())
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// [`LiveRing::now`] in nanoseconds since the Unix epoch.
    /// Bounds on the current time (see [`Clock::now_unix_nanos_bounds`]).
    pub(crate) fn now_unix_nanos_bounds(&self) -> (i128, i128) {
        self.clock.now_unix_nanos_bounds()
    }

    /// The version of the current snapshot. Read it before the snapshot: a snapshot is
    /// installed before its version is counted, so a version read first is never newer than
    /// the snapshot read after it.
    pub(crate) fn ring_version(&self) -> u64 {
        self.ring_version.load(Ordering::Acquire)
    }

    pub(crate) fn policy(&self) -> &KeyManagementPolicy {
        &self.policy
    }

    pub(crate) fn location(&self) -> String {
        self.repository.location()
    }

    pub(crate) fn load_ring(&self) -> Result<KeyRing> {
        let elements = self.repository.load_elements()?;
        self.ring_of(&elements)
    }

    /// The ring these stored elements make, at the provider's current time.
    pub(crate) fn ring_of(&self, elements: &[crate::repository::StoredElement]) -> Result<KeyRing> {
        KeyRing::from_elements(
            elements,
            self.repository.location(),
            self.clock.now(),
            self.policy,
            &self.at_rest,
        )
    }

    pub(crate) fn may_create_keys(&self) -> bool {
        self.policy.automatic_key_generation && !self.policy.read_only
    }

    /// Re-reads the ring, creates the next key if the ring needs one (under the repository's
    /// generation lock, after re-reading), and installs the new snapshot. A failed read
    /// changes nothing: the last good ring stays, and no key is created. Every refresh is
    /// counted (`keyward_refresh_total`), whoever asked for it.
    pub(crate) fn refresh(&self) -> Result<Arc<KeyRing>> {
        let result = self.refresh_unrecorded();
        crate::metrics::refresh(result.is_ok());
        result
    }

    fn refresh_unrecorded(&self) -> Result<Arc<KeyRing>> {
        self.check_process();
        let local = self.process.load_full();
        let _serial = local
            .refresh_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut ring = self.load_ring()?;
        self.keep_vanished_keys(&mut ring);
        if self.may_create_keys() && ring.plan_new_key(self.now()).is_some() {
            let _lock = self.repository.lock_for_generation()?;
            ring = self.create_planned_key()?;
        }
        Ok(self.install(ring))
    }

    /// Under the generation lock: re-reads the ring and writes the key it still needs, if
    /// any. A store whose writes are conditional may answer [`Error::RingChanged`] (another
    /// node wrote since this read): the ring is read again and the decision made again, a few
    /// times at most, so a farm starting together writes one key, not one per node.
    fn create_planned_key(&self) -> Result<KeyRing> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            pause_after_conflicts(attempt - 1);
            let mut ring = self.load_ring()?;
            self.keep_vanished_keys(&mut ring);
            let now = date::to_ticks_precision(self.now());
            let Some(plan) = ring.plan_new_key(now) else {
                return Ok(ring);
            };
            match self.write_planned_key(now, plan.activation, plan.expiration) {
                Ok(id) => {
                    tracing::info!(
                        key_id = %id,
                        activation = %date::format(plan.activation),
                        expiration = %date::format(plan.expiration),
                        location = %self.repository.location(),
                        "key created"
                    );
                    let mut ring = self.load_ring()?;
                    self.keep_vanished_keys(&mut ring);
                    return Ok(ring);
                }
                Err(Error::RingChanged { .. }) if attempt <= MAX_RING_CONFLICTS => {
                    tracing::debug!(
                        location = %self.repository.location(),
                        "another node changed the ring first; reading it again"
                    );
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Carries over keys this node holds that the freshly read ring lacks (the store lost
    /// them): see `KeyRing::retain_from_memory`. Deliberately deleted keys are not kept.
    pub(crate) fn keep_vanished_keys(&self, ring: &mut KeyRing) {
        if !self.loaded.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let old = self.ring.load_full();
        let deleted = self
            .local()
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

    pub(crate) fn install(&self, ring: KeyRing) -> Arc<KeyRing> {
        let now = self.now();
        crate::metrics::ring_installed(&ring, now, self.policy.max_clock_skew);
        let old = self.ring.load_full();
        if !self.loaded.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let default_key = ring.default_key_at(now).map(|k| k.info.id.to_string());
            tracing::debug!(keys = ring.keys().count(), default_key = ?default_key, location = %ring.location(), "key ring loaded");
            let ring = Arc::new(ring);
            self.ring.store(Arc::clone(&ring));
            self.ring_version.fetch_add(1, Ordering::Release);
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
        self.ring_version.fetch_add(1, Ordering::Release);
        ring
    }

    /// For `protect` on a snapshot without a default key: the refresh thread reloads (and
    /// creates a key if this node may), and the caller waits for it at most
    /// `unknown_key_wait`. No repository I/O on the caller's thread.
    pub(crate) fn default_key_from_refresher(&self) -> Result<Arc<KeyRing>> {
        self.ensure_default_key_with(|| {
            self.local()
                .refresher
                .reload_and_wait(self, self.policy.unknown_key_wait);
            Ok(self.ring_full())
        })
    }

    /// Returns a ring with a default key at the current time, refreshing (and creating a key
    /// if allowed) when the current snapshot has none.
    pub(crate) fn ensure_default_key(&self) -> Result<Arc<KeyRing>> {
        self.ensure_default_key_with(|| self.refresh())
    }

    fn ensure_default_key_with(
        &self,
        reload: impl FnOnce() -> Result<Arc<KeyRing>>,
    ) -> Result<Arc<KeyRing>> {
        const RETRY_AFTER: Duration = Duration::seconds(5);
        let now = self.now();
        let last_failure = *self
            .local()
            .last_failed_ensure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ring = match last_failure {
            // Failed moments ago: answer from memory, no repository I/O.
            Some(failed) if now >= failed && now - failed < RETRY_AFTER => self.ring_full(),
            _ => reload().inspect_err(|_| self.note_failed_ensure(now))?,
        };
        if ring.default_key_at(self.now()).is_some() {
            return Ok(ring);
        }
        self.note_failed_ensure(now);
        let reason = if let Some(blocked) = ring.creation_blocked(self.now()) {
            NoDefaultKeyReason::Blocked(blocked)
        } else if self.policy.read_only {
            NoDefaultKeyReason::ReadOnly
        } else if !self.policy.automatic_key_generation {
            NoDefaultKeyReason::AutomaticGenerationDisabled
        } else {
            NoDefaultKeyReason::NoKeyQualifiesAsDefault
        };
        Err(Error::NoDefaultKey {
            ring_location: ring.location().to_owned(),
            reason,
        })
    }

    pub(crate) fn note_failed_ensure(&self, at: OffsetDateTime) {
        *self
            .local()
            .last_failed_ensure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.policy.read_only {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }

    /// Writes a new key whatever other writers did meanwhile (an operator's `keys new`).
    pub(crate) fn write_key(
        &self,
        creation: OffsetDateTime,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        self.write_key_as(KeyWrite::Always, creation, activation, expiration)
    }

    /// Writes a key decided on from the ring read under the generation lock: a store with
    /// conditional writes answers [`Error::RingChanged`] when another node wrote since.
    pub(crate) fn write_planned_key(
        &self,
        creation: OffsetDateTime,
        activation: OffsetDateTime,
        expiration: OffsetDateTime,
    ) -> Result<KeyId> {
        self.write_key_as(KeyWrite::IfUnchanged, creation, activation, expiration)
    }

    fn write_key_as(
        &self,
        write: KeyWrite,
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
        // A key encrypted to a certificate is signed with it: a store writer, who can encrypt
        // a key to the certificate too, cannot sign one.
        let signature = self.at_rest.sign_if_certificate(
            &crate::at_rest::signature::SignedKey {
                id,
                creation,
                activation,
                expiration,
                algorithm: self.algorithm,
                master_key: master_key.expose(),
            },
            &secret_element,
        )?;
        let mut element = xml::key_element_with(
            id,
            creation,
            activation,
            expiration,
            self.algorithm,
            secret_element,
        );
        if let Some(signature) = signature {
            element = element.child(signature);
        }
        let name = format!("key-{id}");
        match write {
            KeyWrite::Always => self.repository.store_element(&element, &name)?,
            KeyWrite::IfUnchanged => self.repository.store_new_key(&element, &name)?,
        }
        crate::metrics::key_created();
        Ok(id)
    }
}

/// The refresh thread reloads through this narrow view.
impl Reload for LiveRing {
    fn reload(&self) -> Result<()> {
        self.refresh().map(drop)
    }

    fn location(&self) -> String {
        LiveRing::location(self)
    }

    fn policy(&self) -> &KeyManagementPolicy {
        &self.policy
    }
}

/// How a new key is written: whatever happened meanwhile, or only if the ring is unchanged
/// since the read that showed the need for it.
#[derive(Clone, Copy)]
enum KeyWrite {
    Always,
    IfUnchanged,
}

/// How many times a key decision is made again after another node's write got ahead of it
/// (a store with conditional writes): enough for eight nodes writing at once.
pub(crate) const MAX_RING_CONFLICTS: usize = 6;

/// Waits before deciding again after `conflicts` lost writes (see
/// [`crate::repository::retry_pause`]).
pub(crate) fn pause_after_conflicts(conflicts: usize) {
    let conflicts = u32::try_from(conflicts).unwrap_or(u32::MAX);
    std::thread::sleep(crate::repository::retry_pause(conflicts));
}
