//! [`KeyRing`]: an immutable snapshot of every key, with revocations applied, each usable key
//! prepared for the hot path, and the default key resolved. Lookup by id is O(1).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::xml::{parse_document, RingElement};
use super::{resolve_default_key, KeyCandidate, KeyId, KeyInfo, KeyMaterial, ResolverPolicy};
use crate::crypto::KeyCrypto;
use crate::error::{Error, Result};
use crate::repository::StoredElement;

/// Why a key in the ring cannot be used.
#[derive(Debug, Clone)]
enum KeyProblem {
    NotDecryptable { decryptor_type: String },
    Unsupported { detail: String },
}

/// One key of the ring: its metadata and, when usable, its prepared crypto.
pub(crate) struct RingKey {
    pub(crate) info: KeyInfo,
    pub(crate) guid_bytes: [u8; 16],
    crypto: std::result::Result<KeyCrypto, KeyProblem>,
}

impl RingKey {
    /// The key's crypto, or why there is none.
    pub(crate) fn crypto(&self) -> Result<&KeyCrypto> {
        match &self.crypto {
            Ok(crypto) => Ok(crypto),
            Err(KeyProblem::NotDecryptable { decryptor_type }) => Err(Error::KeyNotDecryptable {
                key_id: self.info.id,
                decryptor_type: decryptor_type.clone(),
            }),
            Err(KeyProblem::Unsupported { detail }) => Err(Error::UnsupportedAlgorithm {
                key_id: self.info.id,
                detail: detail.clone(),
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

/// An immutable snapshot of the key ring.
#[derive(Debug)]
pub(crate) struct KeyRing {
    keys: HashMap<KeyId, RingKey>,
    /// Ids ordered by creation, then id (for listings).
    order: Vec<KeyId>,
    default_key: Option<KeyId>,
    location: String,
}

impl KeyRing {
    /// Builds the ring from stored documents and resolves its default key at `now`.
    pub(crate) fn from_elements(
        elements: &[StoredElement],
        location: String,
        now: OffsetDateTime,
        policy: ResolverPolicy,
    ) -> Result<Self> {
        let mut records = Vec::new();
        let mut revoked_ids = HashSet::new();
        let mut revoke_before: Option<OffsetDateTime> = None;
        for stored in elements {
            for element in parse_document(&stored.xml, &stored.location)? {
                match element {
                    RingElement::Key(record) => records.push(*record),
                    RingElement::SkippedKey { reason } => {
                        tracing::warn!(%reason, "skipping a key that cannot be read");
                    }
                    RingElement::RevokeKey { key_id } => {
                        revoked_ids.insert(key_id);
                    }
                    RingElement::RevokeAllBefore { date } => {
                        revoke_before = Some(revoke_before.map_or(date, |d| d.max(date)));
                    }
                    RingElement::Unknown { name } => {
                        tracing::debug!(location = %stored.location, element = %name, "ignoring an unknown element");
                    }
                }
            }
        }
        let mut keys = HashMap::with_capacity(records.len());
        for record in records {
            let id = record.id;
            let revoked =
                revoked_ids.contains(&id) || revoke_before.is_some_and(|d| record.creation < d);
            let crypto = match (&record.material, record.algorithm) {
                (KeyMaterial::Plain(secret), Some(algorithm)) => {
                    Ok(KeyCrypto::new(algorithm, secret))
                }
                (KeyMaterial::Encrypted { decryptor_type, .. }, _) => {
                    Err(KeyProblem::NotDecryptable {
                        decryptor_type: decryptor_type.clone(),
                    })
                }
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
                KeyProblem::Unsupported { detail } => detail.clone(),
            });
            let info = KeyInfo {
                id,
                creation: record.creation,
                activation: record.activation,
                expiration: record.expiration,
                algorithm: record.algorithm,
                revoked,
                unusable_reason,
            };
            let key = RingKey {
                info,
                guid_bytes: id.to_guid_bytes(),
                crypto,
            };
            if keys.insert(id, key).is_some() {
                return Err(Error::KeyXml {
                    location,
                    reason: format!("the key {{{id}}} exists more than once in the key ring"),
                });
            }
        }
        for id in revoked_ids.iter().filter(|id| !keys.contains_key(id)) {
            tracing::debug!(key_id = %id, "a revocation names a key that is not in the ring");
        }
        let mut order: Vec<KeyId> = keys.keys().copied().collect();
        order.sort_by_key(|id| (keys[id].info.creation, *id));
        let mut ring = Self {
            keys,
            order,
            default_key: None,
            location,
        };
        ring.default_key = ring.resolve(now, policy).default_key;
        Ok(ring)
    }

    /// Runs the default-key policy over this ring at `now`.
    pub(crate) fn resolve(&self, now: OffsetDateTime, policy: ResolverPolicy) -> super::Resolution {
        let candidates: Vec<KeyCandidate> = self
            .order
            .iter()
            .map(|id| {
                let key = &self.keys[id];
                KeyCandidate {
                    id: *id,
                    creation: key.info.creation,
                    activation: key.info.activation,
                    expiration: key.info.expiration,
                    revoked: key.info.revoked,
                    usable: key.crypto.is_ok(),
                }
            })
            .collect();
        resolve_default_key(&candidates, now, policy)
    }

    /// The key with this id.
    pub(crate) fn get(&self, id: &KeyId) -> Option<&RingKey> {
        self.keys.get(id)
    }

    /// The default key, as resolved when the ring was built.
    pub(crate) fn default_key(&self) -> Option<&RingKey> {
        self.default_key.and_then(|id| self.keys.get(&id))
    }

    /// Every key, oldest first.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &RingKey> {
        self.order.iter().map(|id| &self.keys[id])
    }

    /// Where the ring was read from.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }
}
