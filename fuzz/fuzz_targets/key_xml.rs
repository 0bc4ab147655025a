//! Key (and revocation, and container) XML documents: the fuzz input is one stored element
//! of a ring, alone and beside a fixed key, and (when `parse_element` reads it) stored in a
//! `MemoryRepository` the way `keyward keys migrate` moves it. A read-only provider is built
//! over each ring; keys are listed, and protect/unprotect must round-trip. Never panics.
#![no_main]

use keyward::{KeyRepository, Provider};
use libfuzzer_sys::fuzz_target;

fn exercise(provider: &Provider) {
    let keys = provider.keys();
    for key in &keys {
        let _ = key.status_at(keyward_fuzz::NOW, None);
    }
    let _ = provider.default_key_at(keyward_fuzz::NOW);
    let protector = provider.protector(keyward_fuzz::PURPOSES);
    if let Ok(payload) = protector.protect(b"key xml") {
        assert_eq!(
            protector
                .unprotect(&payload)
                .expect("own payload is refused"),
            b"key xml"
        );
    }
    let _ = protector.unprotect(&keyward_fuzz::fixed_payload().0);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Ok(provider) = keyward_fuzz::provider_over(vec![text.clone()]) {
        exercise(&provider);
    }
    if let Ok(provider) =
        keyward_fuzz::provider_over(vec![keyward_fuzz::CBC_KEY_XML.to_owned(), text.clone()])
    {
        exercise(&provider);
    }
    if let Ok(element) = keyward::store::parse_element(&text) {
        let repository = keyward::MemoryRepository::new();
        repository
            .store_element(&element, "fuzz")
            .expect("memory store");
        if let Ok(provider) = keyward_fuzz::builder().repository(repository).build() {
            exercise(&provider);
        }
    }
});
