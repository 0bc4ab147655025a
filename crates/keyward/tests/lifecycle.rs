//! The key lifecycle with a moving clock: rotation ahead of use over two years, nodes with
//! skewed clocks, revocation, guarded deletion, refresh failures, time-limited payloads.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyward::time::macros::datetime;
use keyward::time::{Duration, OffsetDateTime};
use keyward::Clock as _;
use keyward::{
    payload, Error, KeyId, KeyStatus, ManualClock, OffsetClock, Provider, TIME_LIMITED_PURPOSE,
};

const START: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn provider(dir: &Path, clock: Arc<dyn keyward::Clock>) -> Provider {
    Provider::builder()
        .application_name("lifecycle")
        .key_directory(dir)
        .clock(clock)
        .build()
        .unwrap()
}

fn key_of(payload: &[u8]) -> KeyId {
    payload::parse(payload).unwrap().0
}

fn key_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("key-"))
        .collect();
    files.sort();
    files
}

#[test]
fn two_years_of_hourly_protects_rotate_once_per_lifetime_ahead_of_use() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let node = provider(dir.path(), Arc::new(clock.clone()));
    let protector = node.protector(["hourly"]);
    let hours = 2 * 365 * 24;
    let mut payloads: Vec<(usize, Vec<u8>)> = Vec::with_capacity(hours);
    for hour in 0..hours {
        if hour % 24 == 0 {
            node.refresh().unwrap(); // what the refresh thread does every period
                                     // Yesterday's payloads still unprotect today.
            for (h, p) in payloads.iter().rev().take(24) {
                assert_eq!(protector.unprotect(p).unwrap(), h.to_string().into_bytes());
            }
        }
        let payload = protector.protect(hour.to_string().as_bytes()).unwrap();
        payloads.push((hour, payload));
        clock.advance(Duration::hours(1));
    }
    // Every payload unprotects at the end, with zero failures.
    for (hour, payload) in &payloads {
        assert_eq!(
            protector.unprotect(payload).unwrap(),
            hour.to_string().into_bytes()
        );
    }
    // One key per 90-day lifetime: activations at day 0, 90, …, 720.
    let mut keys = node.keys();
    keys.sort_by_key(|k| k.activation);
    let days = i64::try_from(hours / 24).unwrap();
    let expected = usize::try_from(days / 90 + 1).unwrap();
    assert_eq!(keys.len(), expected, "{keys:#?}");
    assert_eq!(key_files(dir.path()).len(), expected);
    for pair in keys.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert_eq!(
            new.activation, old.expiration,
            "the successor takes over exactly at expiry"
        );
        assert_eq!(new.expiration - new.activation, Duration::days(90));
        assert!(
            new.activation - new.creation >= Duration::days(2),
            "key {} written {} before use",
            new.id,
            new.activation - new.creation
        );
    }
    // Payloads used the key that was default at their hour (each key protected something).
    let used: std::collections::HashSet<KeyId> = payloads.iter().map(|(_, p)| key_of(p)).collect();
    assert_eq!(used.len(), expected);
}

#[test]
fn nodes_with_clocks_four_minutes_apart_agree_and_read_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let base = ManualClock::new(START);
    let a = provider(dir.path(), Arc::new(base.clone()));
    let b = provider(
        dir.path(),
        Arc::new(OffsetClock::new(base.clone(), Duration::minutes(4))),
    );
    let (pa, pb) = (a.protector(["shared"]), b.protector(["shared"]));
    let mut agreements = 0;
    for step in 0..(200 * 48) {
        if step % 48 == 0 {
            a.refresh().unwrap();
        }
        if step % 48 == 24 {
            b.refresh().unwrap();
        }
        let from_a = pa.protect(b"from a").unwrap();
        let from_b = pb.protect(b"from b").unwrap();
        assert_eq!(
            key_of(&from_a),
            key_of(&from_b),
            "step {step}: both nodes use one default key"
        );
        assert_eq!(pb.unprotect(&from_a).unwrap(), b"from a");
        assert_eq!(pa.unprotect(&from_b).unwrap(), b"from b");
        agreements += 1;
        base.advance(Duration::minutes(30));
    }
    assert_eq!(agreements, 200 * 48);
    assert_eq!(
        a.keys().len(),
        3,
        "200 days: the first key and two successors"
    );
}

