//! The inner format of `TimeLimitedProtector` (8 big-endian bytes of .NET ticks, then the
//! data): the fuzz input is protected as-is with the plain protector of the time-limited
//! purpose chain, so the time-limited parser sees arbitrary authenticated bytes.
#![no_main]

use keyward::{from_ticks, to_ticks, TIME_LIMITED_PURPOSE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let provider = keyward_fuzz::fixed_provider();
    let base = provider.protector(["fuzz", "time-limited"]);
    let limited = base.to_time_limited();
    // The chain `to_time_limited` uses: the caller's chain plus the time-limited purpose.
    let plain = base.protector(TIME_LIMITED_PURPOSE);
    assert_eq!(plain.purposes(), limited.purposes());

    let payload = plain.protect(data).expect("protect with the fixed ring");
    let result = limited.unprotect(&payload);
    let text = keyward::encoding::base64url_encode(&payload);
    let text_result = limited.unprotect_str(&text);

    let Some((ticks, rest)) = data.split_first_chunk::<8>() else {
        assert!(matches!(result, Err(keyward::Error::InvalidPayload)));
        return;
    };
    let ticks = u64::from_be_bytes(*ticks);
    match from_ticks(ticks) {
        None => assert!(matches!(result, Err(keyward::Error::InvalidPayload))),
        Some(expiration) => {
            assert_eq!(to_ticks(expiration), ticks, "ticks do not round-trip");
            if provider.now() > expiration {
                assert!(
                    matches!(result, Err(keyward::Error::Expired { expired_at }) if expired_at == expiration)
                );
            } else {
                let (read, at) = result.expect("an unexpired payload is refused");
                assert_eq!((read.as_slice(), at), (rest, expiration));
                match std::str::from_utf8(rest) {
                    Ok(s) => assert_eq!(text_result.expect("unprotect_str").0, s),
                    Err(_) => assert!(matches!(text_result, Err(keyward::Error::NotUtf8))),
                }
                // The protector's own path writes the same inner format.
                let again = limited.protect(rest, expiration).expect("protect");
                let (read, at) = limited.unprotect(&again).expect("round trip");
                assert_eq!((read.as_slice(), at), (rest, expiration));
            }
        }
    }
});
