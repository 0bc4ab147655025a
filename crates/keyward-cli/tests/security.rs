//! What the binary must never do whatever it is given: print a repository password (in errors,
//! `keys migrate` output or `--help`), panic on an absurd time (exit 101), or pass store-chosen
//! control characters to the terminal. And `keys migrate` takes its URIs without argv.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;

/// `keyward ARGS…` with `env` set, a clean environment otherwise, and no stdin.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    for variable in [
        "KEYWARD_KEYS_DIR",
        "KEYWARD_APPLICATION_NAME",
        "KEYWARD_ALGORITHM",
        "KEYWARD_REPOSITORY",
        "KEYWARD_MIGRATE_FROM",
        "KEYWARD_MIGRATE_TO",
        "KEYWARD_KEK",
    ] {
        command.env_remove(variable);
    }
    command
        .env("KEYWARD_LOG", "warn")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_no_secret(output: &Output, secrets: &[&str], what: &str) {
    assert_ne!(
        output.status.code(),
        Some(101),
        "{what} panicked: {}",
        text(output)
    );
    for secret in secrets {
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret),
                "{what}: {secret:?} shows on {stream}: {}",
                text(output)
            );
        }
    }
}

/// Repository URIs holding a password that must never be printed, and its forms.
const REDIS: &[(&str, &[&str])] = &[
    (
        "redis+unix:///tmp/keyward-no-such.sock?pass=s3cret",
        &["s3cret"],
    ),
    (
        "redis://default:hun/ter2@127.0.0.1:1/0",
        &["hun/ter2", "ter2"],
    ),
    (
        "redis://default:hun%2Fter2@127.0.0.1:1/0",
        &["hun/ter2", "hun%2Fter2"],
    ),
    ("rediss://:pw-s3cret@127.0.0.1:1", &["pw-s3cret"]),
    ("redis://:s3%63ret@127.0.0.1:1/0", &["s3cret", "s3%63ret"]),
    ("redis://u:s3cret@127.0.0.1:1garbage/0", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/0 s3cret", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/0?key=K#s3cret", &["s3cret"]),
    ("unknown://u:s3cret@127.0.0.1:1/0", &["s3cret"]),
    ("s3cret://u@h", &[]),
];

const POSTGRES: &[(&str, &[&str])] = &[
    (
        "postgres://u@127.0.0.1:1/db?password=s3cret&connect_timeout=abc",
        &["s3cret"],
    ),
    (
        "postgres://u:hun/ter2@127.0.0.1:1/db",
        &["hun/ter2", "ter2"],
    ),
    ("postgresql://u:s3cret@127.0.0.1:1/db", &["s3cret"]),
];

/// libpq `key=value` connection strings: PostgreSQL locations, never folders (a folder's
/// messages echo their path, password and all).
const LIBPQ: &[(&str, &[&str])] = &[
    (
        "host=127.0.0.1 port=1 user=app password=s3cret dbname=shop",
        &["s3cret"],
    ),
    (
        "  dbname=shop host=127.0.0.1 port=1 password='s3 cret' sslmode=disable",
        &["s3 cret", "'s3", "cret'"],
    ),
    (
        "user=app password=s3cret host=127.0.0.1 port=1",
        &["s3cret"],
    ),
    // Not libpq's first keyword, but a password all the same: refused, not a folder.
    ("mystery=1 password=s3cret", &["s3cret"]),
];

