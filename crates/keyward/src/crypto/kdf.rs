//! SP800-108 KDF in counter mode with HMAC-SHA512 as the PRF, as ASP.NET Core uses it.
//!
//! Block `i` is `HMAC-SHA512(kdk, u32be(i) || label || 0x00 || context || u32be(L * 8))`.
//! The PRF is keyed once per key ([`Kdf::new`]) and cloned per derivation: re-keying HMAC for
//! every payload would cost a third of a small `protect`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// The output size of HMAC-SHA512.
const BLOCK_LEN: usize = 64;

/// A pre-keyed SP800-108 CTR HMAC-SHA512 KDF for one key derivation key.
#[derive(Clone)]
pub(crate) struct Kdf {
    prf: Hmac<Sha512>,
}

impl Kdf {
    /// Keys the PRF with `kdk` (any length: HMAC hashes long keys and pads short ones).
    pub(crate) fn new(kdk: &[u8]) -> Self {
        // HMAC accepts keys of every length, so this cannot fail.
        let prf = match Hmac::<Sha512>::new_from_slice(kdk) {
            Ok(prf) => prf,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        Self { prf }
    }

    /// Fills `out` with key material. The label and the context are given in pieces that are
    /// concatenated, so callers never need to build them in a buffer.
    ///
    /// # Errors
    /// [`Error::EncryptionFailed`] when `out` is longer than SP800-108's 32-bit length field
    /// can state (never a silent truncation).
    pub(crate) fn derive(&self, label: &[&[u8]], context: &[&[u8]], out: &mut [u8]) -> Result<()> {
        let bits = bit_length(out.len())?;
        for (index, chunk) in out.chunks_mut(BLOCK_LEN).enumerate() {
            // The block count is at most the bit length / 512, so it fits in 32 bits.
            let counter = u32::try_from(index + 1)
                .map_err(|_| Error::EncryptionFailed(IMPOSSIBLE_LENGTH))?
                .to_be_bytes();
            let mut prf = self.prf.clone();
            prf.update(&counter);
            for part in label {
                prf.update(part);
            }
            prf.update(&[0]);
            for part in context {
                prf.update(part);
            }
            prf.update(&bits);
            let mut block = prf.finalize().into_bytes();
            chunk.copy_from_slice(&block[..chunk.len()]);
            block.as_mut_slice().zeroize();
        }
        Ok(())
    }
}

const IMPOSSIBLE_LENGTH: &str = "a key derivation length SP800-108 cannot express";

/// `L * 8` as SP800-108's 32-bit big-endian length field.
fn bit_length(len: usize) -> Result<[u8; 4]> {
    len.checked_mul(8)
        .and_then(|bits| u32::try_from(bits).ok())
        .map(u32::to_be_bytes)
        .ok_or(Error::EncryptionFailed(IMPOSSIBLE_LENGTH))
}

/// The PRF state after `u32be(1) || label || 0x00 || context head`, kept per key and purpose
/// chain: a derivation of at most one block then only absorbs the key modifier and the
/// length. Wiped on drop (`hmac`'s zeroize feature).
#[derive(Clone)]
pub(crate) struct KdfPrefix(Hmac<Sha512>);

impl Kdf {
    /// The state for one-block derivations with this label and context head.
    pub(crate) fn prefix(&self, label: &[&[u8]], context_head: &[u8]) -> KdfPrefix {
        let mut prf = self.prf.clone();
        prf.update(&1u32.to_be_bytes());
        for part in label {
            prf.update(part);
        }
        prf.update(&[0]);
        prf.update(context_head);
        KdfPrefix(prf)
    }
}

impl KdfPrefix {
    /// Fills `out` (at most one 64-byte block) from the prefix and the rest of the context.
    ///
    /// # Errors
    /// [`Error::EncryptionFailed`] when `out` is longer than one block (a prefix holds the
    /// first block's counter: never a silent truncation).
    pub(crate) fn derive(&self, context_tail: &[u8], out: &mut [u8]) -> Result<()> {
        if out.len() > BLOCK_LEN {
            return Err(Error::EncryptionFailed(
                "a prefix derivation longer than one block",
            ));
        }
        let bits = bit_length(out.len())?;
        let mut prf = self.0.clone();
        prf.update(context_tail);
        prf.update(&bits);
        let mut block = prf.finalize().into_bytes();
        out.copy_from_slice(&block[..out.len()]);
        block.as_mut_slice().zeroize();
        Ok(())
    }
}

/// Derives `len` bytes in one call (for vectors and context headers).
#[cfg(test)]
pub(crate) fn derive_vec(kdk: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    Kdf::new(kdk)
        .derive(&[label], &[context], &mut out)
        .expect("a possible length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_context_pieces_are_concatenated() {
        let whole = derive_vec(b"kdk", b"label", b"contextHeadercontext", 65);
        let mut pieces = vec![0u8; 65];
        Kdf::new(b"kdk")
            .derive(
                &[b"la", b"bel"],
                &[b"contextHeader", b"context"],
                &mut pieces,
            )
            .unwrap();
        assert_eq!(whole, pieces);
        // The prefix path gives the same bytes for one-block derivations.
        let prefix = Kdf::new(b"kdk").prefix(&[b"label"], b"contextHeader");
        for len in [16, 32, 63, 64] {
            let mut out = vec![0u8; len];
            prefix.derive(b"context", &mut out).unwrap();
            assert_eq!(
                out,
                derive_vec(b"kdk", b"label", b"contextHeadercontext", len),
                "{len}"
            );
        }
        // Lengths the algorithm cannot express are errors, never truncations.
        let mut too_long = [0u8; 65];
        assert!(prefix.derive(b"context", &mut too_long).is_err());
        assert_eq!(too_long, [0u8; 65], "nothing written");
        assert!(bit_length(usize::MAX / 4).is_err());
        assert!(bit_length((u32::MAX / 8) as usize + 1).is_err());
        assert!(bit_length((u32::MAX / 8) as usize).is_ok());
        // A different length changes every byte (L is part of every block's input).
        assert_ne!(
            &derive_vec(b"kdk", b"label", b"c", 64)[..32],
            &derive_vec(b"kdk", b"label", b"c", 32)[..]
        );
    }
}
