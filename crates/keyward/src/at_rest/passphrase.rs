//! Passphrases: an Argon2id-derived KEK per key (fresh salt), parameters and salt stored in
//! the element, so the same passphrase opens keys written with other parameters.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};

use super::{nonce_and_value, parse, seal, EncryptedElement, XmlDecryptor, XmlEncryptor};
use crate::element_tree::XmlElement;
use crate::encoding::{base64_standard_decode, base64_standard_encode};
use crate::error::AtRestError;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The `decryptorType` of passphrase-protected master keys (keyward's own).
pub const PASSPHRASE_DECRYPTOR_TYPE: &str = "Keyward.XmlEncryption.PassphraseXmlDecryptor, Keyward";

/// Argon2id cost: memory in KiB, iterations, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    memory_kib: u32,
    iterations: u32,
    lanes: u32,
}

/// OWASP's Argon2id recommendation (19 MiB, 2 iterations, 1 lane).
const DEFAULT_COST: Cost = Cost {
    memory_kib: 19_456,
    iterations: 2,
    lanes: 1,
};

/// Encrypts and decrypts master keys under a passphrase.
pub struct PassphraseEncryptor {
    passphrase: Secret,
    cost: Cost,
    /// The highest cost accepted from an element (each dimension): the configured cost unless
    /// raised with [`PassphraseEncryptor::accept_cost_up_to`]. Costs come from the store, so a
    /// store writer must not be able to make every node spend what it likes.
    max_cost: Cost,
}

impl fmt::Debug for PassphraseEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassphraseEncryptor")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl PassphraseEncryptor {
    /// A passphrase (a file's content, trailing newline removed), with OWASP's Argon2id cost.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty passphrase.
    pub fn new(passphrase: &str) -> Result<Self> {
        Self::with_cost(
            passphrase,
            DEFAULT_COST.memory_kib,
            DEFAULT_COST.iterations,
            DEFAULT_COST.lanes,
        )
    }

    /// A passphrase with an explicit Argon2id cost (memory in KiB, iterations, lanes).
    ///
    /// # Errors
    /// [`Error::Configuration`] for an empty passphrase or parameters Argon2 refuses.
    pub fn with_cost(
        passphrase: &str,
        memory_kib: u32,
        iterations: u32,
        lanes: u32,
    ) -> Result<Self> {
        let passphrase = passphrase.trim_end_matches(['\r', '\n']);
        if passphrase.is_empty() {
            return Err(Error::Configuration(
                crate::error::ConfigError::EmptyPassphrase,
            ));
        }
        Params::new(memory_kib, iterations, lanes, Some(32)).map_err(|e| {
            Error::Configuration(crate::error::ConfigError::Argon2Parameters(
                e.to_string().into(),
            ))
        })?;
        Ok(Self {
            passphrase: Secret::new(passphrase.as_bytes().to_vec()),
            cost: Cost {
                memory_kib,
                iterations,
                lanes,
            },
            max_cost: Cost {
                memory_kib,
                iterations,
                lanes,
            },
        })
    }

    /// Accepts elements written with a higher Argon2id cost than this encryptor's own (keys
    /// written under an earlier, costlier configuration), up to these values and keyward's
    /// hard limits (256 MiB, 10 iterations, 8 lanes). By default an element whose cost
    /// exceeds the configured cost in any dimension is refused without running Argon2.
    #[must_use]
    pub fn accept_cost_up_to(mut self, memory_kib: u32, iterations: u32, lanes: u32) -> Self {
        self.max_cost = Cost {
            memory_kib: memory_kib.max(self.cost.memory_kib),
            iterations: iterations.max(self.cost.iterations),
            lanes: lanes.max(self.cost.lanes),
        };
        self
    }

    fn derive(&self, salt: &[u8], cost: Cost) -> Option<Secret> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.lanes, Some(32)).ok()?;
        let mut key = vec![0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(self.passphrase.expose(), salt, &mut key)
            .ok()?;
        Some(Secret::new(key))
    }
}

