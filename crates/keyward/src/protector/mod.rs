//! [`Protector`]: protect and unprotect under one purpose chain.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use time::OffsetDateTime;

use crate::crypto::{KdfPrefix, KeyIdentity, KEY_MODIFIER_LEN};
use crate::encoding::{base64url_decode, base64url_encode};
use crate::error::{Error, Result};
use crate::key::RingKey;
use crate::key_id::KeyId;
use crate::live_ring::LiveRing;
use crate::payload::{self, HEADER_LEN};
use crate::purpose::aad_tail;
use crate::subkeys::{Issuing, SubkeyReuse};

/// The ring version and the span (from, until) in which `protect`'s fast path may use newly
/// issued subkeys (see [`Issuing::with_fast_window`]); `None`: not at all.
type FastUntil = Option<(u64, (OffsetDateTime, OffsetDateTime))>;

mod derivation;
mod fast_path;
mod opening;
mod results;

use opening::{Mode, OpenedAt, Opening};
pub use results::{Opened, Unprotected};

/// Protects and unprotects data for one purpose chain. Payloads are byte-compatible with
/// ASP.NET Core's `IDataProtector` for the same key ring, application name and purposes.
///
/// Cheap to clone. `protect` and `unprotect` read an immutable key-ring snapshot and do no I/O
/// (except that the very first `protect` on a ring with no usable key creates one).
#[derive(Clone)]
pub struct Protector {
    shared: Arc<LiveRing>,
    purposes: Arc<[String]>,
    /// `u32be(count) || purposes`: the purpose part of the AAD, computed once.
    aad_tail: Arc<[u8]>,
    /// The KDF prefix of the key this protector last protected with.
    prefix_cache: Arc<ArcSwapOption<CachedPrefix>>,
    /// The subkeys `protect` is issuing under ([`SubkeyReuse::Bounded`]).
    issuing: Arc<ArcSwapOption<Issuing>>,
}

/// A KDF prefix (key material: wiped on drop) and the key it belongs to.
struct CachedPrefix {
    key_id: KeyId,
    /// Master key and algorithm: a key replaced under the same id never reuses it.
    key_identity: KeyIdentity,
    prefix: KdfPrefix,
}

impl fmt::Debug for Protector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Protector")
            .field("purposes", &self.purposes)
            .finish_non_exhaustive()
    }
}

impl Protector {
    pub(crate) fn new(shared: Arc<LiveRing>, purposes: Vec<String>) -> Self {
        let aad_tail = aad_tail(&purposes).into();
        Self {
            shared,
            purposes: purposes.into(),
            aad_tail,
            prefix_cache: Arc::new(ArcSwapOption::empty()),
            issuing: Arc::new(ArcSwapOption::empty()),
        }
    }

    /// A protector whose chain is this one's plus `purpose` (.NET's `CreateProtector`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let provider = keyward::Provider::builder().application_name("a").key_directory(dir.path()).build().unwrap();
    /// let orders = provider.protector(["Orders"]);
    /// assert_eq!(orders.protector("v1").purposes(), ["a", "Orders", "v1"]);
    /// ```
    pub fn protector(&self, purpose: impl Into<String>) -> Protector {
        let mut chain = self.purposes.to_vec();
        chain.push(purpose.into());
        Self::new(Arc::clone(&self.shared), chain)
    }

    pub(crate) fn shared_handle(&self) -> Arc<LiveRing> {
        Arc::clone(&self.shared)
    }

    /// The whole purpose chain, the application name first.
    pub fn purposes(&self) -> &[String] {
        &self.purposes
    }

    /// Protects bytes with the ring's default key. If the ring has no usable key (none was
    /// created yet, or the refresh thread could not create the successor in time), the
    /// refresh thread reloads (creating a key if this node may) and this call waits for it at
    /// most [`unknown_key_wait`](crate::policy::KeyManagementPolicy::unknown_key_wait). The caller's
    /// thread never does repository I/O.
    ///
    /// # Errors
    /// [`Error::NoDefaultKey`] when no key could be had in that time.
    pub fn protect(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.protect_into(plaintext, &mut out)?;
        Ok(out)
    }

