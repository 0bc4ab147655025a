//! The ASP.NET 4.5 crypto (`NetFXCryptoService`): `IV || CBC(K_enc, IV, PKCS#7(data)) ||
//! HMAC(K_val, IV || C)`, with both keys derived by SP800-108 for the payload's [`Purpose`].
//! `MachineKey.Protect` always uses it, whatever the compatibility mode; forms tickets and
//! ViewState use it under `compatibilityMode="Framework45"`.
//!
//! There is no header and no key id: the reader must know the algorithms and the purpose.

use keyward::Secret;

use crate::algorithms::MachineKeyDecryption;
use crate::error::{Error, Result};
use crate::kdf::{derive_key, Purpose};
use crate::keys::MachineKeys;
use crate::primitives::{
    block_size, cbc_decrypt, cbc_encrypt, constant_time_eq, hmac, key_fits, sha256,
};

/// The largest protected value accepted (16 MiB): bounds the work hostile input can cause.
pub const MAX_PROTECTED_BYTES: usize = 16 << 20;

/// How the IV is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IvMode {
    /// Random (the default: every output differs).
    Random,
    /// `CryptoServiceOptions.CacheableOutput` (WebResource/ScriptResource URLs): the IV is
    /// SHA-256 of the plaintext, iterated, truncated to the block size, so equal plaintexts
    /// give equal outputs.
    Cacheable,
}

/// `MachineKey.Protect`-style protection of `plaintext` for `purpose`, random IV.
///
/// # Errors
/// [`Error::InvalidArgument`] when the keys or algorithms do not work in Framework45.
pub fn protect(keys: &MachineKeys, purpose: &Purpose, plaintext: &[u8]) -> Result<Vec<u8>> {
    protect_with(keys, purpose, plaintext, IvMode::Random)
}

/// [`protect`] with the IV made as `iv` says.
///
/// # Errors
/// As [`protect`].
pub fn protect_with(
    keys: &MachineKeys,
    purpose: &Purpose,
    plaintext: &[u8],
    iv: IvMode,
) -> Result<Vec<u8>> {
    let mac = keys.fx45_mac()?;
    let cipher = keys.fx45_cipher()?;
    let enc_key = derive_key(keys.decryption_key(), purpose);
    let val_key = derive_key(keys.validation_key(), purpose);
    let iv = match iv {
        IvMode::Random => Secret::random(block_size(cipher)).expose().to_vec(),
        IvMode::Cacheable => iterated_hash(sha256, plaintext, block_size(cipher)),
    };
    let ciphertext = cbc_encrypt(cipher, enc_key.expose(), &iv, plaintext)?;
    let tag = hmac(mac, val_key.expose(), &[&iv, &ciphertext]);
    let mut out = iv;
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Checks the MAC (in constant time, before decrypting) and decrypts.
///
/// # Errors
/// [`Error::InvalidPayload`] for a wrong key, purpose or algorithm, or an altered value;
/// [`Error::Malformed`] for a value too short or too long to be one;
/// [`Error::InvalidArgument`] when the keys do not work in Framework45.
pub fn unprotect(keys: &MachineKeys, purpose: &Purpose, protected: &[u8]) -> Result<Vec<u8>> {
    let mac = keys.fx45_mac()?;
    let cipher = keys.fx45_cipher()?;
    let (iv, ciphertext, tag) = split(protected, block_size(cipher), mac.len())?;
    let val_key = derive_key(keys.validation_key(), purpose);
    let expected = hmac(mac, val_key.expose(), &[iv, ciphertext]);
    if !constant_time_eq(&expected, tag) {
        return Err(Error::InvalidPayload);
    }
    let enc_key = derive_key(keys.decryption_key(), purpose);
    cbc_decrypt(cipher, enc_key.expose(), iv, ciphertext)
}

/// Decrypts **without checking the MAC**, for forensics when only the decryption key is known
/// (e.g. a published Katana cookie). `mac_len` is the tag length to strip. Never use this to
/// trust a value: anyone can make one that decrypts.
///
/// # Errors
/// [`Error::InvalidArgument`] for a key that does not fit `cipher`; [`Error::Malformed`] or
/// [`Error::InvalidPayload`] when the value does not decrypt.
pub fn decrypt_unverified(
    cipher: MachineKeyDecryption,
    decryption_key: &Secret,
    purpose: &Purpose,
    protected: &[u8],
    mac_len: usize,
) -> Result<Vec<u8>> {
    if !key_fits(cipher, decryption_key.len()) {
        return Err(Error::InvalidArgument(format!(
            "a {}-byte decryptionKey does not fit {}",
            decryption_key.len(),
            cipher.name()
        )));
    }
    let (iv, ciphertext, _) = split(protected, block_size(cipher), mac_len)?;
    let enc_key = derive_key(decryption_key.expose(), purpose);
    cbc_decrypt(cipher, enc_key.expose(), iv, ciphertext)
}

/// `IV || C || T`, with `C` at least one block.
fn split(protected: &[u8], block: usize, mac_len: usize) -> Result<(&[u8], &[u8], &[u8])> {
    if protected.len() > MAX_PROTECTED_BYTES {
        return Err(Error::Malformed(format!(
            "{} bytes is more than the {MAX_PROTECTED_BYTES} accepted",
            protected.len()
        )));
    }
    let minimum = block * 2 + mac_len;
    if protected.len() < minimum {
        return Err(Error::Malformed(format!(
            "{} bytes is shorter than the {minimum} of an IV, one cipher block and a {mac_len}-byte MAC",
            protected.len()
        )));
    }
    let (iv, rest) = protected.split_at(block);
    let (ciphertext, tag) = rest.split_at(rest.len() - mac_len);
    Ok((iv, ciphertext, tag))
}

/// `hash(data)`, `hash(hash(data))` … concatenated and truncated to `len`.
pub(crate) fn iterated_hash(hash: fn(&[u8]) -> Vec<u8>, data: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut current = hash(data);
    while out.len() < len {
        out.extend_from_slice(&current);
        current = hash(&current);
    }
    out.truncate(len);
    out
}
