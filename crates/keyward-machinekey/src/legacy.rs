//! The legacy crypto of `MachineKeySection` (ASP.NET 2.0–4.0, and 4.5+ in
//! `Framework20SP1`/`Framework20SP2` mode): the raw machine keys, no derivation.
//!
//! * `HashData(buf, modifier)`: HMAC over `buf || modifier`, or for MD5 (not an HMAC)
//!   `MD5(buf || key || zeros(len(modifier)))`.
//! * `EncryptOrDecryptData`: `C = CBC(key, IV = 0, prefix || buf || modifier)`, where the
//!   prefix is as long as the *key* (random, or a hash of the data), then `C || HashData(C)`
//!   (the MS10-070 fix, on unless `aspnet:UseLegacyEncryption`).

use keyward::Secret;

use crate::algorithms::MachineKeyDecryption;
use crate::error::{Error, MalformedError, Result, SettingError};
use crate::framework45::{iterated_hash, MAX_PROTECTED_BYTES};
use crate::keys::{LegacyMac, MachineKeys};
use crate::primitives::{block_size, cbc_decrypt, cbc_encrypt, constant_time_eq, hmac, md5, sha1};

/// How the prefix before the data is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixMode {
    /// Random (`IVType.Random`: forms tickets, ViewState).
    Random,
    /// SHA-1 of the data, iterated (`IVType.Hash`: WebResource/ScriptResource URLs), so equal
    /// data gives equal output.
    Hash,
}

/// Which symmetric algorithm encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymmetricAlgorithm {
    /// The `decryption` algorithm (everything but the case below).
    Decryption,
    /// ViewState under `validation="AES"|"3DES"`: the algorithm the validation names.
    Validation,
}

/// `HashData(buf, modifier)`.
pub fn hash_data(keys: &MachineKeys, buf: &[u8], modifier: &[u8]) -> Vec<u8> {
    match keys.legacy_mac() {
        LegacyMac::Hmac(algorithm) => hmac(algorithm, keys.validation_key(), &[buf, modifier]),
        // The key is copied over the modifier: the modifier only adds zero bytes.
        LegacyMac::Md5 => md5(&[buf, keys.validation_key(), &vec![0u8; modifier.len()]]),
    }
}

/// `buf || HashData(buf, modifier)`.
pub fn sign(keys: &MachineKeys, buf: &[u8], modifier: &[u8]) -> Vec<u8> {
    let mut out = buf.to_vec();
    out.extend_from_slice(&hash_data(keys, buf, modifier));
    out
}

/// Checks the trailing MAC of `signed` (constant time) and returns what it covers.
///
/// # Errors
/// [`Error::InvalidPayload`] when the MAC does not match or there is none.
pub fn verify<'a>(keys: &MachineKeys, signed: &'a [u8], modifier: &[u8]) -> Result<&'a [u8]> {
    let mac_len = keys.legacy_mac().len();
    let split = signed
        .len()
        .checked_sub(mac_len)
        .ok_or(Error::InvalidPayload)?;
    let (data, tag) = signed.split_at(split);
    if constant_time_eq(&hash_data(keys, data, modifier), tag) {
        Ok(data)
    } else {
        Err(Error::InvalidPayload)
    }
}

/// `EncryptOrDecryptData(encrypt: true, buf, modifier, prefix, signData: true)` with the
/// decryption algorithm.
///
/// # Errors
/// [`Error::InvalidArgument`] when the decryption key does not fit the algorithm.
pub fn encrypt(
    keys: &MachineKeys,
    buf: &[u8],
    modifier: &[u8],
    prefix: PrefixMode,
) -> Result<Vec<u8>> {
    encrypt_with(keys, SymmetricAlgorithm::Decryption, buf, modifier, prefix)
}

/// `EncryptOrDecryptData(encrypt: false, …)`: checks the outer MAC (constant time), decrypts,
/// drops the prefix and checks and strips the modifier.
///
/// # Errors
/// [`Error::InvalidPayload`] for a wrong key or modifier, or an altered value;
/// [`Error::Malformed`] for a value too long; [`Error::InvalidArgument`] when the decryption
/// key does not fit the algorithm.
pub fn decrypt(keys: &MachineKeys, payload: &[u8], modifier: &[u8]) -> Result<Vec<u8>> {
    decrypt_with(keys, SymmetricAlgorithm::Decryption, payload, modifier)
}

fn cipher_of(
    keys: &MachineKeys,
    algorithm: SymmetricAlgorithm,
) -> Result<(MachineKeyDecryption, &[u8])> {
    match algorithm {
        SymmetricAlgorithm::Decryption => keys.legacy_cipher(),
        SymmetricAlgorithm::Validation => keys
            .legacy_validation_cipher()
            .unwrap_or_else(|| Err(SettingError::NoValidationCipher.into())),
    }
}

pub(crate) fn encrypt_with(
    keys: &MachineKeys,
    algorithm: SymmetricAlgorithm,
    buf: &[u8],
    modifier: &[u8],
    prefix: PrefixMode,
) -> Result<Vec<u8>> {
    let (cipher, key) = cipher_of(keys, algorithm)?;
    let mut plaintext = match prefix {
        PrefixMode::Random => Secret::random(key.len()).expose().to_vec(),
        PrefixMode::Hash => iterated_hash(sha1, buf, key.len()),
    };
    plaintext.extend_from_slice(buf);
    plaintext.extend_from_slice(modifier);
    let ciphertext = cbc_encrypt(cipher, key, &vec![0u8; block_size(cipher)], &plaintext)?;
    Ok(sign(keys, &ciphertext, &[]))
}

pub(crate) fn decrypt_with(
    keys: &MachineKeys,
    algorithm: SymmetricAlgorithm,
    payload: &[u8],
    modifier: &[u8],
) -> Result<Vec<u8>> {
    if payload.len() > MAX_PROTECTED_BYTES {
        return Err(MalformedError::TooLarge { len: payload.len() }.into());
    }
    let (cipher, key) = cipher_of(keys, algorithm)?;
    let ciphertext = verify(keys, payload, &[])?;
    let plaintext = cbc_decrypt(cipher, key, &vec![0u8; block_size(cipher)], ciphertext)?;
    let body = plaintext.get(key.len()..).ok_or(Error::InvalidPayload)?;
    let data_len = body
        .len()
        .checked_sub(modifier.len())
        .ok_or(Error::InvalidPayload)?;
    let (data, tail) = body.split_at(data_len);
    if !constant_time_eq(tail, modifier) {
        return Err(Error::InvalidPayload);
    }
    Ok(data.to_vec())
}

/// The prefix [`PrefixMode::Hash`] puts before `data` for a key of `key_len` bytes (for
/// checking recorded values).
pub fn hash_prefix(data: &[u8], key_len: usize) -> Vec<u8> {
    iterated_hash(sha1, data, key_len)
}
