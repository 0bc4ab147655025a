//! The hot path's allocation budget, counted by a global allocator on the test's own thread:
//! one heap allocation (the output) per `protect`, and none beyond the output per `unprotect`
//! of a payload whose subkeys are cached. (aws-lc allocates through C's `malloc`, which this
//! does not see: it is used when subkeys are derived, not per payload on these paths.)

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::{Algorithm, MemoryRepository, Provider, SubkeyReuse};
use keyward_testdata::allocations::{allocations_during, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn protect_allocates_its_output_only_and_a_cached_unprotect_its_plaintext_only() {
    const ROUNDS: u64 = 200;
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        for reuse in [SubkeyReuse::DEFAULT, SubkeyReuse::PerPayload] {
            let provider = Provider::builder()
                .application_name("app")
                .repository(MemoryRepository::new())
                .algorithm(algorithm)
                .subkey_reuse(reuse)
                .build()
                .unwrap();
            let protector = provider.protector(["Orders", "v1"]);
            let data = [0x61u8; 256];
            // Warm up: the first protect derives and keeps the subkeys and the KDF prefix; the
            // first read keeps the subkeys, the second expands them for reuse (CBC).
            let payload = protector.protect(&data).unwrap();
            for _ in 0..2 {
                assert_eq!(protector.unprotect(&payload).unwrap(), data);
            }

            let mut payloads = Vec::with_capacity(200);
            let protects = allocations_during(|| {
                for _ in 0..ROUNDS {
                    payloads.push(protector.protect(&data).unwrap());
                }
            });
            let reads = allocations_during(|| {
                for _ in 0..ROUNDS {
                    assert_eq!(protector.unprotect(&payload).unwrap().len(), data.len());
                }
            });
            assert_eq!(protects, ROUNDS, "{algorithm} {reuse:?}: protect");
            assert_eq!(
                reads, ROUNDS,
                "{algorithm} {reuse:?}: unprotect of a cached payload"
            );
        }
    }
}

/// The buffer variants allocate nothing once warm: `protect_into` a buffer with room,
/// `unprotect_into` a buffer with room and `unprotect_in_place` of a payload whose subkeys
/// are cached.
#[test]
fn buffer_variants_allocate_nothing_once_warm() {
    const ROUNDS: u64 = 200;
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        let provider = Provider::builder()
            .application_name("app")
            .repository(MemoryRepository::new())
            .algorithm(algorithm)
            .build()
            .unwrap();
        let protector = provider.protector(["Orders", "v1"]);
        let data = [0x61u8; 256];
        let mut payload = Vec::with_capacity(512);
        let mut plaintext = Vec::with_capacity(512);
        protector.protect_into(&data, &mut payload).unwrap();
        for _ in 0..2 {
            plaintext.clear();
            protector.unprotect_into(&payload, &mut plaintext).unwrap();
        }
        let mut scratch = payload.clone();
        let protects = allocations_during(|| {
            for _ in 0..ROUNDS {
                payload.clear();
                protector.protect_into(&data, &mut payload).unwrap();
            }
        });
        let reads = allocations_during(|| {
            for _ in 0..ROUNDS {
                plaintext.clear();
                protector.unprotect_into(&payload, &mut plaintext).unwrap();
                assert_eq!(plaintext.len(), data.len());
            }
        });
        let in_place = allocations_during(|| {
            for _ in 0..ROUNDS {
                scratch.clear();
                scratch.extend_from_slice(&payload);
                assert_eq!(protector.unprotect_in_place(&mut scratch).unwrap(), data);
            }
        });
        assert_eq!(protects, 0, "{algorithm}: protect_into");
        assert_eq!(reads, 0, "{algorithm}: unprotect_into");
        assert_eq!(in_place, 0, "{algorithm}: unprotect_in_place");
    }
}
