//! What the timeline shows, computed once from the ring: the bars, the default key over time,
//! the next rotation and when a successor is due. Pure: the renderers only draw it.

use keyward::schedule::Schedule;
use keyward::time::{Date, Duration, Month, OffsetDateTime, Time};
use keyward::{KeyId, KeyInfo, KeyStatus, UnreadableKey};

/// One key's bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The key id.
    pub id: KeyId,
    /// When the key was created.
    pub creation: OffsetDateTime,
    /// From when it may protect.
    pub activation: OffsetDateTime,
    /// From when it no longer protects.
    pub expiration: OffsetDateTime,
    /// Its status now.
    pub status: KeyStatus,
    /// Why the key cannot be used, or a remark on it (store text).
    pub reason: Option<String>,
}

impl Bar {
    /// The first 8 characters of the id.
    pub fn short_id(&self) -> String {
        short_id(self.id)
    }

    /// The bar's span, ordered whatever the store says: creation ≤ activation ≤ expiration.
    pub fn span(&self) -> (OffsetDateTime, OffsetDateTime, OffsetDateTime) {
        let start = self.creation.min(self.activation).min(self.expiration);
        let end = self.expiration.max(self.creation);
        let activation = self.activation.clamp(start, end);
        (start, activation, end)
    }
}

/// A stretch of time with one default key (`None`: no key qualifies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Where it begins.
    pub from: OffsetDateTime,
    /// Where it ends (`None`: it lasts).
    pub until: Option<OffsetDateTime>,
    /// The default key throughout.
    pub key: Option<KeyId>,
}

/// The next change of the default key (the schedule's).
pub use keyward::schedule::Rotation;

/// Where the default key's successor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessorState {
    /// Written by the deadline.
    Written,
    /// Written after the deadline: nodes that had not re-read the ring may not know it when
    /// it takes over.
    WrittenLate,
    /// Not written; the deadline is still ahead.
    Missing,
    /// Not written and the deadline has passed.
    Overdue,
}

impl SuccessorState {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Written => "written",
            Self::WrittenLate => "written-late",
            Self::Missing => "missing",
            Self::Overdue => "overdue",
        }
    }
}

/// The key that takes over from the current default key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Successor {
    /// When it must be written: the takeover minus the propagation window.
    pub due: OffsetDateTime,
    /// The successor, when the ring holds one.
    pub key: Option<KeyId>,
    /// When the successor was created.
    pub created: Option<OffsetDateTime>,
    /// Written, late, missing or overdue.
    pub state: SuccessorState,
}

/// Everything the timeline shows.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The moment drawn as now.
    pub now: OffsetDateTime,
    /// Where the ring lives (store text).
    pub location: String,
    /// The axis' first moment.
    pub start: OffsetDateTime,
    /// The axis' last moment.
    pub end: OffsetDateTime,
    /// One bar per key, by activation.
    pub bars: Vec<Bar>,
    /// Key elements that could not be read.
    pub unreadable: Vec<UnreadableKey>,
    /// The default key over time, in order.
    pub periods: Vec<Period>,
    /// The default key now.
    pub default_now: Option<KeyId>,
    /// The next change of the default key.
    pub next_rotation: Option<Rotation>,
    /// The current default key's successor (with a default key now).
    pub successor: Option<Successor>,
    /// The policy's propagation window.
    pub propagation_window: Duration,
    /// The policy's key lifetime.
    pub key_lifetime: Duration,
}

/// The inputs of [`Timeline::build`] that come from the provider's policy and store.
#[derive(Debug, Clone)]
pub struct RingFacts {
    /// The moment drawn as now.
    pub now: OffsetDateTime,
    /// Where the ring lives.
    pub location: String,
    /// The keys.
    pub keys: Vec<KeyInfo>,
    /// Key elements that could not be read.
    pub unreadable: Vec<UnreadableKey>,
    /// How long a new key takes to reach every node.
    pub propagation_window: Duration,
    /// How far ahead of its activation a key is already preferred.
    pub max_clock_skew: Duration,
    /// The lifetime of new keys.
    pub key_lifetime: Duration,
}

