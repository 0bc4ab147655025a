//! The protected-payload envelope: `09 F0 C9 F0 || keyId(16, Guid.ToByteArray order) || body`.
//! Parsing never panics: every length is checked.

use crate::error::{Error, MalformedReason, Result};
use crate::key_id::KeyId;

/// The magic header: the high 28 bits of SHA-1 of the protector's type name, version nibble 0.
pub const MAGIC: [u8; 4] = [0x09, 0xF0, 0xC9, 0xF0];

/// Magic header plus key id.
pub const HEADER_LEN: usize = 20;

/// Length of the key modifier that starts every body.
pub const KEY_MODIFIER_LEN: usize = 16;

/// Where the parts of an encryptor body lie for one algorithm: `key modifier || IV (CBC) or
/// nonce (GCM) || ciphertext || tag (HMAC or GCM)`.
///
/// An algorithm gives its layout ([`Algorithm::body_layout`](crate::crypto::Algorithm::body_layout)).
///
/// ```
/// let layout = keyward::Algorithm::AES_256_CBC_HMACSHA256.body_layout();
/// assert_eq!((layout.iv_len, layout.tag_len), (16, 32));
/// assert_eq!(layout.ciphertext_len(16 + 16 + 32 + 32), Some(32));
/// assert!(layout.fits(16 + 16 + 32 + 32));
/// let gcm = keyward::Algorithm::AES_256_GCM.body_layout();
/// assert_eq!((gcm.iv_len, gcm.tag_len, gcm.block_len), (12, 16, None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLayout {
    /// The key modifier's length (16).
    pub key_modifier_len: usize,
    /// The IV (CBC: 16) or nonce (GCM: 12) length.
    pub iv_len: usize,
    /// The tag length: the HMAC digest (CBC) or the GCM tag (16).
    pub tag_len: usize,
    /// The cipher's block length when the ciphertext is padded to it (CBC: 16).
    pub block_len: Option<usize>,
}

impl BodyLayout {
    /// The ciphertext length of a body of `body_len` bytes (`None` when it is too short).
    pub fn ciphertext_len(&self, body_len: usize) -> Option<usize> {
        body_len.checked_sub(self.key_modifier_len + self.iv_len + self.tag_len)
    }

    /// Whether a body of `body_len` bytes can be one: long enough, and (CBC) a whole, non-zero
    /// number of blocks of ciphertext.
    pub fn fits(&self, body_len: usize) -> bool {
        self.ciphertext_len(body_len)
            .is_some_and(|n| match self.block_len {
                Some(block) => n >= block && n % block == 0,
                None => true,
            })
    }
}

/// The 20-byte header of a payload protected with `key_id`: magic, then the key id in
/// `Guid.ToByteArray` order.
///
/// ```
/// let id: keyward::KeyId = "ba73c9ce-d322-4e45-af90-341307e11c38".parse().unwrap();
/// assert_eq!(keyward::payload::header(id)[..8], [0x09, 0xF0, 0xC9, 0xF0, 0xce, 0xc9, 0x73, 0xba]);
/// ```
pub fn header(key_id: KeyId) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&MAGIC);
    header[4..].copy_from_slice(&key_id.to_guid_bytes());
    header
}

/// Splits a payload into its key id and its encryptor body.
///
/// ```
/// use keyward::payload::parse;
/// let mut payload = vec![0x09, 0xF0, 0xC9, 0xF0];
/// payload.extend_from_slice(&[0; 16]);
/// payload.extend_from_slice(b"body");
/// let (key_id, body) = parse(&payload).unwrap();
/// assert_eq!(key_id.to_string(), "00000000-0000-0000-0000-000000000000");
/// assert_eq!(body, b"body");
/// ```
///
/// # Errors
/// [`Error::MalformedPayload`]: empty, shorter than 20 bytes, bad magic, or a newer version.
pub fn parse(payload: &[u8]) -> Result<(KeyId, &[u8])> {
    if payload.is_empty() {
        return Err(Error::malformed(MalformedReason::Empty));
    }
    let Some((header, body)) = payload.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::malformed(MalformedReason::TooShort {
            len: payload.len(),
        }));
    };
    if header[..3] != MAGIC[..3] || header[3] & 0xF0 != MAGIC[3] {
        return Err(Error::malformed(MalformedReason::BadMagic));
    }
    let version = header[3] & 0x0F;
    if version != 0 {
        return Err(Error::malformed(MalformedReason::UnsupportedVersion {
            version,
        }));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&header[4..]);
    Ok((KeyId::from_guid_bytes(id), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_each_bad_header_with_its_reason() {
        let mut good = MAGIC.to_vec();
        good.extend_from_slice(&[7; 16]);
        assert!(parse(&good).is_ok());
        let reason = |bytes: &[u8]| match parse(bytes) {
            Err(Error::MalformedPayload(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&[]), MalformedReason::Empty);
        assert_eq!(reason(&good[..19]), MalformedReason::TooShort { len: 19 });
        let mut bad_magic = good.clone();
        bad_magic[0] = 0x0A;
        assert_eq!(reason(&bad_magic), MalformedReason::BadMagic);
        let mut newer = good.clone();
        newer[3] = 0xF1;
        assert_eq!(
            reason(&newer),
            MalformedReason::UnsupportedVersion { version: 1 }
        );
    }
}
