//! Known-answer tests: every vector of `testdata/vectors/aspnetcore.json`, read at test time.
//! A kind this slice does not handle yet is listed in `SKIPPED` with the reason; a kind that is
//! neither handled nor skipped fails `every_vector_kind_is_handled_or_skipped_with_a_reason`.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::collections::BTreeSet;

use common::*;
use keyward::schedule::KeyCandidate;
use keyward::store::StoredElement;
use keyward::testing;
use keyward::testing::{resolve_default_key, ResolverPolicy};
use keyward::{
    additional_authenticated_data, encoding, payload, time, AesKeySize, Algorithm, KeyId,
    KeyRepository, Provider, ValidationAlgorithm,
};
use serde_json::Value;

const HANDLED: &[&str] = &[
    "kdf_sp800_108_ctr_hmacsha512",
    "context_header_cbc",
    "context_header_gcm",
    "aad",
    "varint_length",
    "guid_bytes",
    "payload_framing",
    "authenticated_encryptor_cbc_hmac",
    "authenticated_encryptor_gcm",
    "base64url_webencoders",
    "descriptor_xml",
    "default_key_resolution",
    "key_xml_revocation",
    "error_message",
    "auth_cookie",
    "time_limited_header",
    "end_to_end_unprotect",
];

const SKIPPED: &[(&str, &str)] = &[
    ("base64url_legacy_dot_padding", "the legacy WebUtilities encoder is not used by Data Protection or auth cookies; no cookie helpers exist yet"),
    ("cookie_chunking", "cookie chunking is not part of the core slice"),
    ("antiforgery_cookie_name", "antiforgery helpers are not part of the core slice"),
    ("ticket_serializer", "authentication-ticket serialization is not part of the core slice (auth_cookie checks the protection of its bytes)"),
];

#[test]
fn every_vector_kind_is_handled_or_skipped_with_a_reason() {
    let kinds: BTreeSet<String> = aspnetcore_vectors()
        .iter()
        .map(|v| str_of(v, "kind").to_owned())
        .collect();
    for kind in &kinds {
        let handled = HANDLED.contains(&kind.as_str());
        let skipped = SKIPPED.iter().find(|(k, _)| k == kind);
        assert!(
            handled ^ skipped.is_some(),
            "vector kind {kind} must be handled or skipped (not both, not neither)"
        );
        if let Some((_, reason)) = skipped {
            eprintln!("skipped vector kind {kind}: {reason}");
        }
    }
    for kind in HANDLED {
        assert!(
            kinds.contains(*kind),
            "handled kind {kind} no longer exists"
        );
    }
}

fn cbc(key_len: u64, hmac: &str) -> Option<Algorithm> {
    let key_size = AesKeySize::from_bits(u32::try_from(key_len * 8).ok()?)?;
    let validation = ValidationAlgorithm::from_xml_name(hmac)?;
    Some(Algorithm::Cbc {
        key_size,
        validation,
    })
}

fn gcm(key_len: u64) -> Algorithm {
    Algorithm::Gcm {
        key_size: AesKeySize::from_bits(u32::try_from(key_len * 8).unwrap()).unwrap(),
    }
}

#[test]
fn kdf_sp800_108_ctr_hmacsha512() {
    for v in vectors_of("kdf_sp800_108_ctr_hmacsha512") {
        let i = &v["inputs"];
        let kdk = match i["kdk_hex"].as_str() {
            Some(h) => hex(h),
            None => {
                assert_eq!(
                    str_of(i, "kdk_generator"),
                    "50000 bytes, kdk[i] = i mod 256"
                );
                (0..50_000u32).map(|n| (n % 256) as u8).collect()
            }
        };
        let mut context = hex(i["context_header_hex"].as_str().unwrap_or(""));
        context.extend(hex(i["context_hex"].as_str().unwrap_or("")));
        let len = i["output_len_bytes"].as_u64().unwrap() as usize;
        let derived = testing::kdf(&kdk, &hex(str_of(i, "label_hex")), &context, len);
        assert_eq!(
            to_hex(&derived),
            str_of(&v["expected"], "derived_hex"),
            "{}",
            v["name"]
        );
    }
}