    /// [`Protector::protect`], appending the payload to `out` instead of returning a new
    /// vector: once `out` has room (a buffer reused across calls), protecting allocates
    /// nothing.
    ///
    /// ```
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let protector = provider.protector(["cookie"]);
    /// let mut buffer = Vec::with_capacity(1024);
    /// protector.protect_into(b"session 7", &mut buffer)?;
    /// assert_eq!(protector.unprotect(&buffer)?, b"session 7");
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Protector::protect`]; `out` is then as it was.
    pub fn protect_into(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        // Failures only are recorded: success costs nothing.
        self.protect_unrecorded(plaintext, out)
            .inspect_err(crate::metrics::protect_failed)
    }

    fn protect_unrecorded(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.protect_fast(plaintext, out)? {
            return Ok(());
        }
        // Read before the snapshot (see `LiveRing::ring_version`).
        let version = self.shared.ring_version();
        let now = self.shared.now();
        let ring = self.shared.ring();
        if now >= ring.refresh_at() {
            self.shared.local().refresher.request();
        }
        if let Some(key) = ring.default_key_at(now) {
            let fast = self.fast_span(&ring, now).map(|span| (version, span));
            return self.protect_with(key, plaintext, now, fast, out);
        }
        drop(ring);
        let ring = self.shared.default_key_from_refresher()?;
        let now = self.shared.now();
        let key = ring
            .default_key_at(now)
            .ok_or_else(|| Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: crate::error::NoDefaultKeyReason::NoKeyQualifies,
            })?;
        self.protect_with(key, plaintext, now, None, out)
    }

    /// Appends a payload under `key` to `out`; on failure `out` is as it was.
    fn protect_with(
        &self,
        key: &RingKey,
        plaintext: &[u8],
        now: OffsetDateTime,
        fast: FastUntil,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        self.append_payload(key, plaintext, now, fast, out)
            .inspect_err(|_| out.truncate(start))
    }

    fn append_payload(
        &self,
        key: &RingKey,
        plaintext: &[u8],
        now: OffsetDateTime,
        fast: FastUntil,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let crypto = key.crypto()?;
        let len = out.len() + HEADER_LEN + crypto.body_len(plaintext.len());
        // One exact reservation: the body is appended without reallocating.
        out.reserve_exact(len - out.len());
        out.extend_from_slice(&payload::header(key.info.id));
        match self.shared.subkey_reuse {
            SubkeyReuse::PerPayload => self.with_derivation(key, crypto, true, |derivation| {
                crypto.encrypt_body(derivation, plaintext, out)
            })?,
            SubkeyReuse::Bounded {
                max_payloads,
                max_age,
            } => {
                let issuing = self.issuing.load();
                match issuing
                    .as_deref()
                    .filter(|i| i.take(&key.info.id, crypto.identity(), now))
                {
                    Some(current) => {
                        let derived = &current.derived;
                        derived
                            .subkeys
                            .encrypt_body(&derived.key_modifier, plaintext, out)?;
                    }
                    None => {
                        // Budget spent, too old, or a new default key: a new key modifier.
                        drop(issuing);
                        let mut key_modifier = [0u8; KEY_MODIFIER_LEN];
                        crate::crypto::rng::fill(&mut key_modifier);
                        let subkeys = self.with_derivation(key, crypto, true, |derivation| {
                            crypto.subkeys(derivation, &key_modifier)
                        })?;
                        if max_payloads > 1 {
                            subkeys.prepare_for_reuse();
                        }
                        subkeys.encrypt_body(&key_modifier, plaintext, out)?;
                        let derived = self.keep(key, crypto, key_modifier, subkeys);
                        let mut issuing = Issuing::new(derived, now, max_payloads, max_age);
                        if let Some((version, span)) = fast {
                            issuing = issuing.with_fast_window(version, span);
                        }
                        self.issuing.store(Some(Arc::new(issuing)));
                    }
                }
            }
        }
        debug_assert_eq!(out.len(), len, "the reservation was sized exactly");
        Ok(())
    }

    /// Unprotects a payload made by `protect` (here or by .NET) for the same purpose chain.
    ///
    /// A payload whose key id the ring does not hold triggers one refresh of the ring (at
    /// most once per 30 s by default), waited for up to 2 s, before failing.
    ///
    /// # Errors
    /// [`Error::MalformedPayload`], [`Error::KeyNotFound`], [`Error::KeyUnreadable`], [`Error::KeyRevoked`],
    /// [`Error::KeyNotDecryptable`], [`Error::UnsupportedAlgorithm`], [`Error::KeyBelowMinimumSize`], or
    /// [`Error::InvalidPayload`] when it was tampered with or made for other purposes.
    pub fn unprotect(&self, protected: &[u8]) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        self.unprotect_checked(Opening::append(protected, &mut data), Mode::Plain)?;
        Ok(data)
    }

    /// [`Protector::unprotect`], appending the plaintext to `out` instead of returning a new
    /// vector: once `out` has room (a buffer reused across calls), a payload whose subkeys are
    /// cached (a cookie read on every request) is opened without allocating.
    ///
    /// ```
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let protector = provider.protector(["cookie"]);
    /// let payload = protector.protect(b"session 7")?;
    /// let mut plaintext = Vec::with_capacity(256);
    /// protector.unprotect_into(&payload, &mut plaintext)?;
    /// assert_eq!(plaintext, b"session 7");
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Protector::unprotect`]; `out` is then as it was.
    pub fn unprotect_into(&self, protected: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.unprotect_checked(Opening::append(protected, out), Mode::Plain)
            .map(|_| ())
    }

    /// [`Protector::unprotect`] in place: decrypts the payload's ciphertext where it lies in
    /// `payload` and returns the part of `payload` that now holds the plaintext. Never
    /// allocates once the payload's subkeys are cached.
    ///
    /// ```
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let protector = provider.protector(["cookie"]);
    /// let mut payload = protector.protect(b"session 7")?;
    /// let plaintext = protector.unprotect_in_place(&mut payload)?;
    /// assert_eq!(plaintext, b"session 7");
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Protector::unprotect`]. After an error the payload's bytes are unspecified (its
    /// ciphertext may have been wiped); they never hold plaintext.
    pub fn unprotect_in_place<'a>(&self, payload: &'a mut [u8]) -> Result<&'a mut [u8]> {
        let opened = self.unprotect_checked(Opening::InPlace(&mut *payload), Mode::Plain)?;
        Ok(&mut payload[opened.plaintext])
    }

    /// [`Protector::unprotect`], also saying which key opened the payload and whether it is
    /// the current default key, so a caller that re-issues cookies under the current key
    /// needs no second parse. Revoked keys are refused as by `unprotect`.
    ///
    /// ```
    /// let provider = keyward::Provider::ephemeral("shop")?;
    /// let protector = provider.protector(["cookie"]);
    /// let payload = protector.protect(b"session 7")?;
    /// let opened = protector.unprotect_with_key(&payload)?;
    /// assert_eq!(opened.data, b"session 7");
    /// assert!(opened.is_default);
    /// assert_eq!(Some(opened.key_id), provider.default_key_at(provider.now()));
    /// # Ok::<(), keyward::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Protector::unprotect`].
    pub fn unprotect_with_key(&self, protected: &[u8]) -> Result<Opened> {
        let mut data = Vec::new();
        let opened =
            self.unprotect_checked(Opening::append(protected, &mut data), Mode::ReportKey)?;
        Ok(Opened {
            data,
            key_id: opened.key_id,
            is_default: !opened.requires_migration,
        })
    }

