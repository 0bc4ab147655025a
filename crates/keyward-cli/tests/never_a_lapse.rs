//! "Never a lapse" (issue 20): the operator commands keep a default key at every instant, as a
//! new user following the README meets them. Each test starts from what a user starts from
//! (an empty folder, a ring after `protect`, a ring .NET wrote) and runs the commands with the
//! default log level, so a WARN or ERROR line the user did not cause fails it.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

/// `keyward --keys-dir DIR ARGS…` as a user runs it: the default log level, no application
/// name unless the arguments give one.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_remove("KEYWARD_KEYS_DIR")
        .env_remove("KEYWARD_APPLICATION_NAME")
        .env_remove("KEYWARD_ALGORITHM")
        .env_remove("KEYWARD_LOG")
        .env_remove("KEYWARD_REPOSITORY")
        .arg("--keys-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    ok(output)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No WARN or ERROR log line on stderr, but the one a key written in the clear brings (key
/// creation says so once, as `doctor` does).
fn assert_quiet(output: &Output, what: &str) {
    let err = stderr(output);
    let noisy: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| !l.contains("no XML encryptor configured: the key is stored unencrypted"))
        .collect();
    assert!(noisy.is_empty(), "{what} printed log lines: {err}");
    assert!(
        err.matches("no XML encryptor configured").count() <= 1,
        "{what} said it twice: {err}"
    );
}

fn doctor_json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = extra.to_vec();
    args.extend(["doctor", "--json"]);
    let output = run(dir, &args);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        )
    })
}

fn codes(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn list_at(dir: &Path, at: &str) -> Vec<Value> {
    let text = stdout(&run(dir, &["keys", "list", "--json", "--at", at]));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn has_default(keys: &[Value]) -> bool {
    keys.iter().any(|k| k["status"] == "default")
}

#[test]
fn keys_new_passes_its_own_doctor_check() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(
        &keys,
        &[
            "--application-name",
            "demo",
            "protect",
            "--purpose",
            "p",
            "x",
        ],
    ));
    let new = run(&keys, &["keys", "new"]);
    stdout(&new);
    assert_quiet(&new, "keys new");
    let report = doctor_json(&keys, &[]);
    let found = codes(&report);
    assert!(
        !found.iter().any(|(_, c)| c == "keys.short_propagation"),
        "{report:#}"
    );
    assert!(
        !found.iter().any(|(s, _)| s == "error" || s == "warning"),
        "{report:#}"
    );
    assert_eq!(report["status"], "healthy");
    let timeline = stdout(&run(&keys, &["keys", "timeline", "--json"]));
    assert!(!timeline.contains("written-late"), "{timeline}");
}

#[test]
fn revoking_every_key_leaves_no_gap_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(
        &keys,
        &[
            "--application-name",
            "demo",
            "protect",
            "--purpose",
            "p",
            "x",
        ],
    ));
    stdout(&run(&keys, &["keys", "new"]));
    let dry = stdout(&run(
        &keys,
        &[
            "keys",
            "revoke",
            "--all",
            "--before",
            "now",
            "--reason",
            "r",
            "--dry-run",
        ],
    ));
    assert!(
        dry.contains("would revoke every key created before"),
        "{dry}"
    );
    assert!(dry.contains("this leaves no default key from"), "{dry}");
    assert!(dry.contains("would create a key"), "{dry}");
    assert_eq!(list_at(&keys, "now").len(), 2, "a dry run writes nothing");
    let revoke = run(
        &keys,
        &[
            "keys", "revoke", "--all", "--before", "now", "--reason", "r",
        ],
    );
    let out = stdout(&revoke);
    assert_quiet(&revoke, "keys revoke");
    assert!(out.contains("to replace the revoked default key"), "{out}");
    assert!(out.contains("to fill that gap"), "{out}");
    for at in ["now", "+1d", "+3d", "+30d", "+80d"] {
        assert!(has_default(&list_at(&keys, at)), "no default key at {at}");
    }
    let ensure = stdout(&run(&keys, &["keys", "ensure", "--json"]));
    let ensured: Value = serde_json::from_str(&ensure).unwrap();
    assert_eq!(ensured["changed"], false, "{ensured:#}");
    let report = doctor_json(&keys, &[]);
    assert!(
        !codes(&report).iter().any(|(s, _)| s == "error"),
        "{report:#}"
    );
    let timeline = stdout(&run(&keys, &["keys", "timeline"]));
    assert!(!timeline.contains("→ none"), "{timeline}");
}