#[test]
fn context_header_cbc() {
    let mut checked = 0;
    for v in vectors_of("context_header_cbc") {
        let i = &v["inputs"];
        let hmac = str_of(i, "hmac");
        let block_len = i["block_len"].as_u64().unwrap();
        let Some(algorithm) =
            cbc(i["enc_key_len_bytes"].as_u64().unwrap(), hmac).filter(|_| block_len == 16)
        else {
            eprintln!("skipped {}: 3DES and HMACSHA1 are not Data Protection algorithms keyward implements", v["name"]);
            continue;
        };
        let header = testing::context_header(algorithm);
        assert_eq!(
            to_hex(&header),
            str_of(&v["expected"], "context_header_hex"),
            "{}",
            v["name"]
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "all six AES/HMAC combinations");
}

#[test]
fn context_header_gcm() {
    for v in vectors_of("context_header_gcm") {
        let algorithm = gcm(v["inputs"]["enc_key_len_bytes"].as_u64().unwrap());
        let header = testing::context_header(algorithm);
        assert_eq!(
            to_hex(&header),
            str_of(&v["expected"], "context_header_hex"),
            "{}",
            v["name"]
        );
    }
}

#[test]
fn aad() {
    for v in vectors_of("aad") {
        let i = &v["inputs"];
        let key_id: KeyId = str_of(i, "key_id").parse().unwrap();
        let purposes: Vec<&str> = i["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let aad = additional_authenticated_data(key_id, &purposes);
        assert_eq!(
            to_hex(&aad),
            str_of(&v["expected"], "aad_hex"),
            "{}",
            v["name"]
        );
    }
}

#[test]
fn varint_length() {
    for v in vectors_of("varint_length") {
        let values = v["inputs"]["values"].as_array().unwrap();
        let lengths = v["expected"]["lengths"].as_array().unwrap();
        assert_eq!(values.len(), lengths.len());
        for (value, len) in values.iter().zip(lengths) {
            let value = u32::try_from(value.as_u64().unwrap()).unwrap();
            let len = len.as_u64().unwrap() as usize;
            assert_eq!(keyward::testing::varint_len(value), len, "measure {value}");
            let mut written = Vec::new();
            keyward::testing::write_varint(&mut written, value);
            assert_eq!(written.len(), len, "write {value}");
        }
    }
}

#[test]
fn guid_bytes() {
    for v in vectors_of("guid_bytes") {
        let id: KeyId = str_of(&v["inputs"], "guid").parse().unwrap();
        let expected = str_of(&v["expected"], "bytes_hex");
        assert_eq!(to_hex(&id.to_guid_bytes()), expected);
        assert_eq!(
            KeyId::from_guid_bytes(hex(expected).try_into().unwrap()),
            id
        );
    }
}

#[test]
fn payload_framing() {
    for v in vectors_of("payload_framing") {
        let i = &v["inputs"];
        let id: KeyId = str_of(i, "key_id").parse().unwrap();
        let body = hex(str_of(i, "encryptor_output_hex"));
        let mut framed = payload::header(id).to_vec();
        framed.extend_from_slice(&body);
        assert_eq!(to_hex(&framed), str_of(&v["expected"], "protected_hex"));
        let (parsed_id, parsed_body) = payload::parse(&framed).unwrap();
        assert_eq!(parsed_id, id);
        assert_eq!(parsed_body, &body[..]);
    }
}

/// The expected encryptor output without the pre/post buffers .NET's test reserves.
fn expected_output(v: &Value) -> Vec<u8> {
    let e = &v["expected"];
    let all = match e["output_hex"].as_str() {
        Some(h) => hex(h),
        None => base64_std(str_of(e, "output_b64")),
    };
    let pre = v["inputs"]["pre_buffer"].as_u64().unwrap_or(0) as usize;
    let post = v["inputs"]["post_buffer"].as_u64().unwrap_or(0) as usize;
    assert!(all[..pre]
        .iter()
        .chain(&all[all.len() - post..])
        .all(|&b| b == 0));
    all[pre..all.len() - post].to_vec()
}

fn check_encryptor(v: &Value, algorithm: Algorithm, iv_field: &str) {
    let i = &v["inputs"];
    let kdk = hex(str_of(i, "kdk_hex"));
    let aad = hex(str_of(i, "aad_hex"));
    let plaintext = hex(str_of(i, "plaintext_hex"));
    // SequentialGenRandom: 00, 01, 02, ... — the key modifier first, then the IV or nonce.
    assert!(str_of(i, "rng").starts_with("SequentialGenRandom"));
    let iv_len = if iv_field == "nonce_hex" { 12 } else { 16 };
    let key_modifier: [u8; 16] = i["key_modifier_hex"]
        .as_str()
        .map_or_else(|| (0..16).collect(), hex)
        .try_into()
        .unwrap();
    let iv = i[iv_field]
        .as_str()
        .map_or_else(|| (16..16 + iv_len).collect(), hex);
    let out = testing::encrypt_with_fixed_randomness(
        algorithm,
        &kdk,
        &aad,
        &key_modifier,
        &iv,
        &plaintext,
    );
    assert_eq!(to_hex(&out), to_hex(&expected_output(v)), "{}", v["name"]);
    assert_eq!(
        testing::decrypt(algorithm, &kdk, &aad, &out).unwrap(),
        plaintext
    );
    let mut wrong_aad = aad.clone();
    wrong_aad[0] ^= 1;
    assert!(testing::decrypt(algorithm, &kdk, &wrong_aad, &out).is_err());
}

#[test]
fn authenticated_encryptor_cbc_hmac() {
    for v in vectors_of("authenticated_encryptor_cbc_hmac") {
        let i = &v["inputs"];
        let algorithm = cbc(i["enc_key_len_bytes"].as_u64().unwrap(), str_of(i, "hmac")).unwrap();
        check_encryptor(&v, algorithm, "iv_hex");
    }
}

#[test]
fn authenticated_encryptor_gcm() {
    for v in vectors_of("authenticated_encryptor_gcm") {
        let algorithm = gcm(v["inputs"]["enc_key_len_bytes"].as_u64().unwrap());
        check_encryptor(&v, algorithm, "nonce_hex");
    }
}

#[test]
fn base64url_webencoders() {
    for v in vectors_of("base64url_webencoders") {
        let i = &v["inputs"];
        if let Some(bad) = i["inputs"].as_array() {
            assert_eq!(str_of(&v["expected"], "error"), "FormatException");
            for input in bad {
                let input = input.as_str().unwrap();
                assert!(
                    encoding::base64url_decode(input).is_err(),
                    "{input:?} must be refused"
                );
            }
            continue;
        }
        let data = hex(str_of(i, "data_hex"));
        let text = str_of(&v["expected"], "base64url");
        assert_eq!(encoding::base64url_encode(&data), text);
        assert_eq!(encoding::base64url_decode(text).unwrap(), data);
    }
}

/// Elements, attributes (by namespace URI and local name) and text, comments ignored.
fn canonical(xml: &str) -> String {
    fn walk(node: roxmltree::Node<'_, '_>, out: &mut String) {
        if node.is_element() {
            let mut attrs: Vec<String> = node
                .attributes()
                .map(|a| {
                    format!(
                        "{{{}}}{}={}",
                        a.namespace().unwrap_or(""),
                        a.name(),
                        a.value()
                    )
                })
                .collect();
            attrs.sort();
            out.push_str(&format!("<{}{:?}>", node.tag_name().name(), attrs));
            for child in node.children() {
                walk(child, out);
            }
            out.push_str("</>");
        } else if node.is_text() {
            out.push_str(node.text().unwrap_or("").trim());
        }
    }
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut out = String::new();
    walk(doc.root_element(), &mut out);
    out
}

#[test]
fn descriptor_xml() {
    for v in vectors_of("descriptor_xml") {
        let i = &v["inputs"];
        let e = &v["expected"];
        if let Some(expected_xml) = e["xml"].as_str() {
            let algorithm =
                Algorithm::from_xml_names(str_of(i, "encryption"), i["validation"].as_str())
                    .unwrap();
            let master_key = base64_std(str_of(i, "master_key_b64"));
            let written = testing::descriptor_xml(algorithm, &master_key);
            assert_eq!(
                canonical(&written),
                canonical(expected_xml),
                "{}",
                v["name"]
            );
            let (read_algorithm, read_key) = testing::read_default_descriptor(&written).unwrap();
            assert_eq!((read_algorithm, read_key), (algorithm, master_key));
            if let Some(name) = e["deserializer_type_fullname"].as_str() {
                assert!(keyward::DEFAULT_DESERIALIZER_TYPE.starts_with(&format!("{name},")));
            }
        } else {
            let (algorithm, master_key) =
                testing::read_default_descriptor(str_of(i, "xml")).unwrap();
            let expected =
                Algorithm::from_xml_names(str_of(e, "encryption"), e["validation"].as_str())
                    .unwrap();
            assert_eq!(algorithm, expected);
            assert_eq!(to_hex(&master_key), str_of(e, "master_key_hex"));
        }
    }
}

fn at(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[test]
fn default_key_resolution() {
    for v in vectors_of("default_key_resolution") {
        let i = &v["inputs"];
        assert_eq!(str_of(i, "max_server_clock_skew"), "00:05:00");
        assert_eq!(str_of(i, "key_propagation_window"), "2.00:00:00");
        let keys: Vec<(String, KeyCandidate)> = i["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let candidate = KeyCandidate {
                    id: KeyId::random(),
                    creation: at(str_of(k, "creation")),
                    activation: at(str_of(k, "activation")),
                    expiration: at(str_of(k, "expiration")),
                    revoked: k["revoked"].as_bool().unwrap_or(false),
                    usable: !k["create_encryptor_throws"].as_bool().unwrap_or(false),
                };
                (str_of(k, "name").to_owned(), candidate)
            })
            .collect();
        let candidates: Vec<KeyCandidate> = keys.iter().map(|(_, c)| *c).collect();
        let resolution =
            resolve_default_key(&candidates, at(str_of(i, "now")), ResolverPolicy::default());
        let name_of = |id: Option<KeyId>| {
            id.map(|id| keys.iter().find(|(_, c)| c.id == id).unwrap().0.clone())
        };
        let e = &v["expected"];
        assert_eq!(
            name_of(resolution.default_key).as_deref(),
            e["default"].as_str(),
            "default: {}",
            v["name"]
        );
        assert_eq!(
            resolution.should_generate_new_key,
            e["should_generate_new_key"].as_bool().unwrap(),
            "{}",
            v["name"]
        );
        if let Some(fallback) = e.get("fallback") {
            assert_eq!(
                name_of(resolution.fallback_key).as_deref(),
                fallback.as_str(),
                "fallback: {}",
                v["name"]
            );
        }
    }
}

/// A repository holding fixed documents (a vector file), read-only.
#[derive(Debug)]
struct FixedRepository(Vec<StoredElement>);

impl KeyRepository for FixedRepository {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        Ok(self.0.clone())
    }
    fn store_element(&self, _: &keyward::store::XmlElement, _: &str) -> keyward::Result<()> {
        panic!("the vector repository is read-only");
    }
    fn lock_for_generation(&self) -> keyward::Result<keyward::store::GenerationLock> {
        Ok(keyward::store::GenerationLock::new(()))
    }
    fn location(&self) -> String {
        "vector file".into()
    }
}

