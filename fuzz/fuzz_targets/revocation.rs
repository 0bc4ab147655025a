//! Revocation elements: a ring of the fixed CBC key plus the fuzz input as a revocation
//! (raw, or its date or key id inside a revocation template; the first byte picks). If the
//! ring loads, the fixed key's payload unprotects exactly when the key is not revoked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let revocation = match shape % 3 {
        0 => text.into_owned(),
        1 => format!(
            r#"<revocation version="1"><revocationDate>{text}</revocationDate><key id="{}" /><reason>fuzz</reason></revocation>"#,
            keyward_fuzz::CBC_KEY_ID
        ),
        _ => format!(
            r#"<revocation version="1"><revocationDate>2026-03-01T00:00:00Z</revocationDate><key id="{text}" /></revocation>"#
        ),
    };
    let Ok(provider) =
        keyward_fuzz::provider_over(vec![keyward_fuzz::CBC_KEY_XML.to_owned(), revocation])
    else {
        return;
    };
    // Raw input (shape 0) may also hold keys, even one with the fixed key's id: only the
    // templated shapes are sure to leave the fixed key alone.
    let templated = shape % 3 != 0;
    let keys = provider.keys();
    let id: keyward::KeyId = keyward_fuzz::CBC_KEY_ID.parse().expect("fixed id");
    let Some(key) = keys.iter().find(|k| k.id == id) else {
        assert!(!templated, "the fixed key vanished from the ring");
        return;
    };
    let (payload, plaintext) = keyward_fuzz::fixed_payload();
    match provider
        .protector(keyward_fuzz::PURPOSES)
        .unprotect(payload)
    {
        Ok(read) => {
            assert!(!key.revoked, "a revoked key still unprotects");
            assert_eq!(&read, plaintext);
        }
        Err(keyward::Error::KeyRevoked(k)) => {
            assert_eq!(k, id);
            assert!(key.revoked, "refused as revoked, listed as not revoked");
        }
        Err(e) => assert!(!templated, "the fixed payload is refused: {e}"),
    }
});
