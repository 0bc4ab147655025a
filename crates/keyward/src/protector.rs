//! [`Protector`]: protect and unprotect under one purpose chain.

use std::fmt;
use std::sync::Arc;

use crate::crypto::Label;
use crate::encoding::{base64url_decode, base64url_encode};
use crate::error::{Error, Result};
use crate::key::RingKey;
use crate::payload::{self, HEADER_LEN};
use crate::provider::Shared;
use crate::purpose::aad_tail;

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

    /// The whole purpose chain, the application name first.
    pub fn purposes(&self) -> &[String] {
        &self.purposes
    }

    /// Protects bytes with the ring's default key. Creates a key first if the ring has no
    /// usable one.
    ///
    /// # Errors
    /// Only when a key has to be created and the repository fails.
    pub fn protect(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let now = self.shared.now();
        let ring = self.shared.ring();
        if let Some(key) = ring.default_key().filter(|k| k.info.expiration > now) {
            return self.protect_with(key, plaintext);
        }
        drop(ring);
        let ring = self.shared.ensure_default_key()?;
        let key = ring.default_key().ok_or_else(|| Error::NoDefaultKey {
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
        crypto.encrypt_body(label, plaintext, &mut out);
        debug_assert_eq!(
            out.len(),
            len,
            "the one output allocation was sized exactly"
        );
        Ok(out)
    }

    /// Unprotects a payload made by `protect` (here or by .NET) for the same purpose chain.
    ///
    /// # Errors
    /// [`Error::MalformedPayload`], [`Error::KeyNotFound`], [`Error::KeyRevoked`],
    /// [`Error::KeyNotDecryptable`], [`Error::UnsupportedAlgorithm`], or
    /// [`Error::InvalidPayload`] when it was tampered with or made for other purposes.
    pub fn unprotect(&self, protected: &[u8]) -> Result<Vec<u8>> {
        let (key_id, body) = payload::parse(protected)?;
        let ring = self.shared.ring();
        let key = ring.get(&key_id).ok_or_else(|| {
            tracing::debug!(%key_id, "a payload names a key that is not in the ring");
            Error::KeyNotFound {
                key_id,
                ring_location: ring.location().to_owned(),
            }
        })?;
        if key.info.revoked {
            return Err(Error::KeyRevoked(key_id));
        }
        let label = Label {
            key_id: &key.guid_bytes,
            purposes: &self.aad_tail,
        };
        key.crypto()?.decrypt_body(label, body)
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
