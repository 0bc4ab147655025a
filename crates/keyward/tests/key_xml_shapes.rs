//! Every shape of key XML that .NET reads, keyward reads too (and the few it refuses, it
//! refuses with a reason): wrapped base64, encodings and byte order marks, CRLF, comments,
//! CDATA, reordered elements, upper-case ids, older assembly-qualified type names.
//!
//! Each test creates a key with keyward, protects a payload, rewrites the key file in one
//! shape, and reads it back with a fresh provider: the key must list with the same id, dates
//! and algorithm, and the payload must unprotect (so the exact master key was read).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};

use keyward::at_rest::{Certificate, CertificateEncryptor, Kek, KekRing, PassphraseEncryptor};
use keyward::{KeyInfo, Provider, ProviderBuilder};

const PLAINTEXT: &[u8] = b"key xml shapes";

/// How a provider is configured (the same for the writer and the reader).
type Configure = Box<dyn Fn(ProviderBuilder) -> ProviderBuilder>;

fn plain() -> Configure {
    Box::new(|b| b)
}

fn with_kek() -> Configure {
    let kek = Kek::generate().to_base64();
    Box::new(move |b| {
        b.key_encryption_keys(KekRing::new(vec![Kek::from_base64(&kek).unwrap()]).unwrap())
    })
}

fn with_passphrase() -> Configure {
    // A cheap Argon2id cost: the tests run unoptimized.
    Box::new(|b| b.passphrase(PassphraseEncryptor::with_cost("correct horse", 256, 1, 1).unwrap()))
}

fn with_certificate() -> Configure {
    let vector = common::aspnetcore_vectors()
        .into_iter()
        .find(|v| v["inputs"]["key_xml_file"] == "keys/cert-encrypted-aspnetcore.xml")
        .unwrap();
    let pfx = common::base64_std(common::str_of(&vector["inputs"], "pfx_base64"));
    let password = common::str_of(&vector["inputs"], "pfx_password").to_owned();
    Box::new(move |b| {
        b.certificates(
            CertificateEncryptor::new(vec![Certificate::from_pkcs12(&pfx, &password).unwrap()])
                .unwrap(),
        )
    })
}

/// A key written by keyward, a payload protected with it, and its file.
struct Written {
    dir: tempfile::TempDir,
    configure: Configure,
    payload: Vec<u8>,
    key: KeyInfo,
    path: PathBuf,
    /// The file's text, without its byte order mark.
    text: String,
}

fn builder(dir: &Path) -> ProviderBuilder {
    Provider::builder()
        .application_name("key-xml-shapes")
        .key_directory(dir)
}

fn write_key(configure: Configure) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let node = configure(builder(dir.path())).build().unwrap();
    let payload = node.protector(["shapes"]).protect(PLAINTEXT).unwrap();
    let keys = node.keys();
    assert_eq!(keys.len(), 1);
    let key = keys[0].clone();
    assert_eq!(key.unusable_reason, None);
    assert!(key.algorithm.is_some());
    drop(node);
    let path = dir.path().join(format!("key-{}.xml", key.id));
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap().to_owned();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<key "));
    Written {
        dir,
        configure,
        payload,
        key,
        path,
        text,
    }
}

impl Written {
    /// A fresh read-only provider on the directory.
    fn reader(&self) -> keyward::Result<Provider> {
        (self.configure)(builder(self.dir.path()))
            .read_only(true)
            .build()
    }

    /// Replaces the key file with `bytes`, then checks that a fresh provider lists the same
    /// key and unprotects the payload.
    fn reads_back(&self, bytes: &[u8]) {
        std::fs::write(&self.path, bytes).unwrap();
        let reader = self.reader().unwrap();
        assert_eq!(reader.keys(), vec![self.key.clone()]);
        assert_eq!(
            reader
                .protector(["shapes"])
                .unprotect(&self.payload)
                .unwrap(),
            PLAINTEXT
        );
    }

    /// Replaces the key file with `bytes`: the reader still opens (one bad file never takes
    /// the ring down), without the key, and lists the file as an unreadable key. Returns
    /// `LOCATION: REASON`.
    fn refused(&self, bytes: &[u8]) -> String {
        std::fs::write(&self.path, bytes).unwrap();
        let reader = self.reader().unwrap();
        assert!(reader.keys().is_empty(), "{:?}", reader.keys());
        let unreadable = reader.unreadable_keys();
        assert_eq!(unreadable.len(), 1, "{unreadable:?}");
        assert_eq!(unreadable[0].location, self.path.display().to_string());
        format!("{}: {}", unreadable[0].location, unreadable[0].reason)
    }
}

