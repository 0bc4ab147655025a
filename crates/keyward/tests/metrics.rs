//! What keyward records through the `metrics` facade: gauges set when a ring is installed,
//! refresh outcomes, unknown-key lookups, protect/unprotect failures by reason, and no label
//! that could carry an application name, a purpose, a key id or a location.
//!
//! A capturing recorder is installed globally once (the refresh thread records from its own
//! thread); the tests run one at a time and read deltas.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use keyward::metrics as m;
use keyward::store::{GenerationLock, KeyRepository, MemoryRepository, StoredElement, XmlElement};
use keyward::time::{macros::datetime, Duration};
use keyward::{Error, KeyStatus, ManualClock, Provider};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};

/// Application names and purposes used below: none may appear in a label.
const APP: &str = "metrics-test-app-name";
const PURPOSE: &str = "metrics-test-purpose-Orders";
const OTHER_PURPOSE: &str = "metrics-test-purpose-Invoices";
const LOCATION: &str = "failing://metrics-test-host.example:6379/0";

/// One counter or gauge: counters hold a count, gauges the bits of an `f64`.
#[derive(Debug, Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }
}

impl Cell {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some(f(f64::from_bits(bits)).to_bits())
            });
    }
}

#[derive(Debug, Default)]
struct Capture {
    counters: Mutex<HashMap<Key, Arc<Cell>>>,
    gauges: Mutex<HashMap<Key, Arc<Cell>>>,
    histograms: Mutex<Vec<Key>>,
    units: Mutex<HashMap<String, Option<Unit>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder for Capture {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        lock(&self.units).insert(key.as_str().to_owned(), unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        lock(&self.units).insert(key.as_str().to_owned(), unit);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        lock(&self.units).insert(key.as_str().to_owned(), unit);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::clone(
            lock(&self.counters).entry(key.clone()).or_default(),
        ))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::clone(
            lock(&self.gauges).entry(key.clone()).or_default(),
        ))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        lock(&self.histograms).push(key.clone());
        Histogram::noop()
    }
}

/// The global capturing recorder (installed on first use), and the lock that runs these
/// tests one at a time so deltas are theirs alone.
fn capture() -> (&'static Capture, MutexGuard<'static, ()>) {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    let capture = *CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        metrics::set_global_recorder(capture).unwrap();
        capture
    });
    // Descriptions are given by the first provider built, once per process: give them again
    // now that the recorder is surely installed.
    m::describe();
    (capture, lock(&SERIAL))
}

fn key(name: &str, label: Option<(&str, &str)>) -> Key {
    match label {
        Some((k, v)) => Key::from_parts(
            name.to_owned(),
            vec![metrics::Label::new(k.to_owned(), v.to_owned())],
        ),
        None => Key::from_name(name.to_owned()),
    }
}

impl Capture {
    fn counter(&self, name: &str, label: Option<(&str, &str)>) -> u64 {
        lock(&self.counters)
            .get(&key(name, label))
            .map_or(0, |c| c.0.load(Ordering::SeqCst))
    }

    fn gauge(&self, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
        lock(&self.gauges)
            .get(&key(name, label))
            .map(|c| f64::from_bits(c.0.load(Ordering::SeqCst)))
    }

    fn keys_with(&self, status: KeyStatus) -> Option<f64> {
        self.gauge(m::KEYS, Some((m::STATUS_LABEL, status.as_str())))
    }

    fn unprotect_failures(&self, reason: &str) -> u64 {
        self.counter(m::UNPROTECT_FAILURES_TOTAL, Some((m::REASON_LABEL, reason)))
    }

    fn refreshes(&self, outcome: &str) -> u64 {
        self.counter(m::REFRESH_TOTAL, Some((m::OUTCOME_LABEL, outcome)))
    }

    /// Every key recorded so far: a keyward name, only the allowed labels, values from their
    /// fixed sets, and nothing of the application, purposes or location.
    fn check_every_key(&self) {
        let statuses = [
            KeyStatus::Default,
            KeyStatus::Active,
            KeyStatus::Pending,
            KeyStatus::Expired,
            KeyStatus::Revoked,
            KeyStatus::Unreadable,
        ]
        .map(KeyStatus::as_str);
        let reasons = m::Reason::ALL.map(m::Reason::as_str);
        let mut keys: Vec<Key> = lock(&self.counters).keys().cloned().collect();
        keys.extend(lock(&self.gauges).keys().cloned());
        assert!(
            lock(&self.histograms).is_empty(),
            "keyward records no histogram"
        );
        assert!(!keys.is_empty());
        let forbidden = [APP, PURPOSE, OTHER_PURPOSE, LOCATION, "metrics-test"];
        for key in &keys {
            let name = key.name();
            assert!(m::ALL.contains(&name), "unexpected metric {name}");
            for label in key.labels() {
                let allowed: &[&str] = match label.key() {
                    "status" => &statuses,
                    "outcome" => &["success", "failure"],
                    "reason" => &reasons,
                    other => panic!("label {other} on {name}"),
                };
                assert!(
                    allowed.contains(&label.value()),
                    "{name}{{{}=\"{}\"}}",
                    label.key(),
                    label.value()
                );
                for text in forbidden {
                    assert!(!label.value().contains(text), "{name} carries {text}");
                }
            }
            assert!(key.labels().count() <= 1, "{name} has several labels");
        }
        for name in m::ALL {
            assert!(
                lock(&self.units).contains_key(name),
                "{name} is not described"
            );
        }
        assert_eq!(
            lock(&self.units).get(m::DEFAULT_KEY_AGE_SECONDS),
            Some(&Some(Unit::Seconds))
        );
        assert_eq!(
            lock(&self.units).get(m::NEXT_ROTATION_SECONDS),
            Some(&Some(Unit::Seconds))
        );
    }
}

