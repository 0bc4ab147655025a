//! The ASP.NET 4.5 crypto (`NetFXCryptoService`): `IV || CBC(K_enc, IV, PKCS#7(data)) ||
//! HMAC(K_val, IV || C)`, with both keys derived by SP800-108 for the payload's [`Purpose`].
//! `MachineKey.Protect` always uses it, whatever the compatibility mode; forms tickets and
//! ViewState use it under `compatibilityMode="Framework45"`.
//!
//! There is no header and no key id: the reader must know the algorithms and the purpose.

use keyward::Secret;

#[cfg(feature = "unverified-decrypt")]
use crate::algorithms::MachineKeyDecryption;
use crate::error::{Error, MalformedError, Result};
use crate::kdf::{derive_key, Purpose};
use crate::keys::MachineKeys;
#[cfg(feature = "unverified-decrypt")]
use crate::primitives::key_fits;
use crate::primitives::{block_size, cbc_decrypt, cbc_encrypt, constant_time_eq, hmac, sha256};

pub use crate::limits::MAX_PROTECTED_BYTES;

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
    let enc_key = derive_key(keys.decryption_key()?, purpose);
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
    let enc_key = derive_key(keys.decryption_key()?, purpose);
    cbc_decrypt(cipher, enc_key.expose(), iv, ciphertext)
}

/// Decrypts **without checking the MAC**. It exists only for published test vectors that
/// came without a validation key (e.g. a Katana cookie whose `decryptionKey` alone was
/// published), and must never be reachable from a request path: decrypting unauthenticated
/// CBC input answers "does this pad correctly?", a padding oracle that lets anyone decrypt a
/// captured value. Anything that may come from a client goes through [`unprotect`], which
/// checks the MAC first. `mac_len` is the tag length to strip. Never use this to trust a
/// value: anyone can make one that decrypts.
///
/// # Errors
/// [`Error::InvalidArgument`] for a key that does not fit `cipher`; [`Error::Malformed`] for
/// a value too short or too long to be one; past those length checks, every failure (bad
/// padding, a ciphertext that is not whole blocks, any other decryption error) is the same
/// [`Error::InvalidPayload`].
///
/// Only with the non-default `unverified-decrypt` feature, which only this crate's tests
/// enable: no build of a program that depends on this crate has it unless it asks.
#[doc(hidden)]
#[cfg(feature = "unverified-decrypt")]
pub fn decrypt_unverified(
    cipher: MachineKeyDecryption,
    decryption_key: &Secret,
    purpose: &Purpose,
    protected: &[u8],
    mac_len: usize,
) -> Result<Vec<u8>> {
    if !key_fits(cipher, decryption_key.len()) {
        return Err(crate::error::SettingError::KeySize {
            cipher,
            key_len: decryption_key.len(),
        }
        .into());
    }
    let (iv, ciphertext, _) = split(protected, block_size(cipher), mac_len)?;
    let enc_key = derive_key(decryption_key.expose(), purpose);
    // One error for every failure from here on: none may tell padding apart from the rest.
    cbc_decrypt(cipher, enc_key.expose(), iv, ciphertext).map_err(|_| Error::InvalidPayload)
}