impl Timeline {
    /// Builds the timeline from the ring's schedule (the library's: the same default key at
    /// every instant, the same takeovers and lateness that rotation, `ensure` and `doctor`
    /// use).
    pub fn build(facts: RingFacts, schedule: &Schedule) -> Self {
        let now = facts.now;
        let from = facts
            .keys
            .iter()
            .map(|k| {
                k.creation
                    .min(k.activation.saturating_sub(facts.max_clock_skew))
            })
            .chain([now])
            .min()
            .unwrap_or(now);
        let spanning = Schedule::spanning(schedule.candidates(), from, now, schedule.windows());
        let periods: Vec<Period> = spanning
            .periods()
            .iter()
            .map(|p| Period {
                from: p.start,
                until: p.end,
                key: p.key,
            })
            .collect();
        let default_now = spanning.default_at(now);
        let next_rotation = spanning.next_rotation();
        let successor = default_now.map(|_| successor(&spanning, &facts.keys));
        let (start, end) = axis(&facts.keys, now);
        let mut bars: Vec<Bar> = facts
            .keys
            .iter()
            .map(|k| Bar {
                id: k.id,
                creation: k.creation,
                activation: k.activation,
                expiration: k.expiration,
                status: k.status_at(now, default_now),
                reason: k.unusable_reason.clone().or_else(|| k.note.clone()),
            })
            .collect();
        bars.sort_by(|a, b| {
            a.activation
                .cmp(&b.activation)
                .then(a.creation.cmp(&b.creation))
                .then(a.id.cmp(&b.id))
        });
        Self {
            now,
            location: facts.location,
            start,
            end,
            bars,
            unreadable: facts.unreadable,
            periods,
            default_now,
            next_rotation,
            successor,
            propagation_window: facts.propagation_window,
            key_lifetime: facts.key_lifetime,
        }
    }

    /// The default key at `at`, from the periods.
    pub fn default_at(&self, at: OffsetDateTime) -> Option<KeyId> {
        period_at(&self.periods, at).and_then(|p| p.key)
    }

    /// Where `at` lies on the axis: 0.0 at the start, 1.0 at the end (unclamped).
    pub fn fraction(&self, at: OffsetDateTime) -> f64 {
        fraction(at, self.start, self.end)
    }
}

/// The first 8 characters of a key id.
pub fn short_id(id: KeyId) -> String {
    id.to_string().chars().take(8).collect()
}

/// The axis: from the earliest creation to the latest expiration (and now), with a margin of
/// a thirtieth of the span (at least a day) each side. An empty ring gets a month each side.
pub fn axis(keys: &[KeyInfo], now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    if keys.is_empty() {
        return (
            now.saturating_sub(Duration::days(30)),
            now.saturating_add(Duration::days(30)),
        );
    }
    let first = keys
        .iter()
        .flat_map(|k| [k.creation, k.activation, k.expiration])
        .fold(now, OffsetDateTime::min);
    let last = keys
        .iter()
        .flat_map(|k| [k.creation, k.activation, k.expiration])
        .fold(now, OffsetDateTime::max);
    let margin = ((last - first) / 30_i32).max(Duration::days(1));
    (first.saturating_sub(margin), last.saturating_add(margin))
}

/// Where `at` lies between `start` (0.0) and `end` (1.0), unclamped; 0.0 for an empty axis.
pub fn fraction(at: OffsetDateTime, start: OffsetDateTime, end: OffsetDateTime) -> f64 {
    let span = (end - start).whole_nanoseconds();
    if span <= 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // A picture: a nanosecond's precision is not drawn.
    let value = (at - start).whole_nanoseconds() as f64 / span as f64;
    value
}

/// The column (0..width) a moment falls in on an axis `width` columns wide, clamped.
pub fn column(
    at: OffsetDateTime,
    start: OffsetDateTime,
    end: OffsetDateTime,
    width: usize,
) -> usize {
    let span = (end - start).whole_nanoseconds();
    if width == 0 || span <= 0 {
        return 0;
    }
    let offset = (at - start).whole_nanoseconds().clamp(0, span);
    let width_i = i128::try_from(width).unwrap_or(i128::MAX / span.max(1));
    let col = offset.saturating_mul(width_i) / span;
    usize::try_from(col).unwrap_or(usize::MAX).min(width - 1)
}

