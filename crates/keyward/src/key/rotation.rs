//! When to create the next key, as ASP.NET Core's `KeyRingProvider` decides it: create the
//! successor before the default key expires, activated at that expiration, early enough that
//! every node has read it before it is used.

use time::OffsetDateTime;

use super::{resolve_default_key, KeyCandidate};
use crate::policy::KeyManagementPolicy;

/// The key that should be created now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewKeyPlan {
    /// When it becomes usable.
    pub(crate) activation: OffsetDateTime,
    /// When it stops protecting.
    pub(crate) expiration: OffsetDateTime,
}

/// Decides whether the ring needs a new key at `now`.
///
/// - No usable default key: a key active now.
/// - The default key expires within refresh period + propagation window, and the key that
///   would be the default at that expiration is missing or expires within that horizon too:
///   its successor, activated at the default's expiration, for one key lifetime.
pub(crate) fn plan_new_key(
    keys: &[KeyCandidate],
    now: OffsetDateTime,
    policy: &KeyManagementPolicy,
) -> Option<NewKeyPlan> {
    let resolver = policy.resolver();
    let Some(default_id) = resolve_default_key(keys, now, resolver).default_key else {
        // Activate no earlier than the key that was rejected (say, a revoked key activated
        // within the clock skew), so the new key is the one preferred.
        let activation = keys
            .iter()
            .map(|k| k.activation)
            .filter(|&a| a <= now.saturating_add(policy.max_clock_skew))
            .fold(now, OffsetDateTime::max);
        return Some(NewKeyPlan {
            activation,
            expiration: activation.saturating_add(policy.key_lifetime),
        });
    };
    let default = keys.iter().find(|k| k.id == default_id)?;
    let horizon = now
        .saturating_add(policy.refresh_period)
        .saturating_add(policy.propagation_window);
    if default.expiration >= horizon {
        return None;
    }
    let successor = resolve_default_key(keys, default.expiration, resolver)
        .default_key
        .and_then(|id| keys.iter().find(|k| k.id == id));
    match successor {
        Some(next) if next.expiration >= horizon => None,
        _ => Some(NewKeyPlan {
            activation: default.expiration,
            expiration: default.expiration.saturating_add(policy.key_lifetime),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyId;
    use time::macros::datetime;
    use time::Duration;

    fn key(activation: OffsetDateTime, expiration: OffsetDateTime) -> KeyCandidate {
        KeyCandidate {
            id: KeyId::random(),
            creation: activation,
            activation,
            expiration,
            revoked: false,
            usable: true,
        }
    }

    #[test]
    fn empty_ring_gets_a_key_active_now() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let plan = plan_new_key(&[], now, &KeyManagementPolicy::default()).unwrap();
        assert_eq!(plan.activation, now);
        assert_eq!(plan.expiration, now + Duration::days(90));
    }

    #[test]
    fn successor_is_planned_within_the_horizon_and_only_once() {
        let policy = KeyManagementPolicy::default();
        let start = datetime!(2026-01-01 0:00 UTC);
        let current = key(start, start + Duration::days(90));
        // Far from expiry: nothing.
        assert_eq!(
            plan_new_key(&[current], start + Duration::days(80), &policy),
            None
        );
        // Inside refresh period + propagation window (3 days): the successor.
        let now = start + Duration::days(87) + Duration::hours(1);
        let plan = plan_new_key(&[current], now, &policy).unwrap();
        assert_eq!(plan.activation, current.expiration);
        assert!(plan.activation - now >= policy.propagation_window);
        // With the successor present: nothing more.
        let next = key(plan.activation, plan.expiration);
        assert_eq!(plan_new_key(&[current, next], now, &policy), None);
    }

    #[test]
    fn a_revoked_default_is_replaced_by_a_key_that_wins_the_tie() {
        let policy = KeyManagementPolicy::default();
        let now = datetime!(2026-01-01 0:00 UTC);
        for _ in 0..20 {
            let mut revoked = key(now + Duration::minutes(3), now + Duration::days(90));
            revoked.revoked = true;
            let plan = plan_new_key(&[revoked], now, &policy).unwrap();
            assert_eq!(plan.activation, revoked.activation);
            let replacement = key(plan.activation, plan.expiration);
            let resolution = resolve_default_key(&[revoked, replacement], now, policy.resolver());
            assert_eq!(resolution.default_key, Some(replacement.id));
        }
    }

    #[test]
    fn revoked_successor_does_not_count() {
        let policy = KeyManagementPolicy::default();
        let start = datetime!(2026-01-01 0:00 UTC);
        let current = key(start, start + Duration::days(90));
        let mut next = key(current.expiration, current.expiration + Duration::days(90));
        next.revoked = true;
        let now = start + Duration::days(88);
        assert!(plan_new_key(&[current, next], now, &policy).is_some());
    }
}