#[test]
fn doctor_names_a_gap_ahead_and_ensure_fills_it() {
    // The ring `keys revoke --all` used to leave: a replacement that is the default only until
    // a revoked pending key activates.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    write_fixture_ring(
        &keys,
        &[
            FixtureKey {
                id: "11111111-1111-4111-8111-111111111111",
                created: "2027-01-01T00:00:00Z",
                activation: "2027-01-01T00:00:00Z",
                expiration: "2027-04-01T00:00:00Z",
            },
            FixtureKey {
                id: "22222222-2222-4222-8222-222222222222",
                created: "2027-02-01T00:00:00Z",
                activation: "2027-02-03T00:00:00Z",
                expiration: "2027-05-03T00:00:00Z",
            },
            FixtureKey {
                id: "33333333-3333-4333-8333-333333333333",
                created: "2027-02-01T01:00:00Z",
                activation: "2027-02-01T01:00:00Z",
                expiration: "2027-05-01T01:00:00Z",
            },
        ],
        &[
            (
                "11111111-1111-4111-8111-111111111111",
                "2027-02-01T01:00:00Z",
            ),
            (
                "22222222-2222-4222-8222-222222222222",
                "2027-02-01T01:00:00Z",
            ),
        ],
    );
    let now = ["--now", "2027-02-01T02:00:00Z"];
    let report = doctor_json(&keys, &now);
    let gaps: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "keys.gap")
        .collect();
    assert_eq!(gaps.len(), 1, "{report:#}");
    assert_eq!(gaps[0]["severity"], "error");
    assert_eq!(gaps[0]["at"], "2027-02-02T23:55:00Z");
    assert!(gaps[0]["fix"]
        .as_str()
        .unwrap()
        .contains("keyward keys ensure"));
    assert_eq!(report["status"], "errors");
    let mut args = now.to_vec();
    args.extend(["keys", "ensure", "--json"]);
    let ensured: Value = serde_json::from_str(&stdout(&run(&keys, &args))).unwrap();
    assert_eq!(
        ensured["created"].as_array().unwrap().len(),
        1,
        "{ensured:#}"
    );
    assert_eq!(ensured["created"][0]["activation"], "2027-02-03T00:00:00Z");
    let report = doctor_json(&keys, &now);
    assert!(
        !codes(&report).iter().any(|(_, c)| c == "keys.gap"),
        "{report:#}"
    );
}

