//! AES-CBC + HMAC (encrypt-then-MAC), ASP.NET Core's default:
//! `keyModifier(16) || IV(16) || AES-CBC-PKCS7(K_E, plaintext) || HMAC(K_H, IV || ciphertext)`
//! with `K_E || K_H = KDF(masterKey, label = AAD, context = contextHeader || keyModifier)`.

use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::Mac;
use zeroize::{Zeroize, Zeroizing};

use super::aes_dispatch::{with_aes, with_hmac};
use super::{
    AesKeySize, Derivation, KeyCrypto, ValidationAlgorithm, KEY_MODIFIER_LEN, MAX_SUBKEY_LEN,
};
use crate::error::{Error, MalformedReason, Result};

const IV_LEN: usize = 16;
const BLOCK_LEN: usize = 16;

/// The body length for `plaintext_len` bytes: PKCS#7 always adds 1 to 16 bytes.
pub(super) fn body_len(validation: ValidationAlgorithm, plaintext_len: usize) -> usize {
    let padded = (plaintext_len / BLOCK_LEN + 1) * BLOCK_LEN;
    KEY_MODIFIER_LEN + IV_LEN + padded + validation.digest_len()
}

pub(super) fn encrypt(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    validation: ValidationAlgorithm,
    derivation: Derivation<'_>,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let mut random = [0u8; KEY_MODIFIER_LEN + IV_LEN];
    super::rng::fill(&mut random);
    let (key_modifier, iv) = random.split_at(KEY_MODIFIER_LEN);
    encrypt_into(
        crypto,
        key_size,
        validation,
        derivation,
        key_modifier,
        iv,
        plaintext,
        out,
    );
}

pub(super) fn encrypt_fixed(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    validation: ValidationAlgorithm,
    derivation: Derivation<'_>,
    key_modifier: &[u8],
    iv: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body_len(validation, plaintext.len()));
    encrypt_into(
        crypto,
        key_size,
        validation,
        derivation,
        key_modifier,
        iv,
        plaintext,
        &mut out,
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn encrypt_into(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    validation: ValidationAlgorithm,
    derivation: Derivation<'_>,
    key_modifier: &[u8],
    iv: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let key_len = key_size.bytes();
    let mut subkeys = Zeroizing::new([0u8; MAX_SUBKEY_LEN]);
    let subkeys = &mut subkeys[..key_len + validation.digest_len()];
    crypto.derive(derivation, key_modifier, subkeys);
    let (k_e, k_h) = subkeys.split_at(key_len);

    out.extend_from_slice(key_modifier);
    let iv_start = out.len();
    out.extend_from_slice(iv);
    let ct_start = out.len();
    out.extend_from_slice(plaintext);
    let padded = (plaintext.len() / BLOCK_LEN + 1) * BLOCK_LEN;
    out.resize(ct_start + padded, 0);
    let encrypted = with_aes!(key_size, C => {
        // The key and IV lengths and the buffer size are right by construction.
        cbc::Encryptor::<C>::new_from_slices(k_e, iv)
            .ok()
            .and_then(|enc| enc.encrypt_padded::<Pkcs7>(&mut out[ct_start..], plaintext.len()).ok())
            .is_some()
    });
    if !encrypted {
        // Unreachable; if it were reached, never let plaintext out under a valid MAC.
        out[ct_start..].zeroize();
        crate::crypto::rng::fill(&mut out[ct_start..]);
    }
    with_hmac!(validation, M => {
        let mut mac = <M as hmac::KeyInit>::new_from_slice(k_h).unwrap_or_else(|_| unreachable!());
        mac.update(&out[iv_start..]);
        let tag = mac.finalize().into_bytes();
        out.extend_from_slice(&tag);
    });
}

pub(super) fn decrypt(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    validation: ValidationAlgorithm,
    derivation: Derivation<'_>,
    body: &[u8],
) -> Result<Vec<u8>> {
    let digest_len = validation.digest_len();
    let header_len = KEY_MODIFIER_LEN + IV_LEN;
    // The lengths are public: saying "truncated" reveals nothing the attacker does not know.
    let ct_len = body
        .len()
        .checked_sub(header_len + digest_len)
        .filter(|&n| n >= BLOCK_LEN && n % BLOCK_LEN == 0)
        .ok_or(Error::malformed(MalformedReason::Truncated))?;
    let key_modifier = &body[..KEY_MODIFIER_LEN];
    let iv = &body[KEY_MODIFIER_LEN..header_len];
    let ciphertext = &body[header_len..header_len + ct_len];
    let tag = &body[header_len + ct_len..];

    let key_len = key_size.bytes();
    let mut subkeys = Zeroizing::new([0u8; MAX_SUBKEY_LEN]);
    let subkeys = &mut subkeys[..key_len + digest_len];
    crypto.derive(derivation, key_modifier, subkeys);
    let (k_e, k_h) = subkeys.split_at(key_len);

    with_hmac!(validation, M => {
        let mut mac = <M as hmac::KeyInit>::new_from_slice(k_h).unwrap_or_else(|_| unreachable!());
        mac.update(&body[KEY_MODIFIER_LEN..header_len + ct_len]);
        // verify_slice compares in constant time.
        mac.verify_slice(tag).map_err(|_| Error::InvalidPayload)?;
    });

    let mut plaintext = ciphertext.to_vec();
    let plaintext_len = with_aes!(key_size, C => {
        cbc::Decryptor::<C>::new_from_slices(k_e, iv)
            .ok()
            .and_then(|dec| dec.decrypt_padded::<Pkcs7>(&mut plaintext).ok().map(<[u8]>::len))
    });
    match plaintext_len {
        Some(len) => {
            plaintext.truncate(len);
            Ok(plaintext)
        }
        None => {
            // Bad padding behind a valid MAC: a forgery or a bug, never a usable answer.
            plaintext.zeroize();
            Err(Error::InvalidPayload)
        }
    }
}
