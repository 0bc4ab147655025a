//! Master keys encrypted at rest: KEKs, passphrases, required encryption, escrow, rewrap, and
//! no master key in any log line.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyward::at_rest::{Kek, KekRing, PassphraseEncryptor, KEK_DECRYPTOR_TYPE};
use keyward::store::XmlElement;
use keyward::{Error, KeyId, Provider, ProviderBuilder};
use keyward_testdata::testdata_dir;

fn builder(dir: &Path) -> ProviderBuilder {
    Provider::builder()
        .application_name("at-rest")
        .key_directory(dir)
}

fn ring(keks: &[&Kek]) -> KekRing {
    KekRing::new(
        keks.iter()
            .map(|k| Kek::from_base64(&k.to_base64()).unwrap())
            .collect(),
    )
    .unwrap()
}

fn key_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("key-"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    files.sort();
    files
}

#[test]
fn kek_round_trip_and_wrong_kek_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let kek = Kek::generate();
    let node = builder(dir.path())
        .key_encryption_keys(ring(&[&kek]))
        .build()
        .unwrap();
    let payload = node.protector(["p"]).protect(b"secret").unwrap();
    let key_id = keyward::payload::parse(&payload).unwrap().0;
    let files = key_files(dir.path());
    assert_eq!(files.len(), 1);
    assert!(
        files[0].contains(&format!("decryptorType=\"{KEK_DECRYPTOR_TYPE}\"")),
        "{}",
        files[0]
    );
    assert!(files[0].contains(&format!("kekId=\"{}\"", kek.id())));
    assert!(
        !files[0].contains("<masterKey"),
        "no plaintext master key on disk"
    );

    // Another process with the same KEK reads it.
    let reader = builder(dir.path())
        .key_encryption_keys(ring(&[&kek]))
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(
        reader.protector(["p"]).unprotect(&payload).unwrap(),
        b"secret"
    );

    // A wrong KEK: an error naming the key id, never a panic.
    let wrong = builder(dir.path())
        .key_encryption_keys(ring(&[&Kek::generate()]))
        .read_only(true)
        .build()
        .unwrap();
    let err = wrong.protector(["p"]).unprotect(&payload).unwrap_err();
    assert!(
        matches!(&err, Error::KeyDecryptionFailed { key_id: id, .. } if *id == key_id),
        "{err}"
    );
    assert!(err.to_string().contains(&key_id.to_string()));

    // No KEK at all: the key is named as not decryptable.
    let none = builder(dir.path()).read_only(true).build().unwrap();
    assert!(matches!(
        none.protector(["p"]).unprotect(&payload),
        Err(Error::KeyNotDecryptable { .. })
    ));
}

#[test]
fn passphrase_round_trip_and_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let cheap = |p: &str| PassphraseEncryptor::with_cost(p, 256, 1, 1).unwrap();
    let node = builder(dir.path())
        .passphrase(cheap("correct horse"))
        .build()
        .unwrap();
    let payload = node.protector(["p"]).protect(b"secret").unwrap();
    let file = &key_files(dir.path())[0];
    assert!(
        file.contains("kdf=\"argon2id\"") && file.contains("salt=\""),
        "{file}"
    );
    let reader = builder(dir.path())
        .passphrase(cheap("correct horse"))
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(
        reader.protector(["p"]).unprotect(&payload).unwrap(),
        b"secret"
    );
    let wrong = builder(dir.path())
        .passphrase(cheap("battery staple"))
        .read_only(true)
        .build()
        .unwrap();
    let err = wrong.protector(["p"]).unprotect(&payload).unwrap_err();
    assert!(matches!(err, Error::KeyDecryptionFailed { .. }), "{err}");
}

#[test]
fn required_encryption_refuses_plaintext_keys() {
    let dir = tempfile::tempdir().unwrap();
    let err = builder(dir.path())
        .require_encryption_at_rest()
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::EncryptionRequired(_)), "{err}");
    assert!(key_files(dir.path()).is_empty(), "nothing written");
    assert!(builder(dir.path())
        .require_encryption_at_rest()
        .key_encryption_keys(ring(&[&Kek::generate()]))
        .build()
        .is_ok());
}

