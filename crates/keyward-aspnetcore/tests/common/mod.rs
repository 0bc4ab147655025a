//! Helpers shared by the integration tests: the repository's `testdata` folder and the real
//! ASP.NET Core cookies in it.
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

/// The folder of the cases ASP.NET Core 10 made.
pub fn real_dir() -> PathBuf {
    testdata_dir().join("vectors/aspnetcore-real")
}

/// The `auth_cookie` cases (both of them, or the test fails).
pub fn auth_cookie_cases() -> Vec<Value> {
    let path = real_dir().join("cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases JSON");
    let found: Vec<Value> = cases
        .into_iter()
        .filter(|c| c["kind"] == "auth_cookie")
        .collect();
    let names: Vec<&str> = found.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        ["simple", "chunked"],
        "the auth_cookie cases changed"
    );
    found
}

pub fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing in case {}", value["name"]))
}
