//! [`RingKey`]: one key of the ring, with its master key prepared for the hot path or the
//! reason it cannot be used (encrypted with something keyward lacks, stored in the clear where
//! encryption is on, below the minimum key size, an unknown algorithm).

use super::{KeyCandidate, KeyInfo, KeyMaterial};
use crate::crypto::KeyCrypto;
use crate::error::{Error, Result};
use crate::policy::KeyManagementPolicy;

/// Why a key in the ring cannot be used.
#[derive(Debug, Clone)]
pub(super) enum KeyProblem {
    NotDecryptable {
        decryptor_type: String,
    },
    DecryptionFailed {
        decryptor_type: String,
        reason: crate::error::AtRestError,
    },
    Unsupported {
        detail: String,
    },
    /// Weaker than the minimum key size, and not allowed to unprotect.
    BelowMinimum {
        key_bits: usize,
        minimum_bits: usize,
    },
    /// A plaintext master key where encryption at rest is required or configured: anyone who
    /// can write to the store could have planted it.
    Unencrypted,
    /// A certificate-encrypted key without a valid keyward signature where encryption at rest
    /// is required: anyone who can write to the store could have planted it.
    Unsigned {
        invalid_signature: Option<&'static str>,
    },
}

/// One key of the ring: its metadata and, when usable, its prepared crypto.
#[derive(Clone)]
pub(crate) struct RingKey {
    pub(crate) info: KeyInfo,
    pub(crate) guid_bytes: [u8; 16],
    crypto: std::result::Result<KeyCrypto, KeyProblem>,
    /// Whether the key is strong enough to be the default key ([`KeyManagementPolicy::minimum_key_size`]).
    may_be_default: bool,
}

impl RingKey {
    /// What the default-key policy needs of this key.
    /// The `decryptorType` this key's master key is encrypted with, when keyward holds no
    /// decryptor for it.
    pub(super) fn undecryptable_by(&self) -> Option<&str> {
        match &self.crypto {
            Err(KeyProblem::NotDecryptable { decryptor_type }) => Some(decryptor_type),
            _ => None,
        }
    }

    pub(super) fn candidate(&self) -> KeyCandidate {
        KeyCandidate {
            id: self.info.id,
            creation: self.info.creation,
            activation: self.info.activation,
            expiration: self.info.expiration,
            revoked: self.info.revoked,
            usable: self.crypto.is_ok() && self.may_be_default,
        }
    }

    /// The key's crypto, or why there is none.
    pub(crate) fn crypto(&self) -> Result<&KeyCrypto> {
        match &self.crypto {
            Ok(crypto) => Ok(crypto),
            Err(KeyProblem::NotDecryptable { decryptor_type }) => Err(Error::KeyNotDecryptable {
                key_id: self.info.id,
                decryptor_type: decryptor_type.clone(),
            }),
            Err(KeyProblem::DecryptionFailed {
                decryptor_type,
                reason,
            }) => Err(Error::KeyDecryptionFailed {
                key_id: self.info.id,
                decryptor_type: decryptor_type.clone(),
                reason: reason.clone(),
            }),
            Err(KeyProblem::Unsupported { detail }) => Err(Error::UnsupportedAlgorithm {
                key_id: self.info.id,
                detail: detail.clone(),
            }),
            Err(KeyProblem::BelowMinimum {
                key_bits,
                minimum_bits,
            }) => Err(Error::KeyBelowMinimumSize {
                key_id: self.info.id,
                key_bits: *key_bits,
                minimum_bits: *minimum_bits,
            }),
            Err(KeyProblem::Unencrypted) => Err(Error::KeyNotEncrypted(self.info.id)),
            Err(KeyProblem::Unsigned { invalid_signature }) => Err(Error::KeyNotSigned {
                key_id: self.info.id,
                invalid_signature: *invalid_signature,
            }),
        }
    }
}

impl std::fmt::Debug for RingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingKey")
            .field("id", &self.info.id)
            .finish_non_exhaustive()
    }
}

/// Whether two records of one key id are copies of the same key.
pub(super) fn same_record(a: &super::KeyRecord, b: &super::KeyRecord) -> bool {
    let material = match (&a.material, &b.material) {
        (KeyMaterial::Plain(x), KeyMaterial::Plain(y)) => x.expose() == y.expose(),
        (
            KeyMaterial::Encrypted {
                decryptor_type: t1,
                encrypted_xml: x1,
            },
            KeyMaterial::Encrypted {
                decryptor_type: t2,
                encrypted_xml: x2,
            },
        ) => t1 == t2 && x1 == x2,
        _ => false,
    };
    material
        && a.creation == b.creation
        && a.activation == b.activation
        && a.expiration == b.expiration
        && a.algorithm == b.algorithm
}

