//! `xs:dateTime` as key XML carries it, read with any offset and written in UTC the way
//! .NET's `XmlConvert` writes it (`2026-04-29T15:06:08.62851Z`: up to seven fractional digits,
//! trailing zeros dropped).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an `xs:dateTime`. A missing offset is taken as UTC.
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let hour = u8::try_from(num(11..13)?).ok()?;
    let minute = u8::try_from(num(14..16)?).ok()?;
    let second = u8::try_from(num(17..19)?).ok()?;
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, b) in fraction.bytes().take(digits).enumerate() {
            if i < 9 {
                nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "" | "Z" => UtcOffset::UTC,
        _ => {
            let sign: i8 = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let h = i8::try_from(num_in(rest, 1..3)?).ok()?;
            let m = i8::try_from(num_in(rest, 4..6)?).ok()?;
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    // Out of range once in UTC (year 9999 with a negative offset): not a date we can use.
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

fn num_in(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = text.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())
        .flatten()
}

/// Formats in UTC with 0 to 7 fractional digits, trailing zeros dropped, and a `Z`.
pub(crate) fn format(at: OffsetDateTime) -> String {
    let at = at.checked_to_offset(UtcOffset::UTC).unwrap_or(at);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let ticks = at.nanosecond() / 100;
    if ticks != 0 {
        let fraction = format!("{ticks:07}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// Truncates to .NET's 100 ns tick, so that what keyward writes reads back identical.
pub(crate) fn to_ticks_precision(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond() / 100 * 100;
    at.replace_nanosecond(nanos).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_dotnet_forms() {
        assert_eq!(
            parse("2026-04-29T15:06:08.62851Z"),
            Some(datetime!(2026-04-29 15:06:08.62851 UTC))
        );
        assert_eq!(
            parse("2015-03-20T15:45:45.7366491-07:00"),
            Some(datetime!(2015-03-20 22:45:45.7366491 UTC))
        );
        assert_eq!(
            parse("0001-01-01T00:00:00Z"),
            Some(datetime!(0001-01-01 00:00:00 UTC))
        );
        assert_eq!(
            parse("2017-01-01T00:00:00"),
            Some(datetime!(2017-01-01 00:00 UTC))
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2017-13-01T00:00:00Z",
            "2017-01-01T00:00:00.Z",
            "2017-01-01T00:00:00+5",
            "2017-01-01 00:00:00Z",
            "2017-01-01T00:00:00Zjunk",
            "9999-12-31T23:30:00-05:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_like_xmlconvert() {
        assert_eq!(
            format(datetime!(2026-04-29 15:06:08.62851 UTC)),
            "2026-04-29T15:06:08.62851Z"
        );
        assert_eq!(
            format(datetime!(2026-04-29 15:06:08 UTC)),
            "2026-04-29T15:06:08Z"
        );
        assert_eq!(
            format(datetime!(2015-03-20 15:45:45.7366491 -7)),
            "2015-03-20T22:45:45.7366491Z"
        );
        let now = to_ticks_precision(OffsetDateTime::now_utc());
        assert_eq!(parse(&format(now)), Some(now));
    }
}
