//! The cryptography of the payload body: SP800-108 subkey derivation, AES-CBC + HMAC and
//! AES-GCM, exactly as ASP.NET Core Data Protection computes them.
//!
//! Primitives come from RustCrypto (`aes`, `cbc`, `hmac`, `sha2`) and aws-lc-rs (AES-GCM, and
//! AES-CBC on subkeys expanded for reuse), chosen per primitive by measurement
//! (BENCHMARKS.md); nothing here implements a primitive. [`Subkeys`] are what one key
//! modifier derives, ready for one payload or many (see [`crate::subkeys::SubkeyReuse`]).

mod aes_dispatch;
mod algorithm;
mod cbc_hmac;
mod context_header;
pub(crate) mod fork;
mod gcm;
pub(crate) mod kdf;
pub(crate) mod rng;

pub use algorithm::{AesKeySize, Algorithm, ValidationAlgorithm};
pub(crate) use context_header::context_header;
pub(crate) use kdf::KdfPrefix;

use std::ops::Range;

use crate::error::Result;
use crate::secret::Secret;
use kdf::Kdf;

/// How a payload's subkeys are derived: from the label in pieces, or from a prefix state
/// already holding label and context header (see [`KeyCrypto::prefix`]).
#[derive(Clone, Copy)]
pub(crate) enum Derivation<'a> {
    /// The whole label, in pieces.
    Label(&'a [&'a [u8]]),
    /// A prefix computed for this key and purpose chain.
    Prefix(&'a KdfPrefix),
}

/// The KDF label of one payload: the additional authenticated data
/// `magic || key id || u32be(count) || purposes`, given in pieces.
#[derive(Clone, Copy)]
pub(crate) struct Label<'a> {
    /// The 16 key-id bytes in `Guid.ToByteArray` order.
    pub(crate) key_id: &'a [u8; 16],
    /// `u32be(count) || (varint(len) || utf8)*`: the purpose part of the AAD.
    pub(crate) purposes: &'a [u8],
}

impl Label<'_> {
    /// The label's pieces, in order.
    pub(crate) fn parts(&self) -> [&[u8]; 3] {
        [&crate::payload::MAGIC, self.key_id, self.purposes]
    }
}

/// Everything needed to protect and unprotect with one master key: the algorithm, the
/// pre-keyed KDF and the context header. Built once per key when the key ring loads.
#[derive(Clone)]
pub(crate) struct KeyCrypto {
    algorithm: Algorithm,
    kdf: Kdf,
    context_header: &'static [u8],
    identity: KeyIdentity,
}

/// What caches of derived material compare besides the key id: a PRF of the master key and
/// the algorithm. A key replaced under the same id (a store writer, a restore) never meets
/// material derived from its predecessor.
pub(crate) type KeyIdentity = [u8; 16];

impl KeyCrypto {
    /// Prepares the master key for use with `algorithm`.
    pub(crate) fn new(algorithm: Algorithm, master_key: &Secret) -> Self {
        let kdf = Kdf::new(master_key.expose());
        let context_header = context_header(algorithm);
        let mut identity = [0u8; 16];
        // 16 bytes: always a length the KDF expresses.
        let derived = kdf.derive(&[b"keyward key identity"], &[context_header], &mut identity);
        debug_assert!(derived.is_ok());
        Self {
            algorithm,
            kdf,
            context_header,
            identity,
        }
    }

    /// This key's identity for caches (master key and algorithm, through a PRF).
    pub(crate) fn identity(&self) -> &KeyIdentity {
        &self.identity
    }

    /// The length of the body `encrypt_body` appends for a plaintext of `plaintext_len` bytes.
    pub(crate) fn body_len(&self, plaintext_len: usize) -> usize {
        match self.algorithm {
            Algorithm::Cbc { validation, .. } => cbc_hmac::body_len(validation, plaintext_len),
            Algorithm::Gcm { .. } => gcm::body_len(plaintext_len),
        }
    }

    /// The KDF prefix for this key and a purpose chain, when the algorithm derives at most
    /// one block (every algorithm but CBC with HMACSHA512).
    pub(crate) fn prefix(&self, label: Label<'_>) -> Option<KdfPrefix> {
        (self.algorithm.subkey_len() <= 64)
            .then(|| self.kdf.prefix(&label.parts(), self.context_header))
    }

