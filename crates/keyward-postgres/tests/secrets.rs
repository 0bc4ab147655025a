//! A password never reaches an error: not its text, not its source chain, not its `Debug`, not
//! `display_url` — whatever the shape of the connection string. No server needed (hosts are
//! 127.0.0.1:1, refused at once, or names that do not resolve).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use keyward_conformance::support::renderings;
use keyward_postgres::{display_url, PostgresOptions, PostgresRepository};

/// Hostile connection strings and the secrets in them.
const CASES: &[(&str, &[&str])] = &[
    ("postgres://u:hun/ter2@h/db", &["hun/ter2", "ter2"]),
    (
        "postgres://u:1234/ter2@127.0.0.1:1/db",
        &["1234/ter2", "ter2"],
    ),
    (
        "postgres://u@h/db?password=s3cret&connect_timeout=abc",
        &["s3cret"],
    ),
    (
        "postgres://u@127.0.0.1:1/db?password=s3cret&connect_timeout=1",
        &["s3cret"],
    ),
    ("postgresql://u:s3cret@127.0.0.1:1/db", &["s3cret"]),
    ("postgresql://u:s3cret@no-such-host.invalid/db", &["s3cret"]),
    ("postgres://u:s3cret@127.0.0.1:notaport/db", &["s3cret"]),
    ("postgres://u:s3cret@[::1/db", &["s3cret"]),
    (
        "postgres://u:hun?ter2@127.0.0.1:1/db",
        &["hun?ter2", "ter2"],
    ),
    ("postgres://u:hun#ter2@127.0.0.1:1/db", &["hun#ter2"]),
    ("postgres://u:hun ter2@127.0.0.1:1/db", &["hun ter2"]),
    (
        "postgres://u:p%40ss%2Fw0rd@127.0.0.1:1/db",
        &["p%40ss%2Fw0rd", "p@ss/w0rd"],
    ),
    (
        "postgres://u:%s3cret@127.0.0.1:1/db",
        &["%s3cret", "s3cret"],
    ),
    (
        "postgres://u:s3cret@127.0.0.1:1/db?sslmode=bogus",
        &["s3cret"],
    ),
    (
        "postgres://u:s3cret@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent",
        &["s3cret"],
    ),
    (
        "postgres://u:s3cret@127.0.0.1:1/db?create_table=maybe",
        &["s3cret"],
    ),
    ("postgres://u:s3cret@127.0.0.1:1/db?unknown=1", &["s3cret"]),
    (
        "postgres://u@127.0.0.1:1/db?password=s3cret&password=0ther",
        &["s3cret", "0ther"],
    ),
    (
        "postgres://u@127.0.0.1:1/db?password=s3%26cret",
        &["s3%26cret", "s3&cret"],
    ),
    (
        "host=127.0.0.1 port=1 user=u password=s3cret dbname=db",
        &["s3cret"],
    ),
    (
        "host=127.0.0.1 port=1 user=u password='s3 cret' connect_timeout=abc",
        &["s3 cret"],
    ),
    (
        "password=s3cret host=127.0.0.1 port=1 bogus_option=1",
        &["s3cret"],
    ),
    ("host=127.0.0.1 password='s3cret", &["s3cret"]),
    ("password=s3cret", &["s3cret"]),
    ("POSTGRES://u:s3cret@127.0.0.1:1/db", &["s3cret"]),
    ("://u:s3cret@127.0.0.1:1/db", &["s3cret"]),
    ("s3cret", &["s3cret"]),
    // libpq skips whitespace after '=': an empty value swallows the next `key=value`.
    (
        "host=127.0.0.1 port=1 table= password=hunter2",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 schema= password=hunter2",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 sslmode=verify-full sslrootcert= password=hunter2",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 sslmode= password=hunter2",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 user= password=hunter2 dbname=db",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 user=u dbname= password=hunter2",
        &["hunter2"],
    ),
    ("host= password=hunter2 port=1", &["hunter2"]),
    (
        "host=127.0.0.1 port=1 password=hunter2 table=",
        &["hunter2"],
    ),
    // A user or database name holding '=' is never shown.
    (
        "host=127.0.0.1 port=1 user='password=hunter2' dbname=db",
        &["hunter2"],
    ),
    (
        "host=127.0.0.1 port=1 user=u dbname='password=hunter2'",
        &["hunter2"],
    ),
    ("postgres://password%3Dhunter2@127.0.0.1:1/db", &["hunter2"]),
    ("postgres://u@127.0.0.1:1/password%3Dhunter2", &["hunter2"]),
];