fn hostile_repositories(cases: &[(&str, &[&str])]) {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("file:{}", dir.path().join("keys").display());
    ok(&run(
        &[],
        &[
            "--repository",
            &file,
            "--application-name",
            "a",
            "protect",
            "x",
        ],
    ));
    let uri_file = dir.path().join("uri");
    for (uri, secrets) in cases {
        let mut runs: Vec<(String, Output)> = Vec::new();
        for command in [
            &["keys", "list"][..],
            &["protect", "x"],
            &["unprotect", "CfDJ8"],
        ] {
            let mut args = vec!["--repository", uri, "--application-name", "a"];
            args.extend_from_slice(command);
            runs.push((format!("--repository {uri} {command:?}"), run(&[], &args)));
            runs.push((
                format!("KEYWARD_REPOSITORY={uri} {command:?}"),
                run(
                    &[("KEYWARD_REPOSITORY", uri)],
                    &[&["--application-name", "a"][..], command].concat(),
                ),
            ));
        }
        runs.push((
            format!("migrate from {uri}"),
            run(&[], &["keys", "migrate", "--from", uri, "--to", &file]),
        ));
        runs.push((
            format!("migrate to {uri}"),
            run(&[], &["keys", "migrate", "--from", &file, "--to", uri]),
        ));
        runs.push((
            format!("migrate --dry-run to {uri}"),
            run(
                &[],
                &["keys", "migrate", "--from", &file, "--to", uri, "--dry-run"],
            ),
        ));
        std::fs::write(&uri_file, format!("{uri}\n")).unwrap();
        runs.push((
            format!("migrate --to-file ({uri})"),
            run(
                &[],
                &[
                    "keys",
                    "migrate",
                    "--from",
                    &file,
                    "--to-file",
                    &uri_file.display().to_string(),
                ],
            ),
        ));
        runs.push((
            format!("KEYWARD_MIGRATE_FROM={uri}"),
            run(
                &[("KEYWARD_MIGRATE_FROM", uri)],
                &["keys", "migrate", "--to", &file],
            ),
        ));
        for help in [
            &["--help"][..],
            &["keys", "migrate", "--help"],
            &["protect", "--help"],
        ] {
            runs.push((
                format!("{help:?} with the URI in the environment"),
                run(
                    &[
                        ("KEYWARD_REPOSITORY", uri),
                        ("KEYWARD_MIGRATE_FROM", uri),
                        ("KEYWARD_MIGRATE_TO", uri),
                    ],
                    help,
                ),
            ));
        }
        for (what, output) in &runs {
            assert_no_secret(output, secrets, what);
            if !what.contains("help") {
                assert_eq!(output.status.code(), Some(1), "{what}: {}", text(output));
            }
        }
    }
}

#[test]
fn hostile_redis_urls_never_show_their_password() {
    hostile_repositories(REDIS);
}

#[test]
fn hostile_postgres_urls_never_show_their_password() {
    hostile_repositories(POSTGRES);
}

#[test]
fn libpq_connection_strings_are_postgres_locations_and_never_show_their_password() {
    hostile_repositories(LIBPQ);
    // None of them became a folder.
    for (uri, _) in LIBPQ {
        let output = run(&[], &["--repository", uri, "keys", "list"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("key directory") && !stderr.contains("directory "),
            "{uri}: {stderr}"
        );
    }
    let dir = std::env::current_dir().unwrap();
    assert!(!dir
        .join("host=127.0.0.1 port=1 user=app password=s3cret dbname=shop")
        .exists());
}

/// A libpq `key=value` string reaches the real server (`KEYWARD_TEST_POSTGRES_URL`'s host,
/// port, user and database) with keyward's `table` parameter, and the password it holds
/// never shows.
#[test]
fn a_libpq_connection_string_opens_the_postgres_store() {
    let Some(url) = common::postgres_uri() else {
        return;
    };
    // postgres://user@host:port/db?table=NAME, as the helper builds it.
    let rest = url.split_once("://").unwrap().1;
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host_port) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap();
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    let (db, query) = path.split_once('?').unwrap();
    let table = query.strip_prefix("table=").unwrap();
    let libpq = format!(
        "host={host} port={port} user={user} password=unused-s3cret dbname={db} sslmode=disable table={table}"
    );
    let created = run(&[], &["--repository", &libpq, "keys", "new"]);
    assert_no_secret(&created, &["unused-s3cret"], "keys new");
    assert_eq!(created.status.code(), Some(0), "{}", text(&created));
    let listed = run(&[], &["--repository", &libpq, "keys", "list", "--json"]);
    assert_no_secret(&listed, &["unused-s3cret"], "keys list");
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let list: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    // The key is in the table (read through the URL), not in a folder named by the string.
    let through_url = run(&[], &["--repository", &url, "keys", "list", "--json"]);
    assert_eq!(through_url.status.code(), Some(0), "{}", text(&through_url));
    assert_eq!(through_url.stdout, listed.stdout);
    assert!(!std::env::current_dir().unwrap().join(&libpq).exists());
}