#[test]
fn escrow_sees_every_new_key_before_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let seen: Arc<Mutex<Vec<(KeyId, String)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let node = builder(dir.path())
        .key_encryption_keys(ring(&[&Kek::generate()]))
        .key_escrow(Arc::new(move |id, element: &XmlElement| {
            sink.lock().unwrap().push((id, element.to_compact()))
        }))
        .build()
        .unwrap();
    let id = node.ensure_default_key().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, id);
    assert!(
        seen[0].1.starts_with("<masterKey") && seen[0].1.contains("<value>"),
        "the plaintext element"
    );
}

#[test]
fn rewrap_encrypts_rotates_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let plain = builder(dir.path()).build().unwrap();
    let now = plain.now();
    for days in [10, 20] {
        plain
            .create_key(
                now + keyward::time::Duration::days(days),
                now + keyward::time::Duration::days(days + 90),
            )
            .unwrap();
    }
    let payload = plain.protector(["p"]).protect(b"kept").unwrap();
    assert!(key_files(dir.path())
        .iter()
        .all(|f| f.contains("<masterKey")));

    let (a, b) = (Kek::generate(), Kek::generate());
    // As `keyward keys rewrap` does: a maintenance provider that creates no key. With an
    // encryptor configured, plaintext keys are unusable until rewrapped (a store writer could
    // have planted them).
    let with_a = builder(dir.path())
        .key_encryption_keys(ring(&[&a]))
        .automatic_key_generation(false)
        .build()
        .unwrap();
    assert!(with_a.keys().iter().all(|k| k
        .unusable_reason
        .as_deref()
        .is_some_and(|r| r.contains("unencrypted"))));
    let dry = with_a.rewrap_keys(true, |_, _| {}).unwrap();
    assert_eq!((dry.rewrapped.len(), dry.unchanged.len()), (3, 0));
    assert!(
        key_files(dir.path())
            .iter()
            .all(|f| f.contains("<masterKey")),
        "a dry run changes nothing"
    );
    let done = with_a.rewrap_keys(false, |_, _| {}).unwrap();
    assert_eq!(done.rewrapped.len(), 3);
    assert!(key_files(dir.path())
        .iter()
        .all(|f| f.contains(&format!("kekId=\"{}\"", a.id())) && !f.contains("<masterKey")));
    assert_eq!(
        with_a
            .rewrap_keys(false, |_, _| {})
            .unwrap()
            .unchanged
            .len(),
        3,
        "a rerun has nothing to do"
    );

    // KEK rotation: B encrypts, A still decrypts; rewrap moves every key to B.
    let rotated = builder(dir.path())
        .key_encryption_keys(ring(&[&b, &a]))
        .build()
        .unwrap();
    assert_eq!(
        rotated
            .rewrap_keys(false, |_, _| {})
            .unwrap()
            .rewrapped
            .len(),
        3
    );
    assert!(key_files(dir.path())
        .iter()
        .all(|f| f.contains(&format!("kekId=\"{}\"", b.id()))));
    let only_b = builder(dir.path())
        .key_encryption_keys(ring(&[&b]))
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(
        only_b.protector(["p"]).unprotect(&payload).unwrap(),
        b"kept"
    );
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_master_key_reaches_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let masters: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&masters);
    tracing::subscriber::with_default(subscriber, || {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::generate();
        let node = builder(dir.path())
            .key_encryption_keys(ring(&[&kek]))
            .key_escrow(Arc::new(move |_, element: &XmlElement| {
                sink.lock().unwrap().push(element.to_compact())
            }))
            .build()
            .unwrap();
        let payload = node.protector(["p"]).protect(b"x").unwrap();
        node.create_key(node.now(), node.now() + keyward::time::Duration::days(30))
            .unwrap();
        let id = keyward::payload::parse(&payload).unwrap().0;
        node.revoke_key(id, "logged").unwrap();
        node.refresh().unwrap();
        let _ = node.protector(["p"]).unprotect(&payload);
        let _ = format!("{node:?}");
        tracing::debug!(provider = ?node, "the whole provider, as Debug");
        node.rewrap_keys(false, |_, _| {}).unwrap();
    });
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("key created"), "the run was logged: {text}");
    let masters = masters.lock().unwrap();
    assert_eq!(masters.len(), 2);
    for element in masters.iter() {
        let value = element
            .split("<value>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        let bytes = keyward::encoding::base64url_decode(value).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        for form in [
            value.to_owned(),
            hex.clone(),
            hex.to_uppercase(),
            keyward::encoding::base64url_encode(&bytes),
        ] {
            assert!(!text.contains(&form[..24]), "a master key reached the logs");
        }
    }
}

