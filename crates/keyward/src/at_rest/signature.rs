//! keyward's signature on certificate-encrypted keys.
//!
//! A certificate-encrypted key (.NET's `EncryptedXml` shape) proves nothing about who wrote
//! it: the certificate's public part is in every stored key, so anyone who can write to the
//! store can encrypt a master key of their own to it. keyward therefore signs the keys it
//! encrypts to a certificate with that certificate's private key, in an element ASP.NET Core
//! ignores (an unknown child of `<key>`):
//!
//! ```xml
//! <keywardSignature xmlns="urn:keyward:key-signature" algorithm="RSA-PSS-SHA256"
//!                   certificate="SHA-1 THUMBPRINT">BASE64</keywardSignature>
//! ```
//!
//! The signature is RSA-PSS with SHA-256 (MGF1 SHA-256, 32-byte salt) over the byte string
//! [`signed_message`] defines: the key id, its three dates, its algorithm and its master key,
//! so it survives any re-formatting of the stored XML and a re-encryption of the same master
//! key, and cannot be moved to another key, another master key or other dates. The format is
//! documented in `docs/at-rest.md`.

use zeroize::Zeroizing;

use crate::crypto::Algorithm;
use crate::element_tree::XmlElement;
use crate::key_id::KeyId;

/// The first field of the signed message (domain separation, version).
const CONTEXT: &[u8] = b"keyward key signature v1";

/// What a key's signature covers.
pub(crate) struct SignedKey<'a> {
    pub(crate) id: KeyId,
    pub(crate) creation: time::OffsetDateTime,
    pub(crate) activation: time::OffsetDateTime,
    pub(crate) expiration: time::OffsetDateTime,
    pub(crate) algorithm: Algorithm,
    pub(crate) master_key: &'a [u8],
}

/// The signed byte string: eight fields, each a 4-byte big-endian length then its bytes:
///
/// 1. `keyward key signature v1` (ASCII);
/// 2. the key id, lower-case and hyphenated (`0f8fad5b-d9cb-469f-a165-70867728950e`);
/// 3. – 5. the creation, activation and expiration dates as keyward writes them
///    (`xs:dateTime` in UTC, 0 to 7 fractional digits with trailing zeros dropped, `Z`);
/// 6. the encryption algorithm's name (`AES_256_CBC`, `AES_256_GCM`, …);
/// 7. the validation algorithm's name (`HMACSHA256`, `HMACSHA512`), empty for GCM;
/// 8. the master key's bytes (the decoded `<masterKey><value>`).
pub(crate) fn signed_message(key: &SignedKey<'_>) -> Zeroizing<Vec<u8>> {
    let mut message = Zeroizing::new(Vec::with_capacity(256 + key.master_key.len()));
    let mut field = |bytes: &[u8]| {
        // Every field is far below 4 GiB (a master key is at most a stored document).
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        message.extend_from_slice(&len.to_be_bytes());
        message.extend_from_slice(bytes);
    };
    field(CONTEXT);
    field(key.id.to_string().as_bytes());
    for date in [key.creation, key.activation, key.expiration] {
        field(crate::date::format(date).as_bytes());
    }
    field(key.algorithm.encryption_xml_name().as_bytes());
    field(
        key.algorithm
            .validation()
            .map_or("", |v| v.xml_name())
            .as_bytes(),
    );
    field(key.master_key);
    message
}

pub(crate) use crate::key::signature_xml::{
    StoredSignature, SIGNATURE_ALGORITHM, SIGNATURE_ELEMENT, SIGNATURE_NAMESPACE,
};

/// The `<keywardSignature>` element.
pub(crate) fn signature_element(thumbprint: &str, signature: &[u8]) -> XmlElement {
    XmlElement::new(SIGNATURE_ELEMENT)
        .attr("xmlns", SIGNATURE_NAMESPACE)
        .attr("algorithm", SIGNATURE_ALGORITHM)
        .attr("certificate", thumbprint)
        .text(crate::encoding::base64_standard_encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_length_prefixed_and_binds_every_field() {
        let at = time::macros::datetime!(2026-03-01 10:00:00.5 UTC);
        let key = SignedKey {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".parse().unwrap(),
            creation: at,
            activation: at,
            expiration: at + time::Duration::days(90),
            algorithm: Algorithm::AES_256_CBC_HMACSHA256,
            master_key: &[1, 2, 3],
        };
        let message = signed_message(&key);
        let mut expected = Vec::new();
        for field in [
            &b"keyward key signature v1"[..],
            b"0f8fad5b-d9cb-469f-a165-70867728950e",
            b"2026-03-01T10:00:00.5Z",
            b"2026-03-01T10:00:00.5Z",
            b"2026-05-30T10:00:00.5Z",
            b"AES_256_CBC",
            b"HMACSHA256",
            &[1, 2, 3],
        ] {
            expected.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
            expected.extend_from_slice(field);
        }
        assert_eq!(*message, expected);
        let gcm = SignedKey {
            algorithm: Algorithm::AES_256_GCM,
            ..key
        };
        assert_ne!(*signed_message(&gcm), expected);
    }
}
