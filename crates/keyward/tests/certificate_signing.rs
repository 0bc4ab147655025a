//! Certificate-encrypted keys are signed (issue 21, item 1): a store writer who holds only the
//! certificate's public part (every stored key carries it) cannot plant a key that a ring
//! requiring encryption at rest uses; keys .NET wrote are trusted explicitly, one by one or
//! all (accepting the weakness).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;

use keyward::at_rest::{Certificate, CertificateEncryptor, ENCRYPTED_XML_DECRYPTOR_TYPE};
use keyward::{KeyId, Provider, ProviderBuilder};

const APP: &str = "cert-signing";
/// .NET's sample key, encrypted to the aspnetcore vector's certificate (unsigned).
const DOTNET_KEY: &str = "9c15d488-4417-49ab-ae39-ed2f36a9ebe3";

fn certificate() -> (Vec<u8>, String) {
    let vector = common::aspnetcore_vectors()
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-aspnetcore.xml")
        .unwrap();
    (
        common::base64_std(vector["inputs"]["pfx_base64"].as_str().unwrap()),
        vector["inputs"]["pfx_password"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn certificates() -> CertificateEncryptor {
    let (pfx, password) = certificate();
    CertificateEncryptor::new(vec![Certificate::from_pkcs12(&pfx, &password).unwrap()]).unwrap()
}

fn farm_node(dir: &Path) -> ProviderBuilder {
    Provider::builder()
        .application_name(APP)
        .key_directory(dir)
        .certificates(certificates())
        .require_encryption_at_rest()
}

fn key_file(dir: &Path, id: KeyId) -> std::path::PathBuf {
    dir.join(format!("key-{id}.xml"))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The certificate (DER) embedded in a stored key: all the attacker needs.
fn embedded_certificate(xml: &str) -> Vec<u8> {
    let start = xml.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = xml.find("</X509Certificate>").unwrap();
    common::base64_std(&xml[start..end])
}

/// A `<key>` whose master key is encrypted to `certificate_der` exactly as `EncryptedXml`
/// does, by someone without the private key.
fn planted_key(
    id: KeyId,
    master_key: &[u8],
    certificate_der: &[u8],
    creation: &str,
    activation: &str,
    expiration: &str,
) -> String {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1};
    use cbc::cipher::{block_padding::Pkcs7, BlockModeEncrypt, KeyIvInit};
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate_der).unwrap();
    let public = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(parsed.public_key().raw).unwrap(),
    )
    .unwrap();
    let session = [7u8; 32];
    let iv = [9u8; 16];
    let plaintext = format!(
        r#"<masterKey xmlns:p4="http://schemas.asp.net/2015/03/dataProtection" p4:requiresEncryption="true"><value>{}</value></masterKey>"#,
        b64(master_key)
    );
    let padded = (plaintext.len() / 16 + 1) * 16;
    let mut body = vec![0u8; padded];
    body[..plaintext.len()].copy_from_slice(plaintext.as_bytes());
    cbc::Encryptor::<aes::Aes256>::new_from_slices(&session, &iv)
        .unwrap()
        .encrypt_padded::<Pkcs7>(&mut body, plaintext.len())
        .unwrap();
    let mut data = iv.to_vec();
    data.extend_from_slice(&body);
    let mut wrapped = vec![0u8; public.ciphertext_size()];
    let wrapped = public
        .encrypt(&OAEP_SHA1_MGF1SHA1, &session, &mut wrapped, None)
        .unwrap()
        .to_vec();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<key id="{id}" version="1">
  <creationDate>{creation}</creationDate>
  <activationDate>{activation}</activationDate>
  <expirationDate>{expiration}</expirationDate>
  <descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection">
    <descriptor>
      <encryption algorithm="AES_256_CBC" />
      <validation algorithm="HMACSHA256" />
      <encryptedSecret decryptorType="{ENCRYPTED_XML_DECRYPTOR_TYPE}" xmlns="http://schemas.asp.net/2015/03/dataProtection">
        <EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element" xmlns="http://www.w3.org/2001/04/xmlenc#">
          <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc" />
          <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
            <EncryptedKey xmlns="http://www.w3.org/2001/04/xmlenc#">
              <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" />
              <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
                <X509Data><X509Certificate>{cert}</X509Certificate></X509Data>
              </KeyInfo>
              <CipherData><CipherValue>{wrapped}</CipherValue></CipherData>
            </EncryptedKey>
          </KeyInfo>
          <CipherData><CipherValue>{data}</CipherValue></CipherData>
        </EncryptedData>
      </encryptedSecret>
    </descriptor>
  </descriptor>
</key>"#,
        cert = b64(certificate_der),
        wrapped = b64(&wrapped),
        data = b64(&data),
    )
}

