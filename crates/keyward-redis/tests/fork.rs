//! Forked workers on a Redis ring (`KEYWARD_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`; in CI a missing server fails): each worker restarts its own
//! change watcher and connection, so a revocation and a key created after the fork reach it
//! through the store's notifications, well within the bound (the refresh period is a day).

#![allow(unsafe_code)] // fork(2) and friends, in the shared harness.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

#[path = "../../keyward/tests/common/forked_workers.rs"]
mod forked_workers;

use keyward::Provider;
use keyward_conformance::support::redis_url as url;
use keyward_conformance::{reachable, unique_name};
use keyward_redis::RedisRepository;

#[test]
fn forked_workers_follow_revocations_and_new_keys_on_redis() {
    let list = unique_name("keyward-fork");
    let Some(repository) = reachable("Redis", RedisRepository::open_with_key(&url(), &list)) else {
        return;
    };
    let provider = Provider::builder()
        .application_name("prefork")
        .repository(repository)
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    forked_workers::forked_workers_follow_the_ring(
        &provider,
        scratch.path(),
        std::time::Duration::from_secs(5),
    );
}
