//! Master keys encrypted at rest: the fuzz input is the secret of a key (the element where
//! `<masterKey>` goes), raw or inside `<encryptedSecret>` with the KEK or the EncryptedXml
//! (certificate) decryptor type; the provider has the fixed KEK ring and certificate.
//! The first byte picks the shape. Never panics.
#![no_main]

use keyward::at_rest::{ENCRYPTED_XML_DECRYPTOR_TYPE, KEK_DECRYPTOR_TYPE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let inner = String::from_utf8_lossy(rest);
    let secret = match shape % 3 {
        0 => inner.into_owned(),
        1 => keyward_fuzz::encrypted_secret(KEK_DECRYPTOR_TYPE, &inner),
        _ => keyward_fuzz::encrypted_secret(ENCRYPTED_XML_DECRYPTOR_TYPE, &inner),
    };
    let key = keyward_fuzz::key_with_secret(&secret);
    let Ok(provider) = keyward_fuzz::builder()
        .key_encryption_keys(keyward_fuzz::kek_ring())
        .certificates(keyward_fuzz::certificates())
        .repository(keyward_fuzz::RawRepository(vec![key]))
        .build()
    else {
        return;
    };
    let _ = provider.keys();
    let protector = provider.protector(keyward_fuzz::PURPOSES);
    if let Ok(payload) = protector.protect(b"encrypted secret") {
        assert_eq!(
            protector
                .unprotect(&payload)
                .expect("own payload is refused"),
            b"encrypted secret"
        );
    }
});
