//! Unit tests of `protector`.

use super::*;
use crate::provider::Provider;
use crate::repository::MemoryRepository;

/// A provider over a memory store, with one algorithm and reuse mode.
fn provider(algorithm: crate::crypto::Algorithm, reuse: SubkeyReuse) -> Provider {
    Provider::builder()
        .application_name("app")
        .repository(MemoryRepository::new())
        .algorithm(algorithm)
        .subkey_reuse(reuse)
        .build()
        .unwrap()
}

fn protector(reuse: SubkeyReuse) -> (Provider, Protector) {
    let provider = provider(crate::crypto::Algorithm::default(), reuse);
    let protector = provider.protector(["p"]);
    (provider, protector)
}

#[test]
fn only_subkeys_that_authenticated_a_payload_enter_the_cache() {
    let (_provider, protector) = protector(SubkeyReuse::PerPayload);
    let cache = &protector.shared.subkeys;
    let payload = protector.protect(b"data").unwrap();
    assert_eq!(cache.len(), 0, "per-payload protect keeps nothing");
    let mut forged = payload.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(
        protector.unprotect(&forged),
        Err(Error::InvalidPayload)
    ));
    assert_eq!(cache.len(), 0, "a forgery keeps nothing");
    assert_eq!(protector.unprotect(&payload).unwrap(), b"data");
    assert_eq!(cache.len(), 1);
    assert_eq!(protector.unprotect(&payload).unwrap(), b"data");
    assert_eq!(cache.len(), 1);
}

#[test]
fn shared_subkeys_are_kept_for_reading_back() {
    let (_provider, protector) = protector(SubkeyReuse::DEFAULT);
    let first = protector.protect(b"one").unwrap();
    let second = protector.protect(b"two").unwrap();
    assert_eq!(protector.shared.subkeys.len(), 1);
    let (key_id, _) = payload::parse(&first).unwrap();
    let modifier = &first[HEADER_LEN..HEADER_LEN + KEY_MODIFIER_LEN];
    let ring = protector.shared.ring();
    let identity = *ring.get(&key_id).unwrap().crypto().unwrap().identity();
    assert!(protector
        .shared
        .subkeys
        .get(&key_id, &identity, &protector.aad_tail, modifier)
        .is_some());
    assert_eq!(protector.unprotect(&second).unwrap(), b"two");
    assert_eq!(protector.shared.subkeys.len(), 1);
}

/// Every algorithm and reuse mode: the buffer variants give the same plaintext as the
/// allocating ones, append after what `out` holds, and leave `out` as it was on failure.
#[test]
fn buffer_variants_append_and_leave_the_buffer_as_it_was_on_failure() {
    use crate::crypto::Algorithm;
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        for reuse in [SubkeyReuse::DEFAULT, SubkeyReuse::PerPayload] {
            let provider = provider(algorithm, reuse);
            let protector = provider.protector(["p"]);
            for len in [0usize, 1, 15, 16, 17, 300] {
                let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut out = b"prefix".to_vec();
                protector.protect_into(&data, &mut out).unwrap();
                assert_eq!(&out[..6], b"prefix");
                let payload = out[6..].to_vec();
                assert_eq!(protector.unprotect(&payload).unwrap(), data, "{algorithm}");

                let mut plain = b"kept".to_vec();
                protector.unprotect_into(&payload, &mut plain).unwrap();
                assert_eq!(&plain[..4], b"kept");
                assert_eq!(&plain[4..], &data[..]);

                let mut in_place = payload.clone();
                let opened = protector.unprotect_in_place(&mut in_place).unwrap();
                assert_eq!(opened, &data[..]);

                // Tampered anywhere after the header: refused, `out` untouched, no plaintext
                // left in the in-place buffer.
                for at in [HEADER_LEN + KEY_MODIFIER_LEN + 1, payload.len() - 1] {
                    let mut forged = payload.clone();
                    forged[at] ^= 0x40;
                    let mut plain = b"kept".to_vec();
                    assert!(protector.unprotect_into(&forged, &mut plain).is_err());
                    assert_eq!(plain, b"kept");
                    let mut in_place = forged.clone();
                    assert!(protector.unprotect_in_place(&mut in_place).is_err());
                    if len >= 4 {
                        assert!(
                            !in_place.windows(len).any(|w| w == &data[..]),
                            "no plaintext after a failed in-place unprotect"
                        );
                    }
                }
                // Truncated and foreign payloads: errors, never panics.
                let mut short = payload[..payload.len() / 2].to_vec();
                assert!(protector.unprotect_in_place(&mut short).is_err());
                assert!(protector.unprotect_in_place(&mut []).is_err());
            }
            // Purpose isolation holds for the buffer variants too.
            let other = provider.protector(["q"]);
            let mut payload = Vec::new();
            protector.protect_into(b"data", &mut payload).unwrap();
            assert!(matches!(
                other.unprotect_in_place(&mut payload.clone()),
                Err(Error::InvalidPayload)
            ));
        }
    }
}

/// Plain `unprotect` skips the ring for subkeys the current ring version vouched for; a
/// revocation installs a new version, so the next payload of that key is refused at once,
/// however often it was read before. Truncated and tampered payloads of a vouched-for key
/// modifier fail as on the full path.
#[test]
fn subkeys_a_ring_vouched_for_stop_at_the_next_ring() {
    use crate::crypto::Algorithm;
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        let provider = provider(algorithm, SubkeyReuse::DEFAULT);
        let protector = provider.protector(["p"]);
        let payload = protector.protect(b"cookie").unwrap();
        let (key_id, body) = payload::parse(&payload).unwrap();
        let version = protector.shared.ring_version();
        for _ in 0..3 {
            assert_eq!(protector.unprotect(&payload).unwrap(), b"cookie");
        }
        assert!(
            protector.verified_subkeys(key_id, body, version).is_some(),
            "read from the cache, the ring vouched for the subkeys ({algorithm})"
        );
        let other_purpose = provider.protector(["q"]);
        assert!(other_purpose
            .verified_subkeys(key_id, body, version)
            .is_none());
        assert!(matches!(
            other_purpose.unprotect(&payload),
            Err(Error::InvalidPayload)
        ));
        let mut forged = payload.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            protector.unprotect(&forged),
            Err(Error::InvalidPayload)
        ));
        let short = &payload[..HEADER_LEN + KEY_MODIFIER_LEN + 4];
        assert!(matches!(
            protector.unprotect(short),
            Err(Error::MalformedPayload(_))
        ));

        provider.revoke_key(key_id, "test").unwrap();
        assert_ne!(protector.shared.ring_version(), version);
        assert!(matches!(
            protector.unprotect(&payload),
            Err(Error::KeyRevoked(id)) if id == key_id
        ));
        let unprotected = protector.unprotect_allow_revoked(&payload).unwrap();
        assert!(unprotected.was_revoked);
        // Still refused after the revoked key's subkeys were read (not vouched for again).
        assert!(matches!(
            protector.unprotect(&payload),
            Err(Error::KeyRevoked(_))
        ));
    }
}
