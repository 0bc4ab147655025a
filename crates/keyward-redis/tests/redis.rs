//! The Redis repository against a real server (`KEYWARD_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`). Each test uses its own list. In CI a missing server fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::Provider;
use keyward_conformance::support::redis_url as url;
use keyward_conformance::{reachable, unique_name, Capabilities};
use keyward_redis::RedisRepository;

fn repository(list: &str) -> Option<RedisRepository> {
    reachable("Redis", RedisRepository::open_with_key(&url(), list))
}

// Every conformance check on a fresh list.
keyward_conformance::repository_tests!(
    || repository(&unique_name("keyward-test")),
    Capabilities {
        ordered: true,
        deletes: true,
    }
);

#[test]
fn elements_are_single_line_xml_as_dotnet_writes_them() {
    let list = unique_name("keyward-test");
    let Some(repo) = repository(&list) else {
        return;
    };
    let provider = Provider::builder()
        .application_name("a")
        .repository(repo)
        .build()
        .unwrap();
    let payload = provider.protector(["p"]).protect(b"x").unwrap();
    let raw = repository(&list).unwrap();
    let stored = keyward::KeyRepository::load_elements(&raw).unwrap();
    assert_eq!(stored.len(), 1);
    let xml = &stored[0].xml;
    assert!(
        xml.starts_with("<key id=\"") && !xml.contains('\n') && !xml.starts_with("<?xml"),
        "{xml}"
    );
    assert!(xml.contains("<masterKey p4:requiresEncryption=\"true\" xmlns:p4=\"http://schemas.asp.net/2015/03/dataProtection\">"));
    // A second node reading the same list unprotects the first node's payload.
    let other = Provider::builder()
        .application_name("a")
        .repository(raw)
        .build()
        .unwrap();
    assert_eq!(other.protector(["p"]).unprotect(&payload).unwrap(), b"x");
}

#[test]
fn an_unreachable_store_is_named_at_open() {
    let err = RedisRepository::open("redis://user:hunter2@127.0.0.1:1/0").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("127.0.0.1:1") && !message.contains("hunter2"),
        "{message}"
    );
}

#[test]
fn pushed_refresh_reaches_another_node_quickly() {
    let list = unique_name("keyward-test");
    let Some(a) = repository(&list) else { return };
    let took =
        keyward_conformance::pushed_refresh_reaches_another_node(a, repository(&list).unwrap());
    eprintln!("revocation reached the other node in {took:?}");
}