#[test]
fn revocation_is_immediate_here_and_reaches_other_nodes_on_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let a = provider(dir.path(), Arc::new(clock.clone()));
    let b = provider(dir.path(), Arc::new(clock.clone()));
    let payload = a.protector(["p"]).protect(b"secret").unwrap();
    let key = key_of(&payload);

    a.revoke_key(key, "laptop stolen").unwrap();
    assert!(
        matches!(a.protector(["p"]).unprotect(&payload), Err(Error::KeyRevoked(id)) if id == key)
    );
    // Revoking the default key created a new default at once.
    let new_default = a.ensure_default_key().unwrap();
    assert_ne!(new_default, key);
    assert_ne!(key_of(&a.protector(["p"]).protect(b"x").unwrap()), key);

    // B has not refreshed yet; after its refresh it refuses too.
    assert_eq!(b.protector(["p"]).unprotect(&payload).unwrap(), b"secret");
    b.refresh().unwrap();
    assert!(matches!(
        b.protector(["p"]).unprotect(&payload),
        Err(Error::KeyRevoked(_))
    ));

    // DangerousUnprotect: the data, flagged.
    let rescued = b
        .protector(["p"])
        .unprotect_allow_revoked(&payload)
        .unwrap();
    assert_eq!(rescued.data, b"secret");
    assert!(rescued.was_revoked && rescued.requires_migration);
    let fresh = b.protector(["p"]).protect(b"fresh").unwrap();
    let fine = b.protector(["p"]).unprotect_allow_revoked(&fresh).unwrap();
    assert!(!fine.was_revoked && !fine.requires_migration);
}

#[test]
fn revoke_all_takes_keys_created_strictly_before_the_date() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let node = provider(dir.path(), Arc::new(clock.clone()));
    let first = node.ensure_default_key().unwrap();
    clock.advance(Duration::days(1));
    let second = node
        .create_key(clock.now(), clock.now() + Duration::days(90))
        .unwrap();
    let second_created = node
        .keys()
        .iter()
        .find(|k| k.id == second)
        .unwrap()
        .creation;
    clock.advance(Duration::days(1));
    node.revoke_all_keys(second_created, "rotate everything older")
        .unwrap();
    let keys = node.keys();
    let revoked = |id: KeyId| keys.iter().find(|k| k.id == id).unwrap().revoked;
    assert!(revoked(first), "created before the date");
    assert!(!revoked(second), "created exactly at the date: not revoked");
    assert_eq!(node.ensure_default_key().unwrap(), second);
}

#[test]
fn deletion_has_guard_rails_and_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let node = provider(dir.path(), Arc::new(clock.clone()));
    let old = node.ensure_default_key().unwrap();
    let old_payload = node.protector(["p"]).protect(b"old").unwrap();
    node.revoke_key(old, "retired").unwrap();
    let current = node.ensure_default_key().unwrap();
    clock.advance(Duration::days(10));
    node.refresh().unwrap();
    let earlier = node
        .create_key(
            clock.now() - Duration::hours(30),
            clock.now() + Duration::days(60),
        )
        .unwrap();
    let recent = node
        .create_key(
            clock.now() - Duration::days(1),
            clock.now() + Duration::days(60),
        )
        .unwrap();
    let pending = node
        .create_key(
            clock.now() + Duration::days(5),
            clock.now() + Duration::days(95),
        )
        .unwrap();
    assert_eq!(
        node.ensure_default_key().unwrap(),
        recent,
        "the most recently activated key"
    );

    // The default key, a key activated within the propagation window and a key not yet
    // active are refused, and nothing is deleted.
    let files_before = std::fs::read_dir(dir.path()).unwrap().count();
    for guarded in [recent, earlier, pending] {
        let err = node
            .delete_keys(|k| k.id == guarded || k.id == old, false)
            .unwrap_err();
        assert!(
            matches!(err, Error::DeletionRefused { key_id, .. } if key_id == guarded),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), files_before);
    assert_eq!(node.keys().len(), 5);
    let _ = current;

    // A dry run lists the key and its revocation record, deletes nothing.
    let plan = node.delete_keys(|k| k.id == old, true).unwrap();
    assert!(plan.dry_run);
    assert_eq!(plan.keys.iter().map(|k| k.id).collect::<Vec<_>>(), [old]);
    assert_eq!(plan.revocations.len(), 1);
    assert!(plan.revocations[0].contains(&format!("revocation-{old}")));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), files_before);

    // The real deletion removes both; the key's payloads are gone for good.
    let done = node.delete_keys(|k| k.id == old, false).unwrap();
    assert_eq!(done.keys.len(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        files_before - 2
    );
    assert!(!dir.path().join(format!("key-{old}.xml")).exists());
    assert!(matches!(
        node.protector(["p"]).unprotect(&old_payload),
        Err(Error::KeyNotFound { .. })
    ));
    assert!(node.keys().iter().all(|k| k.id != old));
}

