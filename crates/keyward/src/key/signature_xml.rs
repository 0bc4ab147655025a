//! keyward's `<keywardSignature>` element in a `<key>` as stored: its name, namespace and
//! algorithm, and reading it (before `at_rest::signature` checks it).

use crate::element_tree::XmlElement;

/// The namespace of the `<keywardSignature>` element.
pub const SIGNATURE_NAMESPACE: &str = "urn:keyward:key-signature";
/// The element's local name.
pub const SIGNATURE_ELEMENT: &str = "keywardSignature";
/// The only algorithm keyward writes and accepts.
pub const SIGNATURE_ALGORITHM: &str = "RSA-PSS-SHA256";

/// A `<keywardSignature>` as stored in a `<key>` (read before it is checked by
/// `at_rest::signature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSignature {
    pub(crate) algorithm: String,
    /// The signing certificate's SHA-1 thumbprint as written (compared case-insensitively).
    pub(crate) certificate: String,
    /// The signature bytes, or why the text is not base64.
    pub(crate) value: std::result::Result<Vec<u8>, String>,
}

/// Whether an element is a `<keywardSignature>` (by local name, whatever its prefix).
pub(crate) fn is_signature_element(element: &XmlElement) -> bool {
    let name = element.name();
    name.rsplit(':').next().unwrap_or(name) == SIGNATURE_ELEMENT
}

/// Reads the `<keywardSignature>` child of a parsed `<key>`, if there is one.
pub(crate) fn read_signature(key: roxmltree::Node<'_, '_>) -> Option<StoredSignature> {
    let node = key.children().find(|c| {
        c.is_element()
            && c.tag_name().name() == SIGNATURE_ELEMENT
            && c.tag_name().namespace() == Some(SIGNATURE_NAMESPACE)
    })?;
    let text: String = node
        .descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|n| n.text())
        .collect();
    Some(StoredSignature {
        algorithm: node.attribute("algorithm").unwrap_or("").to_owned(),
        certificate: node.attribute("certificate").unwrap_or("").to_owned(),
        value: crate::encoding::base64_standard_decode(&text)
            .map_err(|e| format!("the signature is not base64: {e}")),
    })
}
