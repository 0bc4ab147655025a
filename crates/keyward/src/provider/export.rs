//! [`Provider::export_ring`] and [`Provider::import_ring`]: a whole ring (keys and
//! revocations) to one document and back, for backup and escrow.
//!
//! The document is a `<repository>` element holding each key and revocation as .NET writes
//! them (the container shape of Azure Blob's key store), so keyward and .NET tooling can read
//! it. It is limited like every key document ([`crate::store::MAX_DOCUMENT_BYTES`]).

use std::collections::HashMap;

use crate::element_tree::{XmlElement, XmlNode};
use crate::error::{Error, Result};
use crate::key::{KeyDocument, KeyId};
use crate::provider::Provider;

/// The attribute an export puts on the `<encryptedSecret>` of a key it wrapped for the file
/// only: the ring held that key in the clear, and an import restores it so.
pub const RESTORE_ATTRIBUTE: &str = "keywardRestore";
/// The value of [`RESTORE_ATTRIBUTE`] for a key the ring held in the clear.
pub const RESTORE_PLAINTEXT: &str = "plaintext";

/// What [`Provider::export_ring`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingExport {
    /// The export document (XML text).
    pub document: String,
    /// The keys in it.
    pub keys: Vec<KeyId>,
    /// How many revocations it holds.
    pub revocations: usize,
    /// Keys stored in the clear that were encrypted for the file with the configured
    /// encryptor.
    pub wrapped: Vec<KeyId>,
    /// Keys written in the clear (only with `allow_plaintext`).
    pub plaintext: Vec<KeyId>,
}