#[test]
fn a_failed_refresh_keeps_serving_creates_nothing_and_recovers() {
    let parent = tempfile::tempdir().unwrap();
    let keys = parent.path().join("keys");
    let clock = ManualClock::new(START);
    let node = provider(&keys, Arc::new(clock.clone()));
    let protector = node.protector(["p"]);
    let before = protector.protect(b"before").unwrap();
    let files = key_files(&keys);

    // The directory becomes unreadable (moved away: root ignores permission bits).
    let away = parent.path().join("away");
    std::fs::rename(&keys, &away).unwrap();
    clock.advance(Duration::days(89)); // the successor is due: it must not be created blind
    let err = node.refresh().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(protector.unprotect(&before).unwrap(), b"before");
    let during = protector.protect(b"during").unwrap();
    assert_eq!(protector.unprotect(&during).unwrap(), b"during");
    assert!(
        !keys.exists(),
        "nothing was written while the store was unreachable"
    );

    // It comes back: the refresh succeeds and rotation resumes.
    std::fs::rename(&away, &keys).unwrap();
    assert_eq!(key_files(&keys), files);
    node.refresh().unwrap();
    assert_eq!(
        key_files(&keys).len(),
        files.len() + 1,
        "the due successor, created once readable"
    );
    assert_eq!(protector.unprotect(&during).unwrap(), b"during");
}

#[test]
fn an_unknown_key_id_triggers_one_throttled_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let reader = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .build()
        .unwrap();
    // The writer creates a key the reader has not seen, and protects with it.
    let new_key = writer
        .create_key(writer.now(), writer.now() + Duration::days(90))
        .unwrap();
    let payload = writer.protector(["p"]).protect(b"new").unwrap();
    assert_eq!(key_of(&payload), new_key);
    assert!(!reader.keys().iter().any(|k| k.id == new_key));
    // The reader refreshes on demand (its background thread) and reads it.
    assert_eq!(reader.protector(["p"]).unprotect(&payload).unwrap(), b"new");

    // A second unknown key within the throttle interval fails at once.
    let other = writer
        .create_key(writer.now(), writer.now() + Duration::days(90))
        .unwrap();
    let payload = writer.protector(["p"]).protect(b"newer").unwrap();
    assert_eq!(key_of(&payload), other);
    let started = std::time::Instant::now();
    let err = reader.protector(["p"]).unprotect(&payload).unwrap_err();
    assert!(
        matches!(err, Error::KeyNotFound { key_id, .. } if key_id == other),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "throttled: no wait"
    );
}

#[test]
fn time_limited_payloads_expire() {
    let clock = ManualClock::new(START);
    let node = Provider::builder()
        .application_name("a")
        .repository(keyward::MemoryRepository::new())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let reset = node.protector(["reset"]).to_time_limited();
    let expires = START + Duration::hours(1);
    let token = reset.protect_str("user 7", expires).unwrap();
    assert_eq!(
        reset.unprotect_str(&token).unwrap(),
        ("user 7".to_owned(), expires)
    );
    clock.advance(Duration::hours(1));
    assert!(
        reset.unprotect_str(&token).is_ok(),
        "valid up to and including the expiration"
    );
    clock.advance(Duration::seconds(1));
    let err = reset.unprotect_str(&token).unwrap_err();
    assert!(
        matches!(err, Error::Expired { expired_at } if expired_at == expires),
        "{err}"
    );
    assert!(
        err.to_string().contains("expired at 2026-01-01T01:00:00Z"),
        "{err}"
    );
    // The plain protector of the same chain does not read it (another purpose chain).
    assert!(node.protector(["reset"]).unprotect_str(&token).is_err());
    // Sub-purposes go before the time-limited suffix, as in .NET.
    let sub = reset.protector("sub");
    assert_eq!(sub.purposes(), ["a", "reset", "sub", TIME_LIMITED_PURPOSE]);
}

