//! The blob's content: one XML document whose root `<repository>` holds the `<key>` and
//! `<revocation>` elements, as .NET's `XDocument.Save` writes it (a declaration, indentation,
//! perhaps a UTF-8 byte-order mark and CRLF line ends).

use keyward::store::{parse_element, XmlElement, XmlNode};
use zeroize::Zeroizing;

/// The elements of a blob, each as compact XML (an empty blob body is an empty ring).
pub(crate) fn elements(body: &[u8], store: &str) -> keyward::Result<Vec<Zeroizing<String>>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| crate::error::failed(store, "the blob is not UTF-8 text"))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let root = parse_element(text)?;
    if root.name() != "repository" {
        return Err(crate::error::failed(
            store,
            format!(
                "the blob's root element is <{}>, not <repository>",
                root.name()
            ),
        ));
    }
    Ok(root
        .children()
        .iter()
        .filter_map(|node| match node {
            XmlNode::Element(element) => Some(Zeroizing::new(element.to_compact())),
            _ => None,
        })
        .collect())
}

/// The document holding `elements` (compact XML each), as keyward writes it: a declaration
/// and a `<repository>` root, which .NET's reader takes.
pub(crate) fn document(elements: &[Zeroizing<String>]) -> keyward::Result<Zeroizing<String>> {
    let mut root = XmlElement::new("repository");
    for text in elements {
        root = root.child(parse_element(text)?);
    }
    Ok(Zeroizing::new(root.to_document()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn reads_what_dotnet_saves_and_round_trips() {
        let saved = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<repository>\r\n  <key id=\"a\" version=\"1\">\r\n    <creationDate>2026-01-01T00:00:00Z</creationDate>\r\n  </key>\r\n  <revocation version=\"1\"><reason>x</reason></revocation>\r\n</repository>";
        let found = elements(saved.as_bytes(), "blob").unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].starts_with("<key id=\"a\""));
        let again = elements(document(&found).unwrap().as_bytes(), "blob").unwrap();
        assert_eq!(
            again.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            found.iter().map(|e| e.as_str()).collect::<Vec<_>>()
        );
        assert!(elements(b"", "blob").unwrap().is_empty());
        assert!(elements(b"<other/>", "blob").is_err());
    }
}
