//! Purpose chains and the additional authenticated data (AAD) they produce.
//!
//! `AAD = 09 F0 C9 F0 || keyId(16) || u32be(count) || (varint(utf8 len) || utf8)*`. The AAD is
//! never given to a cipher: it is the label of the subkey derivation, so a payload protected
//! for one purpose chain cannot be opened under another.

use crate::encoding::write_varint;
use crate::key_id::KeyId;
use crate::payload::MAGIC;

/// The purpose part of the AAD (`u32be(count) || purposes`), computed once per protector so
/// that per payload only the key id is patched in.
pub(crate) fn aad_tail<S: AsRef<str>>(purposes: &[S]) -> Vec<u8> {
    let mut tail =
        Vec::with_capacity(4 + purposes.iter().map(|p| p.as_ref().len() + 5).sum::<usize>());
    tail.extend_from_slice(
        &u32::try_from(purposes.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for purpose in purposes {
        let bytes = purpose.as_ref().as_bytes();
        write_varint(&mut tail, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        tail.extend_from_slice(bytes);
    }
    tail
}

/// The whole AAD for a key and a purpose chain (the application name, if any, comes first).
///
/// ```
/// use keyward::{additional_authenticated_data, KeyId};
/// let id: KeyId = "6417072d-bd2e-4737-8995-fd280fe00251".parse().unwrap();
/// let aad = additional_authenticated_data(id, &["Bitwarden", "Test"]);
/// assert_eq!(&aad[..4], &[0x09, 0xF0, 0xC9, 0xF0]);
/// assert_eq!(&aad[20..24], &[0, 0, 0, 2]);
/// ```
pub fn additional_authenticated_data<S: AsRef<str>>(key_id: KeyId, purposes: &[S]) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(&key_id.to_guid_bytes());
    aad.extend_from_slice(&aad_tail(purposes));
    aad
}