#[test]
fn absurd_times_exit_1_never_101() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let keys = keys.to_str().unwrap();
    ok(&run(
        &[],
        &[
            "--keys-dir",
            keys,
            "--application-name",
            "a",
            "protect",
            "x",
        ],
    ));
    for (args, code) in [
        (&["protect", "--expires-in", "520000w", "x"][..], 1),
        (&["protect", "--expires-in", "520000w1w", "x"], 1),
        (&["protect", "--expires-in", "9999999999999999999w", "x"], 1),
        (&["protect", "--expires-at", "+520000w", "x"], 1),
        (&["protect", "--expires-at", "-520000w", "x"], 1),
        (
            &["protect", "--expires-at", "99999-01-01T00:00:00Z", "x"],
            1,
        ),
        (&["protect", "--expires-at", "9999-12-31T23:59:59Z", "x"], 0),
        (&["keys", "list", "--at", "+520000w"], 1),
        (&["keys", "list", "--at", "-520000w"], 1),
        (&["keys", "list", "--at", "9999-12-31T23:59:59Z"], 0),
        (&["keys", "list", "--at", "0000-01-01T00:00:00Z"], 1),
        (&["protect", "--expires-at", "0000-01-01T00:00:00Z", "x"], 1),
        (&["keys", "new", "--activate-at", "0000-01-01T00:00:00Z"], 1),
        (&["keys", "new", "--lifetime", "520000w"], 1),
        (&["keys", "new", "--lifetime", "9999999999999999999d"], 1),
        (&["keys", "new", "--activate-at", "+520000w"], 1),
        (&["keys", "new", "--activate-at", "9999-12-31T23:59:59Z"], 1),
        (
            &[
                "keys", "revoke", "--all", "--before", "+520000w", "--reason", "r",
            ],
            1,
        ),
        (
            &[
                "keys",
                "delete",
                "--expired-before",
                "-520000w",
                "--dry-run",
            ],
            1,
        ),
    ] {
        let output = run(
            &[],
            &[&["--keys-dir", keys, "--application-name", "a"][..], args].concat(),
        );
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&output)
        );
        if code == 1 {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let failures: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("keyward: "))
                .collect();
            assert!(
                failures.len() == 1 && stderr.ends_with('\n') && !stderr.contains("panicked"),
                "{args:?}: one line that says why: {stderr:?}"
            );
        }
    }
}

/// A key whose `decryptorType` (store text, shown as the key's unusable reason) holds a line
/// break, a carriage return, an 8-bit CSI (`\u{9b}`, ESC `[` for 8-bit terminals) and a bidi
/// override. (ESC and BEL themselves cannot appear in XML 1.0, even as references: such a key
/// file is refused by the parser, and that error quotes them escaped.)
fn write_hostile_key(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let id = "11111111-2222-3333-4444-555555555555";
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<key id=\"{id}\" version=\"1\">\n  <creationDate>2026-01-01T00:00:00Z</creationDate>\n  <activationDate>2026-01-01T00:00:00Z</activationDate>\n  <expirationDate>2126-01-01T00:00:00Z</expirationDate>\n  <descriptor deserializerType=\"Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection\">\n    <descriptor>\n      <encryption algorithm=\"AES_256_CBC\" />\n      <validation algorithm=\"HMACSHA256\" />\n      <encryptedSecret decryptorType=\"Evil\u{9b}[31mX&#13;&#10;injected line\u{202e}txt.exe\" xmlns=\"http://schemas.asp.net/2015/03/dataProtection\">\n        <blob>AAAA</blob>\n      </encryptedSecret>\n    </descriptor>\n  </descriptor>\n</key>\n"
    );
    std::fs::write(dir.join(format!("key-{id}.xml")), xml).unwrap();
}