/// The moment in the middle of `col` on an axis `width` columns wide.
pub fn column_middle(
    col: usize,
    start: OffsetDateTime,
    end: OffsetDateTime,
    width: usize,
) -> OffsetDateTime {
    let span = (end - start).whole_nanoseconds();
    let width = i128::try_from(width.max(1)).unwrap_or(1);
    let col = i128::try_from(col).unwrap_or(0);
    let offset = span.saturating_mul(2 * col + 1) / (2 * width);
    let offset = i64::try_from(offset / 1_000_000_000).unwrap_or(i64::MAX);
    start.saturating_add(Duration::seconds(offset))
}

/// The period holding `at`, if any begins by then.
pub fn period_at(periods: &[Period], at: OffsetDateTime) -> Option<&Period> {
    periods
        .iter()
        .find(|p| p.from <= at && p.until.is_none_or(|until| at < until))
}

/// The current default key's successor, from the schedule: the key that takes over next and
/// whether it was written a propagation window ahead of its takeover, or, when no key takes
/// over, the deadline for writing one.
pub fn successor(schedule: &Schedule, keys: &[KeyInfo]) -> Successor {
    let now = schedule.now();
    let next = schedule
        .periods()
        .iter()
        .find(|p| p.start > now)
        .filter(|p| p.key.is_some());
    if let Some((id, takeover)) = next.and_then(|p| Some((p.key?, p.takeover?))) {
        return Successor {
            due: takeover.write_deadline,
            key: Some(id),
            created: keys.iter().find(|k| k.id == id).map(|k| k.creation),
            state: if takeover.late {
                SuccessorState::WrittenLate
            } else {
                SuccessorState::Written
            },
        };
    }
    let due = schedule.must_write_by();
    Successor {
        due,
        key: None,
        created: None,
        state: if now <= due {
            SuccessorState::Missing
        } else {
            SuccessorState::Overdue
        },
    }
}

/// Dated ticks for an axis `chart` columns wide (for SVG: 8-pixel columns): the finest of days, weeks, months or years
/// whose labels (`YYYY-MM-DD`) stay at least 12 columns apart.
pub fn ticks(
    start: OffsetDateTime,
    end: OffsetDateTime,
    chart: usize,
) -> Vec<(OffsetDateTime, String)> {
    let days = (end - start).whole_days().max(1);
    // Steps in days, then in months.
    let steps: [(i64, bool); 14] = [
        (1, false),
        (2, false),
        (7, false),
        (14, false),
        (1, true),
        (2, true),
        (3, true),
        (6, true),
        (12, true),
        (24, true),
        (60, true),
        (120, true),
        (600, true),
        (1200, true),
    ];
    for (step, months) in steps {
        let approx_days = if months { step * 30 } else { step };
        // The spacing in columns of one step.
        let spacing =
            i128::from(approx_days) * i128::try_from(chart).unwrap_or(0) / i128::from(days);
        if spacing < 12 {
            continue;
        }
        return if months {
            month_ticks(start, end, step)
        } else {
            day_ticks(start, end, step)
        };
    }
    Vec::new()
}

