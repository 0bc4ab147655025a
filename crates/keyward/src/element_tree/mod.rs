//! [`XmlElement`]: the minimal XML element tree keyward writes key and revocation documents
//! with, and reads stored documents into (`parse`).
//!
//! Two forms, the two that .NET's repositories use: a document with declaration and two-space
//! indentation ([`XmlElement::to_document`], `XElement.Save`, the file system) and one line with
//! no declaration ([`XmlElement::to_compact`], `ToString(SaveOptions.DisableFormatting)`, Redis
//! and SQL rows). Reading uses `roxmltree` with DTDs refused (see `key::xml`); stored file
//! bytes become text through `decode_document` (UTF-8 or UTF-16, by BOM and declaration).

use std::fmt::Write as _;

/// One XML element: a name, attributes in order, and children.
///
/// ```
/// use keyward::store::XmlElement;
/// let element = XmlElement::new("key").attr("id", "a&b").child(XmlElement::new("x").text("1 < 2"));
/// assert_eq!(element.to_compact(), r#"<key id="a&amp;b"><x>1 &lt; 2</x></key>"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct XmlElement {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<XmlNode>,
}

/// A child of an [`XmlElement`]. `Debug` never shows text or attribute values: an element
/// may carry a master key.
#[derive(Clone, PartialEq, Eq)]
pub enum XmlNode {
    /// A nested element.
    Element(XmlElement),
    /// Character data (escaped on output).
    Text(String),
    /// A comment.
    Comment(String),
}

impl std::fmt::Debug for XmlElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let attributes: Vec<&str> = self.attributes.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("XmlElement")
            .field("name", &self.name)
            .field("attributes", &attributes)
            .field("children", &self.children)
            .finish()
    }
}

impl std::fmt::Debug for XmlNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Element(element) => element.fmt(f),
            Self::Text(text) => write!(f, "Text([redacted; {} bytes])", text.len()),
            Self::Comment(text) => write!(f, "Comment([redacted; {} bytes])", text.len()),
        }
    }
}

impl XmlElement {
    /// An element with no attributes and no children. `name` may carry a prefix (`p4:x`).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute (the name may carry a prefix, or be `xmlns:p`). Characters XML 1.0
    /// forbids become U+FFFD, so the document always parses.
    #[must_use]
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((name.into(), xml_safe(value.into())));
        self
    }

    /// Adds a child element.
    #[must_use]
    pub fn child(mut self, child: XmlElement) -> Self {
        self.children.push(XmlNode::Element(child));
        self
    }

    /// Adds character data (characters XML 1.0 forbids become U+FFFD).
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text.into());
        self
    }

    fn push_text(&mut self, text: String) {
        self.children.push(XmlNode::Text(xml_safe(text)));
    }

    /// Adds a comment (made safe: no `--`, no trailing `-`, no forbidden characters).
    #[must_use]
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.push_comment(text.into());
        self
    }

    fn push_comment(&mut self, text: String) {
        // Comments cannot hold character references: line ends are written as LF, which is
        // what a parser reads back anyway.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut text = xml_safe(text);
        while text.contains("--") {
            text = text.replace("--", "- -");
        }
        if text.ends_with('-') {
            text.push(' ');
        }
        self.children.push(XmlNode::Comment(text));
    }

    /// The element's name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of an attribute, by its written name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The children, in order.
    pub fn children(&self) -> &[XmlNode] {
        &self.children
    }

    /// The children, to change them.
    pub fn children_mut(&mut self) -> &mut Vec<XmlNode> {
        &mut self.children
    }

    /// The first child element with this (written) name.
    pub fn child_element(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find_map(|c| match c {
            XmlNode::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// The element's own text (its text children, concatenated and trimmed).
    pub fn text_content(&self) -> String {
        let text: String = self
            .children
            .iter()
            .filter_map(|c| match c {
                XmlNode::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        text.trim().to_owned()
    }

    /// The element on one line, with no XML declaration.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    /// A whole document: `<?xml version="1.0" encoding="utf-8"?>`, then the element indented
    /// by two spaces, ending with a newline.
    pub fn to_document(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        self.write(&mut out, Some(0));
        out.push('\n');
        out
    }

    /// Writes the element without recursion (an element built by hand may nest deeply).
    fn write(&self, out: &mut String, indent: Option<usize>) {
        /// One open element: its children still to write, and how they are indented.
        struct Open<'a> {
            element: &'a XmlElement,
            next: usize,
            indent: Option<usize>,
            child_indent: Option<usize>,
        }
        let mut stack: Vec<Open<'_>> = Vec::new();
        if let Some(frame) = start_tag(self, out, indent) {
            stack.push(frame_of(self, indent, frame));
        }
        while let Some(top) = stack.last_mut() {
            let Some(child) = top.element.children.get(top.next) else {
                let done = stack.pop();
                if let Some(done) = done {
                    if let (Some(level), Some(_)) = (done.indent, done.child_indent) {
                        out.push('\n');
                        out.push_str(&"  ".repeat(level));
                    }
                    out.push_str("</");
                    out.push_str(&done.element.name);
                    out.push('>');
                }
                continue;
            };
            top.next += 1;
            let child_indent = top.child_indent;
            if let Some(level) = child_indent {
                out.push('\n');
                out.push_str(&"  ".repeat(level));
            }
            match child {
                XmlNode::Element(element) => {
                    if let Some(frame) = start_tag(element, out, child_indent) {
                        stack.push(frame_of(element, child_indent, frame));
                    }
                }
                XmlNode::Text(text) => out.push_str(&escape(text, false)),
                XmlNode::Comment(text) => {
                    let _ = write!(out, "<!--{text}-->");
                }
            }
        }

        /// Writes `<name attrs>` (or `<name attrs />` for an empty element, returning None),
        /// and returns how the children are indented.
        fn start_tag(
            element: &XmlElement,
            out: &mut String,
            indent: Option<usize>,
        ) -> Option<Option<usize>> {
            out.push('<');
            out.push_str(&element.name);
            for (name, value) in &element.attributes {
                let _ = write!(out, " {name}=\"{}\"", escape(value, true));
            }
            if element.children.is_empty() {
                out.push_str(" />");
                return None;
            }
            out.push('>');
            let text_only = element
                .children
                .iter()
                .all(|c| matches!(c, XmlNode::Text(_)));
            Some(if text_only {
                None
            } else {
                indent.map(|n| n + 1)
            })
        }

        fn frame_of(
            element: &XmlElement,
            indent: Option<usize>,
            child_indent: Option<usize>,
        ) -> Open<'_> {
            Open {
                element,
                next: 0,
                indent,
                child_indent,
            }
        }
    }
}

/// Dropping wipes attribute values, text and comments (an element may carry a master key),
/// and takes nested elements apart without recursion, so no document, however deep, can
/// overflow the stack when it is freed.
impl Drop for XmlElement {
    fn drop(&mut self) {
        let mut pending: Vec<XmlElement> = Vec::new();
        wipe_own(self, &mut pending);
        while let Some(mut element) = pending.pop() {
            wipe_own(&mut element, &mut pending);
            // `element` now has no children: dropping it does not recurse.
        }

        /// Wipes `element`'s own strings and moves its child elements to `pending`.
        fn wipe_own(element: &mut XmlElement, pending: &mut Vec<XmlElement>) {
            use zeroize::Zeroize;
            for (_, value) in &mut element.attributes {
                value.zeroize();
            }
            for child in std::mem::take(&mut element.children) {
                match child {
                    XmlNode::Element(nested) => pending.push(nested),
                    XmlNode::Text(mut text) | XmlNode::Comment(mut text) => text.zeroize(),
                }
            }
        }
    }
}

/// Replaces characters XML 1.0 does not allow (most C0 controls, U+FFFE, U+FFFF).
fn xml_safe(text: String) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    };
    if text.chars().all(allowed) {
        return text;
    }
    text.chars()
        .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
        .collect()
}

