//! Writes the seed corpora: `seed_corpus OUT_DIR [VECTORS_DIR]` fills `OUT_DIR/<target>/`
//! with built-in seeds (payloads made by the fixed ring, the fixed keys, encrypted secrets
//! made with the fixed KEK and certificate, ...) and, when VECTORS_DIR (`testdata/vectors`)
//! exists, seeds taken from the known-answer vectors. Run by `fuzz/seed.sh`.

use std::path::{Path, PathBuf};

use keyward::at_rest::{XmlEncryptor, ENCRYPTED_XML_DECRYPTOR_TYPE, KEK_DECRYPTOR_TYPE};
use keyward::store::XmlElement;
use keyward::time::macros::datetime;
use keyward::to_ticks;
use keyward_fuzz as fx;

struct Seeds {
    root: PathBuf,
    count: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, data: impl AsRef<[u8]>) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(dir.join(format!("seed-{name}")), data).expect("write a seed");
        self.count += 1;
    }

    fn with_shape(&mut self, target: &str, name: &str, shape: u8, data: impl AsRef<[u8]>) {
        let mut bytes = vec![shape];
        bytes.extend_from_slice(data.as_ref());
        self.put(target, name, bytes);
    }
}

fn master_key() -> XmlElement {
    XmlElement::new("masterKey").child(XmlElement::new("value").text(
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
    ))
}

/// The encrypted element as keyward places it inside `<encryptedSecret>`.
fn inner(element: keyward::at_rest::EncryptedElement) -> String {
    let mut element = element.element;
    if element.attribute("xmlns").is_none() {
        element = element.attr("xmlns", "");
    }
    element.to_compact()
}

/// The text between `<tag` and `</tag>` (inclusive), if any.
fn element_text<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{tag}"))?;
    let end_tag = format!("</{tag}>");
    let end = start + text[start..].find(&end_tag)? + end_tag.len();
    Some(&text[start..end])
}

/// The children of the first `<encryptedSecret …>` element, as text.
fn encrypted_secret_inner(text: &str) -> Option<&str> {
    let secret = element_text(text, "encryptedSecret")?;
    let open_end = secret.find('>')? + 1;
    let close = secret.rfind("</encryptedSecret>")?;
    Some(secret[open_end..close].trim())
}

