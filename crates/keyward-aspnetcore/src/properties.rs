//! `AuthenticationProperties`: the string dictionary beside the principal (issue and
//! expiry times, persistence, redirect), in .NET's key names and text formats.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The key of the issue time.
pub const ISSUED_KEY: &str = ".issued";
/// The key of the expiry time.
pub const EXPIRES_KEY: &str = ".expires";
/// The key whose presence means "persistent" (its value is `""`).
pub const PERSISTENT_KEY: &str = ".persistent";
/// The key of the redirect URI.
pub const REDIRECT_KEY: &str = ".redirect";
/// The key of "allow refresh" (`"True"` / `"False"`).
pub const REFRESH_KEY: &str = ".refresh";

/// .NET's `"r"` (RFC 1123) format: `Thu, 01 Jan 2026 00:00:00 GMT`.
const RFC1123: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// The properties of a ticket (`Microsoft.AspNetCore.Authentication.AuthenticationProperties`).
///
/// The items are a map, but the order .NET inserted them in is part of the serialized bytes:
/// it is remembered for keys set through [`AuthenticationProperties::insert`] (and the
/// setters, and when read from a ticket), so a ticket read from .NET serializes back to the
/// same bytes. Keys put into [`AuthenticationProperties::items`] directly are written after
/// those, in key order. Two values are equal when their items and that order are.
///
/// ```
/// use keyward_aspnetcore::AuthenticationProperties;
/// use time::macros::datetime;
/// let mut properties = AuthenticationProperties::new();
/// properties.set_issued_utc(datetime!(2026-01-01 00:00:00 UTC));
/// properties.set_persistent(true);
/// assert_eq!(properties.items[".issued"], "Thu, 01 Jan 2026 00:00:00 GMT");
/// assert_eq!(properties.issued_utc(), Some(datetime!(2026-01-01 00:00:00 UTC)));
/// assert!(properties.is_persistent());
/// ```
#[derive(Clone, Default)]
pub struct AuthenticationProperties {
    /// The items, by key.
    pub items: BTreeMap<String, String>,
    /// The keys in insertion order; `None` where a key was removed (a tombstone, so removal
    /// never shifts the list). May hold keys since removed from `items` directly.
    order: Vec<Option<String>>,
    /// Where each key of `order` is: insertion and removal look here instead of scanning,
    /// so reading a ticket with many properties takes linear time.
    index: HashMap<String, usize>,
}

impl fmt::Debug for AuthenticationProperties {
    // The items in serialized order (the index is bookkeeping).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Items<'a>(&'a AuthenticationProperties);
        impl fmt::Debug for Items<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("AuthenticationProperties")
            .field("items", &Items(self))
            .finish()
    }
}

impl PartialEq for AuthenticationProperties {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items && self.iter().eq(other.iter())
    }
}

impl Eq for AuthenticationProperties {}

impl From<BTreeMap<String, String>> for AuthenticationProperties {
    fn from(items: BTreeMap<String, String>) -> Self {
        Self {
            items,
            order: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl AuthenticationProperties {
    /// No items.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items.get(key).map(String::as_str)
    }

    /// Sets `key` to `value`; a new key goes after the others (as a .NET dictionary). A key
    /// already there keeps its place. Constant time apart from the map's own insertion.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        if !self.index.contains_key(&key) {
            self.index.insert(key.clone(), self.order.len());
            self.order.push(Some(key.clone()));
        }
        self.items.insert(key, value.into());
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        if let Some(at) = self.index.remove(key) {
            if let Some(slot) = self.order.get_mut(at) {
                *slot = None;
            }
            self.compact_if_sparse();
        }
        self.items.remove(key)
    }

    /// Drops the tombstones once they are most of the order list, so inserting and removing
    /// keys forever keeps it bounded (amortized constant time per removal).
    fn compact_if_sparse(&mut self) {
        if self.order.len() < 32 || self.index.len() * 2 > self.order.len() {
            return;
        }
        self.order.retain(Option::is_some);
        for (at, key) in self.order.iter().enumerate() {
            if let Some(key) = key {
                self.index.insert(key.clone(), at);
            }
        }
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in the order they are serialized: insertion order, then keys set directly
    /// in [`AuthenticationProperties::items`], in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        // `order` holds each key once (the index sees to it): no de-duplication needed.
        let ordered = self
            .order
            .iter()
            .flatten()
            .filter_map(|k| self.items.get_key_value(k));
        let rest = self
            .items
            .iter()
            .filter(|(k, _)| !self.index.contains_key(k.as_str()));
        ordered.chain(rest).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// When the ticket was issued (`.issued`), if set and readable.
    pub fn issued_utc(&self) -> Option<OffsetDateTime> {
        self.get(ISSUED_KEY).and_then(parse_rfc1123)
    }

    /// Sets (or with `None` removes) `.issued`, in .NET's `"r"` format: UTC, whole seconds,
    /// years 1 to 9999.
    pub fn set_issued_utc(&mut self, at: impl Into<Option<OffsetDateTime>>) {
        self.set_time(ISSUED_KEY, at.into());
    }

    /// When the ticket expires (`.expires`), if set and readable.
    pub fn expires_utc(&self) -> Option<OffsetDateTime> {
        self.get(EXPIRES_KEY).and_then(parse_rfc1123)
    }

    /// Sets (or with `None` removes) `.expires`, as [`AuthenticationProperties::set_issued_utc`].
    pub fn set_expires_utc(&mut self, at: impl Into<Option<OffsetDateTime>>) {
        self.set_time(EXPIRES_KEY, at.into());
    }

    /// Whether the cookie outlives the browser session (`.persistent` present).
    pub fn is_persistent(&self) -> bool {
        self.items.contains_key(PERSISTENT_KEY)
    }

    /// Sets `.persistent` to `""` (true) or removes it (false), as .NET.
    pub fn set_persistent(&mut self, persistent: bool) {
        if persistent {
            self.insert(PERSISTENT_KEY, "");
        } else {
            self.remove(PERSISTENT_KEY);
        }
    }

    /// Where to go after sign-in or sign-out (`.redirect`).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.get(REDIRECT_KEY)
    }

