//! What keyward records through the [`metrics`](https://docs.rs/metrics) facade: the metric
//! names, the fixed set of failure reasons, and the functions the provider calls.
//!
//! Nothing is recorded unless the application installs a recorder (an exporter such as
//! `metrics-exporter-prometheus`): without one the `metrics` macros do nothing. Successful
//! `protect` and `unprotect` calls record nothing; gauges are set when a key ring snapshot is
//! installed (at start, on every refresh), never per call.
//!
//! Labels are only `status`, `outcome` and `reason`, and their values come from fixed sets
//! of static strings: no application name, purpose, key id, location or payload byte ever
//! reaches a recorder. See `docs/metrics.md` for the table, Prometheus and alert rules.
//!
//! ```rust,ignore
//! // Install the exporter first, then build the provider (so the descriptions are seen).
//! metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .with_http_listener(([0, 0, 0, 0], 9000))
//!     .install()?;
//! let provider = keyward::Provider::builder()
//!     .application_name("shop")
//!     .key_directory("/var/lib/shop/keys")
//!     .build()?;
//! ```

use std::sync::Once;

use ::metrics::Unit;
use time::OffsetDateTime;

use crate::error::Error;
use crate::key::{KeyRing, KeyStatus};

/// Gauge: seconds from the default key's **activation** date to now, when the ring was last
/// installed. Not a number (NaN) while the ring has no default key.
pub const DEFAULT_KEY_AGE_SECONDS: &str = "keyward_default_key_age_seconds";

/// Gauge: seconds from the moment the ring was last installed until the default key changes
/// next (the successor's activation, less the clock skew, or the default key's expiration).
/// `-1` while the ring has no default key.
pub const NEXT_ROTATION_SECONDS: &str = "keyward_next_rotation_seconds";

/// Gauge: how many keys the ring holds, by the label [`STATUS_LABEL`] (every
/// [`KeyStatus`] name, zeros included).
pub const KEYS: &str = "keyward_keys";

/// Counter: key ring refreshes (reads of the repository), by the label [`OUTCOME_LABEL`]
/// (`success` or `failure`).
pub const REFRESH_TOTAL: &str = "keyward_refresh_total";

/// Counter: payloads to unprotect whose key id the ring did not hold at the first lookup
/// (before the refresh that may find it): the "key was not found" symptom.
pub const UNKNOWN_KEY_LOOKUPS_TOTAL: &str = "keyward_unknown_key_lookups_total";

/// Counter: failed `protect` calls, by the label [`REASON_LABEL`] (see [`Reason`]).
pub const PROTECT_FAILURES_TOTAL: &str = "keyward_protect_failures_total";

/// Counter: failed `unprotect` calls, by the label [`REASON_LABEL`] (see [`Reason`]).
pub const UNPROTECT_FAILURES_TOTAL: &str = "keyward_unprotect_failures_total";

/// Counter: keys this process wrote to the repository (created automatically or by
/// [`Provider::create_key`](crate::provider::Provider::create_key)).
pub const KEY_CREATED_TOTAL: &str = "keyward_key_created_total";

/// The label of [`KEYS`]: a [`KeyStatus`] name.
pub const STATUS_LABEL: &str = "status";

/// The label of [`REFRESH_TOTAL`]: `success` or `failure`.
pub const OUTCOME_LABEL: &str = "outcome";

/// The label of [`PROTECT_FAILURES_TOTAL`] and [`UNPROTECT_FAILURES_TOTAL`]: a [`Reason`].
pub const REASON_LABEL: &str = "reason";

/// Every metric name keyward records, for exporters that filter by name.
pub const ALL: [&str; 8] = [
    DEFAULT_KEY_AGE_SECONDS,
    NEXT_ROTATION_SECONDS,
    KEYS,
    REFRESH_TOTAL,
    UNKNOWN_KEY_LOOKUPS_TOTAL,
    PROTECT_FAILURES_TOTAL,
    UNPROTECT_FAILURES_TOTAL,
    KEY_CREATED_TOTAL,
];

pub use crate::error::Reason;

const STATUSES: [KeyStatus; 6] = [
    KeyStatus::Default,
    KeyStatus::Active,
    KeyStatus::Pending,
    KeyStatus::Expired,
    KeyStatus::Revoked,
    KeyStatus::Unreadable,
];

/// Registers the description and unit of every keyward metric with the installed recorder.
///
/// The first provider built calls it; call it again after installing a recorder later than
/// that (descriptions given before a recorder exists are lost). Calling it twice is harmless.
pub fn describe() {
    ::metrics::describe_gauge!(
        DEFAULT_KEY_AGE_SECONDS,
        Unit::Seconds,
        "Seconds since the default key's activation date (NaN: no default key)"
    );
    ::metrics::describe_gauge!(
        NEXT_ROTATION_SECONDS,
        Unit::Seconds,
        "Seconds until the default key changes next (-1: no default key)"
    );
    ::metrics::describe_gauge!(KEYS, Unit::Count, "Keys in the key ring, by status");
    ::metrics::describe_counter!(
        REFRESH_TOTAL,
        Unit::Count,
        "Key ring refreshes, by outcome (success, failure)"
    );
    ::metrics::describe_counter!(
        UNKNOWN_KEY_LOOKUPS_TOTAL,
        Unit::Count,
        "Payloads naming a key id the key ring did not hold"
    );
    ::metrics::describe_counter!(
        PROTECT_FAILURES_TOTAL,
        Unit::Count,
        "Failed protect calls, by reason"
    );
    ::metrics::describe_counter!(
        UNPROTECT_FAILURES_TOTAL,
        Unit::Count,
        "Failed unprotect calls, by reason"
    );
    ::metrics::describe_counter!(
        KEY_CREATED_TOTAL,
        Unit::Count,
        "Keys written to the repository by this process"
    );
}

