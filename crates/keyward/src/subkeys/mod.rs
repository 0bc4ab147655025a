//! Sharing derived subkeys between payloads.
//!
//! Every payload names a random 128-bit key modifier, and its subkeys are
//! `SP800-108(masterKey, AAD, contextHeader || keyModifier)`. The derivation (one HMAC-SHA512
//! of about 150 bytes) costs more than sealing a small payload, so:
//!
//! - `protect` may use one key modifier, and so one set of subkeys, for a bounded number of
//!   payloads ([`SubkeyReuse`]); each payload still draws its own random IV or nonce;
//! - `unprotect` keeps the subkeys it derived, and those `protect` issued, in a small
//!   provider-wide cache keyed by key id, purpose chain and key modifier ([`SubkeyCache`]).
//!
//! Payloads are unchanged: every reader (ASP.NET Core included) derives from the modifier the
//! payload names and cannot tell the difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwapOption, Guard};

use crate::crypto::{KeyIdentity, Subkeys, KEY_MODIFIER_LEN};
use crate::error::{Error, Result};
use crate::key_id::KeyId;

mod issuing;

pub(crate) use issuing::Issuing;

/// How many payloads `protect` encrypts under one key modifier (and so one set of derived
/// subkeys).
///
/// ASP.NET Core draws a fresh modifier for every payload, so that "K_E and K_H are unique for
/// this specific authenticated encryption operation" with overwhelming probability. That
/// guards one thing: the random IV or 96-bit GCM nonce is never the only thing that differs
/// between two encryptions. [`SubkeyReuse::Bounded`] (the default) keeps that guarantee within
/// a stated bound instead of absolutely: at most `max_payloads` payloads share a subkey, each
/// with a fresh random IV or nonce, so the chance that two GCM payloads under one subkey share
/// a nonce is at most `max_payloads² / 2⁹⁷` (2⁻⁶⁵ with the default 65 536, against NIST
/// SP 800-38D's 2⁻³² limit per key). In exchange, `protect` skips the key derivation for all
/// but one payload in `max_payloads`, and payloads issued together read faster (see
/// `BENCHMARKS.md`).
///
/// What an observer learns: payloads that carry the same key modifier were made by the same
/// process, for the same purpose chain, within `max_age` of each other. Use
/// [`SubkeyReuse::PerPayload`] where even that must not be visible.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use keyward::{Provider, SubkeyReuse};
/// let provider = Provider::builder()
///     .application_name("shop")
///     .key_directory(dir.path())
///     .subkey_reuse(SubkeyReuse::PerPayload) // exactly as ASP.NET Core
///     .build()?;
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubkeyReuse {
    /// A fresh random key modifier, and one key derivation, for every payload (ASP.NET Core's
    /// behaviour).
    PerPayload,
    /// One key modifier serves a protector for at most `max_payloads` payloads and at most
    /// `max_age`, and never outlives the default key it belongs to.
    Bounded {
        /// Payloads per key modifier, 1 to [`SubkeyReuse::MAX_PAYLOADS`].
        max_payloads: u32,
        /// How long one key modifier may be used, at most [`SubkeyReuse::MAX_AGE`].
        max_age: Duration,
    },
}

impl SubkeyReuse {
    /// The largest `max_payloads` accepted: 2²⁴, where two GCM nonces under one subkey
    /// collide with probability at most 2⁻⁴⁹.
    pub const MAX_PAYLOADS: u32 = 1 << 24;
    /// The longest `max_age` accepted: one hour.
    pub const MAX_AGE: Duration = Duration::from_secs(3600);
    /// The default: 65 536 payloads or 60 seconds, whichever comes first.
    pub const DEFAULT: Self = Self::Bounded {
        max_payloads: 1 << 16,
        max_age: Duration::from_secs(60),
    };