#[test]
fn revoking_an_id_the_ring_lacks_needs_allow_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(&keys, &["keys", "new"]));
    let id = "00000000-0000-4000-8000-000000000009";
    let refused = run(&keys, &["keys", "revoke", id, "--reason", "r"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("--allow-unknown"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let allowed = stdout(&run(
        &keys,
        &["keys", "revoke", id, "--reason", "r", "--allow-unknown"],
    ));
    assert!(allowed.contains("no such key in the ring"), "{allowed}");
}

#[test]
fn a_future_mass_revocation_is_refused_by_import_and_reported_by_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(&keys, &["keys", "new"]));
    let document = dir.path().join("revoke-all.xml");
    std::fs::write(
        &document,
        r#"<revocation version="1"><revocationDate>9999-12-31T00:00:00Z</revocationDate><key id="*" /><reason>planted</reason></revocation>"#,
    )
    .unwrap();
    for dry in [true, false] {
        let mut args = vec!["keys", "import", document.to_str().unwrap()];
        if dry {
            args.push("--dry-run");
        }
        let refused = run(&keys, &args);
        assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
        let err = stderr(&refused);
        assert!(err.contains("a date in the future"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // Planted in the store by hand: doctor reports it.
    std::fs::copy(&document, keys.join("revocation-planted.xml")).unwrap();
    let report = doctor_json(&keys, &[]);
    let found = codes(&report);
    assert!(
        found.contains(&("error".to_owned(), "keys.future_revocation".to_owned())),
        "{report:#}"
    );
}

#[test]
fn an_import_dry_run_lists_what_each_revocation_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let id = stdout(&run(&keys, &["keys", "new"])).trim().to_owned();
    let document = dir.path().join("revoke-one.xml");
    std::fs::write(
        &document,
        format!(r#"<revocation version="1"><revocationDate>2020-01-01T00:00:00Z</revocationDate><key id="{id}" /><reason>r</reason></revocation>"#),
    )
    .unwrap();
    let dry = stdout(&run(
        &keys,
        &["keys", "import", document.to_str().unwrap(), "--dry-run"],
    ));
    assert!(dry.contains(&format!("would revoke key {id}")), "{dry}");
}

#[test]
fn a_backup_restores_plaintext_keys_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(
        &keys,
        &[
            "--application-name",
            "shop",
            "protect",
            "--purpose",
            "p",
            "x",
        ],
    ));
    let kek = dir.path().join("kek.b64");
    std::fs::write(&kek, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let kek = kek.to_str().unwrap();
    let backup = dir.path().join("ring.xml");
    // The README's backup line: no ERROR or WARN about the plaintext keys it wraps.
    let export = run(
        &keys,
        &[
            "keys",
            "export",
            "--output",
            backup.to_str().unwrap(),
            "--kek-file",
            kek,
        ],
    );
    stdout(&export);
    assert_quiet(&export, "keys export --kek-file");
    // Restore into an empty ring: without the KEK the flag is named.
    let restored = dir.path().join("restored");
    let refused = run(&restored, &["keys", "import", backup.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("--kek-file"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let import = run(
        &restored,
        &[
            "--kek-file",
            kek,
            "keys",
            "import",
            backup.to_str().unwrap(),
        ],
    );
    let out = stdout(&import);
    assert!(out.contains("in the clear, as the ring held it"), "{out}");
    // The restored key is plaintext again: .NET (and a node without the KEK) reads it.
    let listed = list_at(&restored, "now");
    assert!(!listed.is_empty());
    for key in &listed {
        assert_eq!(key["at_rest"], "none", "{key:#}");
        assert_eq!(key["dotnet_readable"], true, "{key:#}");
    }
}

#[test]
fn requiring_encryption_on_a_plaintext_ring_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(
        &keys,
        &[
            "--application-name",
            "shop",
            "protect",
            "--purpose",
            "p",
            "x",
        ],
    ));
    let before: Vec<_> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let kek = dir.path().join("kek.b64");
    std::fs::write(&kek, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let kek = kek.to_str().unwrap();
    // The README's at-rest line, in the tour's folder.
    for args in [
        vec![
            "--kek-file",
            kek,
            "--require-encryption",
            "--application-name",
            "shop",
            "protect",
            "x",
        ],
        vec!["--kek-file", kek, "--require-encryption", "keys", "new"],
    ] {
        let refused = run(&keys, &args);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&refused)
        );
        let err = stderr(&refused);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("keys rewrap"), "{err}");
        assert!(err.contains(".NET"), "{err}");
    }
    let after: Vec<_> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before.len(), after.len(), "nothing may be written");
}

#[test]
fn read_only_commands_on_a_ring_dotnet_wrote_say_nothing_about_plaintext() {
    let ring = testdata_dir().join("vectors/aspnetcore-real/ring");
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("ring");
    std::fs::create_dir(&keys).unwrap();
    for entry in std::fs::read_dir(&ring).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, keys.join(path.file_name().unwrap())).unwrap();
    }
    for args in [
        vec!["keys", "list"],
        vec!["keys", "timeline"],
        vec![
            "--application-name",
            "x",
            "inspect",
            "CfDJ8AAAAAAAAAAAAAAAAAAAAAA",
        ],
    ] {
        let output = run(&keys, &args);
        assert_quiet(&output, &args.join(" "));
    }
}

