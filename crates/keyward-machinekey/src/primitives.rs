//! The primitives every layout here is built from, all from RustCrypto: CBC with PKCS#7 over
//! AES, 3DES and DES; HMAC-SHA1/256/384/512; MD5, SHA-1 and SHA-256; a constant-time compare.
//! Nothing here knows about purposes or payload layouts.

use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::algorithms::MachineKeyDecryption;
use crate::error::{Error, Result, SettingError};

/// A MAC of the HMAC family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HmacAlgorithm {
    /// The tag length in bytes.
    pub(crate) fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

macro_rules! hmac_over {
    ($digest:ty, $key:expr, $parts:expr) => {{
        let mut mac = <Hmac<$digest> as KeyInit>::new_from_slice($key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in $parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }};
}

/// HMAC of the concatenated `parts`.
pub(crate) fn hmac(algorithm: HmacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match algorithm {
        HmacAlgorithm::Sha1 => hmac_over!(sha1::Sha1, key, parts),
        HmacAlgorithm::Sha256 => hmac_over!(sha2::Sha256, key, parts),
        HmacAlgorithm::Sha384 => hmac_over!(sha2::Sha384, key, parts),
        HmacAlgorithm::Sha512 => hmac_over!(sha2::Sha512, key, parts),
    }
}

/// MD5 of the concatenated `parts`.
pub(crate) fn md5(parts: &[&[u8]]) -> Vec<u8> {
    let mut hash = Md5::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize().to_vec()
}

/// SHA-1 of `data`.
pub(crate) fn sha1(data: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(data).to_vec()
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(data).to_vec()
}

/// `a == b` in time that depends on the lengths only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The cipher block size: 16 for AES, 8 for DES and 3DES.
pub(crate) fn block_size(cipher: MachineKeyDecryption) -> usize {
    match cipher {
        MachineKeyDecryption::Aes => 16,
        MachineKeyDecryption::TripleDes | MachineKeyDecryption::Des => 8,
    }
}

/// Whether `len` is a key length `cipher` takes as is.
pub(crate) fn key_fits(cipher: MachineKeyDecryption, len: usize) -> bool {
    match cipher {
        MachineKeyDecryption::Aes => matches!(len, 16 | 24 | 32),
        MachineKeyDecryption::TripleDes => matches!(len, 16 | 24),
        MachineKeyDecryption::Des => len == 8,
    }
}

macro_rules! with_cipher {
    ($cipher:expr, $key:expr, $c:ident => $body:expr) => {
        match ($cipher, $key.len()) {
            (MachineKeyDecryption::Aes, 16) => {
                type $c = aes::Aes128;
                $body
            }
            (MachineKeyDecryption::Aes, 24) => {
                type $c = aes::Aes192;
                $body
            }
            (MachineKeyDecryption::Aes, 32) => {
                type $c = aes::Aes256;
                $body
            }
            (MachineKeyDecryption::TripleDes, 16) => {
                type $c = des::TdesEde2;
                $body
            }
            (MachineKeyDecryption::TripleDes, 24) => {
                type $c = des::TdesEde3;
                $body
            }
            (MachineKeyDecryption::Des, 8) => {
                type $c = des::Des;
                $body
            }
            (cipher, len) => Err(key_size_error(cipher, len)),
        }
    };
}

fn key_size_error(cipher: MachineKeyDecryption, key_len: usize) -> Error {
    SettingError::KeySize { cipher, key_len }.into()
}

fn iv_size_error(cipher: MachineKeyDecryption, iv: &[u8]) -> Error {
    SettingError::IvSize {
        cipher,
        iv_len: iv.len(),
    }
    .into()
}

/// CBC encryption with PKCS#7 padding.
///
/// # Errors
/// [`Error::InvalidArgument`] when the key or IV length does not fit the cipher.
pub(crate) fn cbc_encrypt(
    cipher: MachineKeyDecryption,
    key: &[u8],
    iv: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let block = block_size(cipher);
    let mut buffer = vec![0u8; (plaintext.len() / block + 1) * block];
    buffer[..plaintext.len()].copy_from_slice(plaintext);
    let written = with_cipher!(cipher, key, C => {
        cbc::Encryptor::<C>::new_from_slices(key, iv)
            .map_err(|_| iv_size_error(cipher, iv))
            .and_then(|encryptor| {
                encryptor
                    .encrypt_padded::<Pkcs7>(&mut buffer, plaintext.len())
                    .map(<[u8]>::len)
                    .map_err(|_| Error::from(SettingError::PaddedPlaintext))
            })
    })?;
    buffer.truncate(written);
    Ok(buffer)
}

/// CBC decryption with PKCS#7 padding.
///
/// # Errors
/// [`Error::InvalidArgument`] when the key does not fit the cipher; [`Error::InvalidPayload`]
/// when the ciphertext is not whole blocks or its padding is wrong.
pub(crate) fn cbc_decrypt(
    cipher: MachineKeyDecryption,
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(block_size(cipher)) {
        return Err(Error::InvalidPayload);
    }
    let mut buffer = ciphertext.to_vec();
    let len = with_cipher!(cipher, key, C => {
        cbc::Decryptor::<C>::new_from_slices(key, iv)
            .map_err(|_| iv_size_error(cipher, iv))
            .and_then(|decryptor| {
                decryptor
                    .decrypt_padded::<Pkcs7>(&mut buffer)
                    .map(<[u8]>::len)
                    .map_err(|_| Error::InvalidPayload)
            })
    })?;
    buffer.truncate(len);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trips_for_every_cipher_and_key_size() {
        use MachineKeyDecryption as D;
        for (cipher, len) in [
            (D::Aes, 16),
            (D::Aes, 24),
            (D::Aes, 32),
            (D::TripleDes, 16),
            (D::TripleDes, 24),
            (D::Des, 8),
        ] {
            let key = vec![7u8; len];
            let iv = vec![1u8; block_size(cipher)];
            for n in [0usize, 1, 7, 8, 15, 16, 33] {
                let plaintext = vec![9u8; n];
                let c = cbc_encrypt(cipher, &key, &iv, &plaintext).unwrap();
                assert_eq!(c.len() % block_size(cipher), 0);
                assert_eq!(cbc_decrypt(cipher, &key, &iv, &c).unwrap(), plaintext);
            }
        }
        assert!(cbc_encrypt(D::Aes, &[0; 20], &[0; 16], b"x").is_err());
        assert!(matches!(
            cbc_decrypt(D::Aes, &[0; 16], &[0; 16], &[0; 15]),
            Err(Error::InvalidPayload)
        ));
    }
}