fn escape(text: &str, attribute: bool) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| {
        // A raw CR would read back as LF (XML normalizes line ends): always a reference.
        matches!(c, '&' | '<' | '>' | '\r') || (attribute && matches!(c, '"' | '\n' | '\t'))
    };
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\t' if attribute => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

mod decode;
mod parse;

pub(crate) use decode::decode_document;
pub(crate) use parse::parse_limited;
pub use parse::{parse_element, MAX_DOCUMENT_BYTES};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_form_indents_mixed_content() {
        let element = XmlElement::new("a")
            .child(XmlElement::new("b").text("1"))
            .child(
                XmlElement::new("c")
                    .comment("note")
                    .child(XmlElement::new("d").attr("x", "\"q\"")),
            );
        assert_eq!(
            element.to_document(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a>\n  <b>1</b>\n  <c>\n    <!--note-->\n    <d x=\"&quot;q&quot;\" />\n  </c>\n</a>\n"
        );
        assert_eq!(
            element.to_compact(),
            "<a><b>1</b><c><!--note--><d x=\"&quot;q&quot;\" /></c></a>"
        );
    }

    #[test]
    fn forbidden_characters_and_comment_dashes_never_break_the_document() {
        let element = XmlElement::new("r")
            .attr("a", "x\u{1}y")
            .text("bell\u{7}\u{FFFF}")
            .comment("---")
            .comment("a-");
        let text = element.to_compact();
        roxmltree::Document::parse(&text).unwrap();
        assert!(!format!("{element:?}").contains("bell"));
    }

    /// 20 000 nested elements (60 KB): refused at parse time, and an element nested that
    /// deep by hand is written and dropped without recursion (this overflowed the stack).
    /// Found by the `xml_element` fuzz target: text split by a processing instruction (or in
    /// several pieces) must read back as the tree keyward writes.
    #[test]
    fn output_parses_back() {
        let element = XmlElement::new("k")
            .attr("v", "<&>\"\n")
            .text("x&y<z>")
            .comment("a--b");
        let text = element.to_compact();
        let doc = roxmltree::Document::parse(&text).unwrap();
        assert_eq!(doc.root_element().attribute("v"), Some("<&>\"\n"));
        assert_eq!(doc.root_element().text(), Some("x&y<z>"));
    }
}
