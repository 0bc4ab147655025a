//! [`Schedule`]: the ring's future, computed once from the keys and the policy. Which key is
//! the default at every instant, where the ring has no usable default key (a gap), when the
//! next key must be written, and whether each key that takes over was written a propagation
//! window ahead. Automatic rotation, `ensure`, `doctor`, `timeline`, `keys list --at` and
//! `keys new` all read it: the rotation rule lives here and nowhere else.

use time::{Duration, OffsetDateTime};

pub use crate::key::KeyCandidate;
use crate::key::{resolve_default_key, KeyId, ResolverPolicy};
use crate::policy::KeyManagementPolicy;

/// The windows a schedule uses (from [`KeyManagementPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleWindows {
    /// How far ahead of its activation a key is already preferred (clock skew between nodes).
    pub max_clock_skew: Duration,
    /// How long a new key takes to reach every node.
    pub propagation_window: Duration,
    /// How often nodes re-read the ring (and so how often they run the rotation rule).
    pub refresh_period: Duration,
    /// The lifetime of the keys the schedule plans.
    pub key_lifetime: Duration,
}

impl From<&KeyManagementPolicy> for ScheduleWindows {
    fn from(policy: &KeyManagementPolicy) -> Self {
        Self {
            max_clock_skew: policy.max_clock_skew,
            propagation_window: policy.propagation_window,
            refresh_period: policy.refresh_period,
            key_lifetime: policy.key_lifetime,
        }
    }
}

impl ScheduleWindows {
    fn resolver(&self) -> ResolverPolicy {
        ResolverPolicy {
            max_clock_skew: self.max_clock_skew,
            propagation_window: self.propagation_window,
        }
    }
}

/// How a key took over as the default key at the start of a [`DefaultPeriod`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Takeover {
    /// The last moment the key could be written for every node to have read it first: its
    /// scheduled takeover (its activation, or the start of the period if later) less the
    /// propagation window.
    pub write_deadline: OffsetDateTime,
    /// Whether it was written after that deadline (by more than the clock skew): nodes that
    /// had not re-read the ring meet payloads under a key they do not hold.
    pub late: bool,
    /// Whether the period before had no default key (the key filled a gap, or is the first key
    /// of an empty ring: nothing could have been written ahead).
    pub after_gap: bool,
}

/// A stretch of time with one default key (`key: None`: no key qualifies, a gap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPeriod {
    /// Where it begins.
    pub start: OffsetDateTime,
    /// Where it ends (`None`: it lasts).
    pub end: Option<OffsetDateTime>,
    /// The default key throughout.
    pub key: Option<KeyId>,
    /// How the key took over (`None` for the first period computed, and for gaps).
    pub takeover: Option<Takeover>,
}

impl DefaultPeriod {
    /// Whether `at` lies in the period.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && self.end.is_none_or(|end| at < end)
    }
}

/// Why the ring has no default key during a [`Gap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// No key is activated by then.
    NoKey,
    /// The key that would be the default then has expired (no successor takes over).
    Expired(KeyId),
    /// The key that would be the default then is revoked.
    Revoked(KeyId),
    /// The key that would be the default then cannot be used (unreadable, below the minimum
    /// key size).
    Unusable(KeyId),
}

/// An interval without a usable default key: `protect` fails there (or, on a node that may
/// create keys, writes a key no other node has read yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Its first instant (never before the schedule's now).
    pub start: OffsetDateTime,
    /// Where a key takes over again (`None`: no key ever does).
    pub end: Option<OffsetDateTime>,
    /// Why there is no default key at its start.
    pub cause: GapCause,
}

impl Gap {
    /// The last moment a key that fills the gap can be written a full propagation window
    /// before it is used.
    pub fn fix_by(&self, windows: &ScheduleWindows) -> OffsetDateTime {
        self.start.saturating_sub(windows.propagation_window)
    }
}

/// The next change of the default key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// When it changes.
    pub at: OffsetDateTime,
    /// The default key until then.
    pub from: Option<KeyId>,
    /// The default key from then.
    pub to: Option<KeyId>,
}

/// A key the schedule needs written now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewKeyPlan {
    /// When it becomes usable.
    pub activation: OffsetDateTime,
    /// When it stops protecting.
    pub expiration: OffsetDateTime,
}

/// The ring's future from a moment on.
///
/// ```
/// use keyward::schedule::{Schedule, ScheduleWindows};
/// use keyward::schedule::KeyCandidate;
/// use keyward::{KeyId, KeyManagementPolicy};
/// use keyward::time::{macros::datetime, Duration};
///
/// let now = datetime!(2026-01-01 0:00 UTC);
/// let key = KeyCandidate {
///     id: KeyId::random(),
///     creation: now - Duration::days(89),
///     activation: now - Duration::days(87),
///     expiration: now + Duration::days(1),
///     revoked: false,
///     usable: true,
/// };
/// let windows = ScheduleWindows::from(&KeyManagementPolicy::default());
/// let schedule = Schedule::new(&[key], now, windows);
/// assert_eq!(schedule.default_at(now), Some(key.id));
/// // The key expires tomorrow and nothing takes over: a gap, and the key to write.
/// assert_eq!(schedule.covered_until(), key.expiration);
/// assert_eq!(schedule.gaps()[0].start, key.expiration);
/// assert_eq!(schedule.next_key().unwrap().activation, key.expiration);
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    now: OffsetDateTime,
    windows: ScheduleWindows,
    candidates: Vec<KeyCandidate>,
    periods: Vec<DefaultPeriod>,
}