    /// Derives the subkeys of `key_modifier`, ready to encrypt or decrypt.
    ///
    /// # Errors
    /// [`crate::error::Error::EncryptionFailed`] if the derivation cannot produce the subkeys.
    pub(crate) fn subkeys(
        &self,
        derivation: Derivation<'_>,
        key_modifier: &[u8],
    ) -> Result<Subkeys> {
        Ok(match self.algorithm {
            Algorithm::Cbc {
                key_size,
                validation,
            } => Subkeys(SubkeysOf::Cbc(cbc_hmac::Subkeys::derive(
                self,
                key_size,
                validation,
                derivation,
                key_modifier,
            )?)),
            Algorithm::Gcm { key_size } => Subkeys(SubkeysOf::Gcm(gcm::Subkey::derive(
                self,
                key_size,
                derivation,
                key_modifier,
            )?)),
        })
    }

    /// Checks that `body` is long enough for this algorithm before anything is derived
    /// for it.
    ///
    /// # Errors
    /// [`crate::error::Error::MalformedPayload`] (truncated).
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<()> {
        match self.algorithm {
            Algorithm::Cbc { validation, .. } => cbc_hmac::check_len(validation, body),
            Algorithm::Gcm { .. } => gcm::check_len(body),
        }
    }

    /// Appends a body under a fresh random key modifier (subkeys of its own) to `out`,
    /// which must have room for [`KeyCrypto::body_len`] more bytes, so it never reallocates.
    ///
    /// # Errors
    /// [`crate::error::Error::EncryptionFailed`]: then `out` is as it was.
    pub(crate) fn encrypt_body(
        &self,
        derivation: Derivation<'_>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut key_modifier = [0u8; KEY_MODIFIER_LEN];
        rng::fill(&mut key_modifier);
        self.subkeys(derivation, &key_modifier)?
            .encrypt_body(&key_modifier, plaintext, out)
    }

    /// Authenticates and decrypts a body, deriving its subkeys from its key modifier.
    pub(crate) fn decrypt_body(&self, derivation: Derivation<'_>, body: &[u8]) -> Result<Vec<u8>> {
        self.check_body(body)?;
        let mut plaintext = Vec::new();
        self.subkeys(derivation, &body[..KEY_MODIFIER_LEN])?
            .decrypt_body_into(body, &mut plaintext)?;
        Ok(plaintext)
    }

    /// Derives the per-payload subkeys into `out` from the label (or prefix) and the key
    /// modifier.
    fn derive(
        &self,
        derivation: Derivation<'_>,
        key_modifier: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        match derivation {
            Derivation::Label(label) => {
                self.kdf
                    .derive(label, &[self.context_header, key_modifier], out)
            }
            Derivation::Prefix(prefix) => prefix.derive(key_modifier, out),
        }
    }
}

/// The subkeys one key modifier gives a key and purpose chain, ready to use: AES-GCM's
/// expanded `K_E`, or CBC's `K_E` and an HMAC keyed with `K_H`. Wiped on drop. Several
/// payloads may share them (see [`crate::subkeys::SubkeyReuse`]).
pub(crate) struct Subkeys(SubkeysOf);

/// [`Subkeys`] by algorithm.
// CBC's HMAC states make its variant larger; boxing it would cost an allocation per payload
// on the per-payload path, where subkeys live on the stack.
#[allow(clippy::large_enum_variant)]
enum SubkeysOf {
    Cbc(cbc_hmac::Subkeys),
    Gcm(gcm::Subkey),
}

impl Subkeys {
    /// Appends `keyModifier || IV || ciphertext || MAC` (or `… nonce … tag`) to `out`,
    /// with a fresh random IV or nonce. `out` must have room for the body, so it never
    /// reallocates; `key_modifier` must be the one these subkeys were derived from.
    ///
    /// # Errors
    /// [`crate::error::Error::EncryptionFailed`] when the cipher refuses: `out` is then as it was
    /// (no junk, no plaintext).
    pub(crate) fn encrypt_body(
        &self,
        key_modifier: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match &self.0 {
            SubkeysOf::Cbc(subkeys) => {
                let mut iv = [0u8; 16];
                rng::fill(&mut iv);
                subkeys.encrypt(key_modifier, &iv, plaintext, out)
            }
            SubkeysOf::Gcm(subkey) => {
                let mut nonce = [0u8; gcm::NONCE_LEN];
                rng::fill(&mut nonce);
                subkey.encrypt(key_modifier, nonce, plaintext, out)
            }
        }
    }