/// A payload protected by a key whose master key the attacker chose (made on a ring of the
/// attacker's own, holding that key in the clear).
fn attacker_payload(id: KeyId, master_key: &[u8], dates: (&str, &str, &str)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let plain = format!(
        r#"<key id="{id}" version="1"><creationDate>{}</creationDate><activationDate>{}</activationDate><expirationDate>{}</expirationDate><descriptor deserializerType="{}"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><masterKey><value>{}</value></masterKey></descriptor></descriptor></key>"#,
        dates.0,
        dates.1,
        dates.2,
        keyward::DEFAULT_DESERIALIZER_TYPE,
        b64(master_key)
    );
    std::fs::write(key_file(dir.path(), id), plain).unwrap();
    let attacker = Provider::builder()
        .application_name(APP)
        .key_directory(dir.path())
        .automatic_key_generation(false)
        .build()
        .unwrap();
    attacker.protector(["p"]).protect(b"forged").unwrap()
}

/// Whole seconds (sub-tick digits would outrank the key the node writes in its place: a
/// separate matter).
fn xs(at: time::OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn a_key_planted_with_only_the_public_certificate_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let farm = farm_node(dir.path()).build().unwrap();
    let genuine = farm.protector(["p"]).protect(b"genuine").unwrap();
    let own = keyward::payload::parse(&genuine).unwrap().0;
    let stored = std::fs::read_to_string(key_file(dir.path(), own)).unwrap();

    // The attacker: the public certificate from the stored key, a master key of their own,
    // a later activation (so it would be preferred as the default key).
    let certificate_der = embedded_certificate(&stored);
    let planted = KeyId::random();
    let master_key = [0x42u8; 64];
    let now = time::OffsetDateTime::now_utc();
    let dates = (
        xs(now),
        xs(now + time::Duration::seconds(1)),
        xs(now + time::Duration::days(60)),
    );
    std::fs::write(
        key_file(dir.path(), planted),
        planted_key(
            planted,
            &master_key,
            &certificate_der,
            &dates.0,
            &dates.1,
            &dates.2,
        ),
    )
    .unwrap();
    let forged = attacker_payload(planted, &master_key, (&dates.0, &dates.1, &dates.2));

    // A node of the farm reads the ring later.
    let node = farm_node(dir.path()).build().unwrap();
    let listed = node.keys().into_iter().find(|k| k.id == planted).unwrap();
    let reason = listed.unusable_reason.as_deref().unwrap_or_default();
    assert!(reason.contains("signature"), "{listed:?}");
    assert!(reason.contains("keys trust"), "{reason}");
    assert!(
        node.protector(["p"]).unprotect(&forged).is_err(),
        "the attacker's payload must be refused"
    );
    // New payloads use a key of the farm (the node may rotate to a new signed key, as the
    // planted key took the place of the preferred key), never the planted one.
    let next = node.protector(["p"]).protect(b"next").unwrap();
    let used = keyward::payload::parse(&next).unwrap().0;
    assert_ne!(used, planted, "the planted key protected a payload");
    assert_ne!(node.default_key_at(node.now()), Some(planted));
    assert!(matches!(
        node.keys()
            .into_iter()
            .find(|k| k.id == used)
            .unwrap()
            .signature,
        keyward::KeySignature::Signed { .. }
    ));
    assert_eq!(
        node.protector(["p"]).unprotect(&genuine).unwrap(),
        b"genuine"
    );
    assert_eq!(node.protector(["p"]).unprotect(&next).unwrap(), b"next");
    let _ = own;
}

