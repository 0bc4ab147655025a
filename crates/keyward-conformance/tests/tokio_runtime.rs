//! A provider over every store — file system, Redis, PostgreSQL — opened, built and used from
//! inside a tokio runtime, as a `#[tokio::main]` service and its handlers would: no store may
//! block on a runtime of its own on a runtime's thread ("Cannot start a runtime from within a
//! runtime"), nor when its connection is dropped there.
//!
//! Redis and PostgreSQL come from `KEYWARD_TEST_REDIS_URL` / `KEYWARD_TEST_POSTGRES_URL`
//! (defaults `redis://127.0.0.1:6379`, `postgres://postgres@127.0.0.1:5432/test`), each test on
//! a list or table of its own. Outside CI a missing server skips; with `CI` set it fails.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::sync::Arc;

use keyward::time::{Duration, OffsetDateTime};
use keyward::{FileSystemRepository, KeyRepository, Provider};
use keyward_conformance::{reachable, unique_name};
use keyward_postgres::PostgresRepository;
use keyward_redis::RedisRepository;

/// How many handlers run at once, and how many requests each serves.
const HANDLERS: usize = 8;
const REQUESTS: usize = 25;

/// Everything a service does with its store from async code: `open` twice (a repository used
/// and dropped on a runtime thread; then the provider's), build the provider, serve protect and
/// unprotect from concurrent handler tasks while an admin handler refreshes and creates a key,
/// and drop it all inside the runtime.
async fn serve<R: KeyRepository + 'static>(open: impl Fn() -> Option<R>) {
    // The repository alone: a read (connecting), then dropped here, on a runtime thread.
    let Some(repository) = open() else {
        return;
    };
    assert!(repository.load_elements().unwrap().is_empty());
    drop(repository);

    let Some(repository) = open() else {
        return;
    };
    let provider = Arc::new(
        Provider::builder()
            .application_name("tokio")
            .repository(repository)
            .build()
            .unwrap(),
    );
    let before = provider.protector(["handler"]).protect(b"before").unwrap();

    let handlers: Vec<_> = (0..HANDLERS)
        .map(|n| {
            let provider = Arc::clone(&provider);
            let before = before.clone();
            tokio::spawn(async move {
                let protector = provider.protector(["handler"]);
                for request in 0..REQUESTS {
                    let message = format!("handler {n} request {request}");
                    let payload = protector.protect(message.as_bytes()).unwrap();
                    tokio::task::yield_now().await;
                    assert_eq!(protector.unprotect(&payload).unwrap(), message.as_bytes());
                    assert_eq!(protector.unprotect(&before).unwrap(), b"before");
                }
            })
        })
        .collect();
    // An admin handler: refresh and create the next key while the others serve.
    let admin = {
        let provider = Arc::clone(&provider);
        tokio::spawn(async move {
            provider.refresh().unwrap();
            let now = OffsetDateTime::now_utc();
            provider
                .create_key(now + Duration::days(1), now + Duration::days(90))
                .unwrap()
        })
    };
    // And from the async body itself.
    provider.refresh().unwrap();
    for handler in handlers {
        handler.await.unwrap();
    }
    let created = admin.await.unwrap();

    provider.refresh().unwrap();
    let now = OffsetDateTime::now_utc();
    let later = provider
        .create_key(now + Duration::days(2), now + Duration::days(90))
        .unwrap();
    let keys = provider.keys();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().any(|k| k.id == created), "{keys:?}");
    assert!(keys.iter().any(|k| k.id == later), "{keys:?}");
    assert_eq!(
        provider.protector(["handler"]).unprotect(&before).unwrap(),
        b"before"
    );
    // The provider, and with it the repository and its connections, goes on a runtime thread.
    let provider = Arc::into_inner(provider).unwrap();
    drop(provider);
}

#[tokio::test(flavor = "multi_thread")]
async fn file_system_provider_works_inside_a_tokio_runtime() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    serve(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(FileSystemRepository::open(root.path().join(n.to_string())).unwrap())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_provider_works_inside_a_tokio_runtime() {
    let base = keyward_conformance::support::redis_url();
    serve(|| {
        let url = format!("{base}?key={}", unique_name("keyward-tokio-test"));
        reachable("Redis", RedisRepository::open(&url))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_provider_works_inside_a_tokio_runtime() {
    let base = keyward_conformance::support::postgres_url();
    serve(|| {
        let url = format!("{base}?table={}", unique_name("keyward_tokio_test"));
        reachable("PostgreSQL", PostgresRepository::open(&url))
    })
    .await;
}
