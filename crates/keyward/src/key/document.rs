//! [`KeyDocument`]: one stored key-ring element, typed. What it is, what makes two copies of it
//! the same element whatever their formatting, the name .NET gives it, and where a key keeps
//! its secret. The ring, rewrap and `keyward keys migrate` all read elements through it.

use time::OffsetDateTime;

use super::{date, KeyId};
use crate::element_tree::{XmlElement, XmlNode};
use crate::error::Result;

/// One stored element: a key, a revocation, or something keyward does not interpret.
///
/// ```
/// use keyward::store::KeyDocument;
/// let text = r#"<revocation version="1"><revocationDate>2027-01-31T12:00:00Z</revocationDate><key id="*" /><reason>all</reason></revocation>"#;
/// let document = KeyDocument::parse(text)?;
/// assert_eq!(document.friendly_name(), "revocation-20270131T120000Z");
/// assert!(document.key_id().is_none());
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDocument {
    element: XmlElement,
}

impl KeyDocument {
    /// Parses a stored document (with the limits every stored document gets).
    ///
    /// # Errors
    /// [`crate::error::Error::KeyXml`] when it is not well-formed XML or exceeds a limit.
    pub fn parse(text: &str) -> Result<Self> {
        crate::element_tree::parse_element(text).map(Self::from)
    }

    /// The element.
    pub fn element(&self) -> &XmlElement {
        &self.element
    }

    /// Whether it is a `<key>`.
    pub fn is_key(&self) -> bool {
        self.element.name() == "key"
    }

    /// Whether it is a `<revocation>`.
    pub fn is_revocation(&self) -> bool {
        self.element.name() == "revocation"
    }

    /// Whether it is a container of several keys (Azure Blob's `<repository>`).
    pub fn is_container(&self) -> bool {
        !self.is_key() && !self.is_revocation() && self.element.child_element("key").is_some()
    }

    /// The key's id, or the id a revocation names (`None` for a mass revocation, a missing or
    /// invalid id, or another element).
    pub fn key_id(&self) -> Option<KeyId> {
        self.raw_key_id()?.parse().ok()
    }

    /// The id text as written: the key's, or the revoked key's (`*` for all).
    fn raw_key_id(&self) -> Option<&str> {
        if self.is_key() {
            self.element.attribute("id")
        } else if self.is_revocation() {
            self.element.child_element("key")?.attribute("id")
        } else {
            None
        }
    }

    /// A date child (`creationDate`, `revocationDate`, …).
    fn date(&self, name: &str) -> Option<OffsetDateTime> {
        date::parse(&self.element.child_element(name)?.text_content())
    }

    /// When a key says it was created.
    pub fn creation(&self) -> Option<OffsetDateTime> {
        self.date("creationDate")
    }

    /// What makes two stored elements the same key or revocation, whatever their formatting:
    /// the key's id, or the revoked id and the revocation date.
    pub fn identity(&self) -> String {
        // The parsed id, so every spelling .NET accepts (braces, upper case, no hyphens)
        // names one key.
        let raw = self.raw_key_id().unwrap_or("").trim();
        let id = raw
            .parse::<KeyId>()
            .map_or_else(|_| raw.to_ascii_lowercase(), |id| id.to_string());
        if self.is_key() {
            format!("key:{id}")
        } else if self.is_revocation() {
            let when = self
                .date("revocationDate")
                .map_or_else(|| self.text_of("revocationDate"), date::format);
            format!("revocation:{id}:{when}")
        } else {
            self.element.to_compact()
        }
    }

    /// The name .NET gives the element in a store: `key-{id}`, `revocation-{id}`, or
    /// `revocation-{date}` for a mass revocation.
    pub fn friendly_name(&self) -> String {
        match self.raw_key_id().map(|id| id.trim().to_ascii_lowercase()) {
            Some(id) if self.is_key() => format!("key-{id}"),
            Some(id) if self.is_revocation() && id != "*" => format!("revocation-{id}"),
            _ if self.is_revocation() => match self.date("revocationDate") {
                Some(date) => super::xml::mass_revocation_name(date),
                None => format!(
                    "revocation-{}",
                    alphanumeric(&self.text_of("revocationDate"))
                ),
            },
            None if self.is_key() => "key-unknown".into(),
            _ => alphanumeric(self.element.name()),
        }
    }

    fn text_of(&self, child: &str) -> String {
        self.element
            .child_element(child)
            .map(XmlElement::text_content)
            .unwrap_or_default()
    }