impl Schedule {
    /// The schedule of `candidates` from `now` on.
    pub fn new(candidates: &[KeyCandidate], now: OffsetDateTime, windows: ScheduleWindows) -> Self {
        Self::spanning(candidates, now, now, windows)
    }

    /// The schedule of `candidates`, its periods computed from `from` (which may lie before
    /// `now`, for a picture of the past); gaps and plans still count from `now`.
    pub fn spanning(
        candidates: &[KeyCandidate],
        from: OffsetDateTime,
        now: OffsetDateTime,
        windows: ScheduleWindows,
    ) -> Self {
        let from = from.min(now);
        let candidates = candidates.to_vec();
        let periods = periods(&candidates, from, &windows);
        Self {
            now,
            windows,
            candidates,
            periods,
        }
    }

    /// The same ring as a node that last re-read it at `refreshed_at` sees it: only the keys
    /// created by then.
    pub fn seen_by(&self, refreshed_at: OffsetDateTime) -> Self {
        let known: Vec<KeyCandidate> = self
            .candidates
            .iter()
            .filter(|c| c.creation <= refreshed_at)
            .copied()
            .collect();
        let from = self.periods.first().map_or(self.now, |p| p.start);
        Self::spanning(&known, from, self.now, self.windows)
    }

    /// The moment the schedule counts from.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The windows it uses.
    pub fn windows(&self) -> ScheduleWindows {
        self.windows
    }

    /// The keys it was computed from.
    pub fn candidates(&self) -> &[KeyCandidate] {
        &self.candidates
    }

    /// The default key over time, in order; the last period lasts.
    pub fn periods(&self) -> &[DefaultPeriod] {
        &self.periods
    }

    /// The period holding `at` (`None` before the first period).
    pub fn period_at(&self, at: OffsetDateTime) -> Option<&DefaultPeriod> {
        self.periods.iter().find(|p| p.contains(at))
    }

    /// The default key at `at`.
    pub fn default_at(&self, at: OffsetDateTime) -> Option<KeyId> {
        match self.period_at(at) {
            Some(period) => period.key,
            None => resolve_default_key(&self.candidates, at, self.windows.resolver()).default_key,
        }
    }

    /// The first change of the default key after now.
    pub fn next_rotation(&self) -> Option<Rotation> {
        let index = self.periods.iter().position(|p| p.contains(self.now))?;
        let next = self.periods.get(index + 1)?;
        Some(Rotation {
            at: next.start,
            from: self.periods[index].key,
            to: next.key,
        })
    }

    /// How far ahead the rotation rule looks: now + refresh period + propagation window. A
    /// gap that starts before it is due now: a node that waited for its next refresh could no
    /// longer write the key a full propagation window ahead.
    pub fn horizon(&self) -> OffsetDateTime {
        self.now
            .saturating_add(self.windows.refresh_period)
            .saturating_add(self.windows.propagation_window)
    }

    /// The first instant from now without a default key (`now` itself when there is none
    /// now; the far future if keys never run out).
    pub fn covered_until(&self) -> OffsetDateTime {
        self.periods
            .iter()
            .filter(|p| p.key.is_none() && p.end.is_none_or(|end| end > self.now))
            .map(|p| p.start.max(self.now))
            .min()
            .unwrap_or(far_future())
    }

    /// The last moment a key written to continue the coverage still reaches every node a
    /// full propagation window before it is used: `covered_until - propagation window`.
    pub fn must_write_by(&self) -> OffsetDateTime {
        self.covered_until()
            .saturating_sub(self.windows.propagation_window)
    }

    /// From when the rotation rule has work to do again (a gap comes within the horizon), at
    /// the latest [`must_write_by`](Self::must_write_by), never before now.
    pub fn next_write_at(&self) -> OffsetDateTime {
        let must = self.must_write_by();
        must.saturating_sub(self.windows.refresh_period)
            .saturating_add(Duration::minutes(1))
            .max(self.now)
            .min(must.max(self.now))
    }

    /// Every gap from now on that is due, in order: each one that starts before the
    /// [`horizon`](Self::horizon) (including one at now), and, at any distance, each one a
    /// revoked or unusable key causes or that a later key ends (a hole in the chain, never
    /// the ring's natural end: when the newest key expires, rotation writes its successor
    /// in time, even if an older key would still be valid). The natural end of the last key further ahead is not due yet:
    /// rotation writes its successor in time.
    pub fn gaps(&self) -> Vec<Gap> {
        let horizon = self.horizon();
        self.periods
            .iter()
            .filter(|p| p.key.is_none())
            .filter(|p| p.end.is_none_or(|end| end > self.now))
            .map(|p| {
                let start = p.start.max(self.now);
                Gap {
                    start,
                    end: p.end,
                    cause: self.cause_at(start),
                }
            })
            .filter(|gap| {
                gap.start < horizon
                    || gap.end.is_some()
                    || matches!(gap.cause, GapCause::Revoked(_) | GapCause::Unusable(_))
            })
            .collect()
    }