/// Applies `f` to the content of every `<name>…</name>` (no attributes on the tag).
fn map_elements(text: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = String::new();
    let mut rest = text;
    let mut found = 0;
    while let Some(start) = rest.find(&open) {
        let inner_start = start + open.len();
        let inner_len = rest[inner_start..].find(&close).unwrap();
        out.push_str(&rest[..inner_start]);
        out.push_str(&f(&rest[inner_start..inner_start + inner_len]));
        rest = &rest[inner_start + inner_len..];
        found += 1;
    }
    assert!(found > 0, "no <{name}> in {text}");
    out.push_str(rest);
    out
}

/// Base64 on 76-column lines ending in CRLF (what `Convert.ToBase64String` with
/// `InsertLineBreaks` and most tools write).
fn wrap_crlf_76(b64: &str) -> String {
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!("\r\n{}\r\n", lines.join("\r\n"))
}

/// Base64 on short lines, each indented with spaces and a tab.
fn wrap_indented(b64: &str) -> String {
    let lines: String = b64
        .as_bytes()
        .chunks(10)
        .map(|l| format!("\n  \t  {}", std::str::from_utf8(l).unwrap()))
        .collect();
    format!("{lines}\n    ")
}

fn bom_utf8(text: &str) -> Vec<u8> {
    let mut out = b"\xef\xbb\xbf".to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn utf16be(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    out
}

fn declared(text: &str, encoding: &str) -> String {
    let written = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    assert!(text.starts_with(written));
    text.replacen(
        written,
        &format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>"),
        1,
    )
}

// ---- wrapped base64 ----

#[test]
fn master_key_wrapped_on_76_column_crlf_lines() {
    let written = write_key(plain());
    let text = map_elements(&written.text, "value", wrap_crlf_76);
    assert!(text.contains("\r\n"));
    written.reads_back(&bom_utf8(&text));
}

#[test]
fn master_key_wrapped_on_indented_lines() {
    let written = write_key(plain());
    let text = map_elements(&written.text, "value", wrap_indented);
    assert!(text.contains("\n  \t  "));
    written.reads_back(&bom_utf8(&text));
}

#[test]
fn kek_wrapped_key_with_wrapped_nonce_and_value() {
    let written = write_key(with_kek());
    assert!(written.text.contains("<encryptedKey") && !written.text.contains("<masterKey"));
    let text = map_elements(&written.text, "nonce", wrap_indented);
    let text = map_elements(&text, "value", wrap_crlf_76);
    written.reads_back(&bom_utf8(&text));
}

#[test]
fn passphrase_wrapped_key_with_wrapped_salt_nonce_and_value() {
    let written = write_key(with_passphrase());
    let salt_start = written.text.find("salt=\"").unwrap() + "salt=\"".len();
    let salt_len = written.text[salt_start..].find('"').unwrap();
    let salt = &written.text[salt_start..salt_start + salt_len];
    // An attribute's line breaks read as spaces (XML attribute normalization).
    let wrapped_salt = format!(" {}\n   {} ", &salt[..12], &salt[12..]);
    let text = written.text.replacen(salt, &wrapped_salt, 1);
    let text = map_elements(&text, "nonce", wrap_crlf_76);
    let text = map_elements(&text, "value", wrap_indented);
    written.reads_back(&bom_utf8(&text));
}

#[test]
fn certificate_encrypted_key_with_wrapped_cipher_values_and_certificate() {
    let written = write_key(with_certificate());
    let text = map_elements(&written.text, "CipherValue", wrap_crlf_76);
    let text = map_elements(&text, "X509Certificate", wrap_indented);
    written.reads_back(&bom_utf8(&text));
}

// ---- encodings ----

#[test]
fn utf16_little_endian_with_bom() {
    let written = write_key(plain());
    written.reads_back(&utf16le(&declared(&written.text, "utf-16"), true));
}

#[test]
fn utf16_big_endian_with_bom() {
    let written = write_key(plain());
    written.reads_back(&utf16be(&declared(&written.text, "utf-16"), true));
}

#[test]
fn utf16_with_bom_and_no_declaration() {
    let written = write_key(plain());
    let body = written.text.split_once("?>\n").unwrap().1;
    written.reads_back(&utf16le(body, true));
}

#[test]
fn utf16_declaration_without_bom() {
    let written = write_key(plain());
    let text = declared(&written.text, "UTF-16");
    written.reads_back(&utf16le(&text, false));
    written.reads_back(&utf16be(&text, false));
}

#[test]
fn utf8_with_bom() {
    let written = write_key(plain());
    written.reads_back(&bom_utf8(&written.text));
}

#[test]
fn utf8_without_bom() {
    let written = write_key(plain());
    written.reads_back(written.text.as_bytes());
}

#[test]
fn utf8_declaration_in_any_case_and_no_declaration() {
    let written = write_key(plain());
    written.reads_back(declared(&written.text, "UTF-8").as_bytes());
    let body = written.text.split_once("?>\n").unwrap().1;
    written.reads_back(body.as_bytes());
}

// ---- layout ----

#[test]
fn crlf_line_ends_throughout() {
    let written = write_key(plain());
    let text = written.text.replace('\n', "\r\n");
    written.reads_back(&bom_utf8(&text));
    written.reads_back(&utf16le(&declared(&text, "utf-16"), true));
}

#[test]
fn comments_inside_elements_and_inside_the_value() {
    let written = write_key(plain());
    let text = map_elements(&written.text, "value", |b64| {
        format!(
            "<!-- first half -->{}<!-- second half -->{}",
            &b64[..20],
            &b64[20..]
        )
    });
    let text = text
        .replacen("<creationDate>", "<!-- when --><creationDate><!-- c -->", 1)
        .replacen("</descriptor>", "<!-- inner --></descriptor>", 1);
    written.reads_back(&bom_utf8(&text));
}

#[test]
fn cdata_master_key_value() {
    let written = write_key(plain());
    let text = map_elements(&written.text, "value", |b64| format!("<![CDATA[{b64}]]>"));
    written.reads_back(&bom_utf8(&text));
    let split = map_elements(&written.text, "value", |b64| {
        format!("<![CDATA[{}]]>{}", &b64[..7], &b64[7..])
    });
    written.reads_back(&bom_utf8(&split));
}

/// The element from `<name` to its `</name>` (with what follows up to the line end).
fn cut<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text.find(&format!("<{name}")).unwrap();
    let close = format!("</{name}>");
    // The outer descriptor holds an inner one: its own end tag is the last.
    let end = text.rfind(&close).unwrap() + close.len();
    &text[start..end]
}

