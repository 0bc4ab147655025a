//! AES-256-GCM helpers shared by the KEK and passphrase encryptors: `nonce || ct || tag`,
//! the decryptor type as associated data.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::Zeroizing;

/// The GCM nonce length in bytes.
pub(super) const NONCE_LEN: usize = 12;

fn key(kek: &[u8]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, kek)
        .ok()
        .map(LessSafeKey::new)
}

/// Seals `plaintext` under `kek` with a fresh random nonce; `None` when `kek` is not an
/// AES-256 key.
pub(super) fn seal(kek: &[u8], aad: &[u8], plaintext: &[u8]) -> Option<([u8; NONCE_LEN], Vec<u8>)> {
    let mut nonce = [0u8; NONCE_LEN];
    crate::crypto::rng::fill(&mut nonce);
    let mut sealed = plaintext.to_vec();
    key(kek)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut sealed,
        )
        .ok()?;
    Some((nonce, sealed))
}

/// Opens what [`seal`] sealed; `None` when the key, nonce, associated data or tag does not match.
pub(super) fn open(
    kek: &[u8],
    aad: &[u8],
    nonce: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buffer = Zeroizing::new(sealed.to_vec());
    let len = key(kek)?
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .ok()?
        .len();
    buffer.truncate(len);
    Some(buffer)
}
