//! Shared subkeys: how many payloads one key modifier serves, that every payload stays
//! readable by a reader that derives per payload, and that the subkey cache never crosses a
//! purpose chain, an application, a revocation or a key.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use keyward::time::macros::datetime;
use keyward::time::OffsetDateTime;
use keyward::{Algorithm, Error, ManualClock, Protector, Provider, SubkeyReuse};

const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const ALGORITHMS: [Algorithm; 2] = [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM];

fn provider(
    dir: &std::path::Path,
    algorithm: Algorithm,
    reuse: SubkeyReuse,
    clock: &Arc<ManualClock>,
) -> Provider {
    Provider::builder()
        .application_name("shop")
        .key_directory(dir)
        .algorithm(algorithm)
        .clock(Arc::clone(clock) as Arc<dyn keyward::Clock>)
        .subkey_reuse(reuse)
        .build()
        .unwrap()
}

/// The key modifier of a payload (after magic and key id).
fn modifier(payload: &[u8]) -> [u8; 16] {
    payload[20..36].try_into().unwrap()
}

/// The IV or nonce of a payload (after the key modifier).
fn iv(payload: &[u8]) -> Vec<u8> {
    payload[36..48].to_vec()
}

fn protect_n(protector: &Protector, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            protector
                .protect(format!("payload {i}").as_bytes())
                .unwrap()
        })
        .collect()
}

#[test]
fn a_key_modifier_serves_at_most_max_payloads_and_each_payload_has_its_own_iv() {
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(START));
        let reuse = SubkeyReuse::Bounded {
            max_payloads: 3,
            max_age: Duration::from_secs(60),
        };
        let writer = provider(dir.path(), algorithm, reuse, &clock);
        let payloads = protect_n(&writer.protector(["p"]), 7);
        let modifiers: Vec<[u8; 16]> = payloads.iter().map(|p| modifier(p)).collect();
        assert_eq!(modifiers[0], modifiers[1], "{algorithm}");
        assert_eq!(modifiers[1], modifiers[2], "{algorithm}");
        assert_ne!(
            modifiers[2], modifiers[3],
            "{algorithm}: the budget of 3 is spent"
        );
        assert_eq!(modifiers[3], modifiers[5], "{algorithm}");
        assert_ne!(modifiers[5], modifiers[6], "{algorithm}");
        let ivs: HashSet<Vec<u8>> = payloads.iter().map(|p| iv(p)).collect();
        assert_eq!(ivs.len(), payloads.len(), "{algorithm}: an IV per payload");

        // A reader that derives for every payload (its own provider, empty cache) reads all.
        let reader = provider(dir.path(), algorithm, SubkeyReuse::PerPayload, &clock);
        let protector = reader.protector(["p"]);
        for (i, payload) in payloads.iter().enumerate() {
            assert_eq!(
                protector.unprotect(payload).unwrap(),
                format!("payload {i}").as_bytes()
            );
        }
    }
}

#[test]
fn per_payload_derives_a_new_key_modifier_every_time() {
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(START));
        let writer = provider(dir.path(), algorithm, SubkeyReuse::PerPayload, &clock);
        let protector = writer.protector(["p"]);
        let payloads = protect_n(&protector, 200);
        let modifiers: HashSet<[u8; 16]> = payloads.iter().map(|p| modifier(p)).collect();
        assert_eq!(modifiers.len(), 200, "{algorithm}");
        for (i, payload) in payloads.iter().enumerate() {
            assert_eq!(
                protector.unprotect(payload).unwrap(),
                format!("payload {i}").as_bytes()
            );
        }
    }
}

#[test]
fn a_key_modifier_ends_after_max_age_when_the_clock_goes_back_and_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let writer = provider(
        dir.path(),
        Algorithm::AES_256_GCM,
        SubkeyReuse::DEFAULT,
        &clock,
    );
    let protector = writer.protector(["p"]);
    let first = modifier(&protector.protect(b"a").unwrap());
    clock.advance(keyward::time::Duration::seconds(59));
    assert_eq!(modifier(&protector.protect(b"b").unwrap()), first);
    clock.advance(keyward::time::Duration::seconds(1));
    let second = modifier(&protector.protect(b"c").unwrap());
    assert_ne!(second, first, "60 s is the default max_age");
    clock.advance(keyward::time::Duration::seconds(-5));
    let third = modifier(&protector.protect(b"d").unwrap());
    assert_ne!(third, second, "a clock that went back ends the modifier");

    // A new default key gets a new modifier at once.
    let new_key = writer
        .create_key(
            writer.now(),
            writer.now() + keyward::time::Duration::days(90),
        )
        .unwrap();
    let payload = protector.protect(b"e").unwrap();
    assert_eq!(&payload[4..20], &new_key.to_guid_bytes()[..]);
    assert_ne!(modifier(&payload), third);
}

