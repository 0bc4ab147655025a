//! A hostile key file in the key directory: 20 000 nested elements (60 KB). `keys migrate` and
//! `keys rewrap` parse every stored element; they used to overflow the stack (exit 134). They
//! must fail with status 1 and one line naming the problem.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use common::{failure_line, keyward};

#[test]
fn deeply_nested_key_files_fail_cleanly_in_migrate_and_rewrap() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let depth = 20_000;
    let hostile = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    std::fs::write(keys.join("key-hostile.xml"), &hostile).unwrap();
    let target = dir.path().join("copy");

    let migrate = keyward(
        &keys,
        "app",
        &[
            "keys",
            "migrate",
            "--from",
            &format!("file:{}", keys.display()),
            "--to",
            &format!("file:{}", target.display()),
        ],
        None,
    );
    let line = failure_line(&migrate);
    assert!(line.contains("nest more than 64"), "{line}");

    let kek = dir.path().join("kek.b64");
    std::fs::write(&kek, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let rewrap = keyward(
        &keys,
        "app",
        &[
            "--kek-file",
            kek.to_str().unwrap(),
            "keys",
            "rewrap",
            "--yes",
        ],
        None,
    );
    let line = failure_line(&rewrap);
    assert!(line.contains("nest more than 64"), "{line}");
}