/// What [`Provider::import_ring`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RingImport {
    /// Keys added to the ring.
    pub imported_keys: Vec<KeyId>,
    /// Revocations added (by the id they name; `None` for a mass revocation).
    pub imported_revocations: Vec<Option<KeyId>>,
    /// Keys the ring already held (same id and dates, however the secret is wrapped): skipped.
    pub already_present: Vec<KeyId>,
    /// Keys whose id the ring holds with different content (always empty in a result: a
    /// conflict refuses the whole import with an error naming them).
    pub conflicts: Vec<KeyId>,
    /// Keys restored in the clear, as the ring held them before the export wrapped them for
    /// the file (unless this ring requires encryption at rest: then they stay encrypted).
    pub restored_plaintext: Vec<KeyId>,
    /// The keys (of the ring or of the document) that the imported revocations revoke.
    pub revokes: Vec<KeyId>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Provider {
    /// Exports every key and revocation of the repository into one document. A master key
    /// stored in the clear is encrypted for the file with the configured XML encryptor (KEK,
    /// passphrase or certificate); without one, plaintext keys are refused unless
    /// `allow_plaintext`. Keys encrypted at rest are exported as they are stored.
    ///
    /// # Errors
    /// [`Error::KeyNotEncrypted`] for a plaintext key with neither an encryptor nor
    /// `allow_plaintext`; [`Error::Unsupported`] for an element keyward cannot place in the
    /// document; repository errors.
    pub fn export_ring(&self, allow_plaintext: bool) -> Result<RingExport> {
        let encryptor = self.shared.at_rest.encryptor.clone();
        let mut root = XmlElement::new("repository");
        let mut export = RingExport {
            document: String::new(),
            keys: Vec::new(),
            revocations: 0,
            wrapped: Vec::new(),
            plaintext: Vec::new(),
        };
        for stored in self.shared.repository.load_elements()? {
            let document = KeyDocument::parse(&stored.xml)?;
            for mut document in parts(document) {
                if document.is_revocation() {
                    export.revocations += 1;
                } else if document.is_key() {
                    let id = document.key_id().ok_or_else(|| Error::KeyXml {
                        location: stored.location.clone(),
                        reason: "a key without a valid id cannot be exported".into(),
                    })?;
                    if document.has_plaintext_secret() {
                        match &encryptor {
                            Some(encryptor) => {
                                let master =
                                    document.secret().cloned().ok_or_else(|| Error::KeyXml {
                                        location: stored.location.clone(),
                                        reason: "the key has no <masterKey>".into(),
                                    })?;
                                // Marked so that an import gives the key back in the clear,
                                // as the ring held it (.NET nodes read it again).
                                let sealed = crate::at_rest::encrypted_secret(
                                    encryptor.encrypt(id, &master)?,
                                )
                                .attr(RESTORE_ATTRIBUTE, RESTORE_PLAINTEXT);
                                document.replace_secret(sealed);
                                export.wrapped.push(id);
                            }
                            None if allow_plaintext => export.plaintext.push(id),
                            None => return Err(Error::KeyNotEncrypted(id)),
                        }
                    }
                    // Whatever the slot said: no <masterKey> may leave in the clear unasked (a
                    // decoy element before the real one must not fool the check).
                    if !allow_plaintext && holds_master_key(document.element()) {
                        return Err(Error::KeyNotEncrypted(id));
                    }
                    if allow_plaintext
                        && holds_master_key(document.element())
                        && !export.plaintext.contains(&id)
                    {
                        export.plaintext.push(id);
                    }
                    export.keys.push(id);
                } else {
                    tracing::debug!(location = %stored.location, "an element that is neither a key nor a revocation is not exported");
                    continue;
                }
                root = root.child(document.element().clone());
            }
        }
        export.document = root.to_document();
        Ok(export)
    }

    /// Imports a document made by [`Provider::export_ring`] (or any `<repository>`, `<key>`
    /// or `<revocation>` document). Everything is checked before anything is written: each
    /// element reads as the ring reads it, each key is usable by this ring (algorithm,
    /// at-rest decryptor, encryption policy), no id names two different keys, and no key
    /// would replace a different key under the same id (ids compared as parsed, whatever
    /// their spelling) — any of these refuses the whole import. Keys and revocations already
    /// present are skipped, so running it twice adds nothing the second time.
    ///
    /// # Errors
    /// [`Error::KeyXml`] for a document or element that is not valid key XML, an unusable
    /// key, or a ring holding an unreadable element; [`Error::InvalidArgument`] for a key
    /// that would replace another (nothing is written in any of these cases); a read-only
    /// provider (unless `dry_run`); repository errors.
    pub fn import_ring(&self, document: &str, dry_run: bool) -> Result<RingImport> {
        if !dry_run {
            self.shared.check_writable()?;
        }
        let location = "the import document";
        let invalid = |reason: String| Error::KeyXml {
            location: location.to_owned(),
            reason,
        };
        let parsed = KeyDocument::parse(document)?;
        let incoming = if parsed.is_key() || parsed.is_revocation() {
            vec![parsed]
        } else {
            children(&parsed)
        };
        if incoming.is_empty() {
            return Err(invalid("it holds no key and no revocation".into()));
        }
        // Every element must read as the ring would read it, before anything is written.
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut as_stored = Vec::with_capacity(incoming.len());
        for (index, element) in incoming.iter().enumerate() {
            if !element.is_key() && !element.is_revocation() {
                return Err(invalid(format!(
                    "element {} is <{}>, neither a key nor a revocation",
                    index + 1,
                    element.element().name()
                )));
            }
            let text = element.element().to_document();
            for item in crate::key::xml::parse_document(&text, location)? {
                if let crate::key::xml::RingElement::SkippedKey(key) = item {
                    return Err(invalid(format!("element {}: {}", index + 1, key.reason)));
                }
            }
            let shape = without_secret(element.element());
            if let Some(other) = seen.insert(element.identity(), shape.clone()) {
                if element.is_key() && other != shape {
                    return Err(invalid(format!(
                        "two different keys have the id {}",
                        element
                            .key_id()
                            .map_or_else(String::new, |id| id.to_string())
                    )));
                }
            }
            as_stored.push(crate::repository::StoredElement::new(
                format!("{location}, element {}", index + 1),
                crate::repository::ElementHandle::new(index.to_string()),
                text,
            ));
        }
        // Every key must be usable by this ring (its algorithm, its at-rest decryptor, the
        // encryption policy): a key no node can use would only break default-key resolution.
        let ring = self.shared.ring_of(&as_stored)?;
        for key in ring.keys() {
            if let Some(reason) = &key.info.unusable_reason {
                return Err(invalid(format!(
                    "the key {{{}}} cannot be used by this ring: {reason} (give {}, or leave it out)",
                    key.info.id,
                    decryptor_hint(&key.info.at_rest)
                )));
            }
        }
        let now = self.now();
        let latest = now.saturating_add(self.shared.policy.max_clock_skew);
        if let Some(date) = ring.future_mass_revocation(latest) {
            return Err(invalid(format!(
                "it revokes every key created before {}, a date in the future: every key, including those created until then, would be revoked; nothing was imported",
                crate::date::format(date)
            )));
        }
        let _lock = if dry_run {
            None
        } else {
            Some(self.shared.repository.lock_for_generation()?)
        };
        let mut existing: HashMap<String, XmlElement> = HashMap::new();
        for stored in self.shared.repository.load_elements()? {
            let document = KeyDocument::parse(&stored.xml).map_err(|error| Error::KeyXml {
                location: stored.location.clone(),
                reason: format!(
                    "the ring holds an element that cannot be read ({error}); fix or remove it before importing, so an import never writes over it"
                ),
            })?;
            for part in parts(document) {
                existing.insert(part.identity(), part.element().clone());
            }
        }
        let mut report = RingImport {
            dry_run,
            ..RingImport::default()
        };
        let mut pending = Vec::new();
        for element in incoming {
            let identity = element.identity();
            if let Some(present) = existing.get(&identity) {
                if let Some(id) = element.key_id().filter(|_| element.is_key()) {
                    if without_secret(present) == without_secret(element.element()) {
                        report.already_present.push(id);
                    } else {
                        report.conflicts.push(id);
                    }
                }
                continue;
            }
            existing.insert(identity, element.element().clone());
            pending.push(element);
        }
        // A conflict refuses the whole import: nothing is written.
        if !report.conflicts.is_empty() {
            let ids: Vec<String> = report.conflicts.iter().map(ToString::to_string).collect();
            tracing::warn!(conflicts = %ids.join(", "), "an import would replace keys: refused");
            return Err(Error::InvalidArgument(
                crate::error::ArgumentError::ImportWouldReplace(report.conflicts.clone()),
            ));
        }
        let restore = !self.shared.at_rest.require_encryption;
        let mut to_store = Vec::with_capacity(pending.len());
        for mut element in pending {
            if restore && element.is_key() {
                if let Some(id) = element.key_id() {
                    if self.restore_plaintext(&mut element, id)? {
                        report.restored_plaintext.push(id);
                    }
                }
            }
            to_store.push(element);
        }
        report.revokes = self.revoked_by(&to_store)?;
        for element in to_store {
            if !dry_run {
                self.shared
                    .repository
                    .store_element(element.element(), &element.friendly_name())?;
            }
            if element.is_key() {
                if let Some(id) = element.key_id() {
                    report.imported_keys.push(id);
                }
            } else {
                report.imported_revocations.push(element.key_id());
            }
        }
        drop(_lock);
        if !dry_run {
            self.shared.refresh()?;
        }
        Ok(report)
    }
}

