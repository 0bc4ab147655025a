//! What the stores' own tests share: the test servers' URLs, skipping (or, in CI, failing)
//! when a service or tool is missing, unique names, spare ports, and checks that no secret
//! shows in any rendering of an error.

use std::fmt::Display;

use keyward::Result;

/// The test Redis server: `KEYWARD_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("KEYWARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The test PostgreSQL server: `KEYWARD_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("KEYWARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether a missing service or tool fails the test: when `CI` is set.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// `what` is missing (`why`): outside CI the test says it skips (the caller returns); in CI
/// (`CI` set) this fails the test.
///
/// # Panics
/// In CI, always.
pub fn missing(what: &str, why: impl Display) {
    assert!(!in_ci(), "{what} is required in CI: {why}");
    eprintln!("skipping: {what} is not available ({why}); CI makes this a failure");
}

/// The opened service, or `None` (skip) when it is unreachable outside CI; in CI (`CI` set)
/// an unreachable service is a failure.
///
/// # Panics
/// In CI, when `connected` is an error.
pub fn reachable<T>(what: &str, connected: Result<T>) -> Option<T> {
    match connected {
        Ok(value) => Some(value),
        Err(error) if !in_ci() => {
            eprintln!("skipping: {what} is not reachable ({error}); CI makes this a failure");
            None
        }
        Err(error) => panic!("{what} is not reachable in CI: {error}"),
    }
}

/// A name unique to this test run (for lists and tables).
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", keyward::KeyId::random().as_uuid().simple())
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for a private server).
///
/// # Panics
/// When no port can be had.
pub fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a spare port")
        .port()
}

/// Every rendering of `err` an operator or a log could see: its Display, its Debug, its
/// chain, and each cause's Display and Debug.
pub fn renderings(err: &keyward::Error) -> Vec<String> {
    let mut shown = vec![format!("{err}"), format!("{err:?}"), err.chain()];
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        shown.push(format!("{e}"));
        shown.push(format!("{e:?}"));
        cause = e.source();
    }
    shown
}

/// Asserts that none of `secrets` shows in any of [`renderings`] of `err` (opened from `url`).
///
/// # Panics
/// When one does.
pub fn assert_secret_free(url: &str, secrets: &[&str], err: &keyward::Error) {
    for text in renderings(err) {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{url}: the secret {secret:?} shows in {text:?}"
            );
        }
    }
}
