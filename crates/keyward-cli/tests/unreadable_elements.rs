//! One bad stored element never takes the ring down (issue 21, round 2, item 2): an element
//! over `MAX_DOCUMENT_BYTES` is never transferred whole, a malformed one is not parsed into
//! the ring, and both are listed as unreadable keys (with a reason and where they are), while
//! the good keys beside them still protect and unprotect. On the file store, PostgreSQL and
//! Redis (`KEYWARD_TEST_POSTGRES_URL` / `KEYWARD_TEST_REDIS_URL`; in CI a missing server fails).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use common::*;
use keyward::store::MAX_DOCUMENT_BYTES;

const BAD_ID: &str = "0d3f1c1e-5a55-4b4c-9f0e-4e8f2b1a7c11";

/// A document that does not parse (an unclosed element), naming a key id.
fn malformed() -> String {
    format!("<key id=\"{BAD_ID}\" version=\"1\"><creationDate>2024-01-01T00:00:00Z</creationDate><descriptor>")
}

/// A document one byte over the limit.
fn oversized() -> String {
    let mut text = String::from("<key id=\"1b2c3d4e-0000-4000-8000-000000000001\" version=\"1\">");
    text.push_str(&" ".repeat(MAX_DOCUMENT_BYTES + 1 - text.len() - "</key>".len()));
    text.push_str("</key>");
    assert_eq!(text.len(), MAX_DOCUMENT_BYTES + 1);
    text
}

fn run(repository: &[&str], args: &[&str]) -> std::process::Output {
    let unused = tempfile::tempdir().unwrap();
    let mut all = repository.to_vec();
    all.extend_from_slice(args);
    keyward(unused.path(), "bad", &all, None)
}

/// Protects before the bad elements arrive; after, the payload still unprotects, a new one
/// round-trips, and `keys list --json` lists one good key and the two bad elements as
/// unreadable, with reasons and locations (`where_` names them: file, row, list entry).
fn check(repository: &[&str], plant: impl FnOnce(), where_: &[&str]) {
    let before = ok(&run(repository, &["protect", "--purpose", "p", "before"]));
    plant();
    let started = std::time::Instant::now();
    assert_eq!(
        ok(&run(
            repository,
            &["unprotect", "--purpose", "p", before.trim()]
        ))
        .trim(),
        "before"
    );
    let after = ok(&run(repository, &["protect", "--purpose", "p", "after"]));
    assert_eq!(
        ok(&run(
            repository,
            &["unprotect", "--purpose", "p", after.trim()]
        ))
        .trim(),
        "after"
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(&run(repository, &["keys", "list", "--json"]))).unwrap();
    let rows = list.as_array().unwrap();
    let unreadable: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["status"] == "unreadable")
        .collect();
    assert_eq!(rows.len(), 3, "{list:#}");
    assert_eq!(unreadable.len(), 2, "{list:#}");
    for row in &unreadable {
        let reason = row["reason"].as_str().unwrap();
        assert!(!reason.is_empty(), "{row}");
        let location = row["location"].as_str().unwrap();
        assert!(where_.iter().any(|w| location.contains(w)), "{row}");
    }
    assert!(
        unreadable.iter().any(|r| r["reason"]
            .as_str()
            .unwrap()
            .contains(&MAX_DOCUMENT_BYTES.to_string())),
        "the oversized element says so: {list:#}"
    );
    assert!(
        unreadable.iter().any(|r| r["id"] == BAD_ID),
        "the malformed element is named by its id: {list:#}"
    );
    eprintln!(
        "five commands with the bad elements took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_malformed_and_an_oversized_file_are_unreadable_keys_beside_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let keys_arg = keys.display().to_string();
    check(
        &["--repository", &format!("file:{keys_arg}")],
        || {
            std::fs::write(keys.join("key-malformed.xml"), malformed()).unwrap();
            std::fs::write(keys.join("key-oversized.xml"), oversized()).unwrap();
        },
        &["key-malformed.xml", "key-oversized.xml"],
    );
}

#[test]
fn a_malformed_and_an_oversized_row_are_unreadable_keys_beside_good_ones() {
    let Some(uri) = postgres_uri() else { return };
    let (base, table) = uri.split_once("?table=").unwrap();
    check(
        &["--repository", &uri],
        || {
            let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
            let insert = format!(
                "INSERT INTO public.\"{table}\" (\"FriendlyName\", \"Xml\") VALUES ('malformed', $1), ('oversized', $2)"
            );
            client
                .execute(&insert, &[&malformed(), &oversized()])
                .unwrap();
        },
        &[" row "],
    );
}

#[test]
fn a_malformed_and_an_oversized_list_entry_are_unreadable_keys_beside_good_ones() {
    let Some(uri) = redis_uri() else { return };
    let (base, list) = uri.split_once("?key=").unwrap();
    check(
        &["--repository", &uri],
        || {
            let client = redis::Client::open(base).unwrap();
            let mut connection = client.get_connection().unwrap();
            redis::cmd("RPUSH")
                .arg(list)
                .arg(malformed())
                .arg(oversized())
                .query::<i64>(&mut connection)
                .unwrap();
        },
        &["[1]", "[2]"],
    );
}