/// .NET's certificate-encrypted sample (unsigned) in a fresh directory, with its payload.
fn dotnet_ring() -> (tempfile::TempDir, KeyId, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::testdata_dir().join("vectors/keys/cert-encrypted-aspnetcore.xml"),
        dir.path().join(format!("key-{DOTNET_KEY}.xml")),
    )
    .unwrap();
    let vector = common::aspnetcore_vectors()
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-aspnetcore.xml")
        .unwrap();
    let payload = keyward::encoding::base64url_decode(
        vector["inputs"]["protected_base64url"].as_str().unwrap(),
    )
    .unwrap();
    (dir, DOTNET_KEY.parse().unwrap(), payload)
}

/// A node of the .NET ring (no application name, as the sample app).
fn dotnet_node(dir: &Path) -> ProviderBuilder {
    Provider::builder()
        .no_application_discriminator()
        .key_directory(dir)
        .certificates(certificates())
        .automatic_key_generation(false)
}

fn key_info(node: &Provider, id: KeyId) -> keyward::KeyInfo {
    node.keys().into_iter().find(|k| k.id == id).unwrap()
}

#[test]
fn keys_keyward_writes_are_signed_where_dotnet_does_not_look() {
    let dir = tempfile::tempdir().unwrap();
    let node = farm_node(dir.path()).build().unwrap();
    let id = node.ensure_default_key().unwrap();
    let thumbprint = certificates_thumbprint();
    assert_eq!(
        key_info(&node, id).signature,
        keyward::KeySignature::Signed {
            thumbprint: thumbprint.clone()
        }
    );
    let xml = std::fs::read_to_string(key_file(dir.path(), id)).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let key = doc.root_element();
    // .NET's XmlKeyManager reads these children by name (no namespace) and ignores others.
    let children: Vec<(Option<&str>, &str)> = key
        .children()
        .filter(roxmltree::Node::is_element)
        .map(|c| (c.tag_name().namespace(), c.tag_name().name()))
        .collect();
    assert_eq!(
        children,
        [
            (None, "creationDate"),
            (None, "activationDate"),
            (None, "expirationDate"),
            (None, "descriptor"),
            (
                Some(keyward::at_rest::SIGNATURE_NAMESPACE),
                "keywardSignature"
            ),
        ]
    );
    let signature = key.last_element_child().unwrap();
    assert_eq!(signature.attribute("algorithm"), Some("RSA-PSS-SHA256"));
    assert_eq!(
        signature.attribute("certificate"),
        Some(thumbprint.as_str())
    );
    // RSA-2048: 256 bytes.
    assert_eq!(
        common::base64_std(signature.text().unwrap().trim()).len(),
        256
    );
}

fn certificates_thumbprint() -> String {
    let (pfx, password) = certificate();
    Certificate::from_pkcs12(&pfx, &password)
        .unwrap()
        .thumbprint()
}