    /// Sets `.redirect`.
    pub fn set_redirect_uri(&mut self, uri: impl Into<String>) {
        self.insert(REDIRECT_KEY, uri);
    }

    /// Whether the handler may refresh the ticket (`.refresh`, `"True"`/`"False"`; `None`
    /// when absent or unreadable).
    pub fn allow_refresh(&self) -> Option<bool> {
        match self.get(REFRESH_KEY)? {
            v if v.eq_ignore_ascii_case("true") => Some(true),
            v if v.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// Sets (or with `None` removes) `.refresh`.
    pub fn set_allow_refresh(&mut self, allow: Option<bool>) {
        match allow {
            Some(true) => self.insert(REFRESH_KEY, "True"),
            Some(false) => self.insert(REFRESH_KEY, "False"),
            None => {
                self.remove(REFRESH_KEY);
            }
        }
    }

    fn set_time(&mut self, key: &str, at: Option<OffsetDateTime>) {
        match at {
            Some(at) => self.insert(key, format_rfc1123(at)),
            None => {
                self.remove(key);
            }
        }
    }
}

/// `DateTimeOffset.ToString("r")`: converted to UTC, whole seconds, the year clamped to
/// .NET's 1 to 9999.
pub fn format_rfc1123(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let min = time::macros::datetime!(0001-01-01 00:00:00 UTC);
    let max = time::macros::datetime!(9999-12-31 23:59:59 UTC);
    let utc = utc.clamp(min, max);
    let utc = utc.replace_nanosecond(0).unwrap_or(utc);
    // Every value in that range formats; the fallback is unreachable.
    utc.format(RFC1123).unwrap_or_default()
}

/// Parses .NET's `"r"` format (`DateTimeOffset.TryParseExact(…, "r", …)`); `None` if it is not.
pub fn parse_rfc1123(text: &str) -> Option<OffsetDateTime> {
    // A login cookie's `.expires` is read on every request: the common shape (a four-digit
    // year) is read directly, and anything it does not take goes to `time`'s parser, which
    // decides. The direct reading returns only what that parser would (tested below).
    parse_common_rfc1123(text.as_bytes()).or_else(|| {
        PrimitiveDateTime::parse(text, RFC1123)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

/// `Www, DD Mmm YYYY HH:MM:SS GMT` exactly (29 bytes), with a weekday that matches the date;
/// `None` for anything else.
fn parse_common_rfc1123(text: &[u8]) -> Option<OffsetDateTime> {
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let text: &[u8; 29] = text.try_into().ok()?;
    let digits = |range: std::ops::Range<usize>| -> Option<u16> {
        text[range].iter().try_fold(0u16, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
        })
    };
    if &text[3..5] != b", "
        || text[7] != b' '
        || text[11] != b' '
        || text[16] != b' '
        || text[19] != b':'
        || text[22] != b':'
        || &text[25..] != b" GMT"
    {
        return None;
    }
    let weekday = WEEKDAYS.iter().position(|w| w[..] == text[0..3])?;
    let month = MONTHS.iter().position(|m| m[..] == text[8..11])?;
    let month = time::Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    let day = u8::try_from(digits(5..7)?).ok()?;
    let year = i32::from(digits(12..16)?);
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    if usize::from(date.weekday().number_days_from_monday()) != weekday {
        return None;
    }
    let hour = u8::try_from(digits(17..19)?).ok()?;
    let minute = u8::try_from(digits(20..22)?).ok()?;
    let second = u8::try_from(digits(23..25)?).ok()?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The direct reading of the common shape returns what `time`'s parser returns, on
    /// formatted dates and on every one-byte change of them (a wrong weekday, day 31 of a
    /// 30-day month, hour 24, a letter's case, …).
    #[test]
    fn the_common_shape_reads_as_times_parser_reads_it() {
        let by_time = |text: &str| {
            PrimitiveDateTime::parse(text, RFC1123)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        };
        let mut seconds: i64 = -62_135_596_800; // 0001-01-01
        let mut checked = 0;
        while seconds < 253_402_300_799 {
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            let text = format_rfc1123(at);
            assert_eq!(parse_rfc1123(&text), Some(at), "{text}");
            assert_eq!(parse_common_rfc1123(text.as_bytes()), Some(at), "{text}");
            let bytes = text.as_bytes();
            for at_byte in 0..bytes.len() {
                for replacement in [
                    b'0', b'1', b'2', b'3', b'6', b'9', b' ', b'a', b'M', b'o', b'n', b'u',
                ] {
                    let mut changed = bytes.to_vec();
                    changed[at_byte] = replacement;
                    let changed = String::from_utf8(changed).unwrap();
                    assert_eq!(parse_rfc1123(&changed), by_time(&changed), "{changed}");
                    checked += 1;
                }
            }
            seconds += 86_400 * 9_973 + 3_607 * 5 + 11;
        }
        assert!(checked > 10_000);
        for day_edge in [
            "Sat, 31 Apr 2027 00:00:00 GMT",
            "Mon, 29 Feb 2027 00:00:00 GMT",
            "Tue, 29 Feb 2028 00:00:00 GMT",
            "Sat, 01 Jan 0000 00:00:00 GMT",
            "Mon, 01 Jan 2027 23:59:60 GMT",
        ] {
            assert_eq!(parse_rfc1123(day_edge), by_time(day_edge), "{day_edge}");
        }
    }

    #[test]
    fn times_use_dotnets_r_format_in_utc_whole_seconds() {
        let at = datetime!(2031-01-02 05:04:05.999 +02:00);
        assert_eq!(format_rfc1123(at), "Thu, 02 Jan 2031 03:04:05 GMT");
        assert_eq!(
            parse_rfc1123("Sun, 01 Nov 2026 08:00:00 GMT"),
            Some(datetime!(2026-11-01 08:00:00 UTC))
        );
        assert_eq!(parse_rfc1123("2026-11-01T08:00:00Z"), None);
        assert_eq!(
            format_rfc1123(datetime!(0001-01-01 00:00:00 UTC)),
            "Mon, 01 Jan 0001 00:00:00 GMT"
        );
        assert_eq!(
            format_rfc1123(datetime!(-0005-01-01 00:00:00 UTC)),
            "Mon, 01 Jan 0001 00:00:00 GMT"
        );
    }

    #[test]
    fn insertion_order_is_kept_then_direct_items_in_key_order() {
        let mut p = AuthenticationProperties::new();
        p.insert(".issued", "i");
        p.insert(".expires", "e");
        p.items.insert("b".into(), "2".into());
        p.items.insert("a".into(), "1".into());
        p.insert(".issued", "i2");
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [".issued", ".expires", "a", "b"]);
        p.remove(".issued");
        p.insert(".issued", "i3");
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [".expires", ".issued", "a", "b"]);
        // Removed directly from the map: skipped.
        p.items.remove(".expires");
        assert_eq!(p.iter().count(), 3);
    }

    #[test]
    fn many_removals_keep_the_order_and_stay_bounded() {
        let mut p = AuthenticationProperties::new();
        for round in 0..1000 {
            p.insert(format!("k{round}"), "v");
            if round % 3 != 0 {
                p.remove(&format!("k{round}"));
            }
        }
        p.insert("k0", "again");
        assert_eq!(p.len(), 334);
        assert!(p.order.len() <= 2 * 334 + 32, "{}", p.order.len());
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).take(3).collect();
        assert_eq!(keys, ["k0", "k3", "k6"]);
        assert_eq!(p.get("k0"), Some("again"));
        for (key, at) in &p.index {
            assert_eq!(p.order[*at].as_deref(), Some(key.as_str()));
        }
    }

    #[test]
    fn well_known_items() {
        let mut p = AuthenticationProperties::new();
        assert!(!p.is_persistent());
        p.set_persistent(true);
        assert_eq!(p.get(PERSISTENT_KEY), Some(""));
        p.set_persistent(false);
        assert!(p.is_empty());
        p.set_redirect_uri("/orders");
        assert_eq!(p.redirect_uri(), Some("/orders"));
        p.set_expires_utc(datetime!(2026-01-01 00:00:00 UTC));
        p.set_expires_utc(None);
        assert_eq!(p.expires_utc(), None);
        p.set_allow_refresh(Some(false));
        assert_eq!(p.get(REFRESH_KEY), Some("False"));
        assert_eq!(p.allow_refresh(), Some(false));
        p.insert(ISSUED_KEY, "not a date");
        assert_eq!(p.issued_utc(), None);
    }

    #[test]
    fn equality_includes_the_order() {
        let mut a = AuthenticationProperties::new();
        a.insert("x", "1");
        a.insert("y", "2");
        let mut b = AuthenticationProperties::new();
        b.insert("y", "2");
        b.insert("x", "1");
        assert_ne!(a, b);
        let c = AuthenticationProperties::from(a.items.clone());
        assert_eq!(a, c);
    }
}