fn builtin(seeds: &mut Seeds) {
    let provider = fx::fixed_provider();
    let protector = provider.protector(fx::PURPOSES);
    let gcm = fx::gcm_only_provider().protector(fx::PURPOSES);
    for (name, plaintext) in [
        ("empty", Vec::new()),
        ("a", b"a".to_vec()),
        ("hello", b"hello world".to_vec()),
        ("300", (0..300u16).map(|i| (i % 251) as u8).collect()),
    ] {
        let cbc = protector.protect(&plaintext).expect("protect");
        assert_eq!(protector.unprotect(&cbc).expect("cbc seed"), plaintext);
        seeds.put("payload_unprotect", &format!("cbc-{name}"), &cbc);
        let gcm_payload = gcm.protect(&plaintext).expect("protect");
        assert_eq!(
            protector.unprotect(&gcm_payload).expect("gcm seed"),
            plaintext
        );
        seeds.put("payload_unprotect", &format!("gcm-{name}"), &gcm_payload);
    }
    let text = protector.protect_str("text payload").expect("protect");
    seeds.put("payload_unprotect", "cbc-text-base64url", &text);
    let mut header_only = keyward::payload::MAGIC.to_vec();
    header_only.extend_from_slice(&[0; 16]);
    seeds.put("payload_unprotect", "header-only", &header_only);

    let ticks = |at| to_ticks(at).to_be_bytes().to_vec();
    let with = |mut head: Vec<u8>, tail: &[u8]| {
        head.extend_from_slice(tail);
        head
    };
    seeds.put(
        "time_limited",
        "soon-hello",
        with(ticks(fx::soon()), b"hello"),
    );
    seeds.put(
        "time_limited",
        "max-empty",
        ticks(keyward::max_expiration()),
    );
    seeds.put(
        "time_limited",
        "expired",
        with(ticks(datetime!(2000-01-01 0:00 UTC)), b"x"),
    );
    seeds.put("time_limited", "now", with(ticks(fx::NOW), b"\xff\xfe"));
    seeds.put("time_limited", "seven-bytes", [1u8, 2, 3, 4, 5, 6, 7]);
    seeds.put(
        "time_limited",
        "max-ticks",
        with(u64::MAX.to_be_bytes().to_vec(), b"y"),
    );

    let key_id: keyward::KeyId = fx::TEMPLATE_KEY_ID.parse().expect("id");
    let kek_inner = inner(fx::kek_ring().encrypt(key_id, &master_key()).expect("kek"));
    let cert_inner = inner(
        fx::certificates()
            .encrypt(key_id, &master_key())
            .expect("certificate"),
    );
    let kek_secret = fx::encrypted_secret(KEK_DECRYPTOR_TYPE, &kek_inner);
    let cert_secret = fx::encrypted_secret(ENCRYPTED_XML_DECRYPTOR_TYPE, &cert_inner);
    // The seeds must open: check that each makes a usable key.
    for secret in [&kek_secret, &cert_secret] {
        let provider = fx::builder()
            .key_encryption_keys(fx::kek_ring())
            .certificates(fx::certificates())
            .repository(fx::RawRepository(vec![fx::key_with_secret(secret)]))
            .build()
            .expect("template ring");
        let keys = provider.keys();
        assert!(
            keys.len() == 1 && keys[0].unusable_reason.is_none(),
            "seed key unusable: {:?}",
            keys[0].unusable_reason
        );
    }
    seeds.with_shape(
        "encrypted_secret",
        "plain-master-key",
        0,
        master_key().to_compact(),
    );
    seeds.with_shape("encrypted_secret", "kek-whole", 0, &kek_secret);
    seeds.with_shape("encrypted_secret", "cert-whole", 0, &cert_secret);
    seeds.with_shape("encrypted_secret", "kek-inner", 1, &kek_inner);
    seeds.with_shape("encrypted_secret", "cert-inner", 2, &cert_inner);

    let revocation = format!(
        r#"<revocation version="1"><revocationDate>2026-03-01T00:00:00Z</revocationDate><key id="{}" /><reason>lost &lt;laptop&gt;</reason></revocation>"#,
        fx::CBC_KEY_ID
    );
    let mass = r#"<?xml version="1.0" encoding="utf-8"?>
<revocation version="1">
  <revocationDate>2026-05-01T00:00:00Z</revocationDate>
  <!-- All keys created before the revocation date are revoked. -->
  <key id="*" />
  <reason>rotate</reason>
</revocation>
"#;
    seeds.with_shape("revocation", "one-key", 0, &revocation);
    seeds.with_shape("revocation", "all-keys", 0, mass);
    seeds.with_shape("revocation", "date", 1, "2026-03-01T00:00:00Z");
    seeds.with_shape(
        "revocation",
        "date-offset",
        1,
        "2025-12-31T23:59:59.1234567+01:00",
    );
    seeds.with_shape("revocation", "date-late", 1, "9999-12-31T23:59:59.9999999Z");
    seeds.with_shape("revocation", "id", 2, fx::CBC_KEY_ID);
    seeds.with_shape("revocation", "id-star", 2, " * ");
    seeds.with_shape(
        "revocation",
        "id-braces",
        2,
        format!("{{{}}}", fx::CBC_KEY_ID),
    );

    let container = format!(
        "<repository>{}{}{revocation}</repository>",
        fx::CBC_KEY_XML.trim_start_matches(r#"<?xml version="1.0" encoding="utf-8"?>"#),
        fx::GCM_KEY_XML
    );
    for target in ["key_xml", "xml_element"] {
        seeds.put(
            target,
            "cbc-key-document",
            format!("\u{feff}{}", fx::CBC_KEY_XML),
        );
        seeds.put(target, "gcm-key-compact", fx::GCM_KEY_XML);
        seeds.put(target, "kek-key", fx::key_with_secret(&kek_secret));
        seeds.put(target, "revocation", &revocation);
        seeds.put(target, "container", &container);
    }
    for (name, text) in [
        (
            "namespaces",
            r#"<a xmlns="urn:x" xmlns:p="urn:p"><b p:c="1"><d xmlns="" /></b><p:e xml:lang="en"/></a>"#,
        ),
        (
            "mixed",
            "<k v=\"&lt;&amp;&gt;&quot;&#xA;&#x9;\">x&amp;y<!--note--><![CDATA[<z>]]>tail<i/>\u{e9}</k>",
        ),
        ("declaration", "<?xml version=\"1.0\"?>\n<?pi data?>\n<r>\n  <s>1</s>\n</r>\n"),
    ] {
        seeds.put("xml_element", name, text);
    }

    for (shape, name, text) in [
        (0u8, "redis-key", "127.0.0.1:6379/0?key=DataProtection-Keys"),
        (1, "rediss", "cache.example:6380/2?protocol=resp3"),
        (
            2,
            "postgres-table",
            "db:5432/shop?table=DataProtectionKeys&schema=public",
        ),
        (0, "at-in-path", "h:1/0?x=a@b/c"),
        (4, "user-host", "app.user%40corp\n[::1]:5432/db"),
        (5, "user-colon", "u:x\nh/0"),
        (8, "query", "db/shop?sslmode=disable&table=T"),
        (10, "query-only", "application_name=a&user=u"),
        (12, "pg-keyvalue", "host=db port=5432 user=app dbname=shop"),
        (16, "redis-unix", "/run/redis/redis.sock?db=2"),
        (17, "unix", "/tmp/redis.sock"),
    ] {
        seeds.with_shape("repository_url", name, shape, text);
    }

    for (name, text) in [
        ("90d", "90d"),
        ("1d12h", "1d12h"),
        ("2w", "2w"),
        ("plus30d", "+30d"),
        ("minus2h", "-2h"),
        ("now", "now"),
        ("rfc3339", "2027-01-31T12:00:00Z"),
        ("rfc3339-offset", "2027-01-31T12:00:00.123+01:00"),
        ("max", "9999-12-31T23:59:59Z"),
        ("big", "+3650000d"),
        ("spaces", " 30m "),
    ] {
        seeds.put("timespec", name, text);
    }
}

fn from_vectors(seeds: &mut Seeds, vectors: &Path) {
    let read = |path: PathBuf| std::fs::read_to_string(path).ok();
    let mut xml_files: Vec<PathBuf> = Vec::new();
    for dir in [
        "keys",
        "aspnetcore-real/ring",
        "aspnetcore-real/ring-unconfigured",
    ] {
        if let Ok(entries) = std::fs::read_dir(vectors.join(dir)) {
            xml_files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    xml_files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    xml_files.sort();
    for path in xml_files {
        let Some(text) = read(path.clone()) else {
            continue;
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("vectors-{stem}");
        seeds.put("key_xml", &name, &text);
        seeds.put("xml_element", &name, &text);
        if text.contains("<revocation") {
            if let Some(revocation) = element_text(&text, "revocation") {
                seeds.with_shape("revocation", &name, 0, revocation);
            }
        }
        if let Some(secret) = element_text(&text, "encryptedSecret") {
            seeds.with_shape("encrypted_secret", &format!("{name}-whole"), 0, secret);
        }
        if let Some(inner) = encrypted_secret_inner(&text) {
            seeds.with_shape("encrypted_secret", &format!("{name}-inner"), 2, inner);
        }
    }
    // Payloads .NET made (other keys: the envelope and lookup paths), a few of each kind.
    if let Some(cases) = read(vectors.join("aspnetcore-real/cases.json")) {
        let mut taken = 0;
        for (i, chunk) in cases.split("\"payload\": \"").skip(1).enumerate() {
            let Some(end) = chunk.find('"') else { continue };
            let payload = &chunk[..end];
            if payload.len() > 2000 || taken >= 6 {
                continue;
            }
            seeds.put("payload_unprotect", &format!("vectors-text-{i}"), payload);
            if let Ok(bytes) = keyward::encoding::base64url_decode(payload) {
                seeds.put("payload_unprotect", &format!("vectors-{i}"), bytes);
            }
            taken += 1;
        }
    }
}

/// The string values of `"field": "…"` in a JSON text (the vectors hold no escaped quotes in
/// these fields).
fn json_strings<'a>(text: &'a str, field: &str) -> Vec<&'a str> {
    let marker = format!("\"{field}\": \"");
    text.split(marker.as_str())
        .skip(1)
        .filter_map(|chunk| chunk.find('"').map(|end| &chunk[..end]))
        .collect()
}

/// Seeds for the ASP.NET Core login and classic machineKey targets.
fn login_and_machinekey_seeds(seeds: &mut Seeds, vectors: &Path) {
    let read = |path: PathBuf| std::fs::read_to_string(path).ok();
    if let Some(cases) = read(vectors.join("aspnetcore-real/cases.json")) {
        // The serialized tickets of the real login cookies (base64 → base64url to decode).
        for (i, b64) in json_strings(&cases, "plaintext_b64")
            .into_iter()
            .enumerate()
        {
            let url: String = b64
                .chars()
                .filter(|c| *c != '=')
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    c => c,
                })
                .collect();
            if let Ok(bytes) = keyward::encoding::base64url_decode(&url) {
                seeds.put("ticket_serializer", &format!("vectors-{i}"), bytes);
            }
        }
        for (i, header) in json_strings(&cases, "cookie_header")
            .into_iter()
            .enumerate()
        {
            seeds.put("cookie_header", &format!("vectors-{i}"), header);
        }
    }
    if let Some(legacy) = read(vectors.join("legacy-machinekey.json")) {
        for field in ["ticket_hex", "viewstate", "protected", "token"] {
            for (i, value) in json_strings(&legacy, field).into_iter().enumerate() {
                seeds.put(
                    "machinekey_payloads",
                    &format!("vectors-{field}-{i}"),
                    value,
                );
            }
        }
    }
    for dir in ["forms", "viewstate", "protect"] {
        let path = vectors.join("../machinekey").join(dir).join("web.config");
        if let Some(text) = read(path) {
            seeds.put("web_config", &format!("vectors-{dir}"), text);
        }
    }
    seeds.put(
        "cookie_header",
        "chunked",
        "Cookie: a=chunks-2; aC1=xy; aC2=z; b=1",
    );
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let vectors = args.next().map(PathBuf::from);
    let mut seeds = Seeds { root, count: 0 };
    builtin(&mut seeds);
    let builtin_count = seeds.count;
    match vectors {
        Some(vectors) if vectors.is_dir() => {
            from_vectors(&mut seeds, &vectors);
            login_and_machinekey_seeds(&mut seeds, &vectors);
            eprintln!(
                "seeds: {builtin_count} built in, {} from {}",
                seeds.count - builtin_count,
                vectors.display()
            );
        }
        Some(vectors) => eprintln!(
            "seeds: {builtin_count} built in; {} is missing, no seeds from the vectors",
            vectors.display()
        ),
        None => eprintln!("seeds: {builtin_count} built in"),
    }
}
