//! The layer table of `docs/architecture.md` is the truth: every `crate::` and `super::` path
//! in the core's source is read, and a module that reaches a module of a higher layer fails
//! this test (with the file, the line and both layers).

#![allow(clippy::unwrap_used, clippy::panic)] // A test: a panic is a failure with its cause.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers of the table: module path (`key/`, `crypto/rng`, `schedule`) → layer number.
/// A path ending in `/` is a folder; a longer entry wins over a shorter one.
fn layer_table(markdown: &str) -> BTreeMap<String, usize> {
    let mut layers = BTreeMap::new();
    for line in markdown.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | 0. leaves | `clock`, `secret` | … | … |
        let Some(first) = cells.get(1) else { continue };
        let Some((number, _)) = first.split_once('.') else {
            continue;
        };
        let Ok(layer) = number.trim().parse::<usize>() else {
            continue;
        };
        for module in cells[2].split(',') {
            let module = module.trim().trim_matches('`').trim();
            assert!(
                !module.is_empty() && !module.contains(' '),
                "the layer table names a module oddly: {module:?}"
            );
            let previous = layers.insert(module.trim_end_matches('/').to_owned(), layer);
            assert!(previous.is_none(), "{module} is in two layers");
        }
    }
    assert!(
        layers.len() > 10,
        "the layer table of docs/architecture.md was not found"
    );
    layers
}

/// The layer of a module path (`key/xml/write`, `crypto/rng/fill`): its longest entry.
fn layer_of(table: &BTreeMap<String, usize>, module: &str) -> Option<(String, usize)> {
    let mut path = module.to_owned();
    loop {
        if let Some(layer) = table.get(&path) {
            return Some((path, *layer));
        }
        path = path.rsplit_once('/')?.0.to_owned();
    }
}

/// A file's module path: `key/xml/mod.rs` → `key/xml`, `at_rest/kek.rs` → `at_rest/kek`.
fn module_of(relative: &Path) -> String {
    let text = relative.to_string_lossy().replace('\\', "/");
    let text = text.trim_end_matches(".rs");
    text.strip_suffix("/mod").unwrap_or(text).to_owned()
}

/// The code of a line: its comment (a `//` outside a string literal) left out, and the
/// contents of its string literals blanked.
fn code_of(line: &str) -> String {
    let mut code = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => {
                in_string = !in_string;
                code.push('"');
            }
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            _ if in_string => code.push(' '),
            _ => code.push(c),
        }
    }
    code
}

/// Every module path a line reaches: `crate::a::b`, `crate::{a, b}` and `super::c` (resolved
/// from `module`, the file's own module).
fn reached(line: &str, module: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code = code_of(line);
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                out.push(path_of(item.trim()));
            }
        } else {
            out.push(path_of(after));
        }
        rest = after;
    }
    let mut rest = code.as_str();
    while let Some(at) = rest.find("super::") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        let mut after = &rest[at + "super::".len()..];
        if !preceded {
            // `super` of `key/ring.rs` (module `key/ring`) and of `key/xml/mod.rs` (module
            // `key/xml`) alike is one level up; each further `super` one more.
            let mut parent = module.rsplit_once('/').map_or("", |(p, _)| p);
            while let Some(further) = after.strip_prefix("super::") {
                parent = parent.rsplit_once('/').map_or("", |(p, _)| p);
                after = further;
            }
            let target = path_of(after.trim_start_matches('{'));
            out.push(if parent.is_empty() {
                target
            } else {
                format!("{parent}/{target}")
            });
        }
        rest = after;
    }
    out
}

/// `a::b::c::Name` → `a/b/c/Name` (lower-case segments, then the first capitalised one).
fn path_of(text: &str) -> String {
    let mut segments = Vec::new();
    for segment in text.split("::") {
        let name: String = segment
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        let lower = name.starts_with(|c: char| c.is_lowercase() || c == '_');
        segments.push(name);
        if !lower {
            break;
        }
    }
    segments.join("/")
}

