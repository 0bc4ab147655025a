//! How a protector derives subkeys: the cached KDF prefix of the key it protects with, and
//! the provider-wide cache the subkeys it derives go into.

use std::sync::Arc;

use super::{CachedPrefix, Protector};
use crate::crypto::{Derivation, KeyCrypto, Label, Subkeys, KEY_MODIFIER_LEN};
use crate::key::RingKey;
use crate::key_id::KeyId;
use crate::subkeys::DerivedSubkeys;

impl Protector {
    /// Runs `f` with the fastest derivation for `key` under this purpose chain: the cached KDF
    /// prefix when it is `key`'s, else a new prefix (kept when `keep_prefix`: the key
    /// `protect` uses), else the label itself.
    pub(super) fn with_derivation<R>(
        &self,
        key: &RingKey,
        crypto: &KeyCrypto,
        keep_prefix: bool,
        f: impl FnOnce(Derivation<'_>) -> R,
    ) -> R {
        let label = Label {
            key_id: &key.guid_bytes,
            purposes: &self.aad_tail,
        };
        let cached = self.prefix_cache.load();
        if let Some(hit) = cached
            .as_deref()
            .filter(|c| c.key_id == key.info.id && c.key_identity == *crypto.identity())
        {
            return f(Derivation::Prefix(&hit.prefix));
        }
        drop(cached);
        match crypto.prefix(label).filter(|_| keep_prefix) {
            // A new default key: compute its prefix once for this purpose chain.
            Some(prefix) => {
                let entry = Arc::new(CachedPrefix {
                    key_id: key.info.id,
                    key_identity: *crypto.identity(),
                    prefix,
                });
                let result = f(Derivation::Prefix(&entry.prefix));
                self.prefix_cache.store(Some(entry));
                result
            }
            None => f(Derivation::Label(&label.parts())),
        }
    }

    /// Puts subkeys this protector derived into the provider's cache, and returns them.
    pub(super) fn keep(
        &self,
        key: &RingKey,
        crypto: &KeyCrypto,
        key_modifier: [u8; KEY_MODIFIER_LEN],
        subkeys: Subkeys,
    ) -> Arc<DerivedSubkeys> {
        let derived = Arc::new(DerivedSubkeys::new(
            key.info.id,
            *crypto.identity(),
            Arc::clone(&self.aad_tail),
            key_modifier,
            subkeys,
        ));
        self.shared.subkeys.insert(Arc::clone(&derived));
        derived
    }

    /// The cached subkeys of a payload's key modifier, if ring version `version` vouched for
    /// them (see `SubkeyCache::get_verified`). Checks the process first, as every entry
    /// point does.
    pub(super) fn verified_subkeys(
        &self,
        key_id: KeyId,
        body: &[u8],
        version: u64,
    ) -> Option<arc_swap::Guard<Option<Arc<DerivedSubkeys>>>> {
        self.shared.check_process();
        let key_modifier = body.get(..KEY_MODIFIER_LEN)?;
        self.shared
            .subkeys
            .get_verified(&key_id, &self.aad_tail, key_modifier, version)
    }
}
