//! Reading and writing key XML.

use super::*;

fn one(text: &str) -> RingElement {
    let mut all = parse_document(text, "test").unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn documents_parse_back_to_the_same_element() {
    let now = date::to_ticks_precision(OffsetDateTime::now_utc());
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        let key = key_element(
            KeyId::random(),
            now,
            now,
            now,
            algorithm,
            &Secret::random(64),
        );
        let parsed =
            crate::element_tree::parse_element(&format!("\u{feff}{}", key.to_document())).unwrap();
        assert_eq!(parsed.to_compact(), key.to_compact());
    }
    let revocation = mass_revocation_element(now, "r");
    assert_eq!(
        crate::element_tree::parse_element(&revocation.to_document()).unwrap(),
        revocation
    );
    // A namespace declared on an ancestor is not repeated on the child.
    let nested = r#"<a xmlns="urn:x" xmlns:p="urn:p"><b p:c="1"><d xmlns="" /></b></a>"#;
    assert_eq!(
        crate::element_tree::parse_element(nested)
            .unwrap()
            .to_compact(),
        r#"<a xmlns="urn:x" xmlns:p="urn:p"><b p:c="1"><d xmlns="" /></b></a>"#
    );
}

#[test]
fn revocations_read_back() {
    let id = KeyId::random();
    let date = time::macros::datetime!(2015-03-20 22:45:30.261674 UTC);
    let single = revocation_element(id, date, "lost <laptop>").to_document();
    assert!(matches!(one(&single), RingElement::RevokeKey { key_id } if key_id == id));
    let mass = mass_revocation_element(date, "rotate all").to_compact();
    assert!(matches!(one(&mass), RingElement::RevokeAllBefore { date: d } if d == date));
    assert_eq!(
        mass_revocation_name(date),
        "revocation-20150320T224530261674Z"
    );
    let whole = time::macros::datetime!(2015-03-20 22:45:30 UTC);
    assert_eq!(mass_revocation_name(whole), "revocation-20150320T224530Z");
}

#[test]
fn refuses_dtds_and_entities() {
    let evil = r#"<?xml version="1.0"?><!DOCTYPE k [<!ENTITY a "aaaa">]><key id="6417072d-bd2e-4737-8995-fd280fe00251">&a;</key>"#;
    let err = parse_document(evil, "evil.xml").unwrap_err();
    assert!(matches!(err, Error::KeyXml { .. }), "{err}");
}

#[test]
fn refuses_oversized_documents() {
    let big = format!(
        "<x>{}</x>",
        "a".repeat(crate::element_tree::MAX_DOCUMENT_BYTES)
    );
    assert!(parse_document(&big, "big.xml").is_err());
}

#[test]
fn key_with_bad_dates_is_skipped_not_fatal() {
    let text = r#"<key id="6417072d-bd2e-4737-8995-fd280fe00251" version="1"><creationDate>soon</creationDate></key>"#;
    assert!(matches!(one(text), RingElement::SkippedKey { .. }));
}

#[test]
fn bad_revocation_is_fatal() {
    let text = r#"<revocation version="1"><revocationDate>2015-01-01T00:00:00Z</revocationDate><key id="{invalid}" /></revocation>"#;
    assert!(parse_document(text, "r.xml").is_err());
}

#[test]
fn written_key_reads_back() {
    let id = KeyId::random();
    let now = date::to_ticks_precision(OffsetDateTime::now_utc());
    let secret = Secret::random(64);
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        let element = key_element(id, now, now, now, algorithm, &secret);
        for text in [element.to_document(), element.to_compact()] {
            let RingElement::Key(record) = one(&text) else {
                panic!("not a key: {text}");
            };
            assert_eq!(record.id, id);
            assert_eq!(record.expiration, now);
            assert_eq!(record.algorithm, Some(algorithm));
            let KeyMaterial::Plain(read) = &record.material else {
                panic!("no plain master key");
            };
            assert_eq!(read.expose(), secret.expose());
        }
    }
}

/// Dates finer than .NET's 100 ns ticks are read at tick precision: a planted key dated
/// a few nanoseconds after the one a node replaces it with must not outrank the
/// replacement (which is written at tick precision).
#[test]
fn dates_finer_than_ticks_read_at_tick_precision() {
    let id = KeyId::random();
    let at = time::macros::datetime!(2026-06-01 12:00:00.123456789 UTC);
    let element = key_element(
        id,
        at,
        at,
        at + time::Duration::days(90),
        Algorithm::AES_256_CBC_HMACSHA256,
        &Secret::random(64),
    );
    let text = element.to_compact().replace(
        "2026-06-01T12:00:00.1234567Z",
        "2026-06-01T12:00:00.123456789Z",
    );
    assert!(text.contains(".123456789Z"), "{text}");
    let RingElement::Key(record) = one(&text) else {
        panic!("not a key: {text}");
    };
    assert_eq!(record.activation, date::to_ticks_precision(at));
    assert_eq!(record.activation.nanosecond(), 123_456_700);
}

