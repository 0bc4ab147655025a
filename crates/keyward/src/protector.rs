//! [`Protector`]: protect and unprotect under one purpose chain.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::crypto::{Derivation, KdfPrefix, Label};
use crate::encoding::{base64url_decode, base64url_encode};
use crate::error::{Error, Result};
use crate::key::KeyId;
use crate::key::RingKey;
use crate::payload::{self, HEADER_LEN};
use crate::provider::Shared;
use crate::purpose::aad_tail;
use crate::time_limited::TimeLimitedProtector;

/// What [`Protector::unprotect_allow_revoked`] returns.
#[derive(Clone, PartialEq, Eq)]
pub struct Unprotected {
    /// The plaintext.
    pub data: Vec<u8>,
    /// The payload's key has been revoked.
    pub was_revoked: bool,
    /// The payload was not protected with the current default key (or its key is revoked):
    /// protect the data again.
    pub requires_migration: bool,
}

impl fmt::Debug for Unprotected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unprotected")
            .field("data", &format_args!("[{} bytes]", self.data.len()))
            .field("was_revoked", &self.was_revoked)
            .field("requires_migration", &self.requires_migration)
            .finish()
    }
}

/// Protects and unprotects data for one purpose chain. Payloads are byte-compatible with
/// ASP.NET Core's `IDataProtector` for the same key ring, application name and purposes.
///
/// Cheap to clone. `protect` and `unprotect` read an immutable key-ring snapshot and do no I/O
/// (except that the very first `protect` on a ring with no usable key creates one).
#[derive(Clone)]
pub struct Protector {
    shared: Arc<Shared>,
    purposes: Arc<[String]>,
    /// `u32be(count) || purposes`: the purpose part of the AAD, computed once.
    aad_tail: Arc<[u8]>,
    /// The KDF prefix of the key this protector last protected with.
    prefix_cache: Arc<ArcSwapOption<CachedPrefix>>,
}