/// The element's compact text with its secret slot emptied: the same key wrapped for an
/// export file and stored in the clear compare equal.
impl Provider {
    /// Gives a key wrapped for an export file (marked with [`RESTORE_ATTRIBUTE`]) back its
    /// plaintext `<masterKey>`. Returns whether it did.
    fn restore_plaintext(&self, document: &mut KeyDocument, id: KeyId) -> Result<bool> {
        let Some(secret) = document.secret() else {
            return Ok(false);
        };
        if secret.name() != "encryptedSecret"
            || secret.attribute(RESTORE_ATTRIBUTE) != Some(RESTORE_PLAINTEXT)
        {
            return Ok(false);
        }
        let decryptor_type = secret
            .attribute("decryptorType")
            .unwrap_or_default()
            .to_owned();
        let inner = secret
            .children()
            .iter()
            .find_map(|node| match node {
                XmlNode::Element(e) => Some(e.to_compact()),
                _ => None,
            })
            .unwrap_or_default();
        let master = match self.shared.at_rest.decrypt(id, &decryptor_type, &inner) {
            Some(Ok(master)) => master,
            Some(Err(reason)) => {
                return Err(Error::KeyXml {
                    location: "the import document".into(),
                    reason: format!("the key {{{id}}} cannot be decrypted: {reason}"),
                })
            }
            None => {
                return Err(Error::KeyXml {
                    location: "the import document".into(),
                    reason: format!(
                        "the key {{{id}}} was wrapped for the file with {decryptor_type}: give it (keyward: --kek-file, --passphrase-file or --certificate, as the export was made)"
                    ),
                })
            }
        };
        Ok(document.replace_secret(crate::key::xml::master_key_element(&master)))
    }