    /// The key's secret: its `<masterKey>` or `<encryptedSecret>` element, inside
    /// `descriptor/descriptor`.
    pub(crate) fn secret(&self) -> Option<&XmlElement> {
        let outer = self.element.child_element("descriptor")?;
        let inner = outer.children().iter().find_map(element_of)?;
        inner
            .children()
            .iter()
            .filter_map(element_of)
            .find(|e| is_secret(e))
    }

    /// Whether the key keeps its secret as a plaintext `<masterKey>`.
    pub(crate) fn has_plaintext_secret(&self) -> bool {
        self.secret().is_some_and(|s| s.name() == "masterKey")
    }

    /// Puts `secret` where the key keeps its secret. Returns false (and changes nothing) when
    /// the key has no secret slot.
    pub(crate) fn replace_secret(&mut self, secret: XmlElement) -> bool {
        let slot = self
            .element
            .children_mut()
            .iter_mut()
            .find_map(|c| match c {
                XmlNode::Element(e) if e.name() == "descriptor" => Some(e),
                _ => None,
            })
            .and_then(|outer| {
                outer.children_mut().iter_mut().find_map(|c| match c {
                    XmlNode::Element(e) => Some(e),
                    _ => None,
                })
            })
            .and_then(|inner| {
                inner
                    .children_mut()
                    .iter_mut()
                    .find(|c| matches!(c, XmlNode::Element(e) if is_secret(e)))
            });
        match slot {
            Some(slot) => {
                *slot = XmlNode::Element(secret);
                true
            }
            None => false,
        }
    }
}

impl KeyDocument {
    /// Replaces the key's `<keywardSignature>` children with `signature` (or removes them).
    pub(crate) fn set_signature(&mut self, signature: Option<XmlElement>) {
        let children = self.element.children_mut();
        children.retain(
            |c| !matches!(c, XmlNode::Element(e) if super::signature_xml::is_signature_element(e)),
        );
        if let Some(signature) = signature {
            children.push(XmlNode::Element(signature));
        }
    }
}

impl From<XmlElement> for KeyDocument {
    fn from(element: XmlElement) -> Self {
        Self { element }
    }
}

fn element_of(node: &XmlNode) -> Option<&XmlElement> {
    match node {
        XmlNode::Element(e) => Some(e),
        _ => None,
    }
}

fn is_secret(element: &XmlElement) -> bool {
    element.name() == "masterKey" || element.name().ends_with("encryptedSecret")
}

fn alphanumeric(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Algorithm;
    use crate::secret::Secret;

    #[test]
    fn keys_and_revocations_have_one_identity_and_dotnets_names() {
        let id = KeyId::random();
        let at = time::macros::datetime!(2026-03-01 10:00 UTC);
        let key = KeyDocument::from(super::super::xml::key_element(
            id,
            at,
            at,
            at + time::Duration::days(90),
            Algorithm::AES_256_GCM,
            &Secret::new(vec![1; 64]),
        ));
        assert_eq!(key.key_id(), Some(id));
        assert_eq!(key.friendly_name(), format!("key-{id}"));
        assert_eq!(key.creation(), Some(at));
        assert!(key.has_plaintext_secret());
        // The same key written as a document (indented, with a declaration) is the same.
        let again = KeyDocument::parse(&key.element().to_document()).unwrap();
        assert_eq!(again.identity(), key.identity());

        let revocation = KeyDocument::from(super::super::xml::revocation_element(id, at, "lost"));
        assert_eq!(revocation.key_id(), Some(id));
        assert_eq!(revocation.friendly_name(), format!("revocation-{id}"));
        assert_ne!(revocation.identity(), key.identity());

        let mass = KeyDocument::from(super::super::xml::mass_revocation_element(at, "all"));
        assert_eq!(mass.key_id(), None);
        assert_eq!(
            mass.friendly_name(),
            super::super::xml::mass_revocation_name(at)
        );
    }

    #[test]
    fn the_secret_is_found_and_replaced() {
        let at = time::macros::datetime!(2026-03-01 10:00 UTC);
        let mut key = KeyDocument::from(super::super::xml::key_element(
            KeyId::random(),
            at,
            at,
            at,
            Algorithm::AES_256_CBC_HMACSHA256,
            &Secret::new(vec![2; 64]),
        ));
        assert_eq!(key.secret().map(XmlElement::name), Some("masterKey"));
        assert!(key.replace_secret(XmlElement::new("encryptedSecret").text("x")));
        assert!(!key.has_plaintext_secret());
        assert_eq!(key.secret().map(XmlElement::name), Some("encryptedSecret"));
        let mut other = KeyDocument::from(XmlElement::new("key"));
        assert!(!other.replace_secret(XmlElement::new("encryptedSecret")));
    }
}