#[test]
fn key_xml_revocation() {
    for v in vectors_of("key_xml_revocation") {
        let path = testdata_dir()
            .join("vectors")
            .join(str_of(&v["inputs"], "xml_file"));
        let xml = std::fs::read_to_string(&path).unwrap();
        let provider = Provider::builder()
            .no_application_discriminator()
            .repository(FixedRepository(vec![StoredElement::new(
                path.display().to_string(),
                keyward::store::ElementHandle::new("fixed"),
                xml,
            )]))
            .read_only(true)
            .build()
            .unwrap();
        let keys = provider.keys();
        let expected = v["expected"]["keys"].as_array().unwrap();
        assert_eq!(keys.len(), expected.len());
        for e in expected {
            let id: KeyId = str_of(e, "id").parse().unwrap();
            let key = keys.iter().find(|k| k.id == id).unwrap();
            assert_eq!(key.revoked, e["revoked"].as_bool().unwrap(), "key {id}");
        }
    }
}

#[test]
fn error_message() {
    for v in vectors_of("error_message") {
        let id: KeyId = str_of(&v["inputs"], "key_id").parse().unwrap();
        let provider = Provider::builder()
            .no_application_discriminator()
            .repository(keyward::MemoryRepository::new())
            .build()
            .unwrap();
        let mut payload = payload::header(id).to_vec();
        payload.extend_from_slice(&[0u8; 64]);
        let err = provider.protector(["p"]).unprotect(&payload).unwrap_err();
        let dotnet = str_of(&v["expected"], "message_pre_net7");
        // Same key-id rendering as .NET ({0:B}: braces, lowercase); our sentence adds where
        // the ring was read from.
        let braced = &dotnet[dotnet.find('{').unwrap()..=dotnet.find('}').unwrap()];
        let message = err.to_string();
        assert!(message.contains(braced), "{message}");
        assert!(
            message.contains("was not found in the key ring"),
            "{message}"
        );
    }
}

