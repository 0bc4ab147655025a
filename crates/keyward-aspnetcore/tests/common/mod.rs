//! Helpers shared by the integration tests: the repository's `testdata` folder and the real
//! ASP.NET Core cookies in it.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use serde_json::Value;

#[allow(unused_imports)] // Each test file uses its own part of this.
pub use keyward_testdata::{real_dir, testdata_dir};

/// The `auth_cookie` cases (both of them, or the test fails).
pub fn auth_cookie_cases() -> Vec<Value> {
    let cases: Vec<Value> =
        serde_json::from_value(keyward_testdata::read_json(real_dir().join("cases.json")))
            .expect("cases JSON");
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
