//! Helpers shared by the integration tests: the repository's `testdata` folder and its
//! legacy machineKey vectors.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::path::PathBuf;

use serde_json::Value;

/// The repository's `testdata` folder, or `KEYWARD_TESTDATA_DIR`. Missing is a failure.
pub fn testdata_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KEYWARD_TESTDATA_DIR") {
        return PathBuf::from(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    assert!(
        dir.join("vectors").is_dir(),
        "the vectors are missing at {} (set KEYWARD_TESTDATA_DIR)",
        dir.display()
    );
    dir
}

/// Every vector in `vectors/legacy-machinekey.json`.
pub fn legacy_vectors() -> Vec<Value> {
    let path = testdata_dir().join("vectors/legacy-machinekey.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("vectors JSON");
    doc["vectors"].as_array().expect("a vectors array").clone()
}

pub fn hex(text: &str) -> Vec<u8> {
    keyward_machinekey::encoding::from_hex(text).unwrap_or_else(|| panic!("not hex: {text}"))
}

pub fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing in {}", value["id"]))
}