/// [`describe`], once per process (from the first provider built).
pub(crate) fn describe_once() {
    static DESCRIBED: Once = Once::new();
    DESCRIBED.call_once(describe);
}

/// Sets the gauges from a ring just installed, at `now`; `skew` is the policy's maximum clock
/// skew (a key is preferred that much ahead of its activation).
pub(crate) fn ring_installed(ring: &KeyRing, now: OffsetDateTime, skew: time::Duration) {
    let default_key = ring.default_key_at(now);
    let default_id = default_key.map(|k| k.info.id);
    let mut counts = [0u32; STATUSES.len()];
    for key in ring.keys() {
        let status = key.info.status_at(now, default_id);
        if let Some(i) = STATUSES.iter().position(|s| *s == status) {
            counts[i] = counts[i].saturating_add(1);
        }
    }
    // `<key>` elements skipped as unreadable are listed with that status, too.
    if let Some(i) = STATUSES.iter().position(|s| *s == KeyStatus::Unreadable) {
        let skipped = u32::try_from(ring.unreadable().len()).unwrap_or(u32::MAX);
        counts[i] = counts[i].saturating_add(skipped);
    }
    for (status, count) in STATUSES.iter().zip(counts) {
        ::metrics::gauge!(KEYS, STATUS_LABEL => status.as_str()).set(f64::from(count));
    }
    let (age, next) = match default_key {
        Some(key) => (
            seconds(now - key.info.activation),
            next_change(ring, now, skew, key.info.id, key.info.expiration)
                .map_or(-1.0, |at| seconds(at - now)),
        ),
        None => (f64::NAN, -1.0),
    };
    ::metrics::gauge!(DEFAULT_KEY_AGE_SECONDS).set(age);
    ::metrics::gauge!(NEXT_ROTATION_SECONDS).set(next);
}

/// The first moment after `now` at which the ring's default key is no longer `current`: a
/// later key's activation (less the clock skew, when it becomes preferred) or the current
/// key's expiration, whichever first changes the resolution.
fn next_change(
    ring: &KeyRing,
    now: OffsetDateTime,
    skew: time::Duration,
    current: crate::key_id::KeyId,
    expiration: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let mut moments: Vec<OffsetDateTime> = ring
        .keys()
        .map(|k| k.info.activation.saturating_sub(skew))
        .filter(|&t| t > now && t < expiration)
        .collect();
    moments.push(expiration);
    moments.sort_unstable();
    moments.dedup();
    moments
        .into_iter()
        .find(|&at| ring.resolve(at).default_key != Some(current))
}

fn seconds(duration: time::Duration) -> f64 {
    duration.as_seconds_f64()
}

/// Counts one refresh of the ring.
pub(crate) fn refresh(success: bool) {
    let outcome = if success { "success" } else { "failure" };
    ::metrics::counter!(REFRESH_TOTAL, OUTCOME_LABEL => outcome).increment(1);
}

/// Counts a key written to the repository.
pub(crate) fn key_created() {
    ::metrics::counter!(KEY_CREATED_TOTAL).increment(1);
}

/// Counts a payload whose key id the ring did not hold.
pub(crate) fn unknown_key_lookup() {
    ::metrics::counter!(UNKNOWN_KEY_LOOKUPS_TOTAL).increment(1);
}

/// Counts a failed `protect`.
pub(crate) fn protect_failed(error: &Error) {
    ::metrics::counter!(PROTECT_FAILURES_TOTAL, REASON_LABEL => Reason::of(error).as_str())
        .increment(1);
}

/// Counts a failed `unprotect`.
pub(crate) fn unprotect_failed(error: &Error) {
    ::metrics::counter!(UNPROTECT_FAILURES_TOTAL, REASON_LABEL => Reason::of(error).as_str())
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_snake_case_labels() {
        let names: std::collections::HashSet<&str> =
            Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    }

    #[test]
    fn errors_map_to_their_reason() {
        let id = crate::key_id::KeyId::random();
        let cases = [
            (
                Error::MalformedPayload(crate::error::MalformedReason::Empty),
                Reason::Malformed,
            ),
            (
                Error::KeyNotFound {
                    key_id: id,
                    ring_location: "x".into(),
                },
                Reason::UnknownKey,
            ),
            (
                Error::KeyNotDecryptable {
                    key_id: id,
                    decryptor_type: "x".into(),
                },
                Reason::UnreadableKey,
            ),
            (Error::KeyRevoked(id), Reason::Revoked),
            (Error::InvalidPayload, Reason::Invalid),
            (
                Error::Expired {
                    expired_at: OffsetDateTime::UNIX_EPOCH,
                },
                Reason::Expired,
            ),
            (
                Error::NoDefaultKey {
                    ring_location: "x".into(),
                    reason: crate::error::NoDefaultKeyReason::NoKeyQualifies,
                },
                Reason::NoDefaultKey,
            ),
            (Error::repository("s", "r"), Reason::Repository),
            (Error::NotUtf8, Reason::Other),
        ];
        for (error, reason) in cases {
            assert_eq!(Reason::of(&error), reason, "{error}");
        }
    }
}