/// Everything an error shows: its text, its chain, every cause, and their `Debug`.
fn everything(err: &keyward::Error) -> String {
    renderings(err).join("\n")
}

#[test]
fn no_secret_appears_in_any_error() {
    for (url, secrets) in CASES {
        let shown = display_url(url);
        let opened = PostgresRepository::open(url).map(drop);
        let err = opened.expect_err(url);
        let with = PostgresRepository::open_with(url, PostgresOptions::default())
            .map(drop)
            .expect_err(url);
        let all = format!("{shown}\n{}\n{}", everything(&err), everything(&with));
        for secret in *secrets {
            assert!(!all.contains(secret), "{url}: {secret:?} appears in\n{all}");
        }
    }
}

#[test]
fn display_url_shows_the_target_or_only_the_scheme() {
    assert_eq!(
        display_url("postgres://app:s3cret@db:5433/shop?table=T&sslmode=require"),
        "postgres://app@db:5433/shop"
    );
    assert_eq!(
        display_url("host=db port=5433 user=app password=s3cret dbname=shop"),
        "postgres://app@db:5433/shop"
    );
    assert_eq!(
        display_url("postgres://u@h/db?password=s3cret&connect_timeout=abc"),
        "postgres://(unparsable URL)"
    );
    assert_eq!(
        display_url("postgresql://u:s3cret@h:x/db"),
        "postgresql://(unparsable URL)"
    );
    assert_eq!(
        display_url("password='s3cret"),
        "(unparsable connection string)"
    );
    // Never panics, whatever the bytes.
    for url in [
        "",
        "%",
        "postgres://",
        "postgres://@",
        "postgres://[",
        "a='\\",
        "?&=&",
    ] {
        let _ = display_url(url);
    }
}

#[test]
fn an_empty_value_that_swallows_the_next_parameter_is_refused() {
    for url in [
        "host=127.0.0.1 port=1 table= password=hunter2",
        "host=127.0.0.1 port=1 schema= password=hunter2",
        "host=127.0.0.1 port=1 create_table= password=hunter2",
        "host=127.0.0.1 port=1 sslmode=verify-full sslrootcert= password=hunter2",
        "host=127.0.0.1 port=1 sslmode= password=hunter2",
        "host=127.0.0.1 port=1 user= password=hunter2",
        "host= password=hunter2 port=1",
        "host=127.0.0.1 port=1 password=hunter2 table=",
        "host=127.0.0.1 port=1 table=a=b",
        // Strings keyward cannot split are refused, not passed on whole.
        "host=127.0.0.1 port=1 sslmode=require password=hunter2\\",
        "host=127.0.0.1 port=1 =hunter2",
    ] {
        let err = PostgresRepository::open(url).map(drop).expect_err(url);
        assert!(
            matches!(err, keyward::Error::Configuration(_)),
            "{url}: {err}"
        );
        assert!(!everything(&err).contains("hunter2"), "{url}: {err:?}");
    }
    // Quoted, an empty value or one holding '=' is what it says.
    assert_eq!(
        display_url("host=db user=u dbname=shop table='' sslrootcert='/etc/a=b.pem'"),
        "postgres://u@db/shop"
    );
}

#[test]
fn names_holding_an_equals_sign_are_not_shown() {
    assert_eq!(
        display_url("host=db user='password=hunter2' dbname='a=b'"),
        "postgres://db/"
    );
    assert_eq!(
        display_url("postgres://password%3Dhunter2@db/x%3Dy"),
        "postgres://db:5432/"
    );
}