#[test]
fn prefix_is_irrelevant_namespace_is_not() {
    let key = |ns: &str| {
        format!(
            r#"<key id="6417072d-bd2e-4737-8995-fd280fe00251" version="1"><creationDate>2020-01-01T00:00:00Z</creationDate><activationDate>2020-01-01T00:00:00Z</activationDate><expirationDate>2020-04-01T00:00:00Z</expirationDate><descriptor deserializerType="{DEFAULT_DESERIALIZER_TYPE}"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><zz:encryptedSecret xmlns:zz="{ns}" decryptorType="X.Y, Z"><inner /></zz:encryptedSecret></descriptor></descriptor></key>"#
        )
    };
    let RingElement::Key(record) = one(&key(DATA_PROTECTION_NAMESPACE)) else {
        panic!()
    };
    assert!(
        matches!(&record.material, KeyMaterial::Encrypted { decryptor_type, .. } if decryptor_type == "X.Y, Z")
    );
    let RingElement::Key(record) = one(&key("urn:other")) else {
        panic!()
    };
    assert!(matches!(record.material, KeyMaterial::Unsupported { .. }));
}

/// A key document whose `<masterKey>` text is `value` (the rest as keyward writes it).
fn key_with_master_key_text(secret: &Secret, value: impl Fn(&str) -> String) -> String {
    let now = date::to_ticks_precision(OffsetDateTime::now_utc());
    let element = key_element(
        KeyId::random(),
        now,
        now,
        now,
        Algorithm::AES_256_CBC_HMACSHA256,
        secret,
    );
    let text = element.to_document();
    let start = text.find("<value>").unwrap() + "<value>".len();
    let end = text.find("</value>").unwrap();
    format!(
        "{}{}{}",
        &text[..start],
        value(&text[start..end]),
        &text[end..]
    )
}

fn material(text: &str) -> KeyMaterial {
    let RingElement::Key(record) = one(text) else {
        panic!("not a key");
    };
    record.material
}

#[test]
fn master_key_base64_reads_as_dotnet_reads_it() {
    let secret = Secret::random(64);
    let wrapped = |b64: &str| {
        b64.as_bytes()
            .chunks(76)
            .map(|l| format!("\r\n\t  {}", std::str::from_utf8(l).unwrap()))
            .collect::<String>()
            + "\r\n"
    };
    let commented = |b64: &str| format!("{}<!-- note -->{}", &b64[..10], &b64[10..]);
    let cdata = |b64: &str| format!("<![CDATA[{b64}]]>");
    let spaced = |b64: &str| b64.chars().flat_map(|c| [c, ' ']).collect::<String>();
    for shape in [
        &wrapped as &dyn Fn(&str) -> String,
        &commented,
        &cdata,
        &spaced,
    ] {
        let text = key_with_master_key_text(&secret, shape);
        let KeyMaterial::Plain(read) = material(&text) else {
            panic!("not read: {text}");
        };
        assert_eq!(read.expose(), secret.expose());
    }
}

/// A change to a `<masterKey>` value's text.
type Shape = dyn Fn(&str) -> String;

#[test]
fn bad_master_key_base64_says_what_is_wrong_without_the_value() {
    let secret = Secret::random(64);
    let cases: [(&Shape, &str); 4] = [
        (
            &|b64: &str| format!("{}!{}", &b64[..12], &b64[12..]),
            "the <masterKey> value is not base64: invalid character '!' at offset 12",
        ),
        (
            &|b64: &str| b64.trim_end_matches('=').to_owned(),
            "the <masterKey> value is not base64: length is not a multiple of 4 after removing whitespace (86 characters)",
        ),
        (
            &|_: &str| String::new(),
            "the <masterKey> value is empty or missing",
        ),
        (
            &|b64: &str| format!("{}=={}", &b64[..8], &b64[8..]),
            "the <masterKey> value is not base64: invalid character",
        ),
    ];
    for (shape, expected) in cases {
        let text = key_with_master_key_text(&secret, shape);
        let KeyMaterial::Unsupported { detail } = material(&text) else {
            panic!("read: {text}");
        };
        assert!(detail.starts_with(expected), "{detail}");
        let b64 = crate::encoding::base64_standard_encode(secret.expose());
        assert!(!detail.contains(&b64[..8]), "{detail}");
    }
}

#[test]
fn decrypted_master_key_errors_name_the_problem() {
    let ok = master_key_from_xml("<masterKey><value>\r\n  AAEC\r\n  AwQF\r\n</value></masterKey>");
    assert_eq!(ok.unwrap().expose(), [0, 1, 2, 3, 4, 5]);
    let err = |xml: &str| master_key_from_xml(xml).unwrap_err().to_string();
    assert_eq!(
        err("<masterKey><value>AAEC"),
        "the decrypted element is not well-formed XML"
    );
    assert_eq!(
        err("<other><value>AAEC</value></other>"),
        "the decrypted element is not a <masterKey>"
    );
    assert_eq!(
        err("<masterKey><value>AA#C</value></masterKey>"),
        "the decrypted <masterKey> value is not base64: invalid character '#' at offset 2"
    );
    assert_eq!(
        err("<masterKey />"),
        "the decrypted <masterKey> value is empty or missing"
    );
}
