//! Reading and writing .NET's key and revocation XML (`key-{id}.xml`, `revocation-….xml`).
//!
//! Reading follows `XmlKeyManager`: namespaces are matched by URI, never by prefix; a UTF-8 BOM
//! is tolerated; unknown elements are ignored; a key with a bad id or bad dates is skipped with
//! a warning; a bad revocation fails the load. DTDs are refused and documents are size-limited,
//! so a hostile key file can neither expand entities nor reach the network.

use roxmltree::Node;
use time::OffsetDateTime;

use super::{date, KeyId, KeyMaterial, KeyRecord};
use crate::crypto::{AesKeySize, Algorithm, ValidationAlgorithm};
use crate::encoding::{base64_standard_decode, Base64Error};
use crate::error::AtRestError;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The Data Protection XML namespace (`requiresEncryption`, `encryptedSecret`).
pub const DATA_PROTECTION_NAMESPACE: &str = "http://schemas.asp.net/2015/03/dataProtection";

/// The deserializer .NET writes for (and reads) the default descriptor, without a version so
/// every .NET release resolves it.
pub const DEFAULT_DESERIALIZER_TYPE: &str = "Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection";

/// One top-level element of a key ring.
#[derive(Debug)]
pub(crate) enum RingElement {
    /// A `<key>`.
    Key(Box<KeyRecord>),
    /// A `<key>` whose id or dates could not be read: skipped, as .NET skips it, but kept
    /// by name (with what could be read) so listings and errors can say why.
    SkippedKey(Box<super::UnreadableKey>),
    /// A `<revocation>` of one key.
    RevokeKey { key_id: KeyId },
    /// A `<revocation>` of every key created before `date`.
    RevokeAllBefore { date: OffsetDateTime },
    /// Anything else: ignored.
    Unknown { name: String },
}

/// Parses one stored document (a key, a revocation, or a container of those such as Azure
/// Blob's `<repository>`) into ring elements.
pub(crate) fn parse_document(text: &str, location: &str) -> Result<Vec<RingElement>> {
    let xml_error = |reason: String| Error::KeyXml {
        location: location.to_owned(),
        reason,
    };
    let doc = crate::element_tree::parse_limited(text).map_err(xml_error)?;
    let root = doc.root_element();
    if is_plain(root, "key") || is_plain(root, "revocation") {
        return Ok(vec![parse_element(root, location)?]);
    }
    // Containers hold one element per key or revocation (Azure Blob's `<repository>`).
    if root
        .children()
        .any(|c| is_plain(c, "key") || is_plain(c, "revocation"))
    {
        return root
            .children()
            .filter(Node::is_element)
            .map(|c| parse_element(c, location))
            .collect();
    }
    Ok(vec![RingElement::Unknown {
        name: root.tag_name().name().to_owned(),
    }])
}

fn is_plain(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace().is_none()
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is_plain(*c, name))
}

