//! Unit tests of `protector`.

use super::*;
use crate::provider::Provider;
use crate::repository::MemoryRepository;

fn protector(reuse: SubkeyReuse) -> (Provider, Protector) {
    let provider = Provider::builder()
        .application_name("app")
        .repository(MemoryRepository::new())
        .subkey_reuse(reuse)
        .build()
        .unwrap();
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