/// A KDF prefix (key material: wiped on drop) and the key it belongs to.
struct CachedPrefix {
    key_id: KeyId,
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
    pub(crate) fn new(shared: Arc<Shared>, purposes: Vec<String>) -> Self {
        let aad_tail = aad_tail(&purposes).into();
        Self {
            shared,
            purposes: purposes.into(),
            aad_tail,
            prefix_cache: Arc::new(ArcSwapOption::empty()),
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

    /// A time-limited protector over this chain (.NET's `ToTimeLimitedDataProtector`).
    pub fn to_time_limited(&self) -> TimeLimitedProtector {
        TimeLimitedProtector::new(self.shared_handle(), self.purposes.to_vec())
    }

    pub(crate) fn shared_handle(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// The whole purpose chain, the application name first.
    pub fn purposes(&self) -> &[String] {
        &self.purposes
    }

    /// Protects bytes with the ring's default key. Creates a key first if the ring has no
    /// usable one (the only case where `protect` touches the repository).
    ///
    /// # Errors
    /// Only when a key has to be created and that fails.
    pub fn protect(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let now = self.shared.now();
        let ring = self.shared.ring();
        if now >= ring.refresh_at() {
            self.shared.refresher.request();
        }
        if let Some(key) = ring.default_key_at(now) {
            return self.protect_with(key, plaintext);
        }
        drop(ring);
        let ring = self.shared.ensure_default_key()?;
        let key = ring
            .default_key_at(self.shared.now())
            .ok_or_else(|| Error::NoDefaultKey {
                ring_location: ring.location().to_owned(),
                reason: "no key qualifies".into(),
            })?;
        self.protect_with(key, plaintext)
    }

    fn protect_with(&self, key: &RingKey, plaintext: &[u8]) -> Result<Vec<u8>> {
        let crypto = key.crypto()?;
        let len = HEADER_LEN + crypto.body_len(plaintext.len());
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&payload::header(key.info.id));
        let label = Label {
            key_id: &key.guid_bytes,
            purposes: &self.aad_tail,
        };
        let cached = self.prefix_cache.load();
        match cached.as_deref().filter(|c| c.key_id == key.info.id) {
            Some(hit) => crypto.encrypt_body(Derivation::Prefix(&hit.prefix), plaintext, &mut out),
            None => match crypto.prefix(label) {
                // A new default key: compute its prefix once for this purpose chain.
                Some(prefix) => {
                    let entry = Arc::new(CachedPrefix {
                        key_id: key.info.id,
                        prefix,
                    });
                    crypto.encrypt_body(Derivation::Prefix(&entry.prefix), plaintext, &mut out);
                    self.prefix_cache.store(Some(entry));
                }
                None => crypto.encrypt_body(Derivation::Label(&label.parts()), plaintext, &mut out),
            },
        }
        debug_assert_eq!(
            out.len(),
            len,
            "the one output allocation was sized exactly"
        );
        Ok(out)
    }

    /// Unprotects a payload made by `protect` (here or by .NET) for the same purpose chain.
    ///
    /// A payload whose key id the ring does not hold triggers one refresh of the ring (at
    /// most once per 30 s by default), waited for up to 2 s, before failing.
    ///
    /// # Errors
    /// [`Error::MalformedPayload`], [`Error::KeyNotFound`], [`Error::KeyRevoked`],
    /// [`Error::KeyNotDecryptable`], [`Error::UnsupportedAlgorithm`], or
    /// [`Error::InvalidPayload`] when it was tampered with or made for other purposes.
    pub fn unprotect(&self, protected: &[u8]) -> Result<Vec<u8>> {
        self.unprotect_checked(protected, false).map(|u| u.data)
    }

    /// Unprotects even when the payload's key was revoked (.NET's `DangerousUnprotect`), and
    /// says whether it was, and whether the data should be protected again with the current
    /// default key. Use it to migrate data away from a revoked key, never to accept tokens.
    ///
    /// # Errors
    /// As [`Protector::unprotect`], except [`Error::KeyRevoked`].
    pub fn unprotect_allow_revoked(&self, protected: &[u8]) -> Result<Unprotected> {
        self.unprotect_checked(protected, true)
    }

    fn unprotect_checked(&self, protected: &[u8], allow_revoked: bool) -> Result<Unprotected> {
        let (key_id, body) = payload::parse(protected)?;
        let mut ring = self.shared.ring_full();
        if !ring.contains(&key_id) {
            tracing::debug!(%key_id, "a payload names a key id that is not in the key ring");
            let policy = self.shared.policy();
            if self.shared.refresher.refresh_for_unknown_key(
                &self.shared,
                policy.unknown_key_refresh_interval,
                policy.unknown_key_wait,
            ) {
                ring = self.shared.ring_full();
            }
        }
        let key = ring.get(&key_id).ok_or_else(|| Error::KeyNotFound {
            key_id,
            ring_location: ring.location().to_owned(),
        })?;
        if key.info.revoked && !allow_revoked {
            return Err(Error::KeyRevoked(key_id));
        }
        let label = Label {
            key_id: &key.guid_bytes,
            purposes: &self.aad_tail,
        };
        let crypto = key.crypto()?;
        // The cached prefix serves payloads of the current default key; others (older keys)
        // derive from the label, so unprotect never allocates beyond its output.
        let cached = self.prefix_cache.load();
        let data = match cached.as_deref().filter(|c| c.key_id == key_id) {
            Some(hit) => crypto.decrypt_body(Derivation::Prefix(&hit.prefix), body)?,
            None => crypto.decrypt_body(Derivation::Label(&label.parts()), body)?,
        };
        let is_default = ring
            .default_key_at(self.shared.now())
            .is_some_and(|d| d.info.id == key_id);
        Ok(Unprotected {
            data,
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
        let payload = base64url_decode(protected)?;
        let plaintext = self.unprotect(&payload)?;
        String::from_utf8(plaintext).map_err(|e| {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Error::NotUtf8
        })
    }
}