#[test]
fn auth_cookie() {
    for v in vectors_of("auth_cookie") {
        let i = &v["inputs"];
        let key_id: KeyId = str_of(i, "key_id").parse().unwrap();
        assert!(i["application_discriminator"].is_null());
        let purposes: Vec<&str> = i["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let aad = additional_authenticated_data(key_id, &purposes);
        let body = testing::encrypt_with_fixed_randomness(
            Algorithm::AES_256_CBC_HMACSHA256,
            &hex(str_of(i, "master_key_hex")),
            &aad,
            &hex(str_of(i, "key_modifier_hex")).try_into().unwrap(),
            &hex(str_of(i, "iv_hex")),
            &hex(str_of(i, "ticket_bytes_hex")),
        );
        let mut cookie = payload::header(key_id).to_vec();
        cookie.extend_from_slice(&body);
        assert_eq!(
            encoding::base64url_encode(&cookie),
            str_of(&v["expected"], "cookie_value")
        );
    }
}

#[test]
fn time_limited_header() {
    for v in vectors_of("time_limited_header") {
        let i = &v["inputs"];
        let expiration = match i["expiration"].as_str().unwrap() {
            text if text.starts_with("DateTimeOffset.MaxValue") => keyward::max_expiration(),
            text => at(text),
        };
        assert_eq!(
            keyward::to_ticks(expiration),
            i["utc_ticks"].as_u64().unwrap()
        );
        let suffix: Vec<&str> = i["purpose_chain_suffix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let provider = Provider::builder()
            .no_application_discriminator()
            .repository(keyward::MemoryRepository::new())
            .build()
            .unwrap();
        let limited = provider.protector([suffix[0]]).to_time_limited();
        assert_eq!(limited.purposes(), &suffix[..]);
        let payload = limited
            .protect(&hex(str_of(i, "payload_hex")), expiration)
            .unwrap();
        // The plain protector of the whole chain sees .NET's inner plaintext.
        let inner = provider
            .protector(suffix.iter().copied())
            .unprotect(&payload)
            .unwrap();
        assert_eq!(
            to_hex(&inner),
            str_of(&v["expected"], "inner_plaintext_hex"),
            "{}",
            v["name"]
        );
    }
}

#[test]
fn end_to_end_unprotect() {
    for v in vectors_of("end_to_end_unprotect") {
        let i = &v["inputs"];
        let pfx = base64_std(str_of(i, "pfx_base64"));
        let certificate =
            keyward::at_rest::Certificate::from_pkcs12(&pfx, str_of(i, "pfx_password")).unwrap();
        let key_file = testdata_dir()
            .join("vectors")
            .join(str_of(i, "key_xml_file"));
        let xml = std::fs::read_to_string(&key_file).unwrap();
        let chain: Vec<&str> = i["purposes_full_chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let provider = Provider::builder()
            .no_application_discriminator()
            .repository(FixedRepository(vec![StoredElement::new(
                key_file.display().to_string(),
                keyward::store::ElementHandle::new("fixed"),
                xml,
            )]))
            .certificates(keyward::at_rest::CertificateEncryptor::new(vec![certificate]).unwrap())
            .read_only(true)
            .build()
            .unwrap();
        let plaintext = provider
            .protector(chain.iter().copied())
            .unprotect_str(str_of(i, "protected_base64url"))
            .unwrap();
        assert_eq!(
            plaintext,
            str_of(&v["expected"], "plaintext_utf8"),
            "{}",
            v["name"]
        );
        // A wrong purpose chain fails the MAC.
        assert!(provider
            .protector(["wrong"])
            .unprotect_str(str_of(i, "protected_base64url"))
            .is_err());
    }
}

/// The repository carries its own copy of the vectors (`testdata/vectors`), so a clone alone
/// runs every test. Where the project's shared folder sits beside the repository (developers'
/// machines and CI), every file of it must be in that copy, byte for byte: an update of the
/// shared vectors that was not copied in fails here.
#[test]
fn testdata_holds_the_shared_vectors_when_they_are_beside_the_repository() {
    let shared =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    if !shared.is_dir() {
        eprintln!("skipping: no ../shared/vectors beside the repository");
        return;
    }
    let copy = testdata_dir().join("vectors");
    let mut pending = vec![shared.clone()];
    let mut compared = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(&shared).unwrap();
            let ours = std::fs::read(copy.join(relative)).unwrap_or_else(|e| {
                panic!("testdata/vectors/{} is missing: {e}", relative.display())
            });
            assert!(
                ours == std::fs::read(&path).unwrap(),
                "testdata/vectors/{} differs from ../shared/vectors (copy it again)",
                relative.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} shared vector files");
}

/// keyward's own vectors (`testdata/vectors/keyward-purposes.json`, made by an independent
/// Python implementation of the specification): purposes whose length prefix takes one, two
/// or three bytes, non-ASCII and non-BMP purposes, an empty purpose, for CBC and GCM. Each
/// checks the AAD, the body with fixed randomness both ways, and a full unprotect through a
/// provider whose ring holds the key.
#[test]
fn purpose_edge_cases() {
    let path = testdata_dir().join("vectors/keyward-purposes.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 14);
    for v in vectors {
        let name = str_of(v, "name");
        let i = &v["inputs"];
        let algorithm = match str_of(i, "algorithm") {
            "AES_256_CBC/HMACSHA256" => Algorithm::AES_256_CBC_HMACSHA256,
            "AES_256_GCM" => Algorithm::AES_256_GCM,
            other => panic!("{name}: unknown algorithm {other}"),
        };
        let key_id: KeyId = str_of(i, "key_id").parse().unwrap();
        let master = hex(str_of(i, "master_key_hex"));
        let chain: Vec<String> = i["purposes_full_chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        let aad = additional_authenticated_data(key_id, &chain);
        assert_eq!(
            to_hex(&aad),
            str_of(&v["expected"], "aad_hex"),
            "{name}: AAD"
        );

        let protected =
            encoding::base64url_decode(str_of(&v["expected"], "protected_base64url")).unwrap();
        let plaintext = str_of(i, "plaintext_utf8").as_bytes();
        assert_eq!(
            testing::decrypt(algorithm, &master, &aad, &protected[20..]).unwrap(),
            plaintext,
            "{name}: decrypt"
        );
        let key_modifier: [u8; 16] = hex(str_of(i, "key_modifier_hex")).try_into().unwrap();
        assert_eq!(
            testing::encrypt_with_fixed_randomness(
                algorithm,
                &master,
                &aad,
                &key_modifier,
                &hex(str_of(i, "iv_or_nonce_hex")),
                plaintext
            ),
            protected[20..],
            "{name}: encrypt"
        );

        // The whole path: a ring holding the key, the purpose chain as a protector.
        let repository = keyward::MemoryRepository::new();
        let key_xml = format!(
            r#"<key id="{key_id}" version="1"><creationDate>2020-01-01T00:00:00Z</creationDate><activationDate>2020-01-01T00:00:00Z</activationDate><expirationDate>2099-01-01T00:00:00Z</expirationDate><descriptor deserializerType="{}">{}</descriptor></key>"#,
            keyward::DEFAULT_DESERIALIZER_TYPE,
            testing::descriptor_xml(algorithm, &master)
        );
        repository
            .store_element(&keyward::store::parse_element(&key_xml).unwrap(), "key")
            .unwrap();
        let provider = Provider::builder()
            .no_application_discriminator()
            .repository(repository)
            .read_only(true)
            .build()
            .unwrap();
        assert_eq!(
            provider
                .protector(chain.clone())
                .unprotect(&protected)
                .unwrap(),
            plaintext,
            "{name}: unprotect"
        );
        let mut other = chain.clone();
        other[1].push('x');
        assert!(
            provider.protector(other).unprotect(&protected).is_err(),
            "{name}"
        );
    }
}