    /// Checks the bounds.
    ///
    /// # Errors
    /// [`Error::Configuration`] when `max_payloads` or `max_age` is zero or above its limit.
    pub fn validate(self) -> Result<()> {
        match self {
            Self::PerPayload => Ok(()),
            Self::Bounded {
                max_payloads,
                max_age,
            } => {
                if max_payloads == 0 || max_payloads > Self::MAX_PAYLOADS {
                    return Err(Error::Configuration(
                        crate::error::ConfigError::SubkeyMaxPayloads {
                            got: max_payloads,
                            max: Self::MAX_PAYLOADS,
                        },
                    ));
                }
                if max_age.is_zero() || max_age > Self::MAX_AGE {
                    return Err(Error::Configuration(
                        crate::error::ConfigError::SubkeyMaxAge {
                            got: max_age,
                            max: Self::MAX_AGE,
                        },
                    ));
                }
                Ok(())
            }
        }
    }
}

impl Default for SubkeyReuse {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Subkeys derived for one key, purpose chain and key modifier.
pub(crate) struct DerivedSubkeys {
    pub(crate) key_id: KeyId,
    /// The master key and algorithm they were derived from (see [`KeyIdentity`]).
    pub(crate) key_identity: KeyIdentity,
    /// The purpose part of the AAD (`u32be(count) || purposes`) they were derived for.
    pub(crate) aad_tail: Arc<[u8]>,
    pub(crate) key_modifier: [u8; KEY_MODIFIER_LEN],
    /// Key material: wiped on drop.
    pub(crate) subkeys: Subkeys,
    /// The key ring version (`LiveRing::ring_version`) in which `unprotect` last found this
    /// key present, unrevoked and of this identity; 0 when never. While the ring's version is
    /// still this one, plain `unprotect` opens payloads under these subkeys without reading
    /// the ring ([`SubkeyCache::get_verified`]).
    verified_in: AtomicU64,
}

impl DerivedSubkeys {
    /// Subkeys derived for `key_id` (of `key_identity`), a purpose chain and a key modifier,
    /// not yet verified against any ring version.
    pub(crate) fn new(
        key_id: KeyId,
        key_identity: KeyIdentity,
        aad_tail: Arc<[u8]>,
        key_modifier: [u8; KEY_MODIFIER_LEN],
        subkeys: Subkeys,
    ) -> Self {
        Self {
            key_id,
            key_identity,
            aad_tail,
            key_modifier,
            subkeys,
            verified_in: AtomicU64::new(0),
        }
    }

    /// Records that ring version `ring_version` (read before the ring snapshot that showed
    /// it) holds this key, unrevoked and of this identity. Written only when it changes, so
    /// threads reading the same cookie do not contend.
    pub(crate) fn verified_in(&self, ring_version: u64) {
        if self.verified_in.load(Ordering::Relaxed) != ring_version {
            self.verified_in.store(ring_version, Ordering::Relaxed);
        }
    }

    fn matches(
        &self,
        key_id: &KeyId,
        key_identity: &KeyIdentity,
        aad_tail: &Arc<[u8]>,
        key_modifier: &[u8],
    ) -> bool {
        self.key_id == *key_id
            && self.key_identity == *key_identity
            && self.key_modifier == key_modifier
            && (Arc::ptr_eq(&self.aad_tail, aad_tail) || *self.aad_tail == **aad_tail)
    }
}

/// A provider-wide cache of derived subkeys, so a payload read again (a session cookie on
/// every request) or issued under a shared key modifier skips the key derivation.
///
/// Direct-mapped: a key modifier's first bytes pick its slot, and a newer entry replaces the
/// older one. Only subkeys that authenticated a payload (or that `protect` issued) enter, so
/// forged payloads cannot fill it. Reads take no lock.
pub(crate) struct SubkeyCache {
    slots: Box<[ArcSwapOption<DerivedSubkeys>]>,
}

impl SubkeyCache {
    /// Slots in the cache (a power of two). At most this many subkey sets are held, under
    /// 1 KiB each.
    pub(crate) const SLOTS: usize = 512;

    pub(crate) fn new() -> Self {
        Self {
            slots: (0..Self::SLOTS).map(|_| ArcSwapOption::empty()).collect(),
        }
    }

