//! Master keys encrypted at rest: KEKs, passphrases, required encryption, escrow, rewrap, and
//! no master key in any log line.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyward::at_rest::{Kek, KekRing, PassphraseEncryptor, KEK_DECRYPTOR_TYPE};
use keyward::{Error, KeyId, Provider, ProviderBuilder, XmlElement};

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
    let with_a = builder(dir.path())
        .key_encryption_keys(ring(&[&a]))
        .build()
        .unwrap();
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
