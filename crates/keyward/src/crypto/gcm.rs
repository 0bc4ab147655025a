//! AES-GCM: `keyModifier(16) || nonce(12) || ciphertext || tag(16)` with
//! `K_E = KDF(masterKey, label = AAD, context = contextHeader || keyModifier)`.
//! GCM's own associated data is empty: the AAD is bound through the KDF label only.

use aes_gcm::aead::{consts::U12, AeadInOut, KeyInit};
use aes_gcm::AesGcm;
use zeroize::{Zeroize, Zeroizing};

use super::aes_dispatch::with_aes;
use super::{AesKeySize, KeyCrypto, KEY_MODIFIER_LEN, MAX_SUBKEY_LEN};
use crate::error::{Error, MalformedReason, Result};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

pub(super) fn body_len(plaintext_len: usize) -> usize {
    KEY_MODIFIER_LEN + NONCE_LEN + plaintext_len + TAG_LEN
}

pub(super) fn encrypt(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    label: &[&[u8]],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let mut random = [0u8; KEY_MODIFIER_LEN + NONCE_LEN];
    super::rng::fill(&mut random);
    let (key_modifier, nonce) = random.split_at(KEY_MODIFIER_LEN);
    encrypt_into(crypto, key_size, label, key_modifier, nonce, plaintext, out);
}

pub(super) fn encrypt_fixed(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    label: &[&[u8]],
    key_modifier: &[u8],
    nonce: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body_len(plaintext.len()));
    encrypt_into(
        crypto,
        key_size,
        label,
        key_modifier,
        nonce,
        plaintext,
        &mut out,
    );
    out
}

fn encrypt_into(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    label: &[&[u8]],
    key_modifier: &[u8],
    nonce: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let key_len = key_size.bytes();
    let mut subkey = Zeroizing::new([0u8; MAX_SUBKEY_LEN]);
    let k_e = &mut subkey[..key_len];
    crypto.derive(label, key_modifier, k_e);

    out.extend_from_slice(key_modifier);
    out.extend_from_slice(nonce);
    let ct_start = out.len();
    out.extend_from_slice(plaintext);
    let nonce = aes_gcm::Nonce::<U12>::try_from(nonce).unwrap_or_default();
    let tag = with_aes!(key_size, C => {
        AesGcm::<C, U12>::new_from_slice(k_e)
            .ok()
            .and_then(|gcm| gcm.encrypt_inout_detached(&nonce, &[], (&mut out[ct_start..]).into()).ok())
    });
    match tag {
        Some(tag) => out.extend_from_slice(&tag),
        // Unreachable (right key length, plaintext under GCM's 64 GiB limit); never leave
        // plaintext behind if it were reached.
        None => {
            out[ct_start..].zeroize();
            out.extend_from_slice(&[0u8; TAG_LEN]);
        }
    }
}

pub(super) fn decrypt(
    crypto: &KeyCrypto,
    key_size: AesKeySize,
    label: &[&[u8]],
    body: &[u8],
) -> Result<Vec<u8>> {
    let header_len = KEY_MODIFIER_LEN + NONCE_LEN;
    let ct_len = body
        .len()
        .checked_sub(header_len + TAG_LEN)
        .ok_or(Error::malformed(MalformedReason::Truncated))?;
    let key_modifier = &body[..KEY_MODIFIER_LEN];
    let nonce = aes_gcm::Nonce::<U12>::try_from(&body[KEY_MODIFIER_LEN..header_len])
        .map_err(|_| Error::malformed(MalformedReason::Truncated))?;
    let ciphertext = &body[header_len..header_len + ct_len];
    let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(&body[header_len + ct_len..])
        .map_err(|_| Error::malformed(MalformedReason::Truncated))?;

    let key_len = key_size.bytes();
    let mut subkey = Zeroizing::new([0u8; MAX_SUBKEY_LEN]);
    let k_e = &mut subkey[..key_len];
    crypto.derive(label, key_modifier, k_e);

    let mut plaintext = ciphertext.to_vec();
    let opened = with_aes!(key_size, C => {
        AesGcm::<C, U12>::new_from_slice(k_e)
            .ok()
            .map(|gcm| gcm.decrypt_inout_detached(&nonce, &[], plaintext.as_mut_slice().into(), &tag).is_ok())
    });
    if opened == Some(true) {
        Ok(plaintext)
    } else {
        plaintext.zeroize();
        Err(Error::InvalidPayload)
    }
}
