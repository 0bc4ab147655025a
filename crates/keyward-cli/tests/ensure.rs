//! `keyward keys ensure`, the janitor: idempotent, and the next-run time it prints is right,
//! checked against a fake clock (`--now`) over two years of runs.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;

use common::*;
use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::{Duration, OffsetDateTime};
use serde_json::Value;

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

fn show(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

fn ensure(dir: &Path, now: OffsetDateTime, extra: &[&str]) -> Value {
    let now = show(now);
    let mut args = vec!["--now", &now, "keys", "ensure", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&keyward(dir, "a", &args, None))).unwrap()
}

fn keys(dir: &Path, now: OffsetDateTime) -> Vec<Value> {
    let now = show(now);
    let text = ok(&keyward(
        dir,
        "a",
        &["--now", &now, "keys", "list", "--json"],
        None,
    ));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn two_years_of_runs_at_the_printed_times_keep_the_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2027-01-01T00:00:00Z");
    let window = Duration::days(2);
    let mut now = start;
    let mut runs = 0;
    let mut rotations = 0;
    while now < start + Duration::days(730) {
        let report = ensure(dir.path(), now, &[]);
        runs += 1;
        let created = report["created"].as_array().unwrap();
        if runs == 1 {
            assert_eq!(created.len(), 1, "an empty ring gets its default key");
        } else {
            // Each run at the printed next_run_at has exactly one thing to do: the successor,
            // written at least the propagation window before it activates.
            assert_eq!(created.len(), 1, "run {runs} at {}: {report}", show(now));
            let activation = at(created[0]["activation"].as_str().unwrap());
            assert!(
                activation - now >= window,
                "run {runs}: the successor activates {} after it is written",
                activation - now
            );
            rotations += 1;
        }
        assert!(report["default_key"].is_string(), "{report}");
        // A second run right after changes nothing.
        let again = ensure(dir.path(), now, &[]);
        assert_eq!(again["changed"], false, "{again}");
        assert_eq!(again["created"].as_array().unwrap().len(), 0);
        let next = at(report["next_run_at"].as_str().unwrap());
        let must = at(report["must_run_by"].as_str().unwrap());
        assert!(next > now && next <= must, "{report}");
        // An hour before next_run_at there is nothing to do yet.
        let early = ensure(dir.path(), next - Duration::hours(1), &["--dry-run"]);
        assert_eq!(early["changed"], false, "early run: {early}");
        now = next;
    }
    assert!(rotations >= 7, "{rotations} rotations in two years");
    // Every key the janitor wrote after the first was written the propagation window ahead,
    // and the ring always had exactly one default key.
    let listed = keys(dir.path(), now);
    assert_eq!(listed.len(), runs);
    for probe in (0..730).step_by(3) {
        let t = start + Duration::days(probe);
        let defaults = keys(dir.path(), t)
            .iter()
            .filter(|k| k["status"] == "default")
            .count();
        assert_eq!(defaults, 1, "day {probe}");
    }
}

#[test]
fn delete_expired_before_deletes_once_and_refuses_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2027-01-01T00:00:00Z");
    let mut now = start;
    for _ in 0..5 {
        let report = ensure(dir.path(), now, &[]);
        now = at(report["next_run_at"].as_str().unwrap());
    }
    let later = now + Duration::days(200);
    let before = keys(dir.path(), later).len();
    let report = ensure(dir.path(), later, &["--delete-expired-before", "-30d"]);
    let deleted = report["deleted"].as_array().unwrap().len();
    assert!(deleted >= 3, "{report}");
    assert_eq!(
        keys(dir.path(), later).len() + deleted - report["created"].as_array().unwrap().len(),
        before
    );
    let again = ensure(dir.path(), later, &["--delete-expired-before", "-30d"]);
    assert_eq!(again["changed"], false, "{again}");

    let snapshot_before = std::fs::read_dir(dir.path()).unwrap().count();
    let refused = keyward(
        dir.path(),
        "a",
        &["keys", "ensure", "--delete-expired-before", "+1d"],
        None,
    );
    assert!(failure_line(&refused).contains("must be in the past"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        snapshot_before
    );
}

#[test]
fn text_output_on_prepared_rings() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(
        dir.path(),
        &[FixtureKey {
            id: "11111111-1111-4111-8111-111111111111",
            created: "2027-01-01T00:00:00Z",
            activation: "2027-01-01T00:00:00Z",
            expiration: "2027-04-01T00:00:00Z",
        }],
        &[],
    );
    // Healthy: nothing to do.
    let healthy = ok(&keyward(
        dir.path(),
        "a",
        &["--now", "2027-02-01T00:00:00Z", "keys", "ensure"],
        None,
    ));
    // The successor is due: a dry run says what it would write.
    let due = ok(&keyward(
        dir.path(),
        "a",
        &[
            "--now",
            "2027-03-29T12:00:00Z",
            "keys",
            "ensure",
            "--dry-run",
        ],
        None,
    ));
    insta::assert_snapshot!(format!(
        "healthy:\n{healthy}\nsuccessor due (dry run):\n{due}"
    ));
    let key_files = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".xml")
        })
        .count();
    assert_eq!(key_files, 1, "neither run writes a key");
}