/// `YYYY-MM-DD`.
fn label(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Ticks every `step` days from the first midnight on the axis.
fn day_ticks(
    start: OffsetDateTime,
    end: OffsetDateTime,
    step: i64,
) -> Vec<(OffsetDateTime, String)> {
    let mut out = Vec::new();
    let mut at = start.replace_time(Time::MIDNIGHT);
    while at < start {
        at = at.saturating_add(Duration::days(1));
    }
    while at <= end && out.len() < 1000 {
        out.push((at, label(at.date())));
        let next = at.saturating_add(Duration::days(step));
        if next == at {
            break;
        }
        at = next;
    }
    out
}

/// Ticks on the first of every `step`-th month (counted from year 0) on the axis.
fn month_ticks(
    start: OffsetDateTime,
    end: OffsetDateTime,
    step: i64,
) -> Vec<(OffsetDateTime, String)> {
    let mut out = Vec::new();
    let mut index = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1;
    // The first month boundary at or after the start, on a multiple of the step.
    index += 1;
    index += (step - index.rem_euclid(step)) % step;
    while out.len() < 1000 {
        let (Ok(year), Ok(month)) = (
            i32::try_from(index.div_euclid(12)),
            Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1)),
        ) else {
            break;
        };
        let Ok(date) = Date::from_calendar_date(year, month, 1) else {
            break;
        };
        let at = date.midnight().assume_offset(start.offset());
        if at > end {
            break;
        }
        if at >= start {
            out.push((at, label(date)));
        }
        index += step;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use keyward::schedule::KeyCandidate;
    use keyward::schedule::ScheduleWindows;
    use keyward::time::macros::datetime;
    use keyward::{AtRestProtection, KeyManagementPolicy};

    fn key(n: u8, created: OffsetDateTime, active: OffsetDateTime, days: i64) -> KeyInfo {
        KeyInfo {
            id: format!("{n:08x}-0000-4000-8000-000000000000")
                .parse()
                .unwrap(),
            creation: created,
            activation: active,
            expiration: active + Duration::days(days),
            algorithm: None,
            revoked: false,
            unusable_reason: None,
            note: None,
            at_rest: AtRestProtection::None,
            signature: keyward::KeySignature::NotApplicable,
        }
    }

    fn schedule(keys: &[KeyInfo], now: OffsetDateTime) -> Schedule {
        let candidates: Vec<KeyCandidate> = keys
            .iter()
            .map(|k| KeyCandidate {
                id: k.id,
                creation: k.creation,
                activation: k.activation,
                expiration: k.expiration,
                revoked: k.revoked,
                usable: k.unusable_reason.is_none(),
            })
            .collect();
        Schedule::new(
            &candidates,
            now,
            ScheduleWindows::from(&KeyManagementPolicy::default()),
        )
    }

    fn facts(keys: &[KeyInfo], now: OffsetDateTime) -> RingFacts {
        RingFacts {
            now,
            location: "test".into(),
            keys: keys.to_vec(),
            unreadable: Vec::new(),
            propagation_window: Duration::days(2),
            max_clock_skew: Duration::minutes(5),
            key_lifetime: Duration::days(90),
        }
    }

    #[test]
    fn columns_map_time_linearly_and_clamp() {
        let start = datetime!(2026-01-01 0:00 UTC);
        let end = datetime!(2026-01-11 0:00 UTC);
        assert_eq!(column(start, start, end, 10), 0);
        assert_eq!(column(datetime!(2026-01-01 23:59 UTC), start, end, 10), 0);
        assert_eq!(column(datetime!(2026-01-02 0:00 UTC), start, end, 10), 1);
        assert_eq!(column(datetime!(2026-01-06 12:00 UTC), start, end, 10), 5);
        assert_eq!(column(end, start, end, 10), 9);
        assert_eq!(column(datetime!(2025-01-01 0:00 UTC), start, end, 10), 0);
        assert_eq!(column(datetime!(2027-01-01 0:00 UTC), start, end, 10), 9);
        // Degenerate axes and widths never divide by zero.
        assert_eq!(column(start, start, start, 10), 0);
        assert_eq!(column(start, start, end, 0), 0);
        assert_eq!(
            column_middle(0, start, end, 10),
            datetime!(2026-01-01 12:00 UTC)
        );
        assert_eq!(
            column_middle(9, start, end, 10),
            datetime!(2026-01-10 12:00 UTC)
        );
        assert!((fraction(datetime!(2026-01-06 0:00 UTC), start, end) - 0.5).abs() < 1e-9);
        assert!(fraction(start, start, start).abs() < 1e-9);
    }

    #[test]
    fn axis_spans_keys_and_now_with_a_margin() {
        let now = datetime!(2026-02-15 0:00 UTC);
        let a = key(
            1,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-01-01 0:00 UTC),
            90,
        );
        let (start, end) = axis(std::slice::from_ref(&a), now);
        assert_eq!(start, datetime!(2026-01-01 0:00 UTC) - Duration::days(3));
        assert_eq!(end, a.expiration + Duration::days(3));
        // Now beyond every key is on the axis too.
        let late = datetime!(2027-01-01 0:00 UTC);
        assert!(axis(&[a], late).1 > late);
        let (start, end) = axis(&[], now);
        assert!(start < now && now < end);
    }

    #[test]
    fn default_periods_change_at_preference_and_expiration() {
        let a = key(
            1,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-01-01 0:00 UTC),
            90,
        );
        let b = key(2, a.expiration - Duration::days(3), a.expiration, 90);
        let keys = [a.clone(), b.clone()];
        let now = datetime!(2026-02-15 0:00 UTC);
        let skew = Duration::minutes(5);
        let timeline = Timeline::build(facts(&keys, now), &schedule(&keys, now));
        assert_eq!(
            timeline.periods,
            [
                Period {
                    from: a.activation - skew,
                    until: Some(b.activation - skew),
                    key: Some(a.id)
                },
                Period {
                    from: b.activation - skew,
                    until: Some(b.expiration),
                    key: Some(b.id)
                },
                Period {
                    from: b.expiration,
                    until: None,
                    key: None
                },
            ]
        );
        let rotation = timeline.next_rotation.unwrap();
        assert_eq!(rotation.at, b.activation - skew);
        assert_eq!((rotation.from, rotation.to), (Some(a.id), Some(b.id)));
        let next = timeline.successor.unwrap();
        assert_eq!(next.state, SuccessorState::Written);
        assert_eq!(next.due, a.expiration - Duration::days(2));
        assert_eq!(next.key, Some(b.id));
    }

    #[test]
    fn a_missing_successor_is_due_a_window_before_expiration() {
        let a = key(
            1,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-01-01 0:00 UTC),
            90,
        );
        let keys = [a.clone()];
        let window = Duration::days(2);
        let early = a.expiration - Duration::days(10);
        let timeline = Timeline::build(facts(&keys, early), &schedule(&keys, early));
        let rotation = timeline.next_rotation.unwrap();
        assert_eq!((rotation.at, rotation.to), (a.expiration, None));
        let next = timeline.successor.unwrap();
        assert_eq!(next.state, SuccessorState::Missing);
        assert_eq!(next.due, a.expiration - window);
        let late = a.expiration - Duration::days(1);
        let timeline = Timeline::build(facts(&keys, late), &schedule(&keys, late));
        assert_eq!(timeline.successor.unwrap().state, SuccessorState::Overdue);
    }

    #[test]
    fn a_revoked_default_gives_way_to_its_replacement() {
        let mut a = key(
            1,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-01-01 0:00 UTC),
            90,
        );
        a.revoked = true;
        let b = key(
            2,
            datetime!(2026-02-10 0:00 UTC),
            datetime!(2026-02-10 0:00 UTC),
            90,
        );
        let keys = [a.clone(), b.clone()];
        let now = datetime!(2026-02-15 0:00 UTC);
        let timeline = Timeline::build(facts(&keys, now), &schedule(&keys, now));
        assert_eq!(timeline.default_now, Some(b.id));
        // The revoked key is never the default: the ring had none until b.
        assert!(timeline.periods.iter().all(|p| p.key != Some(a.id)));
        assert_eq!(timeline.bars[0].status, KeyStatus::Revoked);
        assert_eq!(timeline.bars[1].status, KeyStatus::Default);
        assert_eq!(
            timeline.successor.map(|s| s.state),
            Some(SuccessorState::Missing)
        );
    }

    #[test]
    fn disordered_store_dates_still_make_a_bar() {
        let mut a = key(
            1,
            datetime!(2026-03-01 0:00 UTC),
            datetime!(2026-01-01 0:00 UTC),
            10,
        );
        a.expiration = datetime!(2025-12-01 0:00 UTC);
        let bar = Bar {
            id: a.id,
            creation: a.creation,
            activation: a.activation,
            expiration: a.expiration,
            status: KeyStatus::Expired,
            reason: None,
        };
        let (start, activation, end) = bar.span();
        assert!(start <= activation && activation <= end);
    }

    #[test]
    fn ticks_pick_a_step_that_leaves_room_for_labels() {
        let start = datetime!(2025-12-20 0:00 UTC);
        let end = datetime!(2026-07-10 0:00 UTC);
        let monthly = ticks(start, end, 100);
        let labels: Vec<&str> = monthly.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2026-01-01",
                "2026-02-01",
                "2026-03-01",
                "2026-04-01",
                "2026-05-01",
                "2026-06-01",
                "2026-07-01"
            ]
        );
        let days = ticks(start, datetime!(2025-12-30 0:00 UTC), 76);
        assert_eq!(days.first().map(|(_, l)| l.as_str()), Some("2025-12-20"));
        assert!(days.len() >= 5);
        // Narrow: years apart.
        let narrow = ticks(start, end, 5);
        assert!(narrow.iter().all(|(at, _)| at.month() == Month::January));
    }
}