/// All descendant text, comments ignored, trimmed (.NET's `(string)element`).
fn string_value(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn parse_element(node: Node<'_, '_>, location: &str) -> Result<RingElement> {
    if is_plain(node, "key") {
        return Ok(match parse_key(node) {
            Ok(record) => RingElement::Key(Box::new(record)),
            Err(reason) => RingElement::SkippedKey(Box::new(super::UnreadableKey {
                id: node.attribute("id").and_then(|id| id.parse().ok()),
                location: location.to_owned(),
                reason,
                creation: parse_date(node, "creationDate").ok(),
                activation: parse_date(node, "activationDate").ok(),
                expiration: parse_date(node, "expirationDate").ok(),
            })),
        });
    }
    if is_plain(node, "revocation") {
        return parse_revocation(node).map_err(|reason| Error::KeyXml {
            location: location.to_owned(),
            reason,
        });
    }
    Ok(RingElement::Unknown {
        name: node.tag_name().name().to_owned(),
    })
}

fn parse_date(node: Node<'_, '_>, name: &str) -> std::result::Result<OffsetDateTime, String> {
    let element = child(node, name).ok_or_else(|| format!("<{name}> is missing"))?;
    let text = string_value(element);
    date::parse(&text)
        .map(date::to_ticks_precision)
        .ok_or_else(|| format!("<{name}> is not an xs:dateTime: {text:?}"))
}

fn parse_key(node: Node<'_, '_>) -> std::result::Result<KeyRecord, String> {
    let id_text = node.attribute("id").ok_or("the key has no id attribute")?;
    let id: KeyId = id_text
        .parse()
        .map_err(|e: super::ParseKeyIdError| e.to_string())?;
    let creation = parse_date(node, "creationDate")?;
    let activation = parse_date(node, "activationDate")?;
    let expiration = parse_date(node, "expirationDate")?;
    let (algorithm, material) = match child(node, "descriptor") {
        Some(descriptor) => parse_descriptor(descriptor),
        None => (
            None,
            KeyMaterial::Unsupported {
                detail: "the key has no <descriptor>".into(),
            },
        ),
    };
    Ok(KeyRecord {
        id,
        creation,
        activation,
        expiration,
        algorithm,
        material,
        signature: super::signature_xml::read_signature(node),
    })
}

/// Which deserializer a `deserializerType` names, by full type name (before the first comma),
/// accepting the pre-Core `Microsoft.AspNet.DataProtection` namespace.
fn deserializer_kind(type_name: &str) -> Option<&str> {
    let full = type_name.split(',').next().unwrap_or("").trim();
    let rest = full
        .strip_prefix("Microsoft.AspNetCore.DataProtection.")
        .or_else(|| full.strip_prefix("Microsoft.AspNet.DataProtection."))?;
    rest.strip_prefix("AuthenticatedEncryption.ConfigurationModel.")
}

fn parse_descriptor(outer: Node<'_, '_>) -> (Option<Algorithm>, KeyMaterial) {
    let type_name = outer.attribute("deserializerType").unwrap_or("");
    let Some(inner) = outer.children().find(Node::is_element) else {
        return (
            None,
            KeyMaterial::Unsupported {
                detail: "the descriptor is empty".into(),
            },
        );
    };
    parse_inner_descriptor(type_name, inner)
}

/// Reads the algorithm and master key of an inner descriptor, given its deserializer type.
fn parse_inner_descriptor(
    type_name: &str,
    inner: Node<'_, '_>,
) -> (Option<Algorithm>, KeyMaterial) {
    let algorithm = match deserializer_kind(type_name) {
        Some("AuthenticatedEncryptorDescriptorDeserializer") => {
            let encryption = child(inner, "encryption").and_then(|e| e.attribute("algorithm"));
            let validation = child(inner, "validation").and_then(|e| e.attribute("algorithm"));
            encryption.and_then(|e| Algorithm::from_xml_names(e, validation))
        }
        Some("ManagedAuthenticatedEncryptorDescriptorDeserializer") => managed_algorithm(inner),
        Some("CngCbcAuthenticatedEncryptorDescriptorDeserializer") => {
            let key_size = cng_aes_key_size(inner);
            let validation = match child(inner, "hash").and_then(|h| h.attribute("algorithm")) {
                Some("SHA256") => Some(ValidationAlgorithm::HmacSha256),
                Some("SHA512") => Some(ValidationAlgorithm::HmacSha512),
                _ => None,
            };
            key_size
                .zip(validation)
                .map(|(key_size, validation)| Algorithm::Cbc {
                    key_size,
                    validation,
                })
        }
        Some("CngGcmAuthenticatedEncryptorDescriptorDeserializer") => {
            cng_aes_key_size(inner).map(|key_size| Algorithm::Gcm { key_size })
        }
        _ => None,
    };
    let Some(algorithm) = algorithm else {
        return (
            None,
            KeyMaterial::Unsupported {
                detail: format!(
                    "unsupported descriptor (deserializer {:?}): {}",
                    type_name.split(',').next().unwrap_or(""),
                    algorithm_summary(inner)
                ),
            },
        );
    };
    (Some(algorithm), parse_master_key(inner))
}

fn algorithm_summary(inner: Node<'_, '_>) -> String {
    inner
        .children()
        .filter(Node::is_element)
        .filter_map(|c| {
            c.attribute("algorithm")
                .map(|a| format!("{}={a}", c.tag_name().name()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cng_aes_key_size(inner: Node<'_, '_>) -> Option<AesKeySize> {
    let encryption = child(inner, "encryption")?;
    if encryption.attribute("algorithm")? != "AES" {
        return None;
    }
    AesKeySize::from_bits(encryption.attribute("keyLength")?.parse().ok()?)
}

fn managed_algorithm(inner: Node<'_, '_>) -> Option<Algorithm> {
    let encryption = child(inner, "encryption")?;
    let name = encryption.attribute("algorithm")?.split(',').next()?.trim();
    let is_aes = matches!(
        name,
        "Aes"
            | "System.Security.Cryptography.Aes"
            | "System.Security.Cryptography.AesCryptoServiceProvider"
            | "System.Security.Cryptography.AesManaged"
    );
    if !is_aes {
        return None;
    }
    let key_size = AesKeySize::from_bits(encryption.attribute("keyLength")?.parse().ok()?)?;
    let validation = child(inner, "validation")?
        .attribute("algorithm")?
        .split(',')
        .next()?
        .trim();
    let validation = ValidationAlgorithm::from_xml_name(
        validation
            .strip_prefix("System.Security.Cryptography.")
            .unwrap_or(validation),
    )?;
    Some(Algorithm::Cbc {
        key_size,
        validation,
    })
}

fn parse_master_key(inner: Node<'_, '_>) -> KeyMaterial {
    let encrypted = inner.descendants().find(|n| {
        n.is_element()
            && n.tag_name().name() == "encryptedSecret"
            && n.tag_name().namespace() == Some(DATA_PROTECTION_NAMESPACE)
    });
    if let Some(encrypted) = encrypted {
        let decryptor_type = encrypted
            .attribute("decryptorType")
            .unwrap_or("(no decryptorType)")
            .to_owned();
        let document = inner.document().input_text();
        // The decryptor gets the element inside <encryptedSecret>.
        let encrypted_xml = encrypted
            .children()
            .find(Node::is_element)
            .map(|c| document[c.range()].to_owned())
            .unwrap_or_default();
        return KeyMaterial::Encrypted {
            decryptor_type,
            encrypted_xml,
        };
    }
    let Some(master_key) = child(inner, "masterKey") else {
        return KeyMaterial::Unsupported {
            detail: "the descriptor has no <masterKey>".into(),
        };
    };
    match master_key_value(master_key) {
        Ok(secret) => KeyMaterial::Plain(secret),
        Err(Base64Error::Empty) => KeyMaterial::Unsupported {
            detail: "the <masterKey> value is empty or missing".into(),
        },
        Err(e) => KeyMaterial::Unsupported {
            detail: format!("the <masterKey> value is not base64: {e}"),
        },
    }
}

/// The secret of a `<masterKey>` element: all its text (comments left out, CDATA included),
/// base64 as `Convert.FromBase64String` reads it (whitespace anywhere skipped), as .NET's
/// `(string)masterKeyElement` then `ToSecret`.
fn master_key_value(master_key: Node<'_, '_>) -> std::result::Result<Secret, Base64Error> {
    let value = zeroize::Zeroizing::new(string_value(master_key));
    base64_standard_decode(&value).map(Secret::new)
}

/// The secret of a decrypted `<masterKey>` element given as XML text.
///
/// # Errors
/// What is wrong, without the text: not XML (the parser's message is left out, it could
/// quote the decrypted text), not a `<masterKey>`, or a value that is not base64.
pub(crate) fn master_key_from_xml(text: &str) -> std::result::Result<Secret, AtRestError> {
    let doc = crate::element_tree::parse_limited(text)
        .map_err(|_| AtRestError::Malformed("the decrypted element is not well-formed XML"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "masterKey" {
        return Err(AtRestError::Malformed(
            "the decrypted element is not a <masterKey>",
        ));
    }
    master_key_value(root).map_err(|e| match e {
        Base64Error::Empty => {
            AtRestError::Malformed("the decrypted <masterKey> value is empty or missing")
        }
        source => AtRestError::NotBase64 {
            what: "the decrypted <masterKey> value",
            source,
        },
    })
}

fn parse_revocation(node: Node<'_, '_>) -> std::result::Result<RingElement, String> {
    let date = parse_date(node, "revocationDate")?;
    let key = child(node, "key").ok_or("the revocation has no <key> element")?;
    let id = key
        .attribute("id")
        .ok_or("the revocation's <key> has no id")?;
    if id.trim() == "*" {
        return Ok(RingElement::RevokeAllBefore { date });
    }
    let key_id = id
        .parse()
        .map_err(|e: super::ParseKeyIdError| format!("revocation: {e}"))?;
    Ok(RingElement::RevokeKey { key_id })
}

mod write;

pub(crate) use write::*;

/// Descriptor XML in and out, for known-answer tests against .NET's descriptor tests.
pub(crate) mod testing {
    use super::*;

    /// The inner `<descriptor>` element keyward writes for `algorithm` and `master_key`.
    pub fn descriptor_xml(algorithm: Algorithm, master_key: &[u8]) -> String {
        let now = OffsetDateTime::UNIX_EPOCH;
        let key = key_element(
            KeyId::random(),
            now,
            now,
            now,
            algorithm,
            &Secret::new(master_key.to_vec()),
        );
        let text = key.to_compact();
        let start = text.find("<descriptor><").unwrap_or(0);
        let end = text
            .rfind("</descriptor></descriptor>")
            .map_or(text.len(), |i| i + "</descriptor>".len());
        text[start..end].to_owned()
    }

    /// Reads an inner descriptor element of the default deserializer: algorithm and master key.
    pub fn read_default_descriptor(xml: &str) -> Option<(Algorithm, Vec<u8>)> {
        let doc = crate::element_tree::parse_limited(xml).ok()?;
        match parse_inner_descriptor(DEFAULT_DESERIALIZER_TYPE, doc.root_element()) {
            (Some(algorithm), KeyMaterial::Plain(secret)) => {
                Some((algorithm, secret.expose().to_vec()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
