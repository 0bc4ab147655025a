//! [`KeyRing`]: an immutable snapshot of every key, with revocations applied, each usable key
//! prepared for the hot path, and the default key resolved. Lookup by id is O(1).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::ring_key::{ring_key, same_record, RingKey};
use super::xml::{parse_document, RingElement};
use super::{resolve_default_key, KeyCandidate, KeyId, Resolution, UnreadableKey};
use crate::error::{Error, Result};
use crate::key_id::KeyIdMap;
use crate::policy::KeyManagementPolicy;
use crate::repository::StoredElement;
use crate::schedule::{NewKeyPlan, Schedule};

/// What one stored element holds (for deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ElementContent {
    Key(KeyId),
    RevokeKey(KeyId),
    RevokeAllBefore(OffsetDateTime),
    Other,
}

/// A stored element and what it holds.
#[derive(Debug, Clone)]
pub(crate) struct ElementSource {
    pub(crate) location: String,
    pub(crate) contents: Vec<ElementContent>,
}

use crate::error::CreationBlocked;

/// The default key resolved at one moment, and until when that answer holds.
#[derive(Debug, Clone, Copy)]
struct CachedDefault {
    at: OffsetDateTime,
    until: OffsetDateTime,
    key: Option<KeyId>,
}

/// The id of a `<key id="…">` element at the start of a document that does not parse, so a
/// listing and a payload under it can name it (nothing else is taken from such text).
fn sniff_key_id(text: &str) -> Option<KeyId> {
    let start = text.find("<key ")?;
    // Only the element's start tag, near the document's start.
    if start > 256 {
        return None;
    }
    let tag = &text[start..];
    let end = tag.find('>').unwrap_or(tag.len()).min(512);
    let tag = tag.get(..end).unwrap_or(tag);
    let value = tag.split_once(" id=\"")?.1;
    value.get(..36)?.parse().ok()
}

/// Whether text that does not parse names a revocation (or a container that may hold one)
/// at its start: skipping it would make the key it revokes usable again, so such an element
/// fails the ring (fail closed) instead of being listed as an unreadable key.
fn may_hold_a_revocation(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .chars()
        .take(4096)
        .collect();
    let mut rest = head.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let Some(tag) = rest.strip_prefix('<') else {
        return false;
    };
    let name: String = tag
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    let local = name.rsplit(':').next().unwrap_or(&name);
    local == "revocation" || local == "repository"
}

/// An immutable snapshot of the key ring.
#[derive(Debug)]
pub(crate) struct KeyRing {
    keys: KeyIdMap<RingKey>,
    /// The policy view of every key, ordered by creation, then id.
    candidates: Vec<KeyCandidate>,
    sources: Vec<ElementSource>,
    /// The latest mass-revocation date: keys created before it are revoked.
    revoke_before: Option<OffsetDateTime>,
    /// Keys revoked one by one (including keys the store no longer holds).
    revoked_ids: HashSet<KeyId>,
    policy: KeyManagementPolicy,
    cached: CachedDefault,
    /// When this snapshot should be re-read (wall clock of the provider's `Clock`).
    refresh_at: OffsetDateTime,
    location: String,
    /// `<key>` elements skipped because their id, dates or structure could not be read.
    unreadable: Vec<UnreadableKey>,
}

