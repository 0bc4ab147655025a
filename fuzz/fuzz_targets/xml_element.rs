//! `keyward::store::parse_element`, and the invariant `keys migrate` relies on: an element that
//! parses, written compact (`to_compact`, the Redis/SQL form) and as a document
//! (`to_document`, the file form), parses again; the compact form to an equal element and
//! to the same compact text.
//!
//! Found here and fixed (444b479): text split by a dropped processing instruction read as
//! two nodes (regressions/xml_element/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(element) = keyward::store::parse_element(text) else {
        return;
    };
    let compact = element.to_compact();
    let reparsed = keyward::store::parse_element(&compact)
        .unwrap_or_else(|e| panic!("to_compact output does not parse: {e}"));
    assert_eq!(
        reparsed.to_compact(),
        compact,
        "the compact form is not stable (input {text:?})"
    );
    assert!(
        reparsed == element,
        "the compact form parses to another element:\n input: {text:?}\n compact: {compact:?}"
    );
    let document = element.to_document();
    keyward::store::parse_element(&document)
        .unwrap_or_else(|e| panic!("to_document output does not parse: {e}"));
});
