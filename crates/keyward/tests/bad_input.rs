//! Bad input: each kind gets its specific error, and nothing panics.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::{Error, KeyId, MalformedReason, MemoryRepository, Protector, Provider};

fn protector() -> (Provider, Protector) {
    let provider = Provider::builder()
        .application_name("bad-input")
        .repository(MemoryRepository::new())
        .build()
        .unwrap();
    let protector = provider.protector(["p"]);
    (provider, protector)
}

fn malformed(result: keyward::Result<Vec<u8>>) -> MalformedReason {
    match result {
        Err(Error::MalformedPayload(reason)) => reason,
        other => panic!("expected a malformed-payload error, got {other:?}"),
    }
}

#[test]
fn empty_input() {
    let (_, p) = protector();
    assert_eq!(malformed(p.unprotect(b"")), MalformedReason::Empty);
    assert_eq!(
        malformed(p.unprotect_str("").map(String::into_bytes)),
        MalformedReason::Empty
    );
}

#[test]
fn nineteen_bytes() {
    let (_, p) = protector();
    let payload = p.protect(b"x").unwrap();
    assert_eq!(
        malformed(p.unprotect(&payload[..19])),
        MalformedReason::TooShort { len: 19 }
    );
}

#[test]
fn wrong_magic() {
    let (_, p) = protector();
    let mut payload = p.protect(b"x").unwrap();
    payload[1] ^= 0xff;
    assert_eq!(malformed(p.unprotect(&payload)), MalformedReason::BadMagic);
}

#[test]
fn wrong_version_nibble() {
    let (_, p) = protector();
    let mut payload = p.protect(b"x").unwrap();
    payload[3] = 0xF2;
    assert_eq!(
        malformed(p.unprotect(&payload)),
        MalformedReason::UnsupportedVersion { version: 2 }
    );
}

#[test]
fn truncated_body() {
    let (_, p) = protector();
    let payload = p.protect(b"some data").unwrap();
    for cut in [20, 21, 40, 60, payload.len() - 1] {
        let result = p.unprotect(&payload[..cut]);
        assert!(
            matches!(
                result,
                Err(Error::MalformedPayload(MalformedReason::Truncated))
                    | Err(Error::InvalidPayload)
            ),
            "cut at {cut}: {result:?}"
        );
    }
    assert_eq!(
        malformed(p.unprotect(&payload[..40])),
        MalformedReason::Truncated
    );
}

#[test]
fn invalid_base64() {
    let (_, p) = protector();
    for text in ["!!!!", "a", "CfDJ8-+/", "abc\u{e9}"] {
        assert_eq!(
            malformed(p.unprotect_str(text).map(String::into_bytes)),
            MalformedReason::InvalidBase64,
            "{text}"
        );
    }
}

#[test]
fn unknown_key_id() {
    let (provider, p) = protector();
    let mut payload = p.protect(b"x").unwrap();
    let unknown = KeyId::random();
    payload[4..20].copy_from_slice(&unknown.to_guid_bytes());
    match p.unprotect(&payload) {
        Err(Error::KeyNotFound {
            key_id,
            ring_location,
        }) => {
            assert_eq!(key_id, unknown);
            assert_eq!(ring_location, provider.location());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_utf8() {
    let (_, p) = protector();
    let payload = keyward::encoding::base64url_encode(&p.protect(&[0xff, 0xfe]).unwrap());
    assert!(matches!(p.unprotect_str(&payload), Err(Error::NotUtf8)));
}

#[test]
fn garbage_of_every_length_never_panics() {
    let (_, p) = protector();
    let good = p.protect(b"payload").unwrap();
    for len in 0..good.len() + 40 {
        let mut bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        // Half the time keep a valid header so the body parsers are reached.
        if len >= 20 && len % 2 == 0 {
            bytes[..20].copy_from_slice(&good[..20]);
        }
        assert!(p.unprotect(&bytes).is_err(), "length {len}");
    }
}

#[test]
fn builder_errors_are_clear() {
    let err = Provider::builder()
        .repository(MemoryRepository::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("application name"), "{err}");
    let err = Provider::builder()
        .application_name("a")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("key directory"), "{err}");
    let err = Provider::builder()
        .application_name("a")
        .repository(MemoryRepository::new())
        .key_lifetime(keyward::time::Duration::days(6))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("7 days"), "{err}");
}

#[test]
fn hostile_key_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let key = |id: &str, expiration: &str| {
        format!(
            "<key id=\"{id}\" version=\"1\"><creationDate>2020-01-01T00:00:00Z</creationDate><activationDate>2020-01-01T00:00:00Z</activationDate><expirationDate>{expiration}</expirationDate><descriptor deserializerType=\"{}\"><descriptor><encryption algorithm=\"AES_256_CBC\" /><validation algorithm=\"HMACSHA256\" /><masterKey><value>AAAA</value></masterKey></descriptor></descriptor></key>",
            keyward::DEFAULT_DESERIALIZER_TYPE
        )
    };
    // Out of range once converted to UTC: skipped like any key with bad dates.
    std::fs::write(
        dir.path().join("key-1.xml"),
        key(
            "6417072d-bd2e-4737-8995-fd280fe00251",
            "9999-12-31T23:30:00-05:00",
        ),
    )
    .unwrap();
    // A master key of three bytes, and a valid far-future date: listed, usable, no panic.
    std::fs::write(
        dir.path().join("key-2.xml"),
        key(
            "7417072d-bd2e-4737-8995-fd280fe00251",
            "9999-12-31T23:59:59.9999999Z",
        ),
    )
    .unwrap();
    let provider = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap();
    let keys = provider.keys();
    assert_eq!(keys.len(), 1);
    let protector = provider.protector(["p"]);
    let payload = protector.protect(b"x").unwrap();
    assert_eq!(protector.unprotect(&payload).unwrap(), b"x");
    assert!(!format!("{provider:?}").contains("AAAA"));
}

#[test]
fn a_key_stored_twice_is_used_once_two_keys_with_one_id_fail() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let id = writer.ensure_default_key().unwrap();
    let original = dir.path().join(format!("key-{id}.xml"));
    // A retried write: an identical copy under another name.
    std::fs::copy(&original, dir.path().join("copy.xml")).unwrap();
    let reader = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(reader.keys().len(), 1);
    // A different key under the same id: an error naming the id.
    let text = std::fs::read_to_string(&original).unwrap();
    let value_start = text.find("<value>").unwrap() + 7;
    let mut forged = text.clone();
    forged.replace_range(
        value_start..value_start + 4,
        if &text[value_start..value_start + 4] == "AAAA" {
            "BBBB"
        } else {
            "AAAA"
        },
    );
    std::fs::write(dir.path().join("copy.xml"), forged).unwrap();
    let err = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(&id.to_string()), "{err}");
}