    /// Unprotects even when the payload's key was revoked (.NET's `DangerousUnprotect`), and
    /// says whether it was, and whether the data should be protected again with the current
    /// default key. Use it to migrate data away from a revoked key, never to accept tokens.
    ///
    /// # Errors
    /// As [`Protector::unprotect`], except [`Error::KeyRevoked`].
    pub fn unprotect_allow_revoked(&self, protected: &[u8]) -> Result<Unprotected> {
        let mut data = Vec::new();
        let opened =
            self.unprotect_checked(Opening::append(protected, &mut data), Mode::AllowRevoked)?;
        Ok(Unprotected {
            data,
            was_revoked: opened.was_revoked,
            requires_migration: opened.requires_migration,
        })
    }

    fn unprotect_checked(&self, opening: Opening<'_>, mode: Mode) -> Result<OpenedAt> {
        // Failures only are recorded: success costs nothing.
        self.unprotect_unrecorded(opening, mode)
            .inspect_err(crate::metrics::unprotect_failed)
    }

    fn unprotect_unrecorded(&self, opening: Opening<'_>, mode: Mode) -> Result<OpenedAt> {
        let allow_revoked = mode == Mode::AllowRevoked;
        let (key_id, body) = payload::parse(opening.payload())?;
        // Read before the snapshot (see `LiveRing::ring_version`).
        let version = self.shared.ring_version();
        if mode == Mode::Plain {
            let verified = self.verified_subkeys(key_id, body, version);
            if let Some(hit) = verified.as_ref().and_then(|guard| guard.as_deref()) {
                // Subkeys this ring version vouched for: the ring need not be read.
                hit.subkeys.check_body(body)?;
                let plaintext = opening.open(&hit.subkeys)?;
                return Ok(OpenedAt {
                    plaintext,
                    key_id,
                    was_revoked: false,
                    requires_migration: false,
                });
            }
        }
        let mut ring = self.shared.ring();
        if !ring.contains(&key_id) {
            tracing::debug!(%key_id, "a payload names a key id that is not in the key ring");
            crate::metrics::unknown_key_lookup();
            // Never hold a snapshot while waiting for the refresh thread.
            drop(ring);
            let policy = self.shared.policy();
            self.shared.local().refresher.refresh_for_unknown_key(
                &*self.shared,
                policy.unknown_key_refresh_interval,
                policy.unknown_key_wait,
            );
            ring = self.shared.ring();
        }
        let key = ring
            .get(&key_id)
            .ok_or_else(|| match ring.unreadable_key(&key_id) {
                Some(unreadable) => Error::KeyUnreadable {
                    key_id,
                    location: unreadable.location.clone(),
                    reason: unreadable.reason.clone(),
                },
                None => Error::KeyNotFound {
                    key_id,
                    ring_location: ring.location().to_owned(),
                },
            })?;
        if key.info.revoked && !allow_revoked {
            return Err(Error::KeyRevoked(key_id));
        }
        let crypto = key.crypto()?;
        crypto.check_body(body)?;
        let mut key_modifier = [0u8; KEY_MODIFIER_LEN];
        key_modifier.copy_from_slice(&body[..KEY_MODIFIER_LEN]);
        let cached =
            self.shared
                .subkeys
                .get(&key_id, crypto.identity(), &self.aad_tail, &key_modifier);
        let plaintext = match cached.as_ref().and_then(|guard| guard.as_deref()) {
            // Read before (a session cookie) or issued here: no key derivation.
            Some(hit) => {
                hit.subkeys.prepare_for_reuse();
                let plaintext = opening.open(&hit.subkeys)?;
                if !key.info.revoked {
                    hit.verified_in(version);
                }
                plaintext
            }
            None => {
                // The cached prefix serves payloads of the current default key; others (older
                // keys) derive from the label.
                let subkeys = self.with_derivation(key, crypto, false, |derivation| {
                    crypto.subkeys(derivation, &key_modifier)
                })?;
                let plaintext = opening.open(&subkeys)?;
                // Only subkeys that authenticated a payload are kept.
                self.keep(key, crypto, key_modifier, subkeys);
                plaintext
            }
        };
        // Plain `unprotect` reports no migration: it skips the clock.
        let is_default = mode == Mode::Plain
            || ring
                .default_key_at(self.shared.now())
                .is_some_and(|d| d.info.id == key_id);
        Ok(OpenedAt {
            plaintext,
            key_id,
            was_revoked: key.info.revoked,
            requires_migration: key.info.revoked || !is_default,
        })
    }

