//! Fixtures shared by keyward's fuzz targets and the seed generator: fixed keys (written
//! here as XML text, made for fuzzing only), a fixed clock, a fixed key-encryption key and
//! certificate, and a repository that hands the provider arbitrary stored text.
//!
//! Everything goes through keyward's public API.

use std::sync::{Arc, OnceLock};

use keyward::at_rest::{Certificate, CertificateEncryptor, Kek, KekRing};
use keyward::store::{GenerationLock, StoredElement};
use keyward::time::macros::datetime;
use keyward::time::{Duration, OffsetDateTime};
use keyward::{
    KeyManagementPolicy, KeyRepository, ManualClock, MemoryRepository, Provider, ProviderBuilder,
};

/// The application name of every fuzz provider.
pub const APP: &str = "keyward-fuzz";

/// The purpose chain (after the application name) of the payload targets.
pub const PURPOSES: [&str; 2] = ["fuzz", "payload"];

/// The time every fuzz provider sees: inside the fixed keys' lifetimes.
pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// Id of the fixed AES-256-CBC + HMACSHA256 key (the default key of the fixed ring).
pub const CBC_KEY_ID: &str = "1f0e2d3c-4b5a-4697-8879-6a5b4c3d2e1f";

/// Id of the fixed AES-256-GCM key.
pub const GCM_KEY_ID: &str = "a7b6c5d4-e3f2-4a1b-9c8d-7e6f5a4b3c2d";

/// Id of the key whose secret the `encrypted_secret` target fuzzes.
pub const TEMPLATE_KEY_ID: &str = "5e5e5e5e-0000-4000-8000-00000000f022";

const DESERIALIZER: &str = "Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection";

/// The fixed CBC key, unencrypted, as .NET writes it (master key: bytes 0..64).
pub const CBC_KEY_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<key id="1f0e2d3c-4b5a-4697-8879-6a5b4c3d2e1f" version="1">
  <creationDate>2026-01-01T00:00:00Z</creationDate>
  <activationDate>2026-01-01T00:00:00Z</activationDate>
  <expirationDate>2126-01-01T00:00:00Z</expirationDate>
  <descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection">
    <descriptor>
      <encryption algorithm="AES_256_CBC" />
      <validation algorithm="HMACSHA256" />
      <masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection">
        <!-- Warning: the key below is in an unencrypted form. -->
        <value>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==</value>
      </masterKey>
    </descriptor>
  </descriptor>
</key>
"#;

/// The fixed GCM key, unencrypted, on one line (the Redis/SQL form; master key: bytes 64..128).
pub const GCM_KEY_XML: &str = r#"<key id="a7b6c5d4-e3f2-4a1b-9c8d-7e6f5a4b3c2d" version="1"><creationDate>2025-12-01T00:00:00Z</creationDate><activationDate>2025-12-01T00:00:00Z</activationDate><expirationDate>2126-01-01T00:00:00Z</expirationDate><descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection"><descriptor><encryption algorithm="AES_256_GCM" /><!-- AES-GCM includes a 128-bit authentication tag, no extra validation algorithm required. --><masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><value>QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==</value></masterKey></descriptor></descriptor></key>"#;

/// The fixed key-encryption key (32 bytes: 200..232), base64.
pub const KEK_BASE64: &str = "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc=";

/// A self-signed RSA-2048 certificate and its PKCS#8 key, made for fuzzing only.
pub const CERTIFICATE_PEM: &str = include_str!("../fixtures/certificate.pem");

/// A key element (id [`TEMPLATE_KEY_ID`], AES-256-CBC) whose inner descriptor holds
/// `secret` (XML text) where the `<masterKey>` or `<encryptedSecret>` goes.
pub fn key_with_secret(secret: &str) -> String {
    format!(
        r#"<key id="{TEMPLATE_KEY_ID}" version="1"><creationDate>2026-01-01T00:00:00Z</creationDate><activationDate>2026-01-01T00:00:00Z</activationDate><expirationDate>2126-01-01T00:00:00Z</expirationDate><descriptor deserializerType="{DESERIALIZER}"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" />{secret}</descriptor></descriptor></key>"#
    )
}