pub(super) fn ring_key(
    record: &super::KeyRecord,
    revoked: bool,
    at_rest: &dyn super::MasterKeyOpener,
    policy: &KeyManagementPolicy,
) -> RingKey {
    let mut signature = super::KeySignature::NotApplicable;
    let crypto = match (&record.material, record.algorithm) {
        (KeyMaterial::Plain(_), Some(_)) if at_rest.refuses_plaintext() => {
            // Said where it matters (no default key, `doctor`, `keys list`), not per key on
            // every read of the ring.
            tracing::debug!(key_id = %record.id, "a key in the ring is stored unencrypted although encryption at rest is required or configured: it is not used (it may have been planted by a store writer; if it was stored before encryption was turned on, `keyward keys rewrap` encrypts it)");
            Err(KeyProblem::Unencrypted)
        }
        (KeyMaterial::Plain(secret), Some(algorithm)) => {
            at_rest.note_plaintext_key(record.id);
            Ok(KeyCrypto::new(algorithm, secret))
        }
        (
            KeyMaterial::Encrypted {
                decryptor_type,
                encrypted_xml,
            },
            Some(algorithm),
        ) => match at_rest.open(record.id, decryptor_type, encrypted_xml) {
            Some(Ok(secret)) => {
                signature = at_rest.signature(record, decryptor_type, &secret);
                if signature.needs_trust() && !at_rest.accepts_unsigned_certificate_keys() {
                    tracing::debug!(key_id = %record.id, "a certificate-encrypted key without a valid keyward signature is not used (encryption at rest is required)");
                    Err(KeyProblem::Unsigned {
                        invalid_signature: match signature {
                            super::KeySignature::Invalid { reason } => Some(reason),
                            _ => None,
                        },
                    })
                } else {
                    Ok(KeyCrypto::new(algorithm, &secret))
                }
            }
            Some(Err(reason)) => Err(KeyProblem::DecryptionFailed {
                decryptor_type: decryptor_type.clone(),
                reason,
            }),
            None => Err(KeyProblem::NotDecryptable {
                decryptor_type: decryptor_type.clone(),
            }),
        },
        (KeyMaterial::Encrypted { decryptor_type, .. }, None) => Err(KeyProblem::NotDecryptable {
            decryptor_type: decryptor_type.clone(),
        }),
        (KeyMaterial::Unsupported { detail }, _) => Err(KeyProblem::Unsupported {
            detail: detail.clone(),
        }),
        (KeyMaterial::Plain(_), None) => Err(KeyProblem::Unsupported {
            detail: "unknown algorithm".into(),
        }),
    };
    let unusable_reason = crypto.as_ref().err().map(|problem| match problem {
        KeyProblem::NotDecryptable { decryptor_type } => {
            format!("master key encrypted at rest with {decryptor_type}")
        }
        KeyProblem::DecryptionFailed {
            decryptor_type,
            reason,
        } => {
            format!("master key could not be decrypted with {decryptor_type}: {reason}")
        }
        KeyProblem::Unsupported { detail } => detail.clone(),
        KeyProblem::BelowMinimum {
            key_bits,
            minimum_bits,
        } => below_minimum_reason(*key_bits, *minimum_bits),
        KeyProblem::Unencrypted => {
            "stored unencrypted, but encryption at rest is required or configured".into()
        }
        KeyProblem::Unsigned { invalid_signature } => {
            crate::error::unsigned_reason(record.id, *invalid_signature)
        }
    });
    let strong_enough = record
        .algorithm
        .is_none_or(|a| a.key_size().bytes() >= policy.minimum_key_size.bytes());
    let mut note = None;
    let (crypto, unusable_reason) = match crypto {
        Ok(_) if !strong_enough && !policy.unprotect_with_weaker_keys => {
            let key_bits = record.algorithm.map_or(0, |a| a.key_size().bytes() * 8);
            let minimum_bits = policy.minimum_key_size.bytes() * 8;
            (
                Err(KeyProblem::BelowMinimum {
                    key_bits,
                    minimum_bits,
                }),
                Some(below_minimum_reason(key_bits, minimum_bits)),
            )
        }
        Ok(crypto) if !strong_enough => {
            note = Some(format!(
                "unprotect only: {} is below keyward's minimum key size (AES-{}); allowed to unprotect (--allow-weaker-keys, ProviderBuilder::unprotect_with_weaker_keys), it never protects",
                crate::error::weaker_key_size(
                    record.algorithm.map_or(0, |a| a.key_size().bytes() * 8)
                ),
                policy.minimum_key_size.bytes() * 8
            ));
            (Ok(crypto), None)
        }
        other => (other, unusable_reason),
    };
    let protection = match &record.material {
        KeyMaterial::Encrypted {
            decryptor_type,
            encrypted_xml,
        } => at_rest.protection(decryptor_type, encrypted_xml),
        _ => super::AtRestProtection::None,
    };
    RingKey {
        guid_bytes: record.id.to_guid_bytes(),
        info: KeyInfo {
            id: record.id,
            creation: record.creation,
            activation: record.activation,
            expiration: record.expiration,
            algorithm: record.algorithm,
            revoked,
            unusable_reason,
            note,
            at_rest: protection,
            signature,
        },
        crypto,
        may_be_default: strong_enough,
    }
}

/// A weaker key's listed reason: what it is, and how to read it.
fn below_minimum_reason(key_bits: usize, minimum_bits: usize) -> String {
    format!(
        "{} key, {}",
        crate::error::weaker_key_size(key_bits),
        crate::error::weaker_key_reason(minimum_bits)
    )
}
