//! Revoking every key of a ring that holds many keys written ahead of use: the revocation
//! writes a replacement for each gap it opens, however many (found by the schedule model: a
//! revocation that took 16 pending keys stopped after writing 8 and left a gap).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::Arc;

use keyward::revocation::RevocationTarget;
use keyward::time::macros::datetime;
use keyward::time::Duration;
use keyward::{Clock as _, ManualClock, MemoryRepository, Provider};

#[test]
fn revoking_many_pending_keys_fills_every_gap_it_opens() {
    const PENDING: i64 = 14;
    let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
    let provider = Provider::builder()
        .repository(MemoryRepository::new())
        .clock(Arc::new(clock.clone()))
        .no_application_discriminator()
        .automatic_key_generation(false)
        .watch_changes(false)
        .build()
        .unwrap();
    provider.ensure_keys(false).unwrap();
    let window = provider.policy().propagation_window;
    let lifetime = provider.policy().key_lifetime;
    // Keys written ahead of use, each taking over from the one before.
    for day in 1..=PENDING {
        let activation = clock.now() + window + Duration::days(day);
        provider
            .create_key(activation, activation + lifetime)
            .unwrap();
    }
    clock.advance(Duration::hours(1));
    assert!(provider.schedule().gaps().is_empty());

    let now = clock.now();
    let dry = provider
        .revoke(
            RevocationTarget::CreatedBefore(now),
            "rotate everything",
            true,
        )
        .unwrap();
    assert!(!dry.gaps.is_empty(), "the revocation alone opens gaps");
    let plan = provider
        .revoke(
            RevocationTarget::CreatedBefore(now),
            "rotate everything",
            false,
        )
        .unwrap();
    assert!(
        plan.revoked.len() > PENDING as usize,
        "{}",
        plan.revoked.len()
    );
    assert!(
        plan.replacements.len() > 8,
        "more replacements than the old fixed bound: {}",
        plan.replacements.len()
    );
    assert_eq!(
        plan.replacements.len(),
        dry.replacements.len(),
        "the dry run said so"
    );
    provider.refresh().unwrap();
    let gaps = provider.schedule().gaps();
    assert!(gaps.is_empty(), "gaps left: {gaps:?}");
    assert!(provider.default_key_at(clock.now()).is_some());
}