/// A small deterministic generator for the random rings below (xorshift64*).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn doctor_reports_exactly_the_gaps_the_schedule_has() {
    use keyward::time::format_description::well_known::Rfc3339;
    use keyward::time::{Duration, OffsetDateTime};
    use std::sync::Arc;

    let now = OffsetDateTime::parse("2027-06-01T00:00:00Z", &Rfc3339).unwrap();
    let show = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut seen_gaps = 0;
    for ring in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let count = 1 + dice.below(5);
        let ids: Vec<String> = (0..count)
            .map(|n| format!("{:08x}-0000-4000-8000-{:012x}", ring + 1, n + 1))
            .collect();
        let dates: Vec<[String; 3]> = ids
            .iter()
            .map(|_| {
                let created = now - Duration::hours(dice.below(24 * 100) as i64)
                    + Duration::hours(dice.below(24 * 3) as i64);
                let activation = created + Duration::hours(dice.below(24 * 5) as i64);
                let expiration = activation + Duration::days(7 + dice.below(95) as i64);
                [show(created), show(activation), show(expiration)]
            })
            .collect();
        let fixture: Vec<FixtureKey<'_>> = ids
            .iter()
            .zip(&dates)
            .map(|(id, [created, activation, expiration])| FixtureKey {
                id,
                created,
                activation,
                expiration,
            })
            .collect();
        let revoked_date = show(now - Duration::hours(1));
        let revoked: Vec<(&str, &str)> = ids
            .iter()
            .filter(|_| dice.below(4) == 0)
            .map(|id| (id.as_str(), revoked_date.as_str()))
            .collect();
        write_fixture_ring(&keys_dir, &fixture, &revoked);

        let provider = keyward::Provider::builder()
            .key_directory(&keys_dir)
            .no_application_discriminator()
            .clock(Arc::new(keyward::ManualClock::new(now)))
            .read_only(true)
            .automatic_key_generation(false)
            .watch_changes(false)
            .build()
            .unwrap();
        let mut expected: Vec<String> = provider
            .schedule()
            .gaps()
            .iter()
            .map(|g| show(g.start))
            .collect();
        expected.sort();
        seen_gaps += expected.len();

        let report = doctor_json(&keys_dir, &["--now", "2027-06-01T00:00:00Z"]);
        let mut reported: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                matches!(
                    f["code"].as_str(),
                    Some("keys.gap" | "keys.no_default" | "keys.successor_missing")
                )
            })
            .map(|f| f["at"].as_str().unwrap().to_owned())
            .collect();
        reported.sort();
        assert_eq!(reported, expected, "ring {ring}: {report:#}");
        // Each is an error, with the command that fixes it, unless the successor can still
        // be written in time.
        for finding in report["findings"].as_array().unwrap() {
            if finding["code"] == "keys.gap" || finding["code"] == "keys.no_default" {
                assert_eq!(finding["severity"], "error", "{finding:#}");
                assert!(finding["fix"]
                    .as_str()
                    .unwrap()
                    .contains("keyward keys ensure"));
            }
        }
    }
    assert!(
        seen_gaps >= 10,
        "the random rings should hold gaps: {seen_gaps}"
    );
}