/// Every import in `src` that runs up the table: `file:line: from (layer) → to (layer)`.
fn upward_imports(src: &Path, table: &BTreeMap<String, usize>) -> (Vec<String>, usize) {
    let mut upward = Vec::new();
    let mut checked = 0;
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let module = module_of(relative);
        if module == "lib" {
            continue; // The root re-exports everything.
        }
        let (from, from_layer) = layer_of(table, &module).unwrap_or_else(|| {
            panic!(
                "{module} (src/{}) is in no layer of docs/architecture.md: add it to the table",
                relative.display()
            )
        });
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (number, line) in lines.iter().enumerate() {
            // A unit-test module (`#[cfg(test)] mod tests`) is test code, and its `super` is
            // the file itself: the rest of the file is not read.
            if line.trim() == "#[cfg(test)]"
                && lines
                    .get(number + 1)
                    .is_some_and(|next| next.trim_start().starts_with("mod "))
            {
                break;
            }
            for target in reached(line, &module) {
                let Some((to, to_layer)) = layer_of(table, &target) else {
                    continue; // An item of the root (a macro, a re-export) or of `std`.
                };
                checked += 1;
                if to_layer > from_layer {
                    upward.push(format!(
                        "src/{}:{}: {from} (layer {from_layer}) imports {to} (layer {to_layer})",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    (upward, checked)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_module_of_the_core_imports_from_a_layer_above_it() {
    let markdown =
        std::fs::read_to_string(manifest_dir().join("../../docs/architecture.md")).unwrap();
    let table = layer_table(&markdown);
    let (upward, checked) = upward_imports(&manifest_dir().join("src"), &table);
    assert!(checked > 100, "only {checked} imports were read");
    assert!(
        upward.is_empty(),
        "{} import(s) run up the layer table of docs/architecture.md:\n{}",
        upward.len(),
        upward.join("\n")
    );
}

#[test]
fn every_module_of_the_core_is_in_the_table() {
    let markdown =
        std::fs::read_to_string(manifest_dir().join("../../docs/architecture.md")).unwrap();
    let table = layer_table(&markdown);
    let src = manifest_dir().join("src");
    for file in rust_files(&src) {
        let module = module_of(file.strip_prefix(&src).unwrap());
        assert!(
            module == "lib" || layer_of(&table, &module).is_some(),
            "src/{module} is in no layer of docs/architecture.md"
        );
    }
}

#[test]
fn the_check_finds_an_upward_import() {
    let table = layer_table(
        "| layer | modules | what | may import |\n|---|---|---|---|\n\
         | 0. leaves | `clock`, `error/`, `a`, `b`, `c`, `d`, `e`, `f` | x | y |\n\
         | 1. ring | `key/`, `key/xml/`, `schedule` | x | y |\n\
         | 2. api | `provider/` | x | y |\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("key/xml")).unwrap();
    std::fs::create_dir_all(dir.path().join("error")).unwrap();
    // Downward and sideways: fine; so are a comment, a string and a unit-test module.
    std::fs::write(
        dir.path().join("key/ring.rs"),
        "use crate::error::Error;\nuse super::xml::parse; // crate::provider in a comment\nlet s = \"crate::provider::Provider\";\n#[cfg(test)]\nmod tests {\n    use crate::provider::Provider;\n}\n",
    )
    .unwrap();
    // Upward, three ways: a path, a group, and `super` out of a folder.
    std::fs::write(
        dir.path().join("error/mod.rs"),
        "use crate::key::KeyId;\nuse crate::{clock, provider};\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("key/xml/mod.rs"),
        "use super::super::provider::Provider;\n",
    )
    .unwrap();
    let (upward, _) = upward_imports(dir.path(), &table);
    assert_eq!(upward.len(), 3, "{upward:#?}");
    assert!(upward[0].contains("error (layer 0) imports key (layer 1)"));
    assert!(upward[1].contains("error (layer 0) imports provider (layer 2)"));
    assert!(upward[2].contains("key/xml (layer 1) imports provider (layer 2)"));
}
