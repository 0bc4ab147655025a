//! Helpers shared by the integration tests: the repository's `testdata` folder and its
//! legacy machineKey vectors.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use serde_json::Value;

#[allow(unused_imports)] // Each test file uses its own part of this.
pub use keyward_testdata::testdata_dir;

/// Every vector in `vectors/legacy-machinekey.json`.
pub fn legacy_vectors() -> Vec<Value> {
    keyward_testdata::vectors_in("vectors/legacy-machinekey.json")
}

pub fn hex(text: &str) -> Vec<u8> {
    keyward_machinekey::encoding::from_hex(text).unwrap_or_else(|| panic!("not hex: {text}"))
}

pub fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing in {}", value["id"]))
}