#[test]
fn keys_new_has_a_dry_run_and_says_when_it_shortens_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    stdout(&run(&keys, &["keys", "new"]));
    let before = list_at(&keys, "now").len();
    let dry = stdout(&run(&keys, &["keys", "new", "--dry-run"]));
    assert!(dry.starts_with("would create a key active from"), "{dry}");
    assert!(!dry.contains("no default key"), "{dry}");
    assert!(!dry.contains("written through"), "{dry}");
    // A short-lived key activated in three days takes over and ends the chain 10 days from
    // now instead of 90: said before and after.
    let short = ["keys", "new", "--activate-at", "+3d", "--lifetime", "7d"];
    let mut args = short.to_vec();
    args.push("--dry-run");
    let dry = stdout(&run(&keys, &args));
    assert!(dry.contains("keys would be written through"), "{dry}");
    assert_eq!(
        list_at(&keys, "now").len(),
        before,
        "a dry run writes nothing"
    );
    let written = run(&keys, &short);
    stdout(&written);
    assert!(
        stderr(&written).contains("keys are now written through"),
        "{}",
        stderr(&written)
    );
    // When the short key's end falls due, ensure writes its successor, and doctor is content.
    let in_nine_days = (keyward::time::OffsetDateTime::now_utc()
        + keyward::time::Duration::days(9))
    .format(&keyward::time::format_description::well_known::Rfc3339)
    .unwrap();
    let late = ["--now", &in_nine_days, "keys", "ensure", "--json"];
    let ensured: Value = serde_json::from_str(&stdout(&run(&keys, &late))).unwrap();
    assert_eq!(
        ensured["created"].as_array().unwrap().len(),
        1,
        "{ensured:#}"
    );
    let report = doctor_json(&keys, &["--now", &in_nine_days]);
    assert!(
        !codes(&report)
            .iter()
            .any(|(s, c)| c.starts_with("keys.") && s == "error"),
        "{report:#}"
    );
}

/// Issue 21, item 9: a planted key dated in the future (created 9999, active now) is out of
/// reach of a revocation by date; `revoke --all --before now` revokes it by id and says so.
#[test]
fn revoking_all_keys_also_revokes_a_key_dated_in_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    write_fixture_ring(
        &keys,
        &[
            FixtureKey {
                id: "11111111-1111-4111-8111-111111111111",
                created: "2027-01-01T00:00:00Z",
                activation: "2027-01-01T00:00:00Z",
                expiration: "2027-04-01T00:00:00Z",
            },
            FixtureKey {
                id: "99999999-9999-4999-8999-999999999999",
                created: "9999-01-01T00:00:00Z",
                activation: "2027-01-02T00:00:00Z",
                expiration: "2027-04-02T00:00:00Z",
            },
        ],
        &[],
    );
    let now = "2027-02-01T00:00:00Z";
    let out = stdout(&run(
        &keys,
        &[
            "--now", now, "keys", "revoke", "--all", "--before", "now", "--reason", "r",
        ],
    ));
    assert!(
        out.contains("99999999-9999-4999-8999-999999999999 by id"),
        "{out}"
    );
    let listed = stdout(&run(&keys, &["--now", now, "keys", "list", "--json"]));
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    for id in [
        "11111111-1111-4111-8111-111111111111",
        "99999999-9999-4999-8999-999999999999",
    ] {
        let key = listed.iter().find(|k| k["id"] == id).unwrap();
        assert_eq!(key["status"], "revoked", "{key:#}");
    }
    assert!(
        listed.iter().any(|k| k["status"] == "default"),
        "{listed:#?}"
    );
}

/// A stored element that does not parse is listed as unreadable while the ring keeps working
/// (issue 21, item 7), but not a revocation: skipping it would make the key it revokes usable
/// again, so the ring fails closed and says which element to fix.
#[test]
fn a_malformed_revocation_fails_the_ring_closed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let id = stdout(&run(&keys, &["keys", "new"])).trim().to_owned();
    std::fs::write(
        keys.join(format!("revocation-{id}.xml")),
        format!("<revocation version=\"1\"><revocationDate>2020-01-01T00:00:00Z</revocationDate><key id=\"{id}\" /><reason>r</reason>"),
    )
    .unwrap();
    let listed = run(&keys, &["keys", "list"]);
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    let err = stderr(&listed);
    assert!(err.contains("fails the ring"), "{err}");
    assert!(err.contains(&format!("revocation-{id}.xml")), "{err}");
    // A malformed key file beside it is only an unreadable key.
    std::fs::remove_file(keys.join(format!("revocation-{id}.xml"))).unwrap();
    std::fs::write(keys.join("key-broken.xml"), "<key id=\"broken\"").unwrap();
    let listed = stdout(&run(&keys, &["keys", "list", "--json"]));
    assert!(listed.contains("unreadable"), "{listed}");
}
