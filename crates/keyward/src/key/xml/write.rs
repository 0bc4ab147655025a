//! Writing key and revocation elements exactly as .NET's `XmlKeyManager` writes them.

use time::OffsetDateTime;

use super::{date, DATA_PROTECTION_NAMESPACE, DEFAULT_DESERIALIZER_TYPE};
use crate::crypto::Algorithm;
use crate::element_tree::XmlElement;
use crate::encoding::base64_standard_encode;
use crate::key_id::KeyId;
use crate::secret::Secret;

/// The `<key>` element .NET's `XmlKeyManager` writes, master key unencrypted (marked
/// `requiresEncryption`, with .NET's warning comment).
pub(crate) fn key_element(
    id: KeyId,
    creation: OffsetDateTime,
    activation: OffsetDateTime,
    expiration: OffsetDateTime,
    algorithm: Algorithm,
    master_key: &Secret,
) -> XmlElement {
    key_element_with(
        id,
        creation,
        activation,
        expiration,
        algorithm,
        master_key_element(master_key),
    )
}

/// The `<masterKey>` element .NET writes with no XML encryptor (marked `requiresEncryption`).
pub(crate) fn master_key_element(master_key: &Secret) -> XmlElement {
    XmlElement::new("masterKey")
        .attr("p4:requiresEncryption", "true")
        .attr("xmlns:p4", DATA_PROTECTION_NAMESPACE)
        .comment(" Warning: the key below is in an unencrypted form. ")
        .child(XmlElement::new("value").text(base64_standard_encode(master_key.expose())))
}

/// A `<key>` element whose descriptor holds `secret_element` (`<masterKey>` or
/// `<encryptedSecret>`).
pub(crate) fn key_element_with(
    id: KeyId,
    creation: OffsetDateTime,
    activation: OffsetDateTime,
    expiration: OffsetDateTime,
    algorithm: Algorithm,
    secret_element: XmlElement,
) -> XmlElement {
    let mut descriptor = XmlElement::new("descriptor")
        .child(XmlElement::new("encryption").attr("algorithm", algorithm.encryption_xml_name()));
    descriptor = match algorithm.validation() {
        Some(validation) => {
            descriptor.child(XmlElement::new("validation").attr("algorithm", validation.xml_name()))
        }
        None => descriptor.comment(
            " AES-GCM includes a 128-bit authentication tag, no extra validation algorithm required. ",
        ),
    };
    XmlElement::new("key")
        .attr("id", id.to_string())
        .attr("version", "1")
        .child(XmlElement::new("creationDate").text(date::format(creation)))
        .child(XmlElement::new("activationDate").text(date::format(activation)))
        .child(XmlElement::new("expirationDate").text(date::format(expiration)))
        .child(
            XmlElement::new("descriptor")
                .attr("deserializerType", DEFAULT_DESERIALIZER_TYPE)
                .child(descriptor.child(secret_element)),
        )
}

/// A `<revocation>` of one key, as `XmlKeyManager.RevokeKey` writes it.
pub(crate) fn revocation_element(key_id: KeyId, date: OffsetDateTime, reason: &str) -> XmlElement {
    XmlElement::new("revocation")
        .attr("version", "1")
        .child(XmlElement::new("revocationDate").text(date::format(date)))
        .child(XmlElement::new("key").attr("id", key_id.to_string()))
        .child(XmlElement::new("reason").text(reason))
}

/// A `<revocation>` of every key created before `date`, as `RevokeAllKeys` writes it.
pub(crate) fn mass_revocation_element(date: OffsetDateTime, reason: &str) -> XmlElement {
    XmlElement::new("revocation")
        .attr("version", "1")
        .child(XmlElement::new("revocationDate").text(date::format(date)))
        .comment(" All keys created before the revocation date are revoked. ")
        .child(XmlElement::new("key").attr("id", "*"))
        .child(XmlElement::new("reason").text(reason))
}

/// The friendly name of a mass revocation: `revocation-yyyyMMddTHHmmssFFFFFFFZ` (UTC).
pub(crate) fn mass_revocation_name(date: OffsetDateTime) -> String {
    let compact: String = date::format(date)
        .chars()
        .filter(|c| *c != '-' && *c != ':' && *c != '.')
        .collect();
    format!("revocation-{compact}")
}