/// `IV || C || T`, with `C` at least one block.
fn split(protected: &[u8], block: usize, mac_len: usize) -> Result<(&[u8], &[u8], &[u8])> {
    if protected.len() > MAX_PROTECTED_BYTES {
        return Err(MalformedError::TooLarge {
            len: protected.len(),
        }
        .into());
    }
    let minimum = block * 2 + mac_len;
    if protected.len() < minimum {
        return Err(MalformedError::TooShort {
            len: protected.len(),
            minimum,
            mac_len,
        }
        .into());
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    /// `IV || CBC(AES-256) || a 32-byte stand-in tag` of 16 bytes of `x` (two blocks: the
    /// data, then a whole block of padding), under `key` for `purpose`.
    #[cfg(feature = "unverified-decrypt")]
    fn unverified_value(key: &Secret, purpose: &Purpose) -> Vec<u8> {
        let iv = [3u8; 16];
        let enc_key = derive_key(key.expose(), purpose);
        let ciphertext = cbc_encrypt(
            MachineKeyDecryption::Aes,
            enc_key.expose(),
            &iv,
            &[b'x'; 16],
        )
        .unwrap();
        let mut out = iv.to_vec();
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&[0u8; 32]);
        out
    }

    #[test]
    #[cfg(feature = "unverified-decrypt")]
    fn decrypt_unverified_fails_one_way_after_the_length_checks() {
        let cipher = MachineKeyDecryption::Aes;
        let key = Secret::new(vec![7u8; 32]);
        let purpose = Purpose::machine_key_protect(&["a".into()]);
        let good = unverified_value(&key, &purpose);
        let open = |bytes: &[u8]| decrypt_unverified(cipher, &key, &purpose, bytes, 32);
        assert_eq!(open(&good).unwrap(), [b'x'; 16]);

        // Bad padding: the last plaintext byte becomes 0x11 (flip in the block before it).
        let mut bad_padding = good.clone();
        bad_padding[16 + 15] ^= 0x10 ^ 0x11;
        // Not whole blocks: a byte short (still longer than the minimum).
        let mut ragged = good.clone();
        ragged.remove(20);
        // Another key and another purpose.
        let other_key = Secret::new(vec![8u8; 32]);
        let other_purpose = Purpose::machine_key_protect(&["b".into()]);
        let failures = [
            open(&bad_padding).unwrap_err(),
            open(&ragged).unwrap_err(),
            decrypt_unverified(cipher, &other_key, &purpose, &bad_padding, 32).unwrap_err(),
            decrypt_unverified(cipher, &key, &other_purpose, &bad_padding, 32).unwrap_err(),
        ];
        for error in &failures {
            assert!(matches!(error, Error::InvalidPayload), "{error}");
            assert_eq!(error.to_string(), failures[0].to_string());
        }

        // The length checks (public facts about the input) still say what is wrong.
        assert!(matches!(
            open(&good[..16 + 15 + 32]),
            Err(Error::Malformed(_))
        ));
        // A key that does not fit the cipher is the caller's error, before any input.
        assert!(matches!(
            decrypt_unverified(cipher, &Secret::new(vec![0; 20]), &purpose, &good, 32),
            Err(Error::InvalidArgument(_))
        ));
    }

    /// A MAC-less CBC decrypt is a padding oracle if anything wires it to input: it exists
    /// only with the non-default `unverified-decrypt` feature, which only this crate's own
    /// tests enable (a dev-dependency on itself). The absence of a function cannot be
    /// tested from code compiled with it, so this guards the parts that make it absent:
    /// the item's `cfg`, the feature off by default, and no other crate turning it on.
    #[test]
    fn decrypt_unverified_needs_a_feature_only_the_tests_enable() {
        const FEATURE: &str = "unverified-decrypt";
        let source = include_str!("framework45.rs");
        let at = source.find("pub fn decrypt_unverified").unwrap();
        let before = &source[..at];
        let item = &before[before.rfind("\n\n").unwrap()..];
        assert!(
            item.contains(&format!("#[cfg(feature = \"{FEATURE}\")]")),
            "decrypt_unverified is not behind the {FEATURE} feature"
        );

        let manifest = include_str!("../Cargo.toml");
        let section = |name: &str| -> String {
            let start = manifest
                .find(&format!("\n[{name}]\n"))
                .unwrap_or_else(|| panic!("no [{name}] in Cargo.toml"));
            let body = &manifest[start + name.len() + 4..];
            body[..body.find("\n[").unwrap_or(body.len())].to_owned()
        };
        let features = section("features");
        assert!(
            features
                .lines()
                .any(|l| l.trim() == format!("{FEATURE} = []")),
            "no {FEATURE} feature: {features}"
        );
        for line in features
            .lines()
            .filter(|l| l.trim_start().starts_with("default"))
        {
            assert!(!line.contains(FEATURE), "{FEATURE} is a default feature");
        }
        let dependencies = section("dependencies");
        assert!(!dependencies.contains(FEATURE), "{dependencies}");
        let dev = section("dev-dependencies");
        assert!(
            dev.lines()
                .any(|l| l.starts_with("keyward-machinekey") && l.contains(FEATURE)),
            "the tests do not enable {FEATURE}: {dev}"
        );

        // No crate of the workspace enables it.
        let crates = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for entry in std::fs::read_dir(crates).unwrap() {
            let dir = entry.unwrap().path();
            if dir.ends_with("keyward-machinekey") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) {
                assert!(
                    !text.contains(FEATURE),
                    "{} enables {FEATURE}",
                    dir.display()
                );
            }
        }
    }

    #[test]
    fn decrypt_unverified_is_hidden_from_the_documentation() {
        // A decryption without a MAC check answers "does this pad correctly?": it must not be
        // advertised as API. Guard the attribute (rustdoc has no test hook for it).
        let source = include_str!("framework45.rs");
        let at = source.find("pub fn decrypt_unverified").unwrap();
        let before = &source[..at];
        let item_start = before.rfind("\n\n").unwrap();
        assert!(
            before[item_start..].contains("#[doc(hidden)]"),
            "decrypt_unverified lost #[doc(hidden)]"
        );
    }
}
