//! Unit tests of `schedule`.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

fn windows() -> ScheduleWindows {
    ScheduleWindows::from(&KeyManagementPolicy::default())
}

fn key(n: u8, created: i64, active: i64, days: i64) -> KeyCandidate {
    let mut bytes = [0u8; 16];
    bytes[15] = n;
    KeyCandidate {
        id: KeyId::from_guid_bytes(bytes),
        creation: NOW + Duration::days(created),
        activation: NOW + Duration::days(active),
        expiration: NOW + Duration::days(active + days),
        revoked: false,
        usable: true,
    }
}

#[test]
fn an_empty_ring_is_a_gap_now_and_plans_a_key_active_now() {
    let schedule = Schedule::new(&[], NOW, windows());
    assert_eq!(schedule.covered_until(), NOW);
    assert_eq!(schedule.gaps().len(), 1);
    assert_eq!(schedule.gaps()[0].cause, GapCause::NoKey);
    let plan = schedule.next_key().unwrap();
    assert_eq!(plan.activation, NOW);
    assert_eq!(plan.expiration, NOW + Duration::days(90));
}

#[test]
fn a_healthy_ring_has_no_gap_until_its_successor_falls_due() {
    let current = key(1, -80, -78, 90);
    let schedule = Schedule::new(&[current], NOW, windows());
    assert!(schedule.gaps().is_empty());
    assert_eq!(schedule.next_key(), None);
    assert_eq!(schedule.covered_until(), current.expiration);
    assert_eq!(
        schedule.must_write_by(),
        current.expiration - Duration::days(2)
    );
    // The rule acts strictly inside refresh period + propagation window.
    let due = schedule.next_write_at();
    assert_eq!(
        due,
        current.expiration - Duration::days(3) + Duration::minutes(1)
    );
    let then = Schedule::new(&[current], due, windows());
    assert_eq!(then.next_key().unwrap().activation, current.expiration);
    let before = Schedule::new(&[current], due - Duration::minutes(2), windows());
    assert_eq!(before.next_key(), None);
}

#[test]
fn a_revoked_pending_key_opens_a_gap_that_the_plan_fills_on_its_activation() {
    // The situation of `keys new; keys revoke --all --before now`: the replacement is the
    // default only until the revoked pending key's activation.
    let replacement = key(3, 0, 0, 90);
    let mut pending = key(2, -1, 1, 90);
    pending.revoked = true;
    let mut old = key(1, -50, -48, 90);
    old.revoked = true;
    let schedule = Schedule::new(&[old, pending, replacement], NOW, windows());
    assert_eq!(schedule.default_at(NOW), Some(replacement.id));
    let gaps = schedule.gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].start, pending.activation - Duration::minutes(5));
    assert_eq!(gaps[0].cause, GapCause::Revoked(pending.id));
    let plan = schedule.next_key().unwrap();
    assert_eq!(plan.activation, pending.activation);
    let fixed = schedule.with_change(|keys| {
        keys.push(KeyCandidate {
            activation: plan.activation,
            expiration: plan.expiration,
            ..key(4, 0, 0, 1)
        });
    });
    assert!(fixed.gaps().is_empty(), "{:?}", fixed.gaps());
}

#[test]
fn a_gap_a_revoked_key_causes_is_due_at_any_distance() {
    let current = key(1, -10, -8, 90);
    let mut far = key(2, -1, 40, 90);
    far.revoked = true;
    let schedule = Schedule::new(&[current, far], NOW, windows());
    assert_eq!(schedule.gaps().len(), 1);
    assert_eq!(schedule.gaps()[0].cause, GapCause::Revoked(far.id));
    assert_eq!(
        schedule.covered_until(),
        far.activation - Duration::minutes(5)
    );
    assert_eq!(schedule.next_key().unwrap().activation, far.activation);
}

#[test]
fn the_natural_end_is_not_due_until_it_comes_within_the_horizon() {
    let current = key(1, -10, -8, 90);
    let schedule = Schedule::new(&[current], NOW, windows());
    assert!(schedule.gaps().is_empty());
    let later = Schedule::new(
        &[current],
        current.expiration - Duration::days(2),
        windows(),
    );
    assert_eq!(later.gaps().len(), 1);
    assert_eq!(later.gaps()[0].cause, GapCause::Expired(current.id));
}

#[test]
fn the_end_of_a_replacement_is_its_natural_end_whatever_the_ids() {
    // A revoked pending key and its replacement share an activation; where both end, the
    // gap is the replacement's natural end, not a revocation's, whichever id is smaller.
    for (revoked_n, replacement_n) in [(2, 3), (3, 2)] {
        let current = key(1, -10, -8, 90);
        let mut pending = key(revoked_n, -1, 1, 90);
        pending.revoked = true;
        let replacement = KeyCandidate {
            creation: NOW,
            ..key(replacement_n, 0, 1, 90)
        };
        let schedule = Schedule::new(&[current, pending, replacement], NOW, windows());
        assert!(schedule.gaps().is_empty(), "{:?}", schedule.gaps());
        let end = Schedule::new(
            &[current, pending, replacement],
            replacement.expiration - Duration::days(1),
            windows(),
        );
        assert_eq!(end.gaps()[0].cause, GapCause::Expired(replacement.id));
    }
}

#[test]
fn takeovers_written_less_than_a_window_ahead_are_late() {
    let current = key(1, -10, -8, 90);
    let on_time = key(2, 0, 2, 90);
    let schedule = Schedule::new(&[current, on_time], NOW, windows());
    assert!(schedule.late_takeovers().is_empty());
    let rushed = key(3, 0, 1, 90);
    let schedule = Schedule::new(&[current, rushed], NOW, windows());
    assert_eq!(schedule.late_takeovers().len(), 1);
    // The same written tomorrow would not be known to a node that refreshed today.
    assert_eq!(
        schedule
            .seen_by(NOW - Duration::hours(1))
            .default_at(NOW + Duration::days(1)),
        Some(current.id)
    );
}

#[test]
fn a_key_filling_a_gap_is_not_counted_late() {
    let mut revoked = key(1, -10, -8, 90);
    revoked.revoked = true;
    let replacement = key(2, 0, -8, 90);
    let schedule = Schedule::spanning(
        &[revoked, replacement],
        NOW - Duration::days(9),
        NOW,
        windows(),
    );
    assert!(schedule.late_takeovers().is_empty());
}