/// The PFX and its password of the end-to-end vector whose key ring is `key_xml_file`.
fn vector_certificate(key_xml_file: &str) -> (Vec<u8>, String) {
    use base64::Engine as _;
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata_dir().join("vectors/aspnetcore.json")).unwrap(),
    )
    .unwrap();
    let v = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["inputs"]["key_xml_file"] == key_xml_file)
        .unwrap();
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(v["inputs"]["pfx_base64"].as_str().unwrap())
        .unwrap();
    (
        pfx,
        v["inputs"]["pfx_password"].as_str().unwrap().to_owned(),
    )
}

fn aspnetcore_certificate() -> (Vec<u8>, String) {
    vector_certificate("keys/cert-encrypted-aspnetcore.xml")
}

fn bitwarden_certificate() -> (Vec<u8>, String) {
    vector_certificate("keys/cert-encrypted-bitwarden.xml")
}

/// Element names (with namespace) and attribute names, in document order.
fn shape(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}')).unwrap();
    doc.descendants()
        .filter(|n| n.is_element())
        .map(|n| {
            let mut attributes: Vec<&str> = n.attributes().map(|a| a.name()).collect();
            attributes.sort_unstable();
            format!(
                "{{{}}}{} {attributes:?}",
                n.tag_name().namespace().unwrap_or(""),
                n.tag_name().name()
            )
        })
        .collect()
}

/// Decrypts a certificate-encrypted key file following the XML Encryption rules directly
/// (RSA-OAEP or PKCS#1 v1.5 key transport, AES-CBC with the IV in front, last-byte padding),
/// not through keyward's decryptor.
fn independent_master_key(xml: &str, pfx: &[u8], password: &str) -> Vec<u8> {
    use aws_lc_rs::rsa::{
        OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
        OAEP_SHA1_MGF1SHA1,
    };
    use base64::Engine as _;
    use cbc::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyIvInit};
    let b64 = |t: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(t.split_whitespace().collect::<String>())
            .unwrap()
    };
    let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}')).unwrap();
    let by_name = |name: &'static str| doc.descendants().filter(move |n| n.has_tag_name(name));
    let encrypted_key = by_name("EncryptedKey").next().unwrap();
    let transport = encrypted_key
        .children()
        .find(|n| n.has_tag_name("EncryptionMethod"))
        .unwrap()
        .attribute("Algorithm")
        .unwrap();
    let values: Vec<Vec<u8>> = by_name("CipherValue")
        .map(|n| b64(n.text().unwrap()))
        .collect();
    let (wrapped, body) = (&values[0], &values[1]);
    let store = p12_keystore::KeyStore::from_pkcs12(
        pfx,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .unwrap();
    let key = || {
        PrivateDecryptingKey::from_pkcs8(store.private_key_chain().unwrap().1.key().as_der())
            .unwrap()
    };
    let mut session = vec![0u8; 512];
    let session = match transport {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => OaepPrivateDecryptingKey::new(key())
            .unwrap()
            .decrypt(&OAEP_SHA1_MGF1SHA1, wrapped, &mut session, None)
            .unwrap()
            .to_vec(),
        _ => Pkcs1PrivateDecryptingKey::new(key())
            .unwrap()
            .decrypt(wrapped, &mut session)
            .unwrap()
            .to_vec(),
    };
    let mut plain = body[16..].to_vec();
    cbc::Decryptor::<aes::Aes256>::new_from_slices(&session, &body[..16])
        .unwrap()
        .decrypt_padded::<NoPadding>(&mut plain)
        .unwrap();
    let pad = *plain.last().unwrap() as usize;
    plain.truncate(plain.len() - pad);
    let master = String::from_utf8(plain).unwrap();
    let inner = roxmltree::Document::parse(&master).unwrap();
    assert_eq!(inner.root_element().tag_name().name(), "masterKey");
    let value = inner
        .descendants()
        .find(|n| n.has_tag_name("value"))
        .unwrap()
        .text()
        .unwrap();
    b64(value)
}

