//! Helpers shared by the integration tests: the repository's `testdata` folder, its vectors,
//! hex.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use serde_json::Value;

#[allow(unused_imports)] // Each test file uses its own part of this.
pub use keyward_testdata::testdata_dir;

/// Every vector in `vectors/aspnetcore.json`.
pub fn aspnetcore_vectors() -> Vec<Value> {
    keyward_testdata::vectors_in("vectors/aspnetcore.json")
}

/// The vectors of one kind; fails if there are none (a renamed kind must not pass silently).
pub fn vectors_of(kind: &str) -> Vec<Value> {
    let found: Vec<Value> = aspnetcore_vectors()
        .into_iter()
        .filter(|v| v["kind"] == kind)
        .collect();
    assert!(!found.is_empty(), "no vectors of kind {kind}");
    found
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing in {value}"))
}

pub fn base64_std(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}
