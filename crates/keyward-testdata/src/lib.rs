//! The repository's `testdata` folder for keyward's tests: one place that finds it (or
//! `KEYWARD_TESTDATA_DIR`), its known-answer vectors and the cases ASP.NET Core made, and
//! reads their JSON. A missing folder or file fails the test, with its path.

#![deny(unsafe_code)] // Only `allocations` allows it, for its global allocator.

pub mod allocations;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository's `testdata` folder, or `KEYWARD_TESTDATA_DIR` when set.
///
/// # Panics
/// When the folder has no `vectors/` folder (the test data is missing).
pub fn testdata_dir() -> PathBuf {
    let dir = match std::env::var_os("KEYWARD_TESTDATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"),
    };
    assert!(
        dir.join("vectors").is_dir(),
        "the vectors are missing at {} (set KEYWARD_TESTDATA_DIR)",
        dir.display()
    );
    dir
}

/// `testdata/vectors`: the known-answer vectors.
///
/// # Panics
/// As [`testdata_dir`].
pub fn vectors_dir() -> PathBuf {
    testdata_dir().join("vectors")
}

/// `testdata/vectors/aspnetcore-real`: the cases ASP.NET Core 10 made.
///
/// # Panics
/// As [`testdata_dir`].
pub fn real_dir() -> PathBuf {
    vectors_dir().join("aspnetcore-real")
}

/// The JSON document at `path` (absolute, or relative to [`testdata_dir`]).
///
/// # Panics
/// When the file cannot be read or is not JSON (naming the file).
pub fn read_json(path: impl AsRef<Path>) -> Value {
    let path = testdata_dir().join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// The `vectors` array of the JSON document at `path` (as [`read_json`]), e.g.
/// `vectors/aspnetcore.json`.
///
/// # Panics
/// As [`read_json`], and when the document has no `vectors` array.
pub fn vectors_in(path: impl AsRef<Path>) -> Vec<Value> {
    let path = path.as_ref();
    match read_json(path) {
        Value::Object(mut doc) => match doc.remove("vectors") {
            Some(Value::Array(vectors)) => vectors,
            _ => panic!("{}: no vectors array", path.display()),
        },
        _ => panic!("{}: no vectors array", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folders_and_files_are_found() {
        assert!(vectors_dir().join("aspnetcore.json").is_file());
        assert!(real_dir().is_dir());
        assert!(!vectors_in("vectors/aspnetcore.json").is_empty());
        // An absolute path is read as it is.
        let absolute = vectors_dir().join("legacy-machinekey.json");
        assert!(read_json(&absolute)["vectors"].is_array());
    }
}