/// Associated data: the decryptor type, the salt and the key id.
fn aad(salt: &str, key_id: crate::key_id::KeyId) -> String {
    format!(
        "{}|{salt}|{key_id}",
        super::type_name_of(PASSPHRASE_DECRYPTOR_TYPE)
    )
}

impl XmlEncryptor for PassphraseEncryptor {
    fn encrypt(
        &self,
        key_id: crate::key_id::KeyId,
        master_key: &XmlElement,
    ) -> Result<EncryptedElement> {
        let mut salt = [0u8; 16];
        crate::crypto::rng::fill(&mut salt);
        let kek = self
            .derive(&salt, self.cost)
            .ok_or(Error::AtRest(AtRestError::Primitive(
                "Argon2id derivation failed",
            )))?;
        let salt = base64_standard_encode(&salt);
        let plaintext = zeroize::Zeroizing::new(master_key.to_compact());
        let (nonce, sealed) = seal::seal(
            kek.expose(),
            aad(&salt, key_id).as_bytes(),
            plaintext.as_bytes(),
        )
        .ok_or_else(|| Error::EncryptionFailed("AES-256-GCM refused to seal the master key"))?;
        Ok(EncryptedElement {
            decryptor_type: PASSPHRASE_DECRYPTOR_TYPE.into(),
            element: XmlElement::new("encryptedKey")
                .attr("kdf", "argon2id")
                .attr("m", self.cost.memory_kib.to_string())
                .attr("t", self.cost.iterations.to_string())
                .attr("p", self.cost.lanes.to_string())
                .attr("salt", salt)
                .attr("algorithm", "AES-256-GCM")
                .comment(" This key is encrypted with a key derived from a passphrase. ")
                .child(XmlElement::new("nonce").text(base64_standard_encode(&nonce)))
                .child(XmlElement::new("value").text(base64_standard_encode(&sealed))),
        })
    }

    fn is_current(
        &self,
        key_id: crate::key_id::KeyId,
        decryptor_type: &str,
        encrypted: &str,
    ) -> bool {
        // Current: this passphrase opens it, with this encryptor's cost.
        let same_cost = parse(encrypted).is_some_and(|doc| {
            let root = doc.root_element();
            root.attribute("m") == Some(self.cost.memory_kib.to_string().as_str())
                && root.attribute("t") == Some(self.cost.iterations.to_string().as_str())
                && root.attribute("p") == Some(self.cost.lanes.to_string().as_str())
        });
        super::type_name_of(decryptor_type) == self.type_name()
            && same_cost
            && self.decrypt(key_id, encrypted).is_ok()
    }
}

impl XmlDecryptor for PassphraseEncryptor {
    fn type_name(&self) -> &str {
        super::type_name_of(PASSPHRASE_DECRYPTOR_TYPE)
    }

