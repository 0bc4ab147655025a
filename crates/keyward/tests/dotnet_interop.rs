//! Key rings written by real .NET: the unencrypted sample unprotects the real bitwarden
//! payload; keys encrypted at rest in ways keyward cannot decrypt yet fail clearly, by key id
//! and decryptor type, never with a panic or a silent skip.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;

use common::*;
use keyward::{Error, KeyId, KeyStatus, Provider};

/// A fresh key directory holding a copy of one vector key file.
fn directory_with(file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = testdata_dir().join("vectors/keys").join(file);
    let name = Path::new(file).file_name().unwrap();
    std::fs::copy(&source, dir.path().join(name)).unwrap();
    dir
}

/// The vector's whole purpose chain (application name first).
fn purpose_chain(v: &serde_json::Value) -> Vec<String> {
    v["inputs"]["purposes_full_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

fn bitwarden_vector() -> serde_json::Value {
    vectors_of("end_to_end_unprotect")
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-bitwarden.xml")
        .expect("the bitwarden vector")
}

#[test]
fn unencrypted_sample_unprotects_the_real_dotnet_payload() {
    let v = bitwarden_vector();
    let dir = directory_with("unencrypted.xml");
    let chain = purpose_chain(&v);
    // SetApplicationName("Bitwarden") is the first purpose of the chain.
    // Read-only: a node that only reads never writes (otherwise it would create a key, since
    // the sample key has expired).
    let provider = Provider::builder()
        .application_name(chain[0].clone())
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap();
    let protector = provider.protector(chain[1..].to_vec());
    let payload = str_of(&v["inputs"], "protected_base64url");
    let plaintext = protector.unprotect_str(payload).unwrap();
    assert_eq!(plaintext, str_of(&v["expected"], "plaintext_utf8"));

    // The key is long expired: it still unprotects, and is listed as expired.
    let key_id: KeyId = str_of(&v["inputs"], "key_id").parse().unwrap();
    let keys = provider.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, key_id);
    let at = keys[0].expiration;
    assert_eq!(
        keys[0].status_at(at, provider.default_key_at(at)),
        KeyStatus::Expired
    );

    // Another purpose chain or application name fails as an invalid payload.
    let err = provider
        .protector(["Other"])
        .unprotect_str(payload)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPayload), "{err}");
    let no_app = Provider::builder()
        .no_application_discriminator()
        .key_directory(dir.path())
        .build()
        .unwrap();
    let err = no_app
        .protector(chain[1..].to_vec())
        .unprotect_str(payload)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPayload), "{err}");
}

#[test]
fn certificate_encrypted_key_is_reported_by_id_and_decryptor() {
    for v in vectors_of("end_to_end_unprotect") {
        let file = str_of(&v["inputs"], "key_xml_file")
            .trim_start_matches("keys/")
            .to_owned();
        let dir = directory_with(&file);
        let chain = purpose_chain(&v);
        let provider = Provider::builder()
            .no_application_discriminator()
            .key_directory(dir.path())
            .read_only(true)
            .build()
            .unwrap();
        let key_id: KeyId = str_of(&v["inputs"], "key_id").parse().unwrap();
        let keys = provider.keys();
        assert_eq!(keys.len(), 1, "{file}");
        assert!(keys[0]
            .unusable_reason
            .as_deref()
            .unwrap()
            .contains("EncryptedXmlDecryptor"));
        let err = provider
            .protector(chain)
            .unprotect_str(str_of(&v["inputs"], "protected_base64url"))
            .unwrap_err();
        match &err {
            Error::KeyNotDecryptable {
                key_id: id,
                decryptor_type,
            } => {
                assert_eq!(*id, key_id);
                assert!(
                    decryptor_type.contains("EncryptedXmlDecryptor"),
                    "{decryptor_type}"
                );
            }
            other => panic!("{file}: expected KeyNotDecryptable, got {other:?}"),
        }
        assert!(err.to_string().contains(&key_id.to_string()));
    }
}

#[test]
fn dpapi_key_is_listed_but_never_used() {
    let dir = directory_with("dpapi-shape.xml");
    let reader = Provider::builder()
        .application_name("app")
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap();
    let keys = reader.keys();
    assert_eq!(keys.len(), 1);
    assert!(keys[0]
        .unusable_reason
        .as_deref()
        .unwrap()
        .contains("DpapiXmlDecryptor"));
    let provider = Provider::builder()
        .application_name("app")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let mut payload = keyward::payload::header(keys[0].id).to_vec();
    payload.extend_from_slice(&[0u8; 80]);
    let err = provider.protector(["x"]).unprotect(&payload).unwrap_err();
    assert!(
        matches!(&err, Error::KeyNotDecryptable { decryptor_type, .. } if decryptor_type.contains("Dpapi")),
        "{err}"
    );
    // A writable node does not add an unencrypted key beside keys encrypted at rest (that
    // would downgrade the ring's protection for every .NET node): it says why instead.
    let err = provider.protector(["x"]).protect(b"data").unwrap_err();
    assert!(
        matches!(&err, Error::NoDefaultKey { reason, .. } if reason.to_string().contains("DpapiXmlDecryptor")),
        "{err}"
    );
    assert_eq!(provider.keys().len(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "xml"))
            .count(),
        1
    );
    // An explicit key is the operator's choice, and then it protects.
    let now = provider.now();
    provider
        .create_key(now, now + keyward::time::Duration::days(90))
        .unwrap();
    let protected = provider.protector(["x"]).protect(b"data").unwrap();
    assert_eq!(
        provider.protector(["x"]).unprotect(&protected).unwrap(),
        b"data"
    );
}

#[test]
fn keyward_keys_are_written_as_dotnet_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::builder()
        .application_name("app")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let id = provider.ensure_default_key().unwrap();
    let text = std::fs::read_to_string(dir.path().join(format!("key-{id}.xml"))).unwrap();
    let sample =
        std::fs::read_to_string(testdata_dir().join("vectors/keys/unencrypted.xml")).unwrap();
    // Same structure as the .NET sample: compare element paths and attribute names.
    fn shape(xml: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}')).unwrap();
        doc.descendants()
            .filter(|n| n.is_element())
            .map(|n| {
                let mut attrs: Vec<String> = n
                    .attributes()
                    .map(|a| format!("{{{}}}{}", a.namespace().unwrap_or(""), a.name()))
                    .collect();
                attrs.sort();
                format!("{}{:?}", n.tag_name().name(), attrs)
            })
            .collect()
    }
    assert_eq!(shape(&text), shape(&sample));
    assert!(text.starts_with("\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<key id="));
    assert!(text.contains("<!-- Warning: the key below is in an unencrypted form. -->"));
}
