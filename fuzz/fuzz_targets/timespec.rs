//! The CLI's time specs (`crates/keyward-cli/src/timespec.rs`, included as a module):
//! `parse_duration`, `parse_time` and `parse_time_in_range` with fixed `now`s, the year's
//! edges included. Never panics (overflow checks are on in fuzz builds); `+D` is exactly
//! `now.checked_add(parse_duration(D))`; what `parse_time_in_range` accepts is `parse_time`'s
//! answer and lies within the years 1 to 9999.
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
        assert!(
            duration >= Duration::ZERO,
            "negative duration from {text:?}"
        );
    }
    for now in NOWS {
        let time = timespec::parse_time(text, now);
        if let Ok(at) = timespec::parse_time_in_range(text, now) {
            assert_eq!(time, Ok(at));
            let year = at.to_offset(keyward::time::UtcOffset::UTC).year();
            assert!((1..=9999).contains(&year), "{text:?} gave the year {year}");
            assert_eq!(timespec::in_range(at), Some(at));
        }
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
