//! Helpers shared by the integration tests: the repository's `testdata` folder, its vectors,
//! hex.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::path::PathBuf;

use serde_json::Value;

/// The repository's `testdata` folder (its `vectors/` are the known-answer vectors), or
/// `KEYWARD_TESTDATA_DIR`. Missing is a failure.
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

/// Every vector in `vectors/aspnetcore.json`.
pub fn aspnetcore_vectors() -> Vec<Value> {
    let path = testdata_dir().join("vectors/aspnetcore.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("vectors JSON");
    doc["vectors"].as_array().expect("a vectors array").clone()
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
