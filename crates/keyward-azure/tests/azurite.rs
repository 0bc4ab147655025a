//! The Azure Blob repository against Azurite (the Azure Storage emulator), from
//! `KEYWARD_TEST_AZURE_CONNECTION_STRING` (default `UseDevelopmentStorage=true`, Azurite on
//! 127.0.0.1:10000). Each test uses its own container. In CI a missing Azurite fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::{Arc, Barrier};

use keyward::store::KeyRepository;
use keyward::Provider;
use keyward_azure::{AzureBlobRepository, BlobLocation};
use keyward_conformance::{reachable, Capabilities};

fn connection_string() -> String {
    std::env::var("KEYWARD_TEST_AZURE_CONNECTION_STRING")
        .unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

/// A container name unique to this run (lowercase letters and digits).
fn container() -> String {
    format!("kw{}", keyward::KeyId::random().as_uuid().simple())
}

fn repository(container: &str) -> Option<AzureBlobRepository> {
    let location =
        BlobLocation::from_connection_string(&connection_string(), container, "keys.xml").unwrap();
    let repository = AzureBlobRepository::new(location).unwrap();
    // One read shows whether Azurite answers (an empty container reads as an empty ring).
    reachable("Azurite", repository.load_elements().map(|_| ())).map(|()| repository)
}

keyward_conformance::repository_tests!(
    || repository(&container()),
    Capabilities {
        ordered: true,
        deletes: true,
    }
);

#[test]
fn eight_nodes_starting_together_write_one_key() {
    let container = container();
    if repository(&container).is_none() {
        return;
    }
    const NODES: usize = 8;
    let barrier = Arc::new(Barrier::new(NODES));
    let providers: Vec<Provider> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..NODES)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let container = container.clone();
                scope.spawn(move || {
                    let repository = repository(&container).unwrap();
                    barrier.wait();
                    let provider = Provider::builder()
                        .application_name("farm")
                        .repository(repository)
                        .build()
                        .unwrap();
                    provider.ensure_default_key().unwrap();
                    provider
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored = repository(&container).unwrap().load_elements().unwrap();
    assert_eq!(stored.len(), 1, "one key for {NODES} nodes");
    let payload = providers[0].protector(["x"]).protect(b"farm").unwrap();
    for provider in &providers {
        assert_eq!(
            provider.protector(["x"]).unprotect(&payload).unwrap(),
            b"farm"
        );
    }
}

/// A revocation written by one node reaches a watching node within its poll interval.
#[test]
fn a_revocation_reaches_a_polling_node() {
    let container = container();
    let Some(first) = repository(&container) else {
        return;
    };
    let watching = Provider::builder()
        .application_name("farm")
        .repository(first.with_poll_interval(std::time::Duration::from_millis(200)))
        .build()
        .unwrap();
    let payload = watching.protector(["x"]).protect(b"y").unwrap();
    let key = watching.keys()[0].id;
    let other = Provider::builder()
        .application_name("farm")
        .repository(repository(&container).unwrap())
        .watch_changes(false)
        .build()
        .unwrap();
    other
        .revoke(
            keyward::revocation::RevocationTarget::Key(key),
            "test",
            false,
        )
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        match watching.protector(["x"]).unprotect(&payload) {
            Err(keyward::Error::KeyRevoked(_)) => break,
            Ok(_) => {}
            Err(error) => panic!("{error}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the revocation did not arrive within 2 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A blob saved as .NET's `XDocument.Save` writes it (byte-order mark, declaration, CRLF,
/// indentation) is read, and keyward's next write keeps every element .NET wrote.
#[test]
fn a_blob_dotnet_saved_is_read_and_kept() {
    let container = container();
    let Some(repository) = repository(&container) else {
        return;
    };
    let key = "<key id=\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\" version=\"1\">\r\n    <creationDate>2026-01-01T00:00:00Z</creationDate>\r\n    <activationDate>2026-01-01T00:00:00Z</activationDate>\r\n    <expirationDate>2026-04-01T00:00:00Z</expirationDate>\r\n  </key>";
    let saved = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<repository>\r\n  {key}\r\n</repository>"
    );
    keyward_azure::testing::upload(&repository, saved.as_bytes()).unwrap();
    let stored = repository.load_elements().unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0]
        .xml
        .contains("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
    repository
        .store_element(
            &keyward::store::XmlElement::new("revocation").attr("version", "1"),
            "revocation",
        )
        .unwrap();
    let fresh = self::repository(&container).unwrap();
    let all = fresh.load_elements().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].xml.contains("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
    assert!(all[1].xml.starts_with("<revocation"));
}

/// A blob larger than the bound is refused before it is parsed.
#[test]
fn an_oversized_blob_is_refused() {
    let container = container();
    let Some(repository) = repository(&container) else {
        return;
    };
    let big = vec![b' '; keyward_azure::MAX_BLOB_BYTES as usize + 1];
    keyward_azure::testing::upload(&repository, &big).unwrap();
    let location =
        BlobLocation::from_connection_string(&connection_string(), &container, "keys.xml").unwrap();
    let error = AzureBlobRepository::new(location)
        .unwrap()
        .load_elements()
        .unwrap_err()
        .to_string();
    assert!(error.contains("at most"), "{error}");
}

/// A private Azurite keeping its data in `dir`, on `port`.
struct PrivateAzurite(std::process::Child);

impl PrivateAzurite {
    fn start(dir: &std::path::Path, port: u16) -> Self {
        let child = std::process::Command::new("azurite-blob")
            .args([
                "--silent",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
            ])
            .arg("--location")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start azurite-blob");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "Azurite did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self(child)
    }
}

impl Drop for PrivateAzurite {
    /// Stops it as an operator would (SIGTERM: it saves its data first).
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while matches!(self.0.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Azurite stopped and started again mid-run: while it is down the node keeps working from
/// memory and creates nothing; afterwards the ring is what it was.
#[test]
fn a_store_that_restarts_loses_nothing_and_gains_nothing() {
    let installed = std::process::Command::new("azurite-blob")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install azurite-blob (npm install -g azurite@3)"
        );
        eprintln!("skipped: azurite-blob is not installed");
        return;
    }
    let data = tempfile_dir();
    let port = keyward_conformance::support::spare_port();
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1"
    );
    let open = || {
        AzureBlobRepository::new(
            BlobLocation::from_connection_string(&connection, "keys", "ring.xml").unwrap(),
        )
        .unwrap()
    };
    let azurite = PrivateAzurite::start(&data, port);
    let provider = Provider::builder()
        .application_name("farm")
        .repository(open())
        .watch_changes(false)
        .build()
        .unwrap();
    let payload = provider.protector(["x"]).protect(b"kept").unwrap();
    assert_eq!(provider.keys().len(), 1);

    drop(azurite);
    assert!(
        provider.refresh().is_err(),
        "a store that is down is an error"
    );
    assert_eq!(
        provider.protector(["x"]).unprotect(&payload).unwrap(),
        b"kept"
    );
    provider.protector(["x"]).protect(b"still").unwrap();
    assert_eq!(
        provider.keys().len(),
        1,
        "nothing created while the store was down"
    );

    let _azurite = PrivateAzurite::start(&data, port);
    provider.refresh().unwrap();
    assert_eq!(
        open().load_elements().unwrap().len(),
        1,
        "nothing lost, nothing added"
    );
    let fresh = Provider::builder()
        .application_name("farm")
        .repository(open())
        .watch_changes(false)
        .build()
        .unwrap();
    assert_eq!(fresh.protector(["x"]).unprotect(&payload).unwrap(), b"kept");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "keyward-azurite-{}",
        keyward::KeyId::random().as_uuid().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What .NET's reader needs of the blob: `XmlReader` with DTDs prohibited, `XDocument.Load`,
/// then each child of the root, by name. So: a well-formed UTF-8 document without a DTD (a
/// strict parser of its own, roxmltree, reads it), root `<repository>` without a namespace,
/// the keys .NET wrote (from ASP.NET Core 10's own files) back as .NET wrote them — names with
/// their namespaces, attributes, text — and keyward's own key and revocation with the parts
/// .NET's key manager reads. The content type is .NET's.
#[test]
fn the_blob_keyward_writes_is_a_document_dotnet_reads() {
    let container = container();
    let Some(repository) = repository(&container) else {
        return;
    };
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(keyward_testdata::real_dir().join("ring"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "xml"))
            .collect();
    files.sort();
    assert_eq!(files.len(), 3, "two keys and a revocation written by .NET");
    let written_by_dotnet: Vec<String> = files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    for text in &written_by_dotnet {
        let element = keyward::store::parse_element(text.trim_start_matches('\u{feff}')).unwrap();
        repository.store_element(&element, "from-dotnet").unwrap();
    }
    let copy = self::repository(&container).unwrap();
    let provider = Provider::builder()
        .application_name("shop")
        .repository(repository)
        .build()
        .unwrap();
    // .NET's most recent key is revoked: keyward writes a default key of its own, as .NET
    // would; then it revokes .NET's other key.
    let own_key = provider.ensure_default_key().unwrap();
    let dotnet_key: keyward::KeyId = "a1f2cab3-8e12-4727-947e-8f42f5ccf8cb".parse().unwrap();
    provider
        .revoke_key(dotnet_key, "checking the shape")
        .unwrap();

    let (bytes, content_type) = keyward_azure::testing::download(&copy).unwrap().unwrap();
    assert_eq!(content_type, "application/xml; charset=utf-8");
    let text = std::str::from_utf8(&bytes).unwrap();
    let document = roxmltree::Document::parse(text).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "repository");
    assert_eq!(root.tag_name().namespace(), None);
    let children: Vec<roxmltree::Node<'_, '_>> =
        root.children().filter(|n| n.is_element()).collect();
    let names: Vec<String> = children
        .iter()
        .map(|n| format!("{} {:?}", n.tag_name().name(), n.attribute("id")))
        .collect();
    assert_eq!(children.len(), 5, "{names:?}");
    for (stored, original) in children.iter().zip(&written_by_dotnet) {
        let original = roxmltree::Document::parse(original.trim_start_matches('\u{feff}')).unwrap();
        assert_same_tree(*stored, original.root_element());
    }

    let key = children[3];
    assert_eq!(key.tag_name().name(), "key");
    assert_eq!(key.attribute("id"), Some(own_key.to_string().as_str()));
    assert_eq!(key.attribute("version"), Some("1"));
    for date in ["creationDate", "activationDate", "expirationDate"] {
        let value = child(key, date).text().unwrap();
        assert!(
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{date}: {value}"
        );
    }
    let descriptor = child(key, "descriptor");
    assert!(descriptor
        .attribute("deserializerType")
        .unwrap()
        .starts_with("Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection"));
    let master_key = child(child(descriptor, "descriptor"), "masterKey");
    assert_eq!(
        master_key.attribute((
            "http://schemas.asp.net/2015/03/dataProtection",
            "requiresEncryption"
        )),
        Some("true")
    );
    assert_eq!(
        child(master_key, "value").text().unwrap().len(),
        88,
        "64 bytes, base64"
    );

    let revocation = children[4];
    assert_eq!(revocation.tag_name().name(), "revocation");
    assert_eq!(revocation.attribute("version"), Some("1"));
    assert_eq!(
        child(revocation, "key").attribute("id"),
        Some(dotnet_key.to_string().as_str())
    );
    assert!(child(revocation, "revocationDate").text().is_some());
    assert_eq!(
        child(revocation, "reason").text(),
        Some("checking the shape")
    );
}

/// The one child element of `node` named `name`.
fn child<'a, 'input>(node: roxmltree::Node<'a, 'input>, name: &str) -> roxmltree::Node<'a, 'input> {
    let mut found = node
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == name);
    let first = found.next().unwrap_or_else(|| panic!("no <{name}>"));
    assert!(found.next().is_none(), "more than one <{name}>");
    first
}

/// Same element names (with namespaces), attributes and non-blank text, recursively
/// (comments and indentation aside).
fn assert_same_tree(stored: roxmltree::Node<'_, '_>, original: roxmltree::Node<'_, '_>) {
    assert_eq!(stored.tag_name(), original.tag_name());
    let attributes = |node: roxmltree::Node<'_, '_>| {
        let mut all: Vec<(Option<String>, String, String)> = node
            .attributes()
            .map(|a| {
                (
                    a.namespace().map(str::to_owned),
                    a.name().to_owned(),
                    a.value().to_owned(),
                )
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(
        attributes(stored),
        attributes(original),
        "<{}>",
        original.tag_name().name()
    );
    let text = |node: roxmltree::Node<'_, '_>| -> String {
        node.children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<String>()
            .trim()
            .to_owned()
    };
    assert_eq!(text(stored), text(original));
    let (stored, original) = (element_children(stored), element_children(original));
    assert_eq!(stored.len(), original.len());
    for (a, b) in stored.into_iter().zip(original) {
        assert_same_tree(a, b);
    }
}

fn element_children<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
) -> Vec<roxmltree::Node<'a, 'input>> {
    node.children().filter(|n| n.is_element()).collect()
}