fn assert_inert(bytes: &[u8], what: &str) {
    let shown = String::from_utf8_lossy(bytes);
    for c in shown.chars() {
        assert!(
            c == '\n'
                || !(c.is_control()
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "{what}: {c:?} reaches the terminal: {shown:?}"
        );
    }
}

#[test]
fn store_text_reaches_the_terminal_without_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    write_hostile_key(&keys);
    let keys = keys.to_str().unwrap();
    let list = run(
        &[],
        &[
            "--keys-dir",
            keys,
            "--application-name",
            "a",
            "keys",
            "list",
        ],
    );
    let stdout = ok(&list);
    assert_inert(&list.stdout, "keys list stdout");
    assert_inert(&list.stderr, "keys list stderr");
    assert_eq!(
        stdout.lines().count(),
        2,
        "a header and one row: {stdout:?}"
    );
    assert!(stdout.contains("injected line"), "{stdout}");
    // The same text in a failure line and in the warnings before it.
    let protect = run(
        &[],
        &[
            "--keys-dir",
            keys,
            "--application-name",
            "a",
            "protect",
            "x",
        ],
    );
    assert_eq!(protect.status.code(), Some(1), "{}", text(&protect));
    assert_inert(&protect.stdout, "protect stdout");
    assert_inert(&protect.stderr, "protect stderr");
    let stderr = String::from_utf8_lossy(&protect.stderr);
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("keyward: ") || l.contains("WARN")),
        "every line is one event or the failure: {stderr:?}"
    );
    // keys migrate --dry-run prints each element's identity.
    let target = dir.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let migrate = run(
        &[],
        &[
            "keys",
            "migrate",
            "--from",
            keys,
            "--to",
            target.to_str().unwrap(),
            "--dry-run",
        ],
    );
    ok(&migrate);
    assert_inert(&migrate.stdout, "keys migrate stdout");
}

fn xml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "xml")
        })
        .count()
}

#[test]
fn migrate_reads_its_uris_from_the_environment_and_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let source_uri = format!("file:{}", source.display());
    ok(&run(
        &[],
        &[
            "--keys-dir",
            source.to_str().unwrap(),
            "--application-name",
            "a",
            "protect",
            "x",
        ],
    ));

    // From the environment.
    let by_env = dir.path().join("by-env");
    let by_env_uri = format!("file:{}", by_env.display());
    let out = ok(&run(
        &[
            ("KEYWARD_MIGRATE_FROM", &source_uri),
            ("KEYWARD_MIGRATE_TO", &by_env_uri),
        ],
        &["keys", "migrate"],
    ));
    assert!(out.contains("copied 1 element(s)"), "{out}");
    assert_eq!(xml_files(&by_env), 1);

    // From files: the URI on the first line, whatever follows.
    let by_file = dir.path().join("by-file");
    let (from_file, to_file) = (dir.path().join("from.uri"), dir.path().join("to.uri"));
    std::fs::write(&from_file, format!("{source_uri}\r\nignored\n")).unwrap();
    std::fs::write(&to_file, format!("  file:{}\n", by_file.display())).unwrap();
    let out = ok(&run(
        &[],
        &[
            "keys",
            "migrate",
            "--from-file",
            from_file.to_str().unwrap(),
            "--to-file",
            to_file.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("copied 1 element(s)"), "{out}");
    assert_eq!(xml_files(&by_file), 1);

    // A file wins over the environment; an explicit option conflicts with its file.
    let out = ok(&run(
        &[("KEYWARD_MIGRATE_FROM", "file:/nonexistent/keyward")],
        &[
            "keys",
            "migrate",
            "--from-file",
            from_file.to_str().unwrap(),
            "--to",
            &by_env_uri,
        ],
    ));
    assert!(out.contains("copied 0 element(s)"), "idempotent: {out}");
    let conflict = run(
        &[],
        &[
            "keys",
            "migrate",
            "--from",
            &source_uri,
            "--from-file",
            "x",
            "--to",
            "y",
        ],
    );
    assert_eq!(conflict.status.code(), Some(2), "{}", text(&conflict));

    // Nothing given: one line naming every way to give it.
    let missing = failure_line(&run(&[], &["keys", "migrate", "--to", &by_env_uri]));
    assert!(
        missing.contains("--from-file") && missing.contains("KEYWARD_MIGRATE_FROM"),
        "{missing}"
    );
    let empty = dir.path().join("empty.uri");
    std::fs::write(&empty, "\n").unwrap();
    let missing = failure_line(&run(
        &[],
        &[
            "keys",
            "migrate",
            "--from-file",
            empty.to_str().unwrap(),
            "--to",
            &by_env_uri,
        ],
    ));
    assert!(missing.contains("first line"), "{missing}");

    // The old flags still work.
    let by_flags = dir.path().join("by-flags");
    let out = ok(&run(
        &[],
        &[
            "keys",
            "migrate",
            "--from",
            &source_uri,
            "--to",
            &format!("file:{}", by_flags.display()),
        ],
    ));
    assert!(out.contains("copied 1 element(s)"), "{out}");
}

/// The characters every JSON the CLI prints must escape (`\uXXXX`): DEL and the C1 controls
/// (U+009B is an 8-bit CSI, U+009D an 8-bit OSC) and the bidirectional controls. serde_json
/// escapes only C0 controls, quotes and backslashes on its own.
const JSON_HOSTILE: &str =
    "A\u{7f}B\u{80}C\u{9b}31mD\u{9d}0;title\u{9c}E\u{9f}F\u{61c}G\u{200e}H\u{200f}I\u{202a}J\u{202e}K\u{2066}L\u{2069}M";

fn is_json_hostile(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `stdout` is JSON with no raw hostile character, the escapes are there, and it parses back
/// to a document holding `original` somewhere.
fn assert_escaped_json(stdout: &[u8], original: &str, what: &str) {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    if let Some(c) = text.chars().find(|&c| is_json_hostile(c)) {
        panic!("{what}: {c:?} printed raw: {text:?}");
    }
    for escape in [
        "\\u007f", "\\u009b", "\\u009d", "\\u202e", "\\u061c", "\\u2066",
    ] {
        assert!(text.contains(escape), "{what}: no {escape} in {text}");
    }
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn holds(value: &serde_json::Value, original: &str) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains(original),
            serde_json::Value::Array(items) => items.iter().any(|v| holds(v, original)),
            serde_json::Value::Object(map) => map.values().any(|v| holds(v, original)),
            _ => false,
        }
    }
    assert!(
        holds(&value, original),
        "{what}: {original:?} not in {value}"
    );
}

