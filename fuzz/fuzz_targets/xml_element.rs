//! `keyward::parse_element`, and the invariant `keys migrate` relies on: an element that
//! parses, written compact (`to_compact`, the Redis/SQL form) and as a document
//! (`to_document`, the file form), parses again; the compact form to an equal element and
//! to the same compact text.
//!
//! Known and reported (regressions/xml_element/adjacent-text-nodes): `parse_element` keeps
//! two text nodes that a dropped processing instruction separated (`<a>x<?p?>y</a>`), and
//! they come back as one; text nodes are merged before comparing until that is fixed, so
//! the target goes on looking for other differences.
#![no_main]

use keyward::{XmlElement, XmlNode};
use libfuzzer_sys::fuzz_target;

/// Merges adjacent text children, at every level.
fn merge_text(element: &mut XmlElement) {
    let children = std::mem::take(element.children_mut());
    let mut merged: Vec<XmlNode> = Vec::with_capacity(children.len());
    for child in children {
        match (merged.last_mut(), child) {
            (Some(XmlNode::Text(previous)), XmlNode::Text(text)) => previous.push_str(&text),
            (_, XmlNode::Element(mut nested)) => {
                merge_text(&mut nested);
                merged.push(XmlNode::Element(nested));
            }
            (_, other) => merged.push(other),
        }
    }
    *element.children_mut() = merged;
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(element) = keyward::parse_element(text) else {
        return;
    };
    let compact = element.to_compact();
    let reparsed = keyward::parse_element(&compact)
        .unwrap_or_else(|e| panic!("to_compact output does not parse: {e}"));
    assert_eq!(
        reparsed.to_compact(),
        compact,
        "the compact form is not stable (input {text:?})"
    );
    let (mut left, mut right) = (element.clone(), reparsed);
    merge_text(&mut left);
    merge_text(&mut right);
    assert!(
        left == right,
        "the compact form parses to another element:\n input: {text:?}\n compact: {compact:?}"
    );
    let document = element.to_document();
    keyward::parse_element(&document)
        .unwrap_or_else(|e| panic!("to_document output does not parse: {e}"));
});