    fn slot(&self, key_modifier: &[u8]) -> &ArcSwapOption<DerivedSubkeys> {
        let mut head = [0u8; 8];
        let n = key_modifier.len().min(8);
        head[..n].copy_from_slice(&key_modifier[..n]);
        // Key modifiers are random, so their low bits spread evenly.
        let index = usize::try_from(u64::from_le_bytes(head) % Self::SLOTS as u64).unwrap_or(0);
        &self.slots[index]
    }

    /// The cached subkeys for a key, purpose chain and key modifier, if present.
    pub(crate) fn get(
        &self,
        key_id: &KeyId,
        key_identity: &KeyIdentity,
        aad_tail: &Arc<[u8]>,
        key_modifier: &[u8],
    ) -> Option<Guard<Option<Arc<DerivedSubkeys>>>> {
        let guard = self.slot(key_modifier).load();
        guard
            .as_deref()
            .is_some_and(|d| d.matches(key_id, key_identity, aad_tail, key_modifier))
            .then_some(guard)
    }

    /// The cached subkeys for a key, purpose chain and key modifier, if present and verified
    /// in ring version `ring_version` (read before this call): the key was then in the
    /// ring, unrevoked, and of the identity these subkeys were derived from. A new ring (a
    /// refresh, a revocation) has a new version, so nothing verified before it passes.
    pub(crate) fn get_verified(
        &self,
        key_id: &KeyId,
        aad_tail: &Arc<[u8]>,
        key_modifier: &[u8],
        ring_version: u64,
    ) -> Option<Guard<Option<Arc<DerivedSubkeys>>>> {
        let guard = self.slot(key_modifier).load();
        guard
            .as_deref()
            .is_some_and(|d| {
                ring_version != 0
                    && d.verified_in.load(Ordering::Relaxed) == ring_version
                    && d.key_id == *key_id
                    && d.key_modifier == key_modifier
                    && (Arc::ptr_eq(&d.aad_tail, aad_tail) || *d.aad_tail == **aad_tail)
            })
            .then_some(guard)
    }

    /// Keeps `derived`, replacing whatever held its slot.
    pub(crate) fn insert(&self, derived: Arc<DerivedSubkeys>) {
        self.slot(&derived.key_modifier).store(Some(derived));
    }

    /// Drops the subkeys of keys `keep` refuses (keys gone from the ring).
    pub(crate) fn retain(&self, keep: impl Fn(&KeyId) -> bool) {
        for slot in &*self.slots {
            let current = slot.load_full();
            if current.as_deref().is_some_and(|d| !keep(&d.key_id)) {
                // Only if nothing newer took the slot meanwhile.
                slot.compare_and_swap(&current, None);
            }
        }
    }

    /// How many slots hold subkeys (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.load().is_some()).count()
    }
}