#[test]
fn json_output_escapes_c1_del_and_bidi_controls() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    // A key whose decryptorType (shown as its unusable reason) holds the characters.
    let id = "11111111-2222-3333-4444-555555555555";
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<key id=\"{id}\" version=\"1\">\n  <creationDate>2026-01-01T00:00:00Z</creationDate>\n  <activationDate>2026-01-01T00:00:00Z</activationDate>\n  <expirationDate>2126-01-01T00:00:00Z</expirationDate>\n  <descriptor deserializerType=\"Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection\">\n    <descriptor>\n      <encryption algorithm=\"AES_256_CBC\" />\n      <validation algorithm=\"HMACSHA256\" />\n      <encryptedSecret decryptorType=\"{JSON_HOSTILE}\" xmlns=\"http://schemas.asp.net/2015/03/dataProtection\">\n        <blob>AAAA</blob>\n      </encryptedSecret>\n    </descriptor>\n  </descriptor>\n</key>\n"
    );
    std::fs::write(keys.join(format!("key-{id}.xml")), xml).unwrap();
    let keys = keys.to_str().unwrap();
    for args in [
        &["keys", "list", "--json"][..],
        &["keys", "timeline", "--json"][..],
    ] {
        let mut all = vec!["--keys-dir", keys, "--now", "2026-02-01T00:00:00Z"];
        all.extend_from_slice(args);
        let out = run(&[], &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_escaped_json(&out.stdout, JSON_HOSTILE, &args.join(" "));
    }

    // A login cookie whose claim holds them: cookie decode prints it as JSON.
    let ring = dir.path().join("ring");
    let ring = ring.to_str().unwrap();
    let ticket = serde_json::json!({
        "scheme": "Cookies",
        "identities": [{"authentication_type": "Cookies",
                        "claims": [{"type": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                                    "value": JSON_HOSTILE}]}],
        "properties": {"items": {}}
    });
    let file = dir.path().join("ticket.json");
    std::fs::write(&file, ticket.to_string()).unwrap();
    let global = ["--keys-dir", ring, "--application-name", "shop"];
    let mut args = global.to_vec();
    args.extend(["cookie", "encode", "--json", file.to_str().unwrap()]);
    let encoded = run(&[], &args);
    assert!(encoded.status.success(), "{}", text(&encoded));
    let value = String::from_utf8(encoded.stdout).unwrap();
    let mut args = global.to_vec();
    args.extend(["cookie", "decode", value.trim()]);
    let decoded = run(&[], &args);
    assert!(decoded.status.success(), "{}", text(&decoded));
    assert_escaped_json(&decoded.stdout, JSON_HOSTILE, "cookie decode");
}