impl KeyRing {
    /// Builds the ring from stored documents and resolves its default key at `now`.
    pub(crate) fn from_elements(
        elements: &[StoredElement],
        location: String,
        now: OffsetDateTime,
        policy: KeyManagementPolicy,
        at_rest: &dyn super::MasterKeyOpener,
    ) -> Result<Self> {
        let mut records = Vec::new();
        let mut sources = Vec::with_capacity(elements.len());
        let mut revoked_ids = HashSet::new();
        let mut revoke_before: Option<OffsetDateTime> = None;
        let mut unreadable = Vec::new();
        for stored in elements {
            let mut contents = Vec::new();
            // One element the store could not read, or that does not parse, is an unreadable
            // key: the rest of the ring keeps working.
            let parsed = match &stored.unreadable {
                Some(reason) => Err(reason.clone()),
                None => parse_document(&stored.xml, &stored.location).map_err(|e| match e {
                    Error::KeyXml { reason, .. } => reason,
                    other => other.to_string(),
                }),
            };
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(reason) if may_hold_a_revocation(&stored.xml) => {
                    return Err(Error::KeyXml {
                        location: stored.location.clone(),
                        reason: format!(
                            "{reason} (a revocation that cannot be read fails the ring rather than let the keys it revokes be used again; fix or remove the element)"
                        ),
                    });
                }
                Err(reason) => {
                    tracing::warn!(location = %stored.location, %reason, "skipping a stored element that cannot be read");
                    let id = sniff_key_id(&stored.xml);
                    unreadable.push(UnreadableKey {
                        id,
                        location: stored.location.clone(),
                        reason,
                        creation: None,
                        activation: None,
                        expiration: None,
                    });
                    sources.push(ElementSource {
                        location: stored.location.clone(),
                        contents: vec![id.map_or(ElementContent::Other, ElementContent::Key)],
                    });
                    continue;
                }
            };
            for element in parsed {
                contents.push(match element {
                    RingElement::Key(record) => {
                        let id = record.id;
                        records.push(*record);
                        ElementContent::Key(id)
                    }
                    RingElement::SkippedKey(key) => {
                        tracing::warn!(location = %key.location, reason = %key.reason, "skipping a key that cannot be read");
                        let content = key.id.map_or(ElementContent::Other, ElementContent::Key);
                        unreadable.push(*key);
                        content
                    }
                    RingElement::RevokeKey { key_id } => {
                        revoked_ids.insert(key_id);
                        ElementContent::RevokeKey(key_id)
                    }
                    RingElement::RevokeAllBefore { date } => {
                        revoke_before = Some(revoke_before.map_or(date, |d| d.max(date)));
                        ElementContent::RevokeAllBefore(date)
                    }
                    RingElement::Unknown { name } => {
                        tracing::debug!(location = %stored.location, element = %name, "ignoring an unknown element");
                        ElementContent::Other
                    }
                });
            }
            sources.push(ElementSource {
                location: stored.location.clone(),
                contents,
            });
        }
        let mut keys = KeyIdMap::with_capacity_and_hasher(records.len(), Default::default());
        let mut seen: HashMap<KeyId, super::KeyRecord> = HashMap::new();
        for record in records {
            let id = record.id;
            if let Some(first) = seen.get(&id) {
                // A write retried after a lost reply stores the same key twice: harmless when
                // the copies are identical; two different keys under one id are an error.
                if same_record(first, &record) {
                    tracing::warn!(key_id = %id, location = %location, "the key is stored twice (identical copies); using one");
                    continue;
                }
                return Err(Error::KeyXml {
                    location,
                    reason: format!("two different keys have the id {{{id}}}"),
                });
            }
            let revoked =
                revoked_ids.contains(&id) || revoke_before.is_some_and(|d| record.creation < d);
            let key = ring_key(&record, revoked, at_rest, &policy);
            keys.insert(id, key);
            seen.insert(id, record);
        }
        for id in revoked_ids.iter().filter(|id| !keys.contains_key(id)) {
            tracing::debug!(key_id = %id, "a revocation names a key that is not in the ring");
        }
        let mut candidates: Vec<KeyCandidate> = keys.values().map(RingKey::candidate).collect();
        candidates.sort_by_key(|c| (c.creation, c.id));
        let mut ring = Self {
            keys,
            candidates,
            sources,
            revoke_before,
            revoked_ids,
            policy,
            cached: CachedDefault {
                at: now,
                until: now,
                key: None,
            },
            refresh_at: now,
            location,
            unreadable,
        };
        ring.cached = ring.resolve_cached(now);
        let period = policy.jittered_refresh_period();
        ring.refresh_at = match ring.default_key_at(now) {
            Some(key) if key.info.expiration > now => {
                now.saturating_add(period).min(key.info.expiration)
            }
            _ => now.saturating_add(period),
        };
        Ok(ring)
    }

    fn resolve_cached(&self, now: OffsetDateTime) -> CachedDefault {
        let resolution = self.resolve(now);
        let skew = self.policy.max_clock_skew;
        // The answer holds until the default expires or another key's activation comes
        // within the clock skew (it would then be preferred).
        let next_activation = self
            .candidates
            .iter()
            .map(|c| c.activation.saturating_sub(skew))
            .filter(|&t| t > now)
            .min();
        let expiration = resolution
            .default_key
            .and_then(|id| self.keys.get(&id))
            .map(|k| k.info.expiration);
        let until = [next_activation, expiration]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(OffsetDateTime::new_utc(
                time::Date::MAX,
                time::Time::MIDNIGHT,
            ));
        CachedDefault {
            at: now,
            until,
            key: resolution.default_key,
        }
    }

    /// Runs the default-key policy over this ring at `now`.
    pub(crate) fn resolve(&self, now: OffsetDateTime) -> Resolution {
        resolve_default_key(&self.candidates, now, self.policy.resolver())
    }

    /// The span in which [`KeyRing::default_key_at`] gives the same answer without resolving
    /// again: from `at` (inclusive) to `until` (exclusive).
    pub(crate) fn default_key_span(&self) -> (OffsetDateTime, OffsetDateTime) {
        (self.cached.at, self.cached.until)
    }

    /// The default key at `now`: the cached answer when it still holds, else resolved again in
    /// memory (no I/O).
    pub(crate) fn default_key_at(&self, now: OffsetDateTime) -> Option<&RingKey> {
        let id = if now >= self.cached.at && now < self.cached.until {
            self.cached.key
        } else {
            self.resolve(now).default_key
        };
        id.and_then(|id| self.keys.get(&id))
    }

    /// The decryptor of an unrevoked key whose master key keyward cannot decrypt, if any.
    pub(crate) fn undecryptable_decryptor(&self) -> Option<&str> {
        self.keys
            .values()
            .filter(|key| !key.info.revoked)
            .find_map(RingKey::undecryptable_by)
    }

    /// The key that should be created at `now`, if any. None while a mass revocation is
    /// dated in the future (a key created now would be revoked at once), and None while the
    /// ring holds keys encrypted at rest that keyward cannot decrypt (an unencrypted key beside
    /// them would quietly downgrade the whole ring's protection at rest).
    pub(crate) fn plan_new_key(&self, now: OffsetDateTime) -> Option<NewKeyPlan> {
        let plan = self.schedule(now).next_key()?;
        if let Some(reason) = self.creation_blocked(now) {
            if self.default_key_at(now).is_some() {
                // Nothing fails yet: this is the only word of it until the default expires.
                tracing::warn!(%reason, "the key ring needs its next key, and none is created");
            } else {
                // The caller's error (no usable default key) carries the reason.
                tracing::debug!(%reason, "the key ring needs a new key, and none is created");
            }
            return None;
        }
        Some(plan)
    }

    /// Why no key may be created at `now`, if none may: a mass revocation dated later (a key
    /// created now would be revoked at once), or keys encrypted at rest that keyward cannot
    /// decrypt (an unencrypted key beside them would quietly downgrade the whole ring's
    /// protection at rest).
    pub(crate) fn creation_blocked(&self, now: OffsetDateTime) -> Option<CreationBlocked> {
        if let Some(date) = self.future_mass_revocation(now) {
            return Some(CreationBlocked::FutureMassRevocation { date });
        }
        if self.only_refused_plaintext_keys(now) {
            return Some(CreationBlocked::StrandedPlaintext);
        }
        self.undecryptable_decryptor()
            .map(|decryptor| CreationBlocked::Undecryptable {
                decryptor_type: decryptor.to_owned(),
            })
    }

    /// Whether every live key (unrevoked, unexpired) is a plaintext key this node refuses
    /// because encryption at rest is required or configured, and no key is encrypted: the
    /// ring was never encrypted, and .NET nodes (or nodes without the encryptor) use it as it
    /// is. Adding an encrypted key would become their default and strand them.
    pub(crate) fn only_refused_plaintext_keys(&self, now: OffsetDateTime) -> bool {
        let mut live = self
            .keys
            .values()
            .filter(|k| !k.info.revoked && k.info.expiration > now)
            .peekable();
        live.peek().is_some()
            && self
                .keys
                .values()
                .all(|k| k.info.at_rest == super::AtRestProtection::None)
            && live.all(|k| k.info.unusable_reason.is_some())
    }

    /// The ring's schedule from `now` on.
    pub(crate) fn schedule(&self, now: OffsetDateTime) -> Schedule {
        Schedule::new(&self.candidates, now, (&self.policy).into())
    }

    /// A mass revocation dated after `now`, if the store holds one: every key created until
    /// then is revoked, so no key can be created before it passes.
    pub(crate) fn future_mass_revocation(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.revoke_before.filter(|&date| date > now)
    }

    /// The key with this id.
    pub(crate) fn get(&self, id: &KeyId) -> Option<&RingKey> {
        self.keys.get(id)
    }

    /// Every key, oldest first.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &RingKey> {
        self.candidates.iter().filter_map(|c| self.keys.get(&c.id))
    }

    /// Every key the ring can unprotect with: its own and those kept from memory.
    pub(crate) fn keys_held(&self) -> impl Iterator<Item = &RingKey> {
        self.keys.values()
    }

    /// Keeps keys that vanished from the store (this node still holds them): they keep
    /// unprotecting and take part in default-key resolution as before, so losing the store's
    /// contents neither breaks payloads nor makes this node create a key. The store's
    /// revocations (by id, and mass revocations) apply to them as to any key.
    pub(crate) fn retain_from_memory(
        &mut self,
        now: OffsetDateTime,
        keys: impl Iterator<Item = RingKey>,
    ) {
        for mut key in keys {
            if self.keys.contains_key(&key.info.id) {
                continue;
            }
            // The store's revocations bind keys it no longer holds, too.
            key.info.revoked |= self.revoked_ids.contains(&key.info.id)
                || self.revoke_before.is_some_and(|d| key.info.creation < d);
            self.candidates.push(key.candidate());
            self.keys.insert(key.info.id, key);
        }
        self.candidates.sort_by_key(|c| (c.creation, c.id));
        self.cached = self.resolve_cached(now);
    }

    /// The `<key>` elements skipped because they could not be read.
    pub(crate) fn unreadable(&self) -> &[UnreadableKey] {
        &self.unreadable
    }

    /// The skipped key with this id, if one is.
    pub(crate) fn unreadable_key(&self, id: &KeyId) -> Option<&UnreadableKey> {
        self.unreadable.iter().find(|k| k.id.as_ref() == Some(id))
    }

    /// Whether the ring holds no key at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the ring holds this key id.
    pub(crate) fn contains(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    /// The stored elements and what each holds.
    pub(crate) fn sources(&self) -> &[ElementSource] {
        &self.sources
    }

    /// When this snapshot should be re-read.
    pub(crate) fn refresh_at(&self) -> OffsetDateTime {
        self.refresh_at
    }

    /// Where the ring was read from.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }
}

#[cfg(test)]
mod revocation_sniffing_tests {
    use super::may_hold_a_revocation;

    #[test]
    fn revocation_shaped_text_is_recognised_through_declarations_and_comments() {
        for text in [
            "<revocation version=\"1\"><revocationDate>bad",
            "\u{feff}<?xml version=\"1.0\"?>\n<!-- note --><revocation>",
            "  <p:revocation xmlns:p=\"x\">",
            "<repository><key",
        ] {
            assert!(may_hold_a_revocation(text), "{text:?}");
        }
        for text in [
            "<key id=\"x\">",
            "",
            "garbage",
            "<?xml version=\"1.0\"?><key>",
        ] {
            assert!(!may_hold_a_revocation(text), "{text:?}");
        }
    }
}