    fn decrypt(
        &self,
        key_id: crate::key_id::KeyId,
        encrypted: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        let fail = |reason: &'static str| Error::AtRest(AtRestError::Malformed(reason));
        let doc =
            parse(encrypted).ok_or_else(|| fail("the passphrase-encrypted element is not XML"))?;
        let root = doc.root_element();
        if root.attribute("kdf") != Some("argon2id") {
            return Err(fail(
                "the passphrase-encrypted element does not name argon2id",
            ));
        }
        let number = |name: &str| root.attribute(name).and_then(|v| v.parse::<u32>().ok());
        let cost = Cost {
            memory_kib: number("m").ok_or_else(|| fail("missing Argon2id m"))?,
            iterations: number("t").ok_or_else(|| fail("missing Argon2id t"))?,
            lanes: number("p").ok_or_else(|| fail("missing Argon2id p"))?,
        };
        // Refuse costs that would exhaust memory: a hostile key file must not DoS the node.
        if cost.memory_kib > 256 * 1024 || cost.iterations > 10 || cost.lanes > 8 {
            return Err(fail(
                "the Argon2id cost in the element is beyond keyward's limits",
            ));
        }
        if cost.memory_kib > self.max_cost.memory_kib
            || cost.iterations > self.max_cost.iterations
            || cost.lanes > self.max_cost.lanes
        {
            return Err(fail(
                "the Argon2id cost in the element exceeds the configured cost (see PassphraseEncryptor::accept_cost_up_to)",
            ));
        }
        let salt_text = root
            .attribute("salt")
            .ok_or_else(|| fail("the passphrase-encrypted element lacks its salt"))?;
        let salt = base64_standard_decode(salt_text).map_err(|e| {
            Error::AtRest(AtRestError::NotBase64 {
                what: "the passphrase-encrypted element's salt",
                source: e,
            })
        })?;
        let (nonce, sealed) = nonce_and_value(root, "the passphrase-encrypted element")?;
        let kek = self
            .derive(&salt, cost)
            .ok_or(Error::AtRest(AtRestError::Primitive(
                "Argon2id derivation failed",
            )))?;
        // The salt as keyward wrote it (canonical base64), so a salt that a tool wrapped or
        // indented still authenticates.
        let plaintext = seal::open(
            kek.expose(),
            aad(&base64_standard_encode(&salt), key_id).as_bytes(),
            &nonce,
            &sealed,
        )
        .ok_or_else(|| {
            Error::AtRest(AtRestError::WrongSecret(
                "the passphrase does not open this element (wrong passphrase, or tampered)",
            ))
        })?;
        let mut plaintext = plaintext;
        match String::from_utf8(std::mem::take(&mut *plaintext)) {
            Ok(text) => Ok(zeroize::Zeroizing::new(text)),
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut e.into_bytes());
                Err(Error::AtRest(AtRestError::NotUtf8))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store writer rewrites an element's cost upwards: refused before Argon2 runs, unless
    /// the configuration accepts that cost.
    #[test]
    fn costs_from_the_store_are_capped_by_the_configuration() {
        let master = XmlElement::new("masterKey").child(XmlElement::new("value").text("c2VjcmV0"));
        let costly = PassphraseEncryptor::with_cost("pw", 256, 2, 1).unwrap();
        let id = crate::key_id::KeyId::random();
        let text = costly.encrypt(id, &master).unwrap().element.to_compact();
        let cheap = PassphraseEncryptor::with_cost("pw", 64, 1, 1).unwrap();
        let err = cheap.decrypt(id, &text).unwrap_err().to_string();
        assert!(err.contains("exceeds the configured cost"), "{err}");
        let raised = PassphraseEncryptor::with_cost("pw", 64, 1, 1)
            .unwrap()
            .accept_cost_up_to(256, 2, 1);
        assert_eq!(*raised.decrypt(id, &text).unwrap(), master.to_compact());
        // A hostile m= far above: refused at once (no 4 GiB allocation).
        let hostile = text.replace("m=\"256\"", "m=\"4000000\"");
        assert_ne!(hostile, text);
        assert!(raised.decrypt(id, &hostile).is_err());
    }

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let master = XmlElement::new("masterKey").child(XmlElement::new("value").text("c2VjcmV0"));
        let right = PassphraseEncryptor::with_cost("correct horse", 64, 1, 1).unwrap();
        let id = crate::key_id::KeyId::random();
        let sealed = right.encrypt(id, &master).unwrap();
        let text = sealed.element.to_compact();
        assert_eq!(*right.decrypt(id, &text).unwrap(), master.to_compact());
        assert!(right.is_current(id, &sealed.decryptor_type, &text));
        assert!(
            right
                .decrypt(crate::key_id::KeyId::random(), &text)
                .is_err(),
            "bound to its key id"
        );
        let wrong = PassphraseEncryptor::with_cost("battery staple", 64, 1, 1).unwrap();
        let err = wrong.decrypt(id, &text).unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        assert!(!wrong.is_current(id, &sealed.decryptor_type, &text));
        let costlier = PassphraseEncryptor::with_cost("correct horse", 128, 1, 1).unwrap();
        assert!(
            !costlier.is_current(id, &sealed.decryptor_type, &text),
            "a new cost means rewrap"
        );
        assert!(!text.contains("c2VjcmV0"));
        let greedy = text.replace("m=\"64\"", "m=\"99999999\"");
        assert!(right.decrypt(id, &greedy).is_err());
    }
}