#[test]
fn reordered_child_elements() {
    let written = write_key(plain());
    let key_open_end = written.text.find("<key ").unwrap();
    let key_open_end = key_open_end + written.text[key_open_end..].find('>').unwrap() + 1;
    let reordered = format!(
        "{}\n  {}\n  {}\n  {}\n  {}\n</key>\n",
        &written.text[..key_open_end],
        cut(&written.text, "descriptor"),
        cut(&written.text, "expirationDate"),
        cut(&written.text, "creationDate"),
        cut(&written.text, "activationDate"),
    );
    assert!(
        reordered.find("<descriptor").unwrap() < reordered.find("<expirationDate").unwrap()
            && reordered.find("<expirationDate").unwrap()
                < reordered.find("<creationDate").unwrap()
    );
    written.reads_back(&bom_utf8(&reordered));
}

#[test]
fn upper_case_key_id() {
    let written = write_key(plain());
    let id = written.key.id.to_string();
    assert_ne!(id, id.to_uppercase());
    let text = written.text.replacen(
        &format!("id=\"{id}\""),
        &format!("id=\"{}\"", id.to_uppercase()),
        1,
    );
    assert_ne!(text, written.text);
    written.reads_back(&bom_utf8(&text));
    // The file name keeps the lower-case id.
    assert!(written.path.ends_with(format!("key-{id}.xml")));
}

#[test]
fn assembly_qualified_deserializer_type_of_an_older_version() {
    let written = write_key(plain());
    let current = format!(
        "deserializerType=\"{}\"",
        keyward::DEFAULT_DESERIALIZER_TYPE
    );
    assert!(written.text.contains(&current));
    let text = written.text.replacen(
        &current,
        "deserializerType=\"Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=2.1.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60\"",
        1,
    );
    written.reads_back(&bom_utf8(&text));
}

// ---- refused ----

#[test]
fn a_dtd_is_refused() {
    let written = write_key(plain());
    let text = written
        .text
        .replacen("?>\n", "?>\n<!DOCTYPE key [<!ENTITY e \"x\">]>\n", 1);
    let err = written.refused(&bom_utf8(&text));
    assert!(err.to_string().contains("DTD"), "{err}");
}

#[test]
fn iso_8859_1_with_a_non_ascii_byte_is_refused() {
    let written = write_key(plain());
    let text = declared(&written.text, "ISO-8859-1").replacen(
        "<creationDate>",
        "<!-- caf\u{e9} --><creationDate>",
        1,
    );
    // The é as one ISO-8859-1 byte.
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let offset = bytes.iter().position(|&b| b == 0xe9).unwrap();
    let err = written.refused(&bytes);
    assert!(
        err.to_string().ends_with(&format!(
            "the XML declaration says encoding=\"ISO-8859-1\" and the document has a non-ASCII byte at offset {offset}; keyward reads only UTF-8 and UTF-16 key documents"
        )),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains(&written.path.display().to_string()));
    // Only ASCII: it reads the same as UTF-8.
    written.reads_back(declared(&written.text, "ISO-8859-1").as_bytes());
}

