//! Property tests: round trips for any bytes and purpose chains under both algorithms; any
//! single-bit flip is refused; another purpose or application name is refused.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::OnceLock;

use keyward::{Algorithm, Error, MemoryRepository, Provider};
use proptest::prelude::*;

fn provider(algorithm: Algorithm) -> &'static Provider {
    static CBC: OnceLock<Provider> = OnceLock::new();
    static GCM: OnceLock<Provider> = OnceLock::new();
    let cell = if algorithm == Algorithm::AES_256_GCM {
        &GCM
    } else {
        &CBC
    };
    cell.get_or_init(|| {
        Provider::builder()
            .application_name("props")
            .repository(MemoryRepository::new())
            .algorithm(algorithm)
            .build()
            .unwrap()
    })
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::AES_256_CBC_HMACSHA256),
        Just(Algorithm::AES_256_GCM)
    ]
}

/// Purposes: empty, short Unicode, and lengths whose 7-bit prefix takes 2 and 3 bytes.
fn purpose() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect()),
        1 => (any::<char>(), prop_oneof![Just(128usize), Just(16_384usize)])
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn purposes() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(purpose(), 0..4)
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..300),
        1 => prop::collection::vec(any::<u8>(), 16_000..17_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(algorithm in algorithm(), purposes in purposes(), data in data()) {
        let protector = provider(algorithm).protector(purposes);
        let payload = protector.protect(&data).unwrap();
        prop_assert_eq!(protector.unprotect(&payload).unwrap(), data);
    }

    #[test]
    fn round_trip_strings(algorithm in algorithm(), purposes in purposes(), text in ".*") {
        let protector = provider(algorithm).protector(purposes);
        let payload = protector.protect_str(&text).unwrap();
        prop_assert!(payload.starts_with("CfDJ8"));
        prop_assert_eq!(protector.unprotect_str(&payload).unwrap(), text);
    }

    #[test]
    fn any_single_bit_flip_is_refused(algorithm in algorithm(), data in data(), bit in any::<prop::sample::Index>()) {
        let protector = provider(algorithm).protector(["flip"]);
        let mut payload = protector.protect(&data).unwrap();
        let bit = bit.index(payload.len() * 8);
        payload[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(protector.unprotect(&payload).is_err(), "bit {} accepted", bit);
        if bit >= 20 * 8 {
            // Past the header, a flip is an authentication failure and nothing else.
            prop_assert!(matches!(protector.unprotect(&payload), Err(Error::InvalidPayload)));
        }
    }

    #[test]
    fn another_purpose_chain_is_refused(algorithm in algorithm(), a in purposes(), b in purposes(), data in data()) {
        prop_assume!(a != b);
        let payload = provider(algorithm).protector(a).protect(&data).unwrap();
        prop_assert!(matches!(provider(algorithm).protector(b).unprotect(&payload), Err(Error::InvalidPayload)));
    }
}

#[test]
fn another_application_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shop = Provider::builder()
        .application_name("shop")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let payload = shop.protector(["p"]).protect(b"secret").unwrap();
    let blog = Provider::builder()
        .application_name("blog")
        .key_directory(dir.path())
        .build()
        .unwrap();
    assert!(matches!(
        blog.protector(["p"]).unprotect(&payload),
        Err(Error::InvalidPayload)
    ));
    // The application name is only the first purpose: the same chain spelled out matches.
    let bare = Provider::builder()
        .no_application_discriminator()
        .key_directory(dir.path())
        .build()
        .unwrap();
    assert_eq!(
        bare.protector(["shop", "p"]).unprotect(&payload).unwrap(),
        b"secret"
    );
}

#[test]
fn gcm_and_cbc_keys_read_each_other_in_one_ring() {
    let dir = tempfile::tempdir().unwrap();
    let cbc = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .build()
        .unwrap();
    let from_cbc = cbc.protector(["p"]).protect(b"one").unwrap();
    // A GCM provider over the same ring uses the existing (CBC) default key.
    let gcm = Provider::builder()
        .application_name("a")
        .key_directory(dir.path())
        .algorithm(Algorithm::AES_256_GCM)
        .build()
        .unwrap();
    assert_eq!(gcm.protector(["p"]).unprotect(&from_cbc).unwrap(), b"one");
    let only_gcm = tempfile::tempdir().unwrap();
    let gcm = Provider::builder()
        .application_name("a")
        .key_directory(only_gcm.path())
        .algorithm(Algorithm::AES_256_GCM)
        .build()
        .unwrap();
    let payload = gcm.protector(["p"]).protect(b"two").unwrap();
    // GCM body: 16 key modifier + 12 nonce + 3 + 16 tag.
    assert_eq!(payload.len(), 20 + 16 + 12 + 3 + 16);
    assert_eq!(gcm.keys()[0].algorithm, Some(Algorithm::AES_256_GCM));
}
