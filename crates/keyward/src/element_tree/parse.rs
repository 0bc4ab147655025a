//! Reading stored documents into [`XmlElement`]s, with every limit untrusted XML gets.

use super::{XmlElement, XmlNode};

/// The most bytes a stored document may have (a key is about 1 KiB; a container of many
/// keys stays far below this).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// The most nodes (elements, text, comments, attributes) a stored document may have.
pub const MAX_NODES: u32 = 100_000;
/// The deepest element nesting a stored document may have. Key XML nests six levels; .NET's
/// EncryptedXml about eight.
pub const MAX_DEPTH: usize = 64;

/// Parses untrusted XML text with every limit keyward applies to stored documents: size
/// ([`MAX_DOCUMENT_BYTES`]), nodes ([`MAX_NODES`]), nesting ([`MAX_DEPTH`]), and no DTD
/// (so no entity expansion). A leading BOM is skipped. Every XML read in keyward goes
/// through here.
///
/// # Errors
/// A short reason, for [`crate::error::Error::KeyXml`].
pub(crate) fn parse_limited(text: &str) -> std::result::Result<roxmltree::Document<'_>, String> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "document is {} bytes, more than the {MAX_DOCUMENT_BYTES}-byte limit",
            text.len()
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| e.to_string())?;
    // Document order puts every parent before its children: one pass gives each node's depth.
    let mut depths: Vec<usize> = Vec::new();
    for node in doc.root().descendants() {
        let depth = node
            .parent()
            .and_then(|p| depths.get(p.id().get_usize()).copied())
            .map_or(0, |d| d + 1);
        if depth > MAX_DEPTH && node.is_element() {
            return Err(format!("elements nest more than {MAX_DEPTH} levels deep"));
        }
        let index = node.id().get_usize();
        if depths.len() <= index {
            depths.resize(index + 1, 0);
        }
        depths[index] = depth;
    }
    Ok(doc)
}

/// Parses a stored document (a file with declaration and BOM, or a single-line element) into
/// an [`XmlElement`], dropping whitespace-only text between elements; DTDs are refused, and
/// the limits of stored documents apply (4 MiB, 100 000 nodes, elements nested at most 64
/// deep). Used to move elements between repositories (`keyward keys migrate`).
///
/// ```
/// let element = keyward::store::parse_element("\u{feff}<?xml version=\"1.0\"?>\n<key id=\"x\">\n  <a>1</a>\n</key>\n").unwrap();
/// assert_eq!(element.to_compact(), r#"<key id="x"><a>1</a></key>"#);
/// ```
///
/// # Errors
/// [`crate::error::Error::KeyXml`] when the text is not a well-formed document or exceeds a limit.
pub fn parse_element(text: &str) -> crate::error::Result<XmlElement> {
    let doc = parse_limited(text).map_err(|reason| crate::error::Error::KeyXml {
        location: "element".into(),
        reason,
    })?;
    Ok(convert(doc.root_element()))
}

/// Converts a parsed element and everything under it, without recursion.
fn convert(root: roxmltree::Node<'_, '_>) -> XmlElement {
    // Each open element with the children still to visit and the text run being collected;
    // an element is attached to its parent once its children are done. A text run is every
    // text node between two elements or comments (processing instructions, which are
    // dropped, do not split it), kept unless it is only whitespace (indentation): so the
    // tree read back from keyward's own output is the tree it was written from.
    let mut stack = vec![(shell(root), root.children(), String::new())];
    loop {
        let Some((element, children, run)) = stack.last_mut() else {
            // Unreachable: the root is returned when its children are done.
            return XmlElement::new(root.tag_name().name());
        };
        match children.next() {
            Some(child) if child.is_element() => {
                flush_text(element, run);
                stack.push((shell(child), child.children(), String::new()));
            }
            Some(child) if child.is_comment() => {
                flush_text(element, run);
                element.push_comment(child.text().unwrap_or("").to_owned());
            }
            Some(child) if child.is_text() => run.push_str(child.text().unwrap_or("")),
            Some(_) => {}
            None => {
                flush_text(element, run);
                let Some((finished, _, _)) = stack.pop() else {
                    continue;
                };
                match stack.last_mut() {
                    Some((parent, _, _)) => parent.children.push(XmlNode::Element(finished)),
                    None => return finished,
                }
            }
        }
    }
}

/// Ends a text run: kept as one text child unless it is only whitespace.
fn flush_text(element: &mut XmlElement, run: &mut String) {
    let text = std::mem::take(run);
    if !text.trim().is_empty() {
        element.push_text(text);
    }
}

