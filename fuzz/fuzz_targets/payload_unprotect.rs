//! The payload envelope and both body decoders (CBC + HMAC, GCM): `unprotect` and
//! `unprotect_str` of arbitrary input with a fixed ring (one CBC key, one GCM key).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let provider = keyward_fuzz::fixed_provider();
    let protector = provider.protector(keyward_fuzz::PURPOSES);
    let bytes = protector.unprotect(data);
    let _ = protector.unprotect_allow_revoked(data);
    let text = String::from_utf8_lossy(data);
    let _ = protector.unprotect_str(&text);
    if let Ok(plaintext) = bytes {
        // Authenticated for this purpose chain: no other chain may read it, and it is the
        // same data again with the revocation-tolerant call.
        let other = provider.protector(["fuzz", "other"]);
        assert!(
            matches!(other.unprotect(data), Err(keyward::Error::InvalidPayload)),
            "a payload opened under two purpose chains"
        );
        let again = protector
            .unprotect_allow_revoked(data)
            .expect("unprotect_allow_revoked refuses what unprotect accepted");
        assert_eq!(again.data, plaintext);
    }
});