#[test]
fn ephemeral_payloads_die_with_the_provider() {
    let one = Provider::ephemeral("app").unwrap();
    let payload = one.protector(["p"]).protect(b"x").unwrap();
    assert_eq!(one.protector(["p"]).unprotect(&payload).unwrap(), b"x");
    let two = Provider::ephemeral("app").unwrap();
    assert!(matches!(
        two.protector(["p"]).unprotect(&payload),
        Err(Error::KeyNotFound { .. })
    ));
}

#[test]
fn read_only_nodes_never_write() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Provider::builder()
        .application_name("lifecycle")
        .key_directory(dir.path())
        .read_only(true)
        .build()
        .unwrap();
    assert!(matches!(
        reader.protector(["p"]).protect(b"x"),
        Err(Error::NoDefaultKey { .. })
    ));
    assert!(reader.revoke_all_keys(START, "no").is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let writer = provider(dir.path(), Arc::new(keyward::SystemClock));
    let payload = writer.protector(["p"]).protect(b"x").unwrap();
    reader.refresh().unwrap();
    assert_eq!(reader.protector(["p"]).unprotect(&payload).unwrap(), b"x");
    let statuses: Vec<KeyStatus> = reader
        .keys()
        .iter()
        .map(|k| k.status_at(reader.now(), reader.default_key_at(reader.now())))
        .collect();
    assert_eq!(statuses, [KeyStatus::Default]);
}

#[test]
fn a_future_dated_mass_revocation_from_elsewhere_does_not_spawn_keys() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let node = provider(dir.path(), Arc::new(clock.clone()));
    // Another system (say, .NET's RevokeAllKeys with a future date) writes this.
    std::fs::write(
        dir.path().join("revocation-future.xml"),
        "<revocation version=\"1\"><revocationDate>2026-01-02T00:00:00Z</revocationDate><key id=\"*\" /><reason>x</reason></revocation>",
    )
    .unwrap();
    node.refresh().unwrap();
    for _ in 0..5 {
        let err = node.protector(["p"]).protect(b"x").unwrap_err();
        assert!(matches!(err, Error::NoDefaultKey { .. }), "{err}");
    }
    assert_eq!(
        key_files(dir.path()).len(),
        1,
        "no key created while it would be revoked at once"
    );
    // Once the date has passed, a key is created and used.
    clock.advance(Duration::days(1) + Duration::seconds(1));
    let payload = node.protector(["p"]).protect(b"x").unwrap();
    assert_eq!(node.protector(["p"]).unprotect(&payload).unwrap(), b"x");
    assert_eq!(key_files(dir.path()).len(), 2);
}

#[test]
fn a_ring_that_shrinks_keeps_unprotecting_from_memory_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let node = provider(dir.path(), Arc::new(clock.clone()));
    let payload = node.protector(["p"]).protect(b"kept").unwrap();
    let files = key_files(dir.path());
    // The store loses every key (a Redis restarted without persistence, a wiped volume)…
    for file in &files {
        std::fs::remove_file(file).unwrap();
    }
    clock.advance(Duration::hours(1));
    node.refresh().unwrap();
    // …the payloads this node can read stay readable,
    assert_eq!(node.protector(["p"]).unprotect(&payload).unwrap(), b"kept");
    // the node keeps protecting with the key it holds, and nothing is written.
    assert_eq!(
        key_of(&node.protector(["p"]).protect(b"x").unwrap()),
        key_of(&payload)
    );
    assert!(key_files(dir.path()).is_empty());
}