#[test]
fn certificate_encryption_has_the_dotnet_shape_and_decrypts_independently() {
    let (pfx, password) = aspnetcore_certificate();
    let certificates = || {
        keyward::at_rest::CertificateEncryptor::new(vec![
            keyward::at_rest::Certificate::from_pkcs12(&pfx, &password).unwrap(),
        ])
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let escrowed: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&escrowed);
    let node = builder(dir.path())
        .certificates(certificates())
        .key_escrow(Arc::new(move |_, e: &XmlElement| {
            sink.lock().unwrap().push(e.to_compact())
        }))
        .build()
        .unwrap();
    let payload = node.protector(["p"]).protect(b"cert").unwrap();
    let file = key_files(dir.path()).remove(0);
    let sample =
        std::fs::read_to_string(testdata_dir().join("vectors/keys/cert-encrypted-aspnetcore.xml"))
            .unwrap();
    // One element more than .NET writes: keyward's signature, a child of <key> in its own
    // namespace, which .NET's key manager never reads.
    let (signature, dotnet): (Vec<String>, Vec<String>) = shape(&file)
        .into_iter()
        .partition(|s| s.starts_with(&format!("{{{}}}", keyward::at_rest::SIGNATURE_NAMESPACE)));
    assert_eq!(
        dotnet,
        shape(&sample),
        "the element structure .NET writes and reads"
    );
    assert_eq!(signature.len(), 1, "{signature:?}");
    assert!(file.contains(&format!(
        "decryptorType=\"{}\"",
        keyward::at_rest::ENCRYPTED_XML_DECRYPTOR_TYPE
    )));

    // An implementation written from the EncryptedXml rules finds the escrowed master key.
    let master = independent_master_key(&file, &pfx, &password);
    let escrowed = escrowed.lock().unwrap();
    let value = escrowed[0]
        .split("<value>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(keyward::encoding::base64url_decode(value).unwrap(), master);
    // And the independent reader also opens .NET's own sample (PKCS#1 v1.5 transport).
    assert_eq!(independent_master_key(&sample, &pfx, &password).len(), 64);

    let reader = builder(dir.path())
        .certificates(certificates())
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(
        reader.protector(["p"]).unprotect(&payload).unwrap(),
        b"cert"
    );
}

#[test]
fn a_certificate_that_is_not_configured_names_the_key() {
    let (pfx, password) = aspnetcore_certificate();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata_dir().join("vectors/keys/cert-encrypted-aspnetcore.xml"),
        dir.path()
            .join("key-9c15d488-4417-49ab-ae39-ed2f36a9ebe3.xml"),
    )
    .unwrap();
    // A different certificate (the bitwarden one) cannot open the aspnetcore key.
    let (other, other_password) = bitwarden_certificate();
    let wrong = keyward::at_rest::Certificate::from_pkcs12(&other, &other_password).unwrap();
    let node = builder(dir.path())
        .certificates(keyward::at_rest::CertificateEncryptor::new(vec![wrong]).unwrap())
        .read_only(true)
        .build()
        .unwrap();
    let key = &node.keys()[0];
    assert!(
        key.unusable_reason
            .as_deref()
            .unwrap()
            .contains("not configured"),
        "{key:?}"
    );
    assert!(keyward::at_rest::Certificate::from_pkcs12(&pfx, &password).is_ok());
    assert!(keyward::at_rest::Certificate::from_pkcs12(&pfx, "wrong password").is_err());
}

#[test]
fn a_certificate_with_someone_elses_private_key_is_refused() {
    use base64::Engine as _;
    let (pfx, password) = aspnetcore_certificate();
    let (other, other_password) = bitwarden_certificate();
    let parts = |pfx: &[u8], password: &str| {
        let store = p12_keystore::KeyStore::from_pkcs12(
            pfx,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        (
            chain.certs()[0].as_der().to_vec(),
            chain.key().as_der().to_vec(),
        )
    };
    let pem = |label: &str, der: &[u8]| {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    };
    let (cert, key) = parts(&pfx, &password);
    let (_, other_key) = parts(&other, &other_password);
    assert!(keyward::at_rest::Certificate::from_pem(
        &(pem("CERTIFICATE", &cert) + &pem("PRIVATE KEY", &key))
    )
    .is_ok());
    let err = keyward::at_rest::Certificate::from_pem(
        &(pem("CERTIFICATE", &cert) + &pem("PRIVATE KEY", &other_key)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
}