/// `protect`'s fast path (no ring read while the issuing subkeys' window holds) ends when a
/// key created ahead of time activates, not only when the modifier ages out: here a modifier
/// may live an hour, and the payload after the new key's activation names the new key.
#[test]
fn a_key_activated_ahead_of_time_takes_over_at_its_activation() {
    let minutes = keyward::time::Duration::minutes;
    let reuse = SubkeyReuse::Bounded {
        max_payloads: 1000,
        max_age: SubkeyReuse::MAX_AGE,
    };
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(START));
        let writer = provider(dir.path(), algorithm, reuse, &clock);
        let current = writer.protector(["setup"]).protect(b"x").unwrap()[4..20].to_vec();
        let next = writer
            .create_key(
                writer.now() + minutes(30),
                writer.now() + keyward::time::Duration::days(90),
            )
            .unwrap();
        // A protector that starts issuing on the ring that already holds the next key.
        let protector = writer.protector(["p"]);
        let first = protector.protect(b"a").unwrap();
        assert_eq!(&first[4..20], &current[..], "{algorithm}");
        // Well before the activation (beyond the 5-minute clock skew): the current key,
        // the same modifier.
        clock.advance(minutes(20));
        let before = protector.protect(b"b").unwrap();
        assert_eq!(&before[4..20], &current[..], "{algorithm}");
        assert_eq!(modifier(&before), modifier(&first), "{algorithm}");
        // Past the activation, the modifier still young enough: the new key, a new modifier.
        clock.advance(minutes(11));
        let after = protector.protect(b"c").unwrap();
        assert_eq!(&after[4..20], &next.to_guid_bytes()[..], "{algorithm}");
        assert_ne!(modifier(&after), modifier(&before), "{algorithm}");
        for (payload, text) in [(&first, "a"), (&before, "b"), (&after, "c")] {
            assert_eq!(protector.unprotect(payload).unwrap(), text.as_bytes());
        }
    }
}

#[test]
fn cached_subkeys_never_cross_a_purpose_chain_or_an_application() {
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(START));
        let writer = provider(dir.path(), algorithm, SubkeyReuse::DEFAULT, &clock);
        let orders = writer.protector(["Orders"]);
        let invoices = writer.protector(["Invoices"]);
        let payload = orders.protect(b"order 42").unwrap();
        // Both chains have cached subkeys under their own modifiers now.
        let other = invoices.protect(b"invoice 7").unwrap();
        assert_eq!(orders.unprotect(&payload).unwrap(), b"order 42");
        assert!(matches!(
            invoices.unprotect(&payload),
            Err(Error::InvalidPayload)
        ));
        assert!(matches!(
            orders.unprotect(&other),
            Err(Error::InvalidPayload)
        ));
        // Still refused after the right chain has read it (its subkeys are cached).
        assert!(matches!(
            invoices.unprotect(&payload),
            Err(Error::InvalidPayload)
        ));
        assert!(matches!(
            writer.protector(["Orders", "v2"]).unprotect(&payload),
            Err(Error::InvalidPayload)
        ));

        // Another application on the same key ring.
        let other_app = Provider::builder()
            .application_name("blog")
            .key_directory(dir.path())
            .clock(Arc::clone(&clock) as Arc<dyn keyward::Clock>)
            .build()
            .unwrap();
        assert!(matches!(
            other_app.protector(["Orders"]).unprotect(&payload),
            Err(Error::InvalidPayload)
        ));
    }
}

#[test]
fn a_revoked_key_is_refused_even_when_its_subkeys_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let writer = provider(
        dir.path(),
        Algorithm::AES_256_CBC_HMACSHA256,
        SubkeyReuse::DEFAULT,
        &clock,
    );
    let protector = writer.protector(["p"]);
    let payload = protector.protect(b"secret").unwrap();
    assert_eq!(protector.unprotect(&payload).unwrap(), b"secret");
    let key_id = writer.keys()[0].id;
    writer.revoke_key(key_id, "test").unwrap();
    assert!(matches!(
        protector.unprotect(&payload),
        Err(Error::KeyRevoked(id)) if id == key_id
    ));
    // And protect moves to a new key and a new modifier.
    let next = protector.protect(b"secret").unwrap();
    assert_ne!(&next[4..20], &payload[4..20]);
    assert_ne!(modifier(&next), modifier(&payload));
}

#[test]
fn tampering_is_refused_whether_or_not_the_subkeys_are_cached() {
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(START));
        let writer = provider(dir.path(), algorithm, SubkeyReuse::DEFAULT, &clock);
        let protector = writer.protector(["p"]);
        let payload = protector.protect(&[0x61; 100]).unwrap();
        for byte in 20..payload.len() {
            let mut bad = payload.clone();
            bad[byte] ^= 0x01;
            assert!(
                matches!(protector.unprotect(&bad), Err(Error::InvalidPayload)),
                "{algorithm}: byte {byte}"
            );
        }
        assert_eq!(protector.unprotect(&payload).unwrap(), [0x61; 100]);
    }
}

#[test]
fn out_of_range_bounds_are_refused_by_the_builder() {
    let dir = tempfile::tempdir().unwrap();
    for reuse in [
        SubkeyReuse::Bounded {
            max_payloads: 0,
            max_age: Duration::from_secs(1),
        },
        SubkeyReuse::Bounded {
            max_payloads: SubkeyReuse::MAX_PAYLOADS + 1,
            max_age: Duration::from_secs(1),
        },
        SubkeyReuse::Bounded {
            max_payloads: 10,
            max_age: Duration::ZERO,
        },
        SubkeyReuse::Bounded {
            max_payloads: 10,
            max_age: SubkeyReuse::MAX_AGE + Duration::from_secs(1),
        },
    ] {
        let error = Provider::builder()
            .application_name("a")
            .key_directory(dir.path())
            .subkey_reuse(reuse)
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Configuration(m) if m.to_string().contains("subkey reuse")),
            "{reuse:?}: {error}"
        );
    }
    assert_eq!(SubkeyReuse::default(), SubkeyReuse::DEFAULT);
}