    /// The length of the body [`Subkeys::encrypt_body`] appends for `plaintext_len` bytes.
    pub(crate) fn body_len(&self, plaintext_len: usize) -> usize {
        match &self.0 {
            SubkeysOf::Cbc(subkeys) => subkeys.body_len(plaintext_len),
            SubkeysOf::Gcm(_) => gcm::body_len(plaintext_len),
        }
    }

    /// [`KeyCrypto::check_body`] for the algorithm of these subkeys.
    ///
    /// # Errors
    /// As [`KeyCrypto::check_body`].
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<()> {
        match &self.0 {
            SubkeysOf::Cbc(subkeys) => cbc_hmac::check_len(subkeys.validation(), body),
            SubkeysOf::Gcm(_) => gcm::check_len(body),
        }
    }

    /// Prepares these subkeys for many payloads (CBC: expands `K_E` on the backend that is
    /// fastest once expanded). Idempotent and cheap once done.
    pub(crate) fn prepare_for_reuse(&self) {
        if let SubkeysOf::Cbc(subkeys) = &self.0 {
            subkeys.expand();
        }
    }

    /// Authenticates a body whose key modifier these subkeys were derived from and appends
    /// its plaintext to `out` (which grows only when it lacks room).
    ///
    /// # Errors
    /// [`crate::error::Error::InvalidPayload`] or a malformed length: `out` is then as it was.
    pub(crate) fn decrypt_body_into(&self, body: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match &self.0 {
            SubkeysOf::Cbc(subkeys) => subkeys.decrypt_into(body, out),
            SubkeysOf::Gcm(subkey) => subkey.decrypt_into(body, out),
        }
    }

    /// Authenticates a body and decrypts it where it lies; returns where the plaintext lies
    /// in `body`.
    ///
    /// # Errors
    /// As [`Subkeys::decrypt_body_into`]; the ciphertext part of `body` may then be wiped.
    pub(crate) fn decrypt_body_in_place(&self, body: &mut [u8]) -> Result<Range<usize>> {
        match &self.0 {
            SubkeysOf::Cbc(subkeys) => subkeys.decrypt_in_place(body),
            SubkeysOf::Gcm(subkey) => subkey.decrypt_in_place(body),
        }
    }
}

/// Size of the random key modifier that starts every body.
pub(crate) use crate::payload::KEY_MODIFIER_LEN;

/// The largest subkey material any algorithm derives (AES-256 key + HMAC-SHA512 key).
const MAX_SUBKEY_LEN: usize = 32 + 64;

/// Encrypt-then-MAC primitives exposed for known-answer tests of the encryptor alone
/// (a fixed key modifier and IV instead of random ones).
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Encrypts with a caller-chosen key modifier and IV/nonce, with `aad` as the whole KDF
    /// label. For known-answer tests only: real payloads draw both at random.
    pub fn encrypt_with_fixed_randomness(
        algorithm: Algorithm,
        kdk: &[u8],
        aad: &[u8],
        key_modifier: &[u8; 16],
        iv_or_nonce: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let crypto = KeyCrypto::new(algorithm, &Secret::new(kdk.to_vec()));
        let Ok(subkeys) = crypto.subkeys(Derivation::Label(&[aad]), key_modifier) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(crypto.body_len(plaintext.len()));
        let encrypted = match &subkeys.0 {
            SubkeysOf::Cbc(cbc) => cbc.encrypt(key_modifier, iv_or_nonce, plaintext, &mut out),
            SubkeysOf::Gcm(gcm) => {
                let nonce = iv_or_nonce.try_into().unwrap_or_default();
                gcm.encrypt(key_modifier, nonce, plaintext, &mut out)
            }
        };
        if encrypted.is_err() {
            return Vec::new();
        }
        out
    }

    /// Decrypts a body with `aad` as the whole KDF label.
    pub fn decrypt(algorithm: Algorithm, kdk: &[u8], aad: &[u8], body: &[u8]) -> Result<Vec<u8>> {
        KeyCrypto::new(algorithm, &Secret::new(kdk.to_vec()))
            .decrypt_body(Derivation::Label(&[aad]), body)
    }

    /// SP800-108 CTR HMAC-SHA512 of `len` bytes.
    pub fn kdf(kdk: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        if Kdf::new(kdk)
            .derive(&[label], &[context], &mut out)
            .is_err()
        {
            return Vec::new();
        }
        out
    }

    /// The context header of `algorithm`.
    pub fn context_header(algorithm: Algorithm) -> Vec<u8> {
        super::context_header(algorithm).to_vec()
    }
}
