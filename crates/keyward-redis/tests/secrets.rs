//! No password ever reaches an error: not its message, not its cause chain, not its `Debug`.
//! Hostile URLs (unparsable, percent-encoded, passwords in the query, garbage after the host)
//! fail at open without the secret; against the test server (`KEYWARD_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), a refused password does too. In CI a missing server fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward::KeyRepository;
use keyward_conformance::support::{assert_secret_free, redis_url};
use keyward_redis::{display_url, RedisRepository};

/// Hostile URLs and the secrets each holds (raw and decoded forms).
const HOSTILE: &[(&str, &[&str])] = &[
    (
        "redis+unix:///tmp/keyward-no-such.sock?pass=s3cret",
        &["s3cret"],
    ),
    (
        "redis+unix:///tmp/keyward-no-such.sock?user=u&pass=s3cret&db=2",
        &["s3cret"],
    ),
    (
        "redis+unix:///tmp/keyward-no-such.sock?pass=s3%63ret&db=x",
        &["s3cret", "s3%63ret"],
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
    ("rediss://:pw-s3cret@host.invalid", &["pw-s3cret"]),
    ("redis://:s3%63ret@127.0.0.1:1/0", &["s3cret", "s3%63ret"]),
    ("redis://u:s3cret@127.0.0.1:1garbage/0", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/0garbage", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/0 s3cret", &["s3cret"]),
    (
        "redis://u:s3cret@127.0.0.1:1/0?protocol=s3cret",
        &["s3cret"],
    ),
    ("redis://u:s3cret@127.0.0.1:1/0#s3cret", &["s3cret"]),
    ("redis://u:s3cret@0.0.0.0:1/0", &["s3cret"]),
    ("redis://u:s3cret@[::1:1/0", &["s3cret"]),
    ("redis://u:s3cret@", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/%ZZ", &["s3cret"]),
    ("redis://u:s3cret@127.0.0.1:1/0?key=list-name", &["s3cret"]),
    ("redis://u:s3cret:more@127.0.0.1:1/0", &["s3cret"]),
    ("redis://u:s3cret@@127.0.0.1:1/0", &["s3cret"]),
    ("redis:/u:s3cret@127.0.0.1:1/0", &["s3cret"]),
    ("u:s3cret@127.0.0.1:1", &["s3cret"]),
    ("REDIS://U:S3CRET@127.0.0.1:1/0", &["S3CRET", "s3cret"]),
];

#[test]
fn hostile_urls_never_show_their_password() {
    for (url, secrets) in HOSTILE {
        let err = RedisRepository::open(url).unwrap_err();
        assert!(
            matches!(err, keyward::Error::Repository { .. }),
            "{url}: {err:?}"
        );
        assert_secret_free(url, secrets, &err);
        let err = RedisRepository::open_with_key(url, "k").unwrap_err();
        assert_secret_free(url, secrets, &err);
        let shown = display_url(url);
        for secret in *secrets {
            assert!(!shown.contains(secret), "{url}: display_url gave {shown:?}");
        }
    }
}

#[test]
fn display_url_is_built_from_parsed_fields() {
    for (url, shown) in [
        ("redis://u:pw@127.0.0.1:6380/2", "redis://127.0.0.1:6380/2"),
        ("redis://127.0.0.1", "redis://127.0.0.1:6379/0"),
        (
            "rediss://:pw@cache.example:6390",
            "rediss://cache.example:6390/0",
        ),
        (
            "rediss://cache.example:6390/0#insecure",
            "rediss://cache.example:6390/0#insecure",
        ),
        ("redis://[::1]:7000/1?key=K", "redis://[::1]:7000/1"),
        (
            "redis+unix:///run/redis.sock?pass=pw&db=3",
            "redis+unix:///run/redis.sock?db=3",
        ),
        ("redis://u:pw@h:1/0garbage", "redis://(unparsable URL)"),
        ("redis://default:hun/ter2@h:1/0", "redis://(unparsable URL)"),
        ("rediss://u:pw@h:x", "rediss://(unparsable URL)"),
        ("http://u:pw@h", "(unparsable URL)"),
        ("u:pw@h", "(unparsable URL)"),
        ("", "(unparsable URL)"),
    ] {
        assert_eq!(display_url(url), shown, "{url}");
    }
    // Arbitrary bytes never panic.
    for url in [
        "redis://\u{0}",
        "redis://%",
        "redis://[",
        "redis+unix://",
        "redis://:@:",
    ] {
        let _ = display_url(url);
    }
}

#[test]
fn a_refused_password_is_not_shown() {
    let base = redis_url();
    let Some(probe) = keyward_conformance::reachable("Redis", RedisRepository::open(&base)) else {
        return;
    };
    let info: redis::ConnectionInfo = base.parse().unwrap();
    let redis::ConnectionAddr::Tcp(host, port) = info.addr() else {
        eprintln!("skipping: the test server is not plain TCP");
        return;
    };
    drop(probe);
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    for url in [
        // No password configured: the server refuses AUTH (its message says "<password>").
        format!("redis://:s3cret-auth@{host}:{port}/0"),
        // An unknown user: WRONGPASS.
        format!("redis://keyward-no-such-user:s3cret-auth@{host}:{port}/0"),
        format!("redis://keyward-no-such-user:s3cret%2Dauth@{host}:{port}/0"),
    ] {
        match RedisRepository::open(&url) {
            Err(err) => assert_secret_free(&url, &["s3cret-auth", "s3cret%2Dauth"], &err),
            // A server configured to accept any password for these users: nothing to show.
            Ok(repository) => {
                let _ = repository.load_elements();
            }
        }
    }
}