#[test]
fn a_new_ring_sets_the_gauges() {
    let (capture, _serial) = capture();
    let created = capture.counter(m::KEY_CREATED_TOTAL, None);
    let provider = Provider::ephemeral(APP).unwrap();
    let protector = provider.protector([PURPOSE]);
    let payload = protector.protect(b"data").unwrap();
    assert_eq!(protector.unprotect(&payload).unwrap(), b"data");

    assert_eq!(capture.counter(m::KEY_CREATED_TOTAL, None), created + 1);
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(1.0));
    for status in [
        KeyStatus::Active,
        KeyStatus::Pending,
        KeyStatus::Expired,
        KeyStatus::Revoked,
        KeyStatus::Unreadable,
    ] {
        assert_eq!(capture.keys_with(status), Some(0.0), "{status}");
    }
    let age = capture.gauge(m::DEFAULT_KEY_AGE_SECONDS, None).unwrap();
    assert!((0.0..60.0).contains(&age), "age {age}");
    // One key, no successor: the default changes when it expires, in 90 days.
    let next = capture.gauge(m::NEXT_ROTATION_SECONDS, None).unwrap();
    let lifetime = Duration::days(90).as_seconds_f64();
    assert!(next > lifetime - 60.0 && next <= lifetime, "next {next}");
    capture.check_every_key();
}

#[test]
fn gauges_follow_the_clock_and_the_successor() {
    let (capture, _serial) = capture();
    let start = datetime!(2026-01-01 0:00 UTC);
    let clock = ManualClock::new(start);
    let provider = Provider::builder()
        .application_name(APP)
        .repository(MemoryRepository::new())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let first = provider.keys()[0].clone();
    assert_eq!(capture.gauge(m::DEFAULT_KEY_AGE_SECONDS, None), Some(0.0));

    // A day before the first key expires: the refresh creates its successor, activated at
    // that expiration; the default changes when the successor comes within the clock skew.
    clock.set(first.expiration - Duration::days(1));
    provider.refresh().unwrap();
    assert_eq!(provider.keys().len(), 2);
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(1.0));
    assert_eq!(capture.keys_with(KeyStatus::Pending), Some(1.0));
    assert_eq!(
        capture.gauge(m::DEFAULT_KEY_AGE_SECONDS, None),
        Some(Duration::days(89).as_seconds_f64())
    );
    let skew = provider.policy().max_clock_skew;
    assert_eq!(
        capture.gauge(m::NEXT_ROTATION_SECONDS, None),
        Some((Duration::days(1) - skew).as_seconds_f64())
    );

    // Past the first key's expiration: the successor is the default, the first expired.
    clock.set(first.expiration + Duration::hours(1));
    provider.refresh().unwrap();
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(1.0));
    assert_eq!(capture.keys_with(KeyStatus::Expired), Some(1.0));
    assert_eq!(capture.keys_with(KeyStatus::Pending), Some(0.0));
    assert_eq!(
        capture.gauge(m::DEFAULT_KEY_AGE_SECONDS, None),
        Some(Duration::hours(1).as_seconds_f64())
    );

    // A ring without keys that may not create one: no default key.
    let read_only = Provider::builder()
        .application_name(APP)
        .repository(MemoryRepository::new())
        .read_only(true)
        .build()
        .unwrap();
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(0.0));
    assert!(capture
        .gauge(m::DEFAULT_KEY_AGE_SECONDS, None)
        .unwrap()
        .is_nan());
    assert_eq!(capture.gauge(m::NEXT_ROTATION_SECONDS, None), Some(-1.0));
    let failures = capture.counter(
        m::PROTECT_FAILURES_TOTAL,
        Some((m::REASON_LABEL, "no_default_key")),
    );
    assert!(matches!(
        read_only.protector([PURPOSE]).protect(b"x"),
        Err(Error::NoDefaultKey { .. })
    ));
    assert_eq!(
        capture.counter(
            m::PROTECT_FAILURES_TOTAL,
            Some((m::REASON_LABEL, "no_default_key"))
        ),
        failures + 1
    );
    capture.check_every_key();
}