impl std::fmt::Debug for SubkeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubkeyCache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    use crate::crypto::{Algorithm, Derivation, KeyCrypto};
    use crate::secret::Secret;

    const IDENTITY: KeyIdentity = [9; 16];

    fn derived(key_id: KeyId, purposes: &[u8], key_modifier: [u8; 16]) -> Arc<DerivedSubkeys> {
        let crypto = KeyCrypto::new(Algorithm::AES_256_GCM, &Secret::new(vec![7; 64]));
        Arc::new(DerivedSubkeys::new(
            key_id,
            IDENTITY,
            purposes.into(),
            key_modifier,
            crypto
                .subkeys(Derivation::Label(&[purposes]), &key_modifier)
                .unwrap(),
        ))
    }

    #[test]
    fn issuing_counts_its_budget_and_its_age() {
        let key = KeyId::random();
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        let age = Duration::from_secs(60);
        let issuing = Issuing::new(derived(key, b"p", [1; 16]), start, 3, age);
        // The first payload was counted by `new`: two more fit a budget of 3.
        assert!(issuing.take(&key, &IDENTITY, start));
        assert!(issuing.take(&key, &IDENTITY, start));
        assert!(!issuing.take(&key, &IDENTITY, start));

        let issuing = Issuing::new(derived(key, b"p", [1; 16]), start, 100, age);
        let later = |s: i64| start + time::Duration::seconds(s);
        assert!(issuing.take(&key, &IDENTITY, later(59)));
        assert!(!issuing.take(&key, &IDENTITY, later(60)), "max_age reached");
        assert!(!issuing.take(&key, &IDENTITY, later(-1)), "clock went back");
        assert!(
            !issuing.take(&KeyId::random(), &IDENTITY, start),
            "another key"
        );
        assert!(
            !issuing.take(&key, &[8; 16], start),
            "a key replaced under the same id"
        );
    }

    /// The sharded budget: one thread can spend all of it, many threads together never more.
    #[test]
    fn the_budget_is_used_whole_and_never_exceeded_across_threads() {
        let key = KeyId::random();
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        let age = Duration::from_secs(60);
        for budget in [1u32, 2, 3, 7, 8, 9, 1000] {
            let issuing = Issuing::new(derived(key, b"p", [1; 16]), start, budget, age);
            let more = (0..budget * 2)
                .take_while(|_| issuing.take(&key, &IDENTITY, start))
                .count();
            assert_eq!(
                more + 1,
                budget as usize,
                "one thread spends the whole budget"
            );

            let issuing = Issuing::new(derived(key, b"p", [1; 16]), start, budget, age);
            let taken = std::sync::atomic::AtomicUsize::new(1);
            std::thread::scope(|scope| {
                for _ in 0..Issuing::SHARDS + 3 {
                    scope.spawn(|| {
                        for _ in 0..budget {
                            if issuing.take(&key, &IDENTITY, start) {
                                taken.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            assert_eq!(
                taken.into_inner(),
                budget as usize,
                "threads together: {budget}"
            );
        }
    }

    #[test]
    fn the_cache_matches_key_purposes_and_modifier_and_forgets_removed_keys() {
        let cache = SubkeyCache::new();
        let (a, b) = (KeyId::random(), KeyId::random());
        let entry = derived(a, b"orders", [3; 16]);
        let purposes = Arc::clone(&entry.aad_tail);
        cache.insert(entry);
        assert!(cache.get(&a, &IDENTITY, &purposes, &[3; 16]).is_some());
        // Equal purposes in another allocation match too.
        assert!(cache
            .get(&a, &IDENTITY, &Arc::from(&b"orders"[..]), &[3; 16])
            .is_some());
        assert!(cache.get(&b, &IDENTITY, &purposes, &[3; 16]).is_none());
        assert!(
            cache.get(&a, &[8; 16], &purposes, &[3; 16]).is_none(),
            "a key replaced under the same id"
        );
        assert!(cache
            .get(&a, &IDENTITY, &Arc::from(&b"invoices"[..]), &[3; 16])
            .is_none());
        let mut other = [3; 16];
        other[15] = 4; // Same slot (the first eight bytes pick it), other modifier.
        assert!(cache.get(&a, &IDENTITY, &purposes, &other).is_none());

        cache.insert(derived(b, b"orders", [5; 16]));
        assert_eq!(cache.len(), 2);
        cache.retain(|id| *id == b);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&a, &IDENTITY, &purposes, &[3; 16]).is_none());
        assert!(cache.get(&b, &IDENTITY, &purposes, &[5; 16]).is_some());
    }

    #[test]
    fn bounds_are_validated() {
        assert!(SubkeyReuse::PerPayload.validate().is_ok());
        assert!(SubkeyReuse::DEFAULT.validate().is_ok());
        let bounded = |max_payloads, secs| SubkeyReuse::Bounded {
            max_payloads,
            max_age: Duration::from_secs(secs),
        };
        assert!(bounded(1, 1).validate().is_ok());
        assert!(bounded(SubkeyReuse::MAX_PAYLOADS, 3600).validate().is_ok());
        assert!(bounded(0, 1).validate().is_err());
        assert!(bounded(SubkeyReuse::MAX_PAYLOADS + 1, 1)
            .validate()
            .is_err());
        assert!(bounded(1, 0).validate().is_err());
        assert!(bounded(1, 3601).validate().is_err());
    }
}