#[test]
fn a_dotnet_key_is_unusable_under_required_encryption_until_trusted() {
    let (dir, id, payload) = dotnet_ring();
    let node = dotnet_node(dir.path())
        .require_encryption_at_rest()
        .build()
        .unwrap();
    let info = key_info(&node, id);
    assert_eq!(info.signature, keyward::KeySignature::Unsigned);
    let reason = info.unusable_reason.unwrap();
    assert!(reason.contains("no keyward signature"), "{reason}");
    assert!(
        reason.contains(&format!("keys trust {id}")),
        "names the command: {reason}"
    );
    let refused = node
        .protector(["Test trimming"])
        .unprotect(&payload)
        .unwrap_err();
    assert!(
        matches!(&refused, keyward::Error::KeyNotSigned { key_id, .. } if key_id == &id),
        "{refused}"
    );
    let before = std::fs::read_to_string(key_file(dir.path(), id)).unwrap();

    assert!(node.trust_certificate_key(id).unwrap(), "signed now");
    let info = key_info(&node, id);
    assert_eq!(info.unusable_reason, None);
    assert!(matches!(
        info.signature,
        keyward::KeySignature::Signed { .. }
    ));
    assert_eq!(
        node.protector(["Test trimming"])
            .unprotect(&payload)
            .unwrap(),
        b"This is a secret."
    );
    // The element .NET reads is unchanged: the same EncryptedData, one child more.
    let after = std::fs::read_to_string(key_file(dir.path(), id)).unwrap();
    let encrypted = |xml: &str| {
        let start = xml.find("<CipherValue>").unwrap();
        let end = xml.rfind("</CipherValue>").unwrap();
        xml[start..end].split_whitespace().collect::<String>()
    };
    assert_eq!(encrypted(&after), encrypted(&before));
    assert!(after.contains("keywardSignature"));
    // Trusting it again writes nothing.
    assert!(!node.trust_certificate_key(id).unwrap());
    assert_eq!(
        std::fs::read_to_string(key_file(dir.path(), id)).unwrap(),
        after
    );
    // Another node of the farm reads it as trusted.
    let other = dotnet_node(dir.path())
        .require_encryption_at_rest()
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(key_info(&other, id).unusable_reason, None);
}

#[test]
fn trusting_needs_a_certificate_that_decrypts_the_key() {
    let (dir, id, _) = dotnet_ring();
    // A node with another certificate cannot vouch for the key.
    let vector = common::aspnetcore_vectors()
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-bitwarden.xml")
        .unwrap();
    let other = Certificate::from_pkcs12(
        &common::base64_std(vector["inputs"]["pfx_base64"].as_str().unwrap()),
        vector["inputs"]["pfx_password"].as_str().unwrap(),
    )
    .unwrap();
    let node = Provider::builder()
        .no_application_discriminator()
        .key_directory(dir.path())
        .certificates(CertificateEncryptor::new(vec![other]).unwrap())
        .automatic_key_generation(false)
        .build()
        .unwrap();
    let err = node.trust_certificate_key(id).unwrap_err();
    assert!(
        matches!(err, keyward::Error::KeyDecryptionFailed { .. }),
        "{err}"
    );
    let missing = node.trust_certificate_key(KeyId::random()).unwrap_err();
    assert!(
        matches!(missing, keyward::Error::KeyNotFound { .. }),
        "{missing}"
    );
    // Without a certificate there is nothing to sign with.
    let plain = Provider::builder()
        .no_application_discriminator()
        .key_directory(dir.path())
        .automatic_key_generation(false)
        .build()
        .unwrap();
    assert!(matches!(
        plain.trust_certificate_key(id),
        Err(keyward::Error::Configuration(_))
    ));
}

#[test]
fn accepting_unsigned_certificate_keys_uses_dotnets_keys() {
    let (dir, id, payload) = dotnet_ring();
    let node = dotnet_node(dir.path())
        .require_encryption_at_rest()
        .accept_unsigned_certificate_keys(true)
        .read_only(true)
        .build()
        .unwrap();
    let info = key_info(&node, id);
    assert_eq!(info.unusable_reason, None);
    assert_eq!(info.signature, keyward::KeySignature::Unsigned);
    assert_eq!(
        node.protector(["Test trimming"])
            .unprotect(&payload)
            .unwrap(),
        b"This is a secret."
    );
}

#[test]
fn without_required_encryption_unsigned_keys_are_used_and_reported() {
    let (dir, id, payload) = dotnet_ring();
    let node = dotnet_node(dir.path()).read_only(true).build().unwrap();
    let info = key_info(&node, id);
    assert_eq!(info.unusable_reason, None);
    assert!(info.signature.needs_trust());
    assert_eq!(
        node.protector(["Test trimming"])
            .unprotect(&payload)
            .unwrap(),
        b"This is a secret."
    );
}