    /// Periods from now on whose key took over less than a propagation window after it was
    /// written, not counting keys that filled a gap.
    pub fn late_takeovers(&self) -> Vec<&DefaultPeriod> {
        self.periods
            .iter()
            .filter(|p| p.start > self.now)
            .filter(|p| p.takeover.is_some_and(|t| t.late && !t.after_gap))
            .collect()
    }

    /// The key the ring needs written now: the one that fills the first gap within the
    /// horizon, activated at the gap's start (or at the activation of the key that would be
    /// preferred there, so the new key wins the tie), for one key lifetime. `None` when no gap
    /// is due.
    pub fn next_key(&self) -> Option<NewKeyPlan> {
        let gap = self.gaps().into_iter().next()?;
        let preferred_activation = match gap.cause {
            GapCause::NoKey => None,
            GapCause::Expired(id) | GapCause::Revoked(id) | GapCause::Unusable(id) => {
                self.candidate(id).map(|c| c.activation)
            }
        };
        let activation = preferred_activation.map_or(gap.start, |a| a.max(gap.start));
        Some(NewKeyPlan {
            activation,
            expiration: activation.saturating_add(self.windows.key_lifetime),
        })
    }

    /// The candidate with that id.
    pub fn candidate(&self, id: KeyId) -> Option<&KeyCandidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The schedule after `change` is applied to a copy of the keys (for dry runs: "what if
    /// these keys were revoked", "what if this key were written").
    pub fn with_change(&self, change: impl FnOnce(&mut Vec<KeyCandidate>)) -> Self {
        let mut candidates = self.candidates.clone();
        change(&mut candidates);
        let from = self.periods.first().map_or(self.now, |p| p.start);
        Self::spanning(&candidates, from, self.now, self.windows)
    }

    /// Why there is no default key at `at`.
    fn cause_at(&self, at: OffsetDateTime) -> GapCause {
        let skew = self.windows.max_clock_skew;
        // Among keys activated together, one that only expired names the gap (the natural
        // end of a replacement), before a revoked or unusable twin.
        let rank = |k: &KeyCandidate| match (k.revoked || !k.usable, k.expiration > at) {
            (false, true) => 0,
            (false, false) => 1,
            (true, _) => 2,
        };
        let preferred = self
            .candidates
            .iter()
            .filter(|k| k.activation <= at.saturating_add(skew))
            .min_by(|a, b| {
                b.activation
                    .cmp(&a.activation)
                    .then(rank(a).cmp(&rank(b)))
                    .then(a.id.cmp(&b.id))
            });
        match preferred {
            None => GapCause::NoKey,
            Some(k) if k.revoked => GapCause::Revoked(k.id),
            Some(k) if !k.usable => GapCause::Unusable(k.id),
            Some(k) => GapCause::Expired(k.id),
        }
    }
}

/// The latest instant keyward handles (the end of year 9999).
fn far_future() -> OffsetDateTime {
    OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT)
}

/// The default key over time from `from`: the resolver is constant between the instants a
/// key comes within the clock skew of its activation or expires, so it is asked once at
/// each such instant; equal neighbours are merged.
fn periods(
    candidates: &[KeyCandidate],
    from: OffsetDateTime,
    windows: &ScheduleWindows,
) -> Vec<DefaultPeriod> {
    let skew = windows.max_clock_skew;
    let mut instants: Vec<OffsetDateTime> = candidates
        .iter()
        .flat_map(|c| [c.activation.saturating_sub(skew), c.expiration])
        .filter(|&t| t > from)
        .collect();
    instants.push(from);
    instants.sort_unstable();
    instants.dedup();
    let mut out: Vec<DefaultPeriod> = Vec::new();
    for at in instants {
        let key = resolve_default_key(candidates, at, windows.resolver()).default_key;
        if out.last().is_some_and(|last| last.key == key) {
            continue;
        }
        let previous_key = out.last().map(|last| last.key);
        if let Some(last) = out.last_mut() {
            last.end = Some(at);
        }
        let takeover = match (previous_key, key) {
            (Some(previous), Some(id)) => candidates.iter().find(|c| c.id == id).map(|c| {
                let write_deadline = c
                    .activation
                    .max(at)
                    .saturating_sub(windows.propagation_window);
                Takeover {
                    write_deadline,
                    // Instants on different nodes compare only within the clock skew: a key
                    // written seconds after its deadline (a revoked successor's replacement,
                    // activated where the successor would have been) is not late.
                    late: c.creation > write_deadline.saturating_add(windows.max_clock_skew),
                    after_gap: previous.is_none(),
                }
            }),
            _ => None,
        };
        out.push(DefaultPeriod {
            start: at,
            end: None,
            key,
            takeover,
        });
    }
    out
}

#[cfg(test)]
mod tests;
