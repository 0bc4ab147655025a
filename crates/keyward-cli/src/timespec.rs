//! Times and durations on the command line: `90d`, `1d12h`, `+30d`, `-2h`, `now`, RFC 3339.

use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::{Duration, OffsetDateTime};

/// A moment as RFC 3339 in UTC, with the precision it has (checked: a store's date in an
/// offset can lie beyond 9999 once in UTC).
pub fn format_time(at: OffsetDateTime) -> String {
    at.checked_to_offset(keyward::time::UtcOffset::UTC)
        .and_then(|utc| utc.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// [`format_time`] to the second.
pub fn format_time_seconds(at: OffsetDateTime) -> String {
    format_time(at.replace_nanosecond(0).unwrap_or(at))
}

/// The longest duration taken: 10 000 years (past the years 1 to 9999 any time can hold).
const MAX_DURATION_SECONDS: i64 = 10_000 * 365 * 86_400;

/// Parses a duration: one or more `<number><unit>` with units `w`, `d`, `h`, `m`, `s`. A
/// negative duration is refused (say `-2h` where a time is taken), and one longer than
/// 10 000 years is out of range.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (examples: 90d, 2h, 1d12h, 30m)");
    let out_of_range = || format!("{text:?} is out of range (at most 10000 years)");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest.starts_with('-') {
        return Err(format!(
            "{text:?} is negative: a duration is positive (90d, 2h)"
        ));
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let seconds_per_unit: i64 = match unit {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        // Digits only: a number too large for i64 is out of range, not malformed.
        let number: i64 = rest[..digits].parse().map_err(|_| out_of_range())?;
        let part = number
            .checked_mul(seconds_per_unit)
            .filter(|s| *s <= MAX_DURATION_SECONDS)
            .map(Duration::seconds)
            .ok_or_else(out_of_range)?;
        total = total
            .checked_add(part)
            .filter(|t| t.whole_seconds() <= MAX_DURATION_SECONDS)
            .ok_or_else(out_of_range)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// [`parse_duration`] for an option that needs a positive duration (`--expires-in`): zero
/// is refused too, naming the option.
pub fn parse_positive_duration(option: &str, text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text).map_err(|why| format!("{option}: {why}"))?;
    if duration.is_zero() {
        return Err(format!(
            "{option} {text:?} is zero: give a positive duration (90d, 2h, 30m)"
        ));
    }
    Ok(duration)
}

/// Parses a time: `now`, a relative `+DURATION` / `-DURATION` from `now`, or RFC 3339. No
/// input overflows: `+D` is exactly `now.checked_add(D)`.
pub fn parse_time(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(ahead) = text.strip_prefix('+') {
        return now
            .checked_add(parse_duration(ahead)?)
            .ok_or_else(|| format!("{text:?} is out of range"));
    }
    if let Some(back) = text.strip_prefix('-') {
        return now
            .checked_sub(parse_duration(back)?)
            .ok_or_else(|| format!("{text:?} is out of range"));
    }
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        format!("{text:?} is not a time: use RFC 3339 (2027-01-31T12:00:00Z) or +30d / -2h / now")
    })
}

/// [`parse_time`], refusing times outside the years 1 to 9999 (what .NET's `DateTime`, and
/// so a key file or a time-limited payload, can hold): what every command takes.
pub fn parse_time_in_range(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    in_range(parse_time(text, now)?)
        .ok_or_else(|| format!("{:?} is out of range (years 1 to 9999)", text.trim()))
}

/// `at` if it lies within the years 1 to 9999 (in UTC).
pub fn in_range(at: OffsetDateTime) -> Option<OffsetDateTime> {
    let year = at.checked_to_offset(keyward::time::UtcOffset::UTC)?.year();
    (1..=9999).contains(&year).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward::time::macros::datetime;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_duration("1d12h").unwrap(), Duration::hours(36));
        assert_eq!(parse_duration("2w").unwrap(), Duration::days(14));
        for bad in [
            "",
            "d",
            "5",
            "5y",
            "-1d",
            "1.5d",
            "99999999999999999w",
            "9223372036854775807d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for huge in [
            "99999999999999999w",
            "9223372036854775807d",
            "99999999999999999999999d",
            "999999999999d",
            "5000000d1d",
            "3650000d3650000d",
        ] {
            let why = parse_duration(huge).unwrap_err();
            assert!(why.contains("out of range"), "{huge}: {why}");
        }
        assert!(parse_duration("-1d").unwrap_err().contains("negative"));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        let zero = parse_positive_duration("--expires-in", "0h0m").unwrap_err();
        assert!(
            zero.contains("--expires-in") && zero.contains("positive"),
            "{zero}"
        );
        assert!(parse_positive_duration("--expires-in", "-1d")
            .unwrap_err()
            .contains("positive"));
    }

    #[test]
    fn times() {
        let now = datetime!(2026-11-24 12:00 UTC);
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(
            parse_time("+30d", now).unwrap(),
            datetime!(2026-12-24 12:00 UTC)
        );
        assert_eq!(
            parse_time("-2h", now).unwrap(),
            datetime!(2026-11-24 10:00 UTC)
        );
        assert_eq!(
            parse_time("2027-01-31T12:00:00+01:00", now).unwrap(),
            datetime!(2027-01-31 11:00 UTC)
        );
        assert!(parse_time("tomorrow", now).is_err());
        for absurd in [
            "+520000w",
            "-520000w",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
        ] {
            assert!(parse_time_in_range(absurd, now).is_err(), "{absurd}");
        }
        assert!(parse_time_in_range("9999-12-31T23:59:59Z", now).is_ok());
    }
}