    /// Protects a string: UTF-8, then base64url without padding (.NET's `Protect(string)`).
    ///
    /// # Errors
    /// As [`Protector::protect`].
    pub fn protect_str(&self, plaintext: &str) -> Result<String> {
        self.protect(plaintext.as_bytes())
            .map(|payload| base64url_encode(&payload))
    }

    /// Unprotects what [`Protector::protect_str`] (or .NET's `Protect(string)`) made.
    ///
    /// # Errors
    /// As [`Protector::unprotect`], plus invalid base64 and [`Error::NotUtf8`].
    pub fn unprotect_str(&self, protected: &str) -> Result<String> {
        // `unprotect` records its own failures; the text form's are recorded here.
        let mut payload =
            base64url_decode(protected).inspect_err(crate::metrics::unprotect_failed)?;
        // Decrypted where it lies and moved to the front: one allocation, the decoded text.
        let range = self
            .unprotect_checked(Opening::InPlace(&mut payload), Mode::Plain)?
            .plaintext;
        let len = range.len();
        payload.copy_within(range, 0);
        zeroize::Zeroize::zeroize(&mut payload[len..]);
        payload.truncate(len);
        String::from_utf8(payload)
            .map_err(|e| {
                zeroize::Zeroize::zeroize(&mut e.into_bytes());
                Error::NotUtf8
            })
            .inspect_err(crate::metrics::unprotect_failed)
    }
}

#[cfg(test)]
mod tests;
