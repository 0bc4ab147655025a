//! Context headers: the fixed description of an algorithm that enters every key derivation, so
//! a subkey derived for one algorithm is never valid for another.
//!
//! CBC: `00 00 || u32be(keyLen) || u32be(16) || u32be(hmacKeyLen) || u32be(digestLen) ||
//! AES-CBC(K_E', IV=0, PKCS7("")) || HMAC(K_H', "")`; GCM: `00 01 || u32be(keyLen) || u32be(12)
//! || u32be(16) || u32be(16) || GCM-tag(K_E', nonce=0, "", "")`, where the primed keys come
//! from the KDF with an empty key, label and context.

use std::sync::OnceLock;

use cbc::cipher::{block_padding::Pkcs7, BlockModeEncrypt, KeyIvInit};
use hmac::Mac;
use zeroize::Zeroizing;

use super::aes_dispatch::{with_aes, with_hmac};
use super::kdf::Kdf;
use super::Algorithm;

/// The context header of `algorithm`, computed once per process.
pub(crate) fn context_header(algorithm: Algorithm) -> &'static [u8] {
    static HEADERS: [OnceLock<Vec<u8>>; Algorithm::COUNT] =
        [const { OnceLock::new() }; Algorithm::COUNT];
    HEADERS[algorithm.index()].get_or_init(|| compute(algorithm))
}

fn compute(algorithm: Algorithm) -> Vec<u8> {
    let key_len = algorithm.key_size().bytes();
    let mut temp = Zeroizing::new(vec![0u8; algorithm.subkey_len()]);
    // At most 96 bytes: a length SP800-108 always expresses.
    let derived = Kdf::new(&[]).derive(&[], &[], &mut temp);
    debug_assert!(derived.is_ok());
    let (k_e, k_h) = temp.split_at(key_len);
    let mut header = Vec::with_capacity(2 + 16 + 16 + 64);
    let be = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    match algorithm {
        Algorithm::Cbc {
            key_size,
            validation,
        } => {
            let digest_len = validation.digest_len();
            header.extend_from_slice(&[0x00, 0x00]);
            header.extend_from_slice(&be(key_len));
            header.extend_from_slice(&be(16));
            header.extend_from_slice(&be(digest_len));
            header.extend_from_slice(&be(digest_len));
            let mut block = [0u8; 16];
            with_aes!(key_size, C => {
                let _ = cbc::Encryptor::<C>::new_from_slices(k_e, &[0u8; 16])
                    .ok()
                    .and_then(|enc| enc.encrypt_padded::<Pkcs7>(&mut block, 0).ok());
            });
            header.extend_from_slice(&block);
            with_hmac!(validation, M => {
                if let Ok(mac) = <M as hmac::KeyInit>::new_from_slice(k_h) {
                    header.extend_from_slice(&mac.finalize().into_bytes());
                }
            });
        }
        Algorithm::Gcm { key_size } => {
            header.extend_from_slice(&[0x00, 0x01]);
            header.extend_from_slice(&be(key_len));
            header.extend_from_slice(&be(12));
            header.extend_from_slice(&be(16));
            header.extend_from_slice(&be(16));
            if let Some(tag) = super::gcm::key(key_size, k_e)
                .and_then(|gcm| super::gcm::seal(&gcm, [0; 12], &mut []))
            {
                header.extend_from_slice(&tag);
            }
        }
    }
    header
}
