//! A minimal XML element tree that keyward writes key and revocation documents with.
//!
//! Two forms, the two that .NET's repositories use: a document with declaration and two-space
//! indentation ([`XmlElement::to_document`], `XElement.Save`, the file system) and one line with
//! no declaration ([`XmlElement::to_compact`], `ToString(SaveOptions.DisableFormatting)`, Redis
//! and SQL rows). Reading uses `roxmltree` with DTDs refused (see `key::xml`).

use std::fmt::Write as _;

/// One XML element: a name, attributes in order, and children.
///
/// ```
/// use keyward::XmlElement;
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
        matches!(c, '&' | '<' | '>') || (attribute && matches!(c, '"' | '\n' | '\r' | '\t'))
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
            '\r' if attribute => out.push_str("&#xD;"),
            '\t' if attribute => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

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
/// A short reason, for [`crate::Error::KeyXml`].
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
/// let element = keyward::parse_element("\u{feff}<?xml version=\"1.0\"?>\n<key id=\"x\">\n  <a>1</a>\n</key>\n").unwrap();
/// assert_eq!(element.to_compact(), r#"<key id="x"><a>1</a></key>"#);
/// ```
///
/// # Errors
/// [`crate::Error::KeyXml`] when the text is not a well-formed document or exceeds a limit.
pub fn parse_element(text: &str) -> crate::Result<XmlElement> {
    let doc = parse_limited(text).map_err(|reason| crate::Error::KeyXml {
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
    let mut element = XmlElement::new(qualified(
        node.tag_name().name(),
        node.tag_name().namespace(),
    ));
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

    /// Found by the `xml_element` fuzz target: text split by a processing instruction (or in
    /// several pieces) must read back as the tree keyward writes.
    #[test]
    fn text_runs_are_one_node_so_written_output_reads_back_equal() {
        for input in [
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
