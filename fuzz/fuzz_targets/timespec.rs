//! The CLI's time specs (`crates/keyward-cli/src/timespec.rs`, included as a module):
//! `parse_duration` and `parse_time` with fixed `now`s, the year's edges included. Never
//! panics (overflow checks are on in fuzz builds), and `+D` is `now + parse_duration(D)`.
#![no_main]

use keyward::time::macros::datetime;
use keyward::time::{Duration, OffsetDateTime};
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/keyward-cli/src/timespec.rs"]
mod timespec;

const NOWS: [OffsetDateTime; 4] = [
    datetime!(2026-11-24 12:00 UTC),
    datetime!(9999-12-31 23:59:59.999_999_999 UTC),
    datetime!(-9999-01-01 00:00 UTC),
    datetime!(1970-01-01 00:00 UTC),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let duration = timespec::parse_duration(text);
    if let Ok(duration) = duration {
        assert!(duration >= Duration::ZERO, "negative duration from {text:?}");
    }
    for now in NOWS {
        let time = timespec::parse_time(text, now);
        if text.trim() == "now" {
            assert_eq!(time, Ok(now));
        }
        if let Ok(duration) = duration {
            let ahead = timespec::parse_time(&format!("+{text}"), now);
            assert_eq!(ahead.ok(), now.checked_add(duration), "+{text:?}");
            let back = timespec::parse_time(&format!("-{text}"), now);
            assert_eq!(back.ok(), now.checked_sub(duration), "-{text:?}");
        }
    }
});