    /// The keys (of the ring and of `incoming`) that the revocations in `incoming` revoke.
    fn revoked_by(&self, incoming: &[KeyDocument]) -> Result<Vec<KeyId>> {
        let mut elements = self.shared.repository.load_elements()?;
        let before: std::collections::HashSet<KeyId> = self
            .shared
            .ring_of(&elements)?
            .keys()
            .filter(|k| k.info.revoked)
            .map(|k| k.info.id)
            .collect();
        for (index, element) in incoming.iter().enumerate() {
            elements.push(crate::repository::StoredElement::new(
                format!("the import document, element {}", index + 1),
                crate::repository::ElementHandle::new(format!("import-{index}")),
                element.element().to_document(),
            ));
        }
        Ok(self
            .shared
            .ring_of(&elements)?
            .keys()
            .filter(|k| k.info.revoked && !before.contains(&k.info.id))
            .map(|k| k.info.id)
            .collect())
    }
}

/// What to give to open a key encrypted at rest, for an error message.
fn decryptor_hint(at_rest: &crate::key::AtRestProtection) -> String {
    use crate::key::AtRestProtection as P;
    match at_rest {
        P::Kek { .. } => "the key-encryption key it is wrapped with (keyward: --kek-file)".into(),
        P::Passphrase => "the passphrase it is wrapped with (keyward: --passphrase-file)".into(),
        P::Certificate { thumbprint } => format!(
            "the certificate{} with its private key (keyward: --certificate)",
            thumbprint
                .as_ref()
                .map_or(String::new(), |t| format!(" {t}"))
        ),
        _ => "its decryptor".into(),
    }
}

fn without_secret(element: &XmlElement) -> String {
    let mut document = KeyDocument::from(element.clone());
    document.replace_secret(XmlElement::new("secret"));
    document.element().to_compact()
}

/// The elements a stored document holds: itself, or each child of a container.
fn parts(document: KeyDocument) -> Vec<KeyDocument> {
    if document.is_container() {
        children(&document)
    } else {
        vec![document]
    }
}

/// The child elements of a document, each as a document.
fn children(document: &KeyDocument) -> Vec<KeyDocument> {
    document
        .element()
        .children()
        .iter()
        .filter_map(|node| match node {
            XmlNode::Element(e) => Some(KeyDocument::from(e.clone())),
            _ => None,
        })
        .collect()
}

/// Whether a `<masterKey>` element (a master key in the clear) is anywhere in `element`.
fn holds_master_key(element: &XmlElement) -> bool {
    element.name() == "masterKey"
        || element.children().iter().any(|node| match node {
            XmlNode::Element(child) => holds_master_key(child),
            _ => false,
        })
}