/// The `<encryptedSecret>` wrapper .NET writes, around `inner` (XML text).
pub fn encrypted_secret(decryptor_type: &str, inner: &str) -> String {
    format!(
        r#"<encryptedSecret decryptorType="{decryptor_type}" xmlns="{}">{inner}</encryptedSecret>"#,
        keyward::DATA_PROTECTION_NAMESPACE
    )
}

/// The policy of every fuzz provider: never writes, never creates keys, never waits long
/// for an unknown key id.
pub fn policy() -> KeyManagementPolicy {
    KeyManagementPolicy {
        automatic_key_generation: false,
        read_only: true,
        unknown_key_wait: std::time::Duration::from_millis(1),
        ..KeyManagementPolicy::default()
    }
}

/// A builder with the fuzz application name, policy and clock.
pub fn builder() -> ProviderBuilder {
    Provider::builder()
        .application_name(APP)
        .policy(policy())
        .automatic_key_generation(false)
        .read_only(true)
        .clock(Arc::new(ManualClock::new(NOW)))
}

/// A read-only repository over fixed stored texts (any text: the fuzz input included).
#[derive(Debug)]
pub struct RawRepository(pub Vec<String>);

impl KeyRepository for RawRepository {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        Ok(self
            .0
            .iter()
            .enumerate()
            .map(|(i, xml)| {
                StoredElement::new(
                    format!("fuzz:{i}"),
                    keyward::store::ElementHandle::new(i.to_string()),
                    xml.clone(),
                )
            })
            .collect())
    }

    fn store_element(&self, _: &keyward::store::XmlElement, _: &str) -> keyward::Result<()> {
        Err(keyward::Error::Io {
            path: "fuzz repository".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the fuzz repository is read-only",
            ),
        })
    }

    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        Ok(GenerationLock::new(()))
    }

    fn location(&self) -> String {
        "fuzz repository".into()
    }
}

/// A read-only provider over these stored texts.
pub fn provider_over(elements: Vec<String>) -> keyward::Result<Provider> {
    builder().repository(RawRepository(elements)).build()
}

/// A `MemoryRepository` holding these key XML documents (stored as keyward stores them:
/// parsed, then written compact).
pub fn memory_repository(documents: &[&str]) -> MemoryRepository {
    let repository = MemoryRepository::new();
    for (i, document) in documents.iter().enumerate() {
        let element = keyward::store::parse_element(document).expect("fixed key XML parses");
        repository
            .store_element(&element, &format!("fixed-{i}"))
            .expect("memory store");
    }
    repository
}

/// The fixed ring (the CBC key, default, and the GCM key) in a `MemoryRepository`, built
/// once per process.
pub fn fixed_provider() -> &'static Provider {
    static PROVIDER: OnceLock<Provider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        builder()
            .repository(memory_repository(&[CBC_KEY_XML, GCM_KEY_XML]))
            .build()
            .expect("the fixed ring builds")
    })
}

/// A provider over the GCM key alone (for GCM seeds: it is that ring's default key).
pub fn gcm_only_provider() -> Provider {
    builder()
        .repository(memory_repository(&[GCM_KEY_XML]))
        .build()
        .expect("the GCM ring builds")
}

/// The fixed KEK ring.
pub fn kek_ring() -> KekRing {
    KekRing::new(vec![Kek::from_base64(KEK_BASE64).expect("fixed KEK")]).expect("KEK ring")
}

/// The fixed certificate, as an encryptor/decryptor.
pub fn certificates() -> CertificateEncryptor {
    CertificateEncryptor::new(vec![
        Certificate::from_pem(CERTIFICATE_PEM).expect("fixed certificate")
    ])
    .expect("certificate encryptor")
}

/// A payload of the fixed CBC key for [`PURPOSES`], made once per process.
pub fn fixed_payload() -> &'static (Vec<u8>, Vec<u8>) {
    static PAYLOAD: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAYLOAD.get_or_init(|| {
        let plaintext = b"fixed plaintext".to_vec();
        let payload = fixed_provider()
            .protector(PURPOSES)
            .protect(&plaintext)
            .expect("protect with the fixed ring");
        (payload, plaintext)
    })
}

/// An hour after [`NOW`].
pub fn soon() -> OffsetDateTime {
    NOW + Duration::hours(1)
}