#[test]
fn unprotect_failures_are_counted_by_reason() {
    let (capture, _serial) = capture();
    let provider = Provider::ephemeral(APP).unwrap();
    let other_ring = Provider::ephemeral(APP).unwrap();
    let protector = provider.protector([PURPOSE]);
    let payload = protector.protect(b"data").unwrap();

    // A key id this ring does not hold.
    let lookups = capture.counter(m::UNKNOWN_KEY_LOOKUPS_TOTAL, None);
    let unknown = capture.unprotect_failures("unknown_key");
    assert!(matches!(
        other_ring.protector([PURPOSE]).unprotect(&payload),
        Err(Error::KeyNotFound { .. })
    ));
    assert_eq!(
        capture.counter(m::UNKNOWN_KEY_LOOKUPS_TOTAL, None),
        lookups + 1
    );
    assert_eq!(capture.unprotect_failures("unknown_key"), unknown + 1);

    // Another purpose (and a tampered payload): `invalid`.
    let invalid = capture.unprotect_failures("invalid");
    assert!(matches!(
        provider.protector([OTHER_PURPOSE]).unprotect(&payload),
        Err(Error::InvalidPayload)
    ));
    let mut tampered = payload.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(protector.unprotect(&tampered).is_err());
    assert_eq!(capture.unprotect_failures("invalid"), invalid + 2);

    // Malformed, binary and text.
    let malformed = capture.unprotect_failures("malformed");
    assert!(protector.unprotect(b"").is_err());
    assert!(protector.unprotect_str("not base64 !").is_err());
    assert_eq!(capture.unprotect_failures("malformed"), malformed + 2);

    // A time-limited payload past its expiration.
    let limited = protector.to_time_limited();
    let token = limited
        .protect(b"data", provider.now() - Duration::seconds(1))
        .unwrap();
    let expired = capture.unprotect_failures("expired");
    assert!(matches!(
        limited.unprotect(&token),
        Err(Error::Expired { .. })
    ));
    assert_eq!(capture.unprotect_failures("expired"), expired + 1);

    // A revoked key.
    let (key_id, _) = keyward::payload::parse(&payload).unwrap();
    provider.revoke_key(key_id, "test").unwrap();
    let revoked = capture.unprotect_failures("revoked");
    assert!(matches!(
        protector.unprotect(&payload),
        Err(Error::KeyRevoked(_))
    ));
    assert_eq!(capture.unprotect_failures("revoked"), revoked + 1);
    assert_eq!(capture.keys_with(KeyStatus::Revoked), Some(1.0));
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(1.0));

    // Successes record nothing.
    let before = snapshot(capture);
    let fresh = protector.protect(b"again").unwrap();
    assert_eq!(protector.unprotect(&fresh).unwrap(), b"again");
    assert_eq!(snapshot(capture), before, "a success recorded something");
    capture.check_every_key();
}

/// Every counter value, by key.
fn snapshot(capture: &Capture) -> Vec<(String, u64)> {
    let mut values: Vec<(String, u64)> = lock(&capture.counters)
        .iter()
        .map(|(k, v)| (format!("{k:?}"), v.0.load(Ordering::SeqCst)))
        .collect();
    values.sort();
    values
}

/// A memory repository that fails every read once told to, at a location that names a host.
#[derive(Debug, Default)]
struct FailingRepository {
    inner: MemoryRepository,
    failing: Arc<AtomicBool>,
}

impl KeyRepository for FailingRepository {
    fn load_elements(&self) -> keyward::Result<Vec<StoredElement>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::repository(LOCATION, "connection refused"));
        }
        self.inner.load_elements()
    }
    fn store_element(&self, element: &XmlElement, friendly_name: &str) -> keyward::Result<()> {
        self.inner.store_element(element, friendly_name)
    }
    fn lock_for_generation(&self) -> keyward::Result<GenerationLock> {
        self.inner.lock_for_generation()
    }
    fn location(&self) -> String {
        LOCATION.to_owned()
    }
}

#[test]
fn refreshes_are_counted_by_outcome() {
    let (capture, _serial) = capture();
    let failing = Arc::new(AtomicBool::new(false));
    let provider = Provider::builder()
        .application_name(APP)
        .repository(FailingRepository {
            inner: MemoryRepository::new(),
            failing: Arc::clone(&failing),
        })
        .build()
        .unwrap();

    let (success, failure) = (capture.refreshes("success"), capture.refreshes("failure"));
    provider.refresh().unwrap();
    assert_eq!(capture.refreshes("success"), success + 1);
    assert_eq!(capture.refreshes("failure"), failure);

    failing.store(true, Ordering::SeqCst);
    assert!(provider.refresh().is_err());
    assert_eq!(capture.refreshes("success"), success + 1);
    assert_eq!(capture.refreshes("failure"), failure + 1);
    // The last good ring stays, and so do its gauges.
    assert_eq!(capture.keys_with(KeyStatus::Default), Some(1.0));

    failing.store(false, Ordering::SeqCst);
    provider.refresh().unwrap();
    assert_eq!(capture.refreshes("success"), success + 2);
    capture.check_every_key();
}