/// An element's name and attributes (namespace declarations made on it included), with no
/// children yet.
fn shell(node: roxmltree::Node<'_, '_>) -> XmlElement {
    let qualified = |name: &str, namespace: Option<&str>| match namespace
        .and_then(|ns| node.lookup_prefix(ns))
        .filter(|p| !p.is_empty())
    {
        Some(prefix) => format!("{prefix}:{name}"),
        None => name.to_owned(),
    };
    // An element in the default namespace in scope is written without a prefix, even when a
    // prefix maps to the same namespace (which prefix a lookup finds depends on where the
    // declarations sit, so the choice would not survive writing and reading back).
    let name = match node.tag_name().namespace() {
        Some(ns) if node.default_namespace() == Some(ns) => node.tag_name().name().to_owned(),
        namespace => qualified(node.tag_name().name(), namespace),
    };
    let mut element = XmlElement::new(name);
    // Attributes, then the namespace declarations made on this element (.NET's order).
    for attribute in node.attributes() {
        element = element.attr(
            qualified(attribute.name(), attribute.namespace()),
            attribute.value(),
        );
    }
    let parent_namespaces: Vec<(Option<&str>, &str)> = node
        .parent_element()
        .map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect())
        .unwrap_or_default();
    for ns in node.namespaces() {
        if parent_namespaces.contains(&(ns.name(), ns.uri())) {
            continue;
        }
        match ns.name() {
            Some(prefix) => element = element.attr(format!("xmlns:{prefix}"), ns.uri()),
            None => element = element.attr("xmlns", ns.uri()),
        }
    }
    element
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_and_never_overflows_the_stack() {
        let depth = 20_000;
        let text = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let err = parse_element(&text).unwrap_err().to_string();
        assert!(err.contains("nest more than 64"), "{err}");
        let ok = format!("{}x{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert_eq!(parse_element(&ok).unwrap().to_compact(), ok);
        let too_deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(parse_element(&too_deep).is_err());

        // Built by hand, deeper than any stack frame budget allows for recursion.
        let mut element = XmlElement::new("leaf").text("t");
        for _ in 0..200_000 {
            element = XmlElement::new("a").child(element);
        }
        let written = element.to_compact();
        assert!(written.starts_with("<a><a>") && written.ends_with("</a></a>"));
        assert_eq!(written.len(), 200_000 * 7 + "<leaf>t</leaf>".len());
        let cloned_depth = {
            let mut d = 0;
            let mut at = &element;
            while let Some(XmlNode::Element(next)) = at.children().first() {
                d += 1;
                at = next;
            }
            d
        };
        assert_eq!(cloned_depth, 200_000);
        drop(element);
    }

    #[test]
    fn too_many_nodes_or_bytes_are_refused() {
        let many = format!("<r>{}</r>", "<a/>".repeat(MAX_NODES as usize + 1));
        assert!(parse_element(&many).is_err());
        let big = format!("<r>{}</r>", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(parse_element(&big)
            .unwrap_err()
            .to_string()
            .contains("limit"));
    }

    #[test]
    fn text_runs_are_one_node_so_written_output_reads_back_equal() {
        for input in [
            // Found by the xml_element fuzz target: a CR from a character reference.
            "<v>a&#13;b<!--c\r\nd\re--></v>",
            // And: a prefix and the default namespace naming one namespace.
            r#"<a xmlns="urn:p" xmlns:p="urn:p"><b xmlns:p="urn:p"><c/></b><p:d/></a>"#,
            r#"<a xmlns="urn:p" xmlns:p="urn:p"><b :pns="urn:x" xmlns:p="urn:p"><b :pmlns="urn:x" xmlns:p="urn:p">c="1">8d xmlns="" /></b>:p<e xml:lang="en"/>,1">8d xml /></b>:p<e xml:lang="en"/>,</a>"#,
            "<v>abc<?pi data?>\n==</v>",
            "<v>a<?x?> <?y?>b</v>",
            "<v>a<!--c--> b<k/>  <?p?>  </v>",
            "<v> \u{feff}x\"?>\n<?pi data?>\n==</v>",
        ] {
            let element = parse_element(input).unwrap();
            let compact = element.to_compact();
            let again = parse_element(&compact).unwrap();
            assert!(
                again == element,
                "{input:?} -> {compact:?} -> {:?}",
                again.to_compact()
            );
            assert_eq!(again.to_compact(), compact);
            parse_element(&element.to_document()).unwrap();
        }
        assert_eq!(
            parse_element("<v>abc<?pi data?>\n==</v>")
                .unwrap()
                .text_content(),
            "abc\n=="
        );
    }
}
