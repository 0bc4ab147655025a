//! The default-key policy, as ASP.NET Core's current `DefaultKeyResolver` decides it, with
//! ties broken by key id so that every node of a farm picks the same key.

use time::OffsetDateTime;

use super::KeyId;
use crate::policy::ResolverPolicy;

/// The inputs of the policy for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCandidate {
    /// The key id.
    pub id: KeyId,
    /// Creation date.
    pub creation: OffsetDateTime,
    /// Activation date.
    pub activation: OffsetDateTime,
    /// Expiration date.
    pub expiration: OffsetDateTime,
    /// Whether a revocation covers the key.
    pub revoked: bool,
    /// Whether the key can protect (its master key is readable and its algorithm supported).
    pub usable: bool,
}

/// What the policy decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolution {
    /// The key to protect with, if one qualifies.
    pub default_key: Option<KeyId>,
    /// With no default key: the key to fall back on until a new one exists (may be expired).
    pub fallback_key: Option<KeyId>,
    /// Whether a new key should be generated (there is no default key).
    pub should_generate_new_key: bool,
}

/// Resolves the default key at `now`.
///
/// 1. The preferred key is the one activated most recently among keys activated by
///    `now + max_clock_skew` (ties: a usable key first, then the smallest key id).
/// 2. It is the default unless it is revoked, expired at `now`, or unusable; there is no
///    fall-through to an older key.
/// 3. Otherwise the fallback is the first usable, unrevoked key (other than the rejected one)
///    among those created at least a propagation window ago, newest first, then the rest,
///    oldest first.
pub fn resolve_default_key(
    keys: &[KeyCandidate],
    now: OffsetDateTime,
    policy: ResolverPolicy,
) -> Resolution {
    // Ties in activation (a key created to replace a revoked one in the same instant) go to
    // the key that can be used, then to the smallest id: every node decides alike.
    let unfit = |k: &KeyCandidate| k.revoked || !k.usable || k.expiration <= now;
    let preferred = keys
        .iter()
        .filter(|k| k.activation <= now.saturating_add(policy.max_clock_skew))
        .min_by(|a, b| {
            b.activation
                .cmp(&a.activation)
                .then(unfit(a).cmp(&unfit(b)))
                .then(a.id.cmp(&b.id))
        });
    let default_key = preferred
        .filter(|k| !k.revoked && k.expiration > now && k.usable)
        .map(|k| k.id);
    if default_key.is_some() {
        return Resolution {
            default_key,
            fallback_key: None,
            should_generate_new_key: false,
        };
    }
    let cutoff = now.saturating_sub(policy.propagation_window);
    let mut rest: Vec<&KeyCandidate> = keys
        .iter()
        .filter(|k| !k.revoked && k.usable && Some(k.id) != preferred.map(|p| p.id))
        .collect();
    rest.sort_by(|a, b| {
        let (a_old, b_old) = (a.creation <= cutoff, b.creation <= cutoff);
        b_old
            .cmp(&a_old)
            .then_with(|| {
                if a_old {
                    b.creation.cmp(&a.creation)
                } else {
                    a.creation.cmp(&b.creation)
                }
            })
            .then(a.id.cmp(&b.id))
    });
    Resolution {
        default_key: None,
        fallback_key: rest.first().map(|k| k.id),
        should_generate_new_key: true,
    }
}
