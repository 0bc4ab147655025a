//! How a stored master key is protected at rest, read from its `decryptorType` and the
//! element inside `<encryptedSecret>` (for listings: nothing is decrypted).

use crate::key::AtRestProtection;

use super::{
    type_name_of, ENCRYPTED_XML_DECRYPTOR_TYPE, KEK_DECRYPTOR_TYPE, PASSPHRASE_DECRYPTOR_TYPE,
};

/// .NET's DPAPI decryptor type name.
const DPAPI: &str = "Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiXmlDecryptor";
/// .NET's DPAPI-NG decryptor type name.
const DPAPI_NG: &str = "Microsoft.AspNetCore.DataProtection.XmlEncryption.DpapiNGXmlDecryptor";

/// Classifies an encrypted master key. Unreadable element text gives the kind without its
/// details (no thumbprint, no KEK id).
pub(crate) fn protection(decryptor_type: &str, encrypted: &str) -> AtRestProtection {
    let name = type_name_of(decryptor_type);
    let document = super::parse(encrypted);
    let root = document.as_ref().map(roxmltree::Document::root_element);
    if name == type_name_of(ENCRYPTED_XML_DECRYPTOR_TYPE) {
        let thumbprint = root.and_then(|root| {
            let certificate = root
                .descendants()
                .find(|n| n.is_element() && n.tag_name().name() == "X509Certificate")?;
            let text: String = certificate
                .descendants()
                .filter(roxmltree::Node::is_text)
                .filter_map(|n| n.text())
                .collect();
            let der = crate::encoding::base64_standard_decode(&text).ok()?;
            Some(thumbprint(&der))
        });
        return AtRestProtection::Certificate { thumbprint };
    }
    if name == type_name_of(KEK_DECRYPTOR_TYPE) {
        let kek_id = root
            .and_then(|root| root.attribute("kekId"))
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .map(str::to_owned);
        return AtRestProtection::Kek { kek_id };
    }
    if name == type_name_of(PASSPHRASE_DECRYPTOR_TYPE) {
        return AtRestProtection::Passphrase;
    }
    if name == DPAPI {
        return AtRestProtection::Dpapi;
    }
    if name == DPAPI_NG {
        return AtRestProtection::DpapiNg;
    }
    AtRestProtection::Other {
        decryptor_type: name.to_owned(),
    }
}

/// A certificate's SHA-1 thumbprint as Windows and .NET show it: upper-case hex.
pub(super) fn thumbprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_protection() {
        assert_eq!(
            protection(
                KEK_DECRYPTOR_TYPE,
                r#"<encryptedKey kekId="abc123" algorithm="AES-256-GCM"><nonce>AA==</nonce></encryptedKey>"#
            ),
            AtRestProtection::Kek {
                kek_id: Some("abc123".into())
            }
        );
        assert_eq!(
            protection(PASSPHRASE_DECRYPTOR_TYPE, "<x/>"),
            AtRestProtection::Passphrase
        );
        assert_eq!(
            protection(
                &format!("{DPAPI}, Microsoft.AspNetCore.DataProtection"),
                "<x/>"
            ),
            AtRestProtection::Dpapi
        );
        assert_eq!(protection(DPAPI_NG, "<x/>"), AtRestProtection::DpapiNg);
        assert_eq!(
            protection("Contoso.Vault, Contoso", "not xml"),
            AtRestProtection::Other {
                decryptor_type: "Contoso.Vault".into()
            }
        );
        assert!(!AtRestProtection::Passphrase.dotnet_readable());
        assert!(AtRestProtection::Dpapi.dotnet_readable());
    }

    #[test]
    fn certificate_thumbprint_is_sha1_of_the_embedded_der() {
        // "hello" as the certificate bytes: SHA-1 aaf4c61d…
        let xml = r#"<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><EncryptedKey xmlns="http://www.w3.org/2001/04/xmlenc#"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>aGVs
bG8=</X509Certificate></X509Data></KeyInfo></EncryptedKey></KeyInfo></EncryptedData>"#;
        assert_eq!(
            protection(ENCRYPTED_XML_DECRYPTOR_TYPE, xml),
            AtRestProtection::Certificate {
                thumbprint: Some("AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D".into())
            }
        );
    }
}