#[test]
fn a_declaration_that_contradicts_the_encoding_is_refused() {
    let written = write_key(plain());
    // What re-encoding a file with a text tool leaves (.NET refuses it too).
    let err = written.refused(&utf16le(&written.text, true));
    assert!(
        err.to_string().ends_with(
            "the XML declaration says encoding=\"utf-8\" but the document is UTF-16 little-endian (byte order mark)"
        ),
        "{err}"
    );
    let err = written.refused(&utf16be(&written.text, true));
    assert!(
        err.to_string()
            .contains("but the document is UTF-16 big-endian"),
        "{err}"
    );
    let err = written.refused(declared(&written.text, "utf-16").as_bytes());
    assert!(
        err.to_string()
            .ends_with("the XML declaration says encoding=\"utf-16\" but the document is UTF-8"),
        "{err}"
    );
    let err = written.refused(&bom_utf8(&declared(&written.text, "utf-16")));
    assert!(
        err.to_string()
            .ends_with("but the document is UTF-8 (byte order mark)"),
        "{err}"
    );
}

#[test]
fn broken_utf16_and_utf32_are_refused() {
    let written = write_key(plain());
    let mut odd = utf16le(&declared(&written.text, "utf-16"), true);
    odd.push(b'\n');
    let err = written.refused(&odd);
    assert!(err.to_string().contains("odd number of bytes"), "{err}");
    let mut lone = utf16le("<key>", true);
    lone.extend_from_slice(&[0x00, 0xDC]);
    let err = written.refused(&lone);
    assert!(
        err.to_string()
            .ends_with("invalid UTF-16: unpaired surrogate 0xDC00 at byte offset 12"),
        "{err}"
    );
    let utf32: Vec<u8> = [0xFF, 0xFE, 0, 0]
        .into_iter()
        .chain(
            written
                .text
                .chars()
                .flat_map(|c| u32::from(c).to_le_bytes()),
        )
        .collect();
    let err = written.refused(&utf32);
    assert!(err.to_string().contains("UTF-32 is not supported"), "{err}");
}

#[test]
fn an_oversized_file_is_refused_before_decoding() {
    let written = write_key(plain());
    let mut bytes = utf16le(&declared(&written.text, "utf-16"), true);
    bytes.resize(keyward::store::MAX_DOCUMENT_BYTES + 1, b' ');
    let err = written.refused(&bytes);
    assert!(err.to_string().contains("-byte limit"), "{err}");
}

#[test]
fn bad_base64_in_the_master_key_names_the_problem() {
    let written = write_key(plain());
    let text = map_elements(&written.text, "value", |b64| {
        format!("{}!{}", &b64[..20], &b64[20..])
    });
    std::fs::write(&written.path, bom_utf8(&text)).unwrap();
    let reader = written.reader().unwrap();
    let keys = reader.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, written.key.id);
    assert_eq!(
        keys[0].unusable_reason.as_deref(),
        Some("the <masterKey> value is not base64: invalid character '!' at offset 20")
    );
    assert!(reader
        .protector(["shapes"])
        .unprotect(&written.payload)
        .is_err());

    let unpadded = map_elements(&written.text, "value", |b64| {
        wrap_crlf_76(b64.trim_end_matches('='))
    });
    std::fs::write(&written.path, bom_utf8(&unpadded)).unwrap();
    let reason = written.reader().unwrap().keys()[0]
        .unusable_reason
        .clone()
        .unwrap();
    assert!(
        reason.starts_with("the <masterKey> value is not base64: length is not a multiple of 4 after removing whitespace"),
        "{reason}"
    );
}

#[test]
fn bad_or_missing_kek_elements_name_the_problem() {
    let written = write_key(with_kek());
    let reason = |text: &str| {
        std::fs::write(&written.path, bom_utf8(text)).unwrap();
        written.reader().unwrap().keys()[0]
            .unusable_reason
            .clone()
            .unwrap()
    };
    let bad = map_elements(&written.text, "value", |b64| {
        format!("{}#{}", &b64[..4], &b64[4..])
    });
    let got = reason(&bad);
    assert!(
        got.ends_with(
            "the KEK-encrypted element's <value> is not base64: invalid character '#' at offset 4"
        ),
        "{got}"
    );
    let got = reason(&map_elements(&written.text, "nonce", |_| {
        "\r\n  ".to_owned()
    }));
    assert!(
        got.ends_with("the KEK-encrypted element's <nonce> is not base64: empty"),
        "{got}"
    );
    let start = written.text.find("<nonce>").unwrap();
    let end = written.text.find("</nonce>").unwrap() + "</nonce>".len();
    let missing = format!("{}{}", &written.text[..start], &written.text[end..]);
    let got = reason(&missing);
    assert!(
        got.ends_with("the KEK-encrypted element lacks <nonce>"),
        "{got}"
    );
}