#[test]
fn an_altered_or_moved_signature_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let node = farm_node(dir.path()).build().unwrap();
    let id = node.ensure_default_key().unwrap();
    let path = key_file(dir.path(), id);
    let xml = std::fs::read_to_string(&path).unwrap();

    // A longer life for the key: the dates are signed.
    let start = xml.find("<expirationDate>").unwrap() + "<expirationDate>".len();
    let end = xml.find("</expirationDate>").unwrap();
    let altered = format!("{}2099-01-01T00:00:00Z{}", &xml[..start], &xml[end..]);
    std::fs::write(&path, &altered).unwrap();
    let reader = farm_node(dir.path()).read_only(true).build().unwrap();
    let info = key_info(&reader, id);
    assert!(
        matches!(&info.signature, keyward::KeySignature::Invalid { reason } if reason.contains("does not match")),
        "{info:?}"
    );
    assert!(info
        .unusable_reason
        .unwrap()
        .contains("keyward signature is invalid"));

    // The genuine signature copied onto a planted key (another id, another master key).
    std::fs::write(&path, &xml).unwrap();
    let signature = &xml[xml.find("<keywardSignature").unwrap()..xml.find("</key>").unwrap()];
    let planted = KeyId::random();
    let planted_xml = planted_key(
        planted,
        &[0x17; 64],
        &embedded_certificate(&xml),
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2099-01-01T00:00:00Z",
    )
    .replace("</key>", &format!("{signature}</key>"));
    std::fs::write(key_file(dir.path(), planted), planted_xml).unwrap();
    let reader = farm_node(dir.path()).read_only(true).build().unwrap();
    assert!(matches!(
        key_info(&reader, planted).signature,
        keyward::KeySignature::Invalid { .. }
    ));
    assert!(key_info(&reader, planted).unusable_reason.is_some());
    assert_eq!(key_info(&reader, id).unusable_reason, None);
}

#[test]
fn rewrap_does_not_launder_an_unsigned_certificate_key() {
    let (dir, id, payload) = dotnet_ring();
    let kek = keyward::at_rest::Kek::generate();
    let node = dotnet_node(dir.path())
        .key_encryption_keys(keyward::at_rest::KekRing::new(vec![kek]).unwrap())
        .build()
        .unwrap();
    let report = node.rewrap_keys(false, |_, _| {}).unwrap();
    assert_eq!(report.suspect, [id], "{report:?}");
    assert!(report.rewrapped.is_empty());
    // Named (trusted), it is rewrapped.
    let report = node.rewrap_keys_trusting(false, &[id], |_, _| {}).unwrap();
    assert_eq!(report.rewrapped, [id], "{report:?}");
    let xml = std::fs::read_to_string(key_file(dir.path(), id)).unwrap();
    assert!(!xml.contains("keywardSignature"));
    assert_eq!(
        node.protector(["Test trimming"])
            .unprotect(&payload)
            .unwrap(),
        b"This is a secret."
    );
}

#[test]
fn rewrap_to_a_new_certificate_signs_trusted_keys() {
    let (dir, id, payload) = dotnet_ring();
    let vector = common::aspnetcore_vectors()
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-bitwarden.xml")
        .unwrap();
    let new_certificate = || {
        Certificate::from_pkcs12(
            &common::base64_std(vector["inputs"]["pfx_base64"].as_str().unwrap()),
            vector["inputs"]["pfx_password"].as_str().unwrap(),
        )
        .unwrap()
    };
    let (pfx, password) = certificate();
    let both = || {
        CertificateEncryptor::new(vec![
            new_certificate(),
            Certificate::from_pkcs12(&pfx, &password).unwrap(),
        ])
        .unwrap()
    };
    let node = Provider::builder()
        .no_application_discriminator()
        .key_directory(dir.path())
        .certificates(both())
        .require_encryption_at_rest()
        .automatic_key_generation(false)
        .build()
        .unwrap();
    assert!(node.trust_certificate_key(id).unwrap());
    let report = node.rewrap_keys(false, |_, _| {}).unwrap();
    assert_eq!(report.rewrapped, [id], "{report:?}");
    let info = key_info(&node, id);
    assert_eq!(
        info.signature,
        keyward::KeySignature::Signed {
            thumbprint: new_certificate().thumbprint()
        }
    );
    assert_eq!(
        node.protector(["Test trimming"])
            .unprotect(&payload)
            .unwrap(),
        b"This is a secret."
    );
}
