//! One conformance suite, generic over [`KeyRepository`], run against every repository: the
//! file system and memory here, Redis and PostgreSQL in their crates, over real servers.
//!
//! A store's tests invoke [`repository_tests!`], which expands to one `#[test]` per check
//! (each with the check's name), every one on a fresh repository. [`support`] holds what the
//! stores' own tests share (service URLs, spare ports, secret-free error checks).

#![allow(clippy::unwrap_used, clippy::panic)] // A test suite: a panic is a failure with its cause.

pub mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keyward::store::XmlElement;
use keyward::{KeyRepository, Result};

pub use support::{reachable, unique_name};

/// What the suite may assume of a repository.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Elements come back in the order they were stored (lists and tables do; a directory
    /// lists files by name).
    pub ordered: bool,
    /// The repository supports `delete_elements`.
    pub deletes: bool,
}

/// One `#[test]` per conformance check, each on a fresh repository.
///
/// `make` is an expression giving a function or closure `Fn() -> Option<R>` (evaluated once
/// per test, and kept alive while the check runs, so a closure may own what the repository
/// needs, such as a temporary directory); `None` skips the test (see [`reachable`]: outside
/// CI an unreachable service skips, in CI it fails). `capabilities` is an expression giving
/// the [`Capabilities`]; the deletion checks skip when it has `deletes: false`.
///
/// The tests are named after the checks (`store_and_list`, `concurrent_writers`, …): invoke
/// the macro in a module of its own to run it for more than one repository in a test binary.
///
/// ```no_run
/// mod memory {
///     keyward_conformance::repository_tests!(
///         || Some(keyward::MemoryRepository::new()),
///         keyward_conformance::Capabilities { ordered: true, deletes: true }
///     );
/// }
/// ```
#[macro_export]
macro_rules! repository_tests {
    ($make:expr, $capabilities:expr $(,)?) => {
        #[test]
        fn store_and_list() {
            let capabilities: $crate::Capabilities = $capabilities;
            $crate::run_check($make, |r| $crate::store_and_list(&r, capabilities));
        }

        #[test]
        fn unicode_and_markup_survive() {
            $crate::run_check($make, |r| $crate::unicode_and_markup_survive(&r));
        }

        #[test]
        fn one_mebibyte_document() {
            $crate::run_check($make, |r| $crate::one_mebibyte_document(&r));
        }

        #[test]
        fn delete_by_location() {
            if $crate::deletes($capabilities) {
                $crate::run_check($make, |r| $crate::delete_by_location(&r));
            }
        }

        #[test]
        fn stale_delete_after_the_store_shifted() {
            if $crate::deletes($capabilities) {
                $crate::run_check($make, |r| $crate::stale_delete_after_the_store_shifted(&r));
            }
        }

        #[test]
        fn replace_in_place() {
            $crate::run_check($make, |r| $crate::replace_in_place(&r));
        }

        #[test]
        fn concurrent_writers() {
            $crate::run_check($make, |r| {
                $crate::concurrent_writers(::std::sync::Arc::new(r))
            });
        }

        #[test]
        fn generation_lock_is_exclusive() {
            $crate::run_check($make, |r| {
                $crate::generation_lock_is_exclusive(::std::sync::Arc::new(r))
            });
        }
    };
}

/// Runs `check` on a repository from `make`, or nothing when `make` gives `None` (an
/// unreachable service outside CI). `make` lives until the check is done. For
/// [`repository_tests!`].
pub fn run_check<R: KeyRepository + 'static>(make: impl Fn() -> Option<R>, check: impl FnOnce(R)) {
    if let Some(repository) = make() {
        check(repository);
    }
}

/// Whether the deletion checks apply; says so when they do not. For [`repository_tests!`].
pub fn deletes(capabilities: Capabilities) -> bool {
    if !capabilities.deletes {
        eprintln!("skipping: the repository does not delete elements");
    }
    capabilities.deletes
}

/// An element `<item n="…"><text>…</text></item>`.
fn item(n: usize, text: &str) -> XmlElement {
    XmlElement::new("item")
        .attr("n", n.to_string())
        .child(XmlElement::new("text").text(text))
}

/// `(n, text)` of each stored element, in load order.
fn items(repository: &impl KeyRepository) -> Vec<(usize, String)> {
    repository
        .load_elements()
        .unwrap()
        .iter()
        .map(|stored| {
            let text = stored.xml.trim_start_matches('\u{feff}');
            let doc = roxmltree::Document::parse(text)
                .unwrap_or_else(|e| panic!("{}: not XML: {e}", stored.location));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "item", "{}", stored.location);
            let n = root.attribute("n").unwrap().parse().unwrap();
            let text = root
                .children()
                .find(|c| c.has_tag_name("text"))
                .and_then(|t| t.text())
                .unwrap_or("")
                .to_owned();
            (n, text)
        })
        .collect()
}

/// Stored elements come back, once each (in order where the store keeps order), and
/// locations are unique.
pub fn store_and_list(repository: &impl KeyRepository, capabilities: Capabilities) {
    assert!(
        repository.load_elements().unwrap().is_empty(),
        "starts empty"
    );
    for n in 0..5 {
        repository
            .store_element(&item(n, &format!("v{n}")), &format!("item-{n}"))
            .unwrap();
    }
    let mut got = items(repository);
    let expected: Vec<(usize, String)> = (0..5).map(|n| (n, format!("v{n}"))).collect();
    if !capabilities.ordered {
        got.sort();
    }
    assert_eq!(got, expected);
    let locations: HashSet<String> = repository
        .load_elements()
        .unwrap()
        .into_iter()
        .map(|e| e.location.clone())
        .collect();
    assert_eq!(locations.len(), 5, "locations are unique");
    assert_eq!(items(repository), items(repository), "loading is stable");
}

/// Non-ASCII text and XML markup characters round trip.
pub fn unicode_and_markup_survive(repository: &impl KeyRepository) {
    let text = "Grüße, 鍵, 🔑 & <tags> \"quoted\" 'single'";
    repository
        .store_element(&item(1, text), "item-unicode")
        .unwrap();
    assert_eq!(items(repository), vec![(1, text.to_owned())]);
}

/// A 1 MiB document is stored and read whole.
pub fn one_mebibyte_document(repository: &impl KeyRepository) {
    let text: String = (0..1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    repository
        .store_element(&item(7, &text), "item-big")
        .unwrap();
    let got = items(repository);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), text.len());
    assert!(got[0].1 == text);
}

/// Deleting by location removes exactly those elements.
pub fn delete_by_location(repository: &impl KeyRepository) {
    for n in 0..3 {
        repository
            .store_element(&item(n, "x"), &format!("item-{n}"))
            .unwrap();
    }
    let stored = repository.load_elements().unwrap();
    let middle = stored
        .iter()
        .find(|e| e.xml.contains("n=\"1\""))
        .unwrap()
        .clone();
    repository.delete_elements(&[middle]).unwrap();
    let mut left: Vec<usize> = items(repository).into_iter().map(|(n, _)| n).collect();
    left.sort_unstable();
    assert_eq!(left, [0, 2]);
}

/// A selection made before another writer removed an earlier element (so list indexes
/// shifted) deletes exactly the selected element, by what it holds: not whatever now sits
/// where it sat, and nothing else. Deleting it again (it is gone) removes nothing.
pub fn stale_delete_after_the_store_shifted(repository: &impl KeyRepository) {
    for n in 0..5 {
        repository
            .store_element(&item(n, &format!("v{n}")), &format!("item-{n}"))
            .unwrap();
    }
    let find = |stored: &[keyward::store::StoredElement], n: usize| {
        stored
            .iter()
            .find(|e| e.xml.contains(&format!("n=\"{n}\"")))
            .unwrap()
            .clone()
    };
    // This node's view: it selects element 2.
    let stale = repository.load_elements().unwrap();
    let selected = find(&stale, 2);
    // Meanwhile another writer removes elements 0 and 1 (from its own, fresh view).
    let fresh = repository.load_elements().unwrap();
    repository
        .delete_elements(&[find(&fresh, 0), find(&fresh, 1)])
        .unwrap();
    // The stale selection deletes element 2 and nothing else (index-based deletion would
    // remove element 4, now at index 2).
    repository
        .delete_elements(std::slice::from_ref(&selected))
        .unwrap();
    let mut left = items(repository);
    left.sort();
    assert_eq!(
        left,
        [(3, "v3".to_owned()), (4, "v4".to_owned())],
        "exactly the selected element is gone"
    );
    // Gone already: deleting it again changes nothing.
    let _ = repository.delete_elements(std::slice::from_ref(&selected));
    let mut again = items(repository);
    again.sort();
    assert_eq!(
        again, left,
        "a second deletion of a gone element removes nothing"
    );
}

/// Replacing swaps one element's text and refuses when the element changed meanwhile.
pub fn replace_in_place(repository: &impl KeyRepository) {
    for n in 0..3 {
        repository
            .store_element(&item(n, "old"), &format!("item-{n}"))
            .unwrap();
    }
    let stored = repository.load_elements().unwrap();
    let target = stored
        .iter()
        .find(|e| e.xml.contains("n=\"1\""))
        .unwrap()
        .clone();
    repository
        .replace_element(&target, &item(1, "new"))
        .unwrap();
    let mut got = items(repository);
    got.sort();
    assert_eq!(
        got,
        [(0, "old".into()), (1, "new".into()), (2, "old".into())]
    );
    // The stale view no longer matches: refused, nothing changed.
    assert!(repository
        .replace_element(&target, &item(1, "stale"))
        .is_err());
    assert!(items(repository).contains(&(1, "new".into())));
}

/// Writers on several threads lose nothing.
pub fn concurrent_writers<R: KeyRepository + 'static>(repository: Arc<R>) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let repository = Arc::clone(&repository);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let n = t * 100 + i;
                    repository
                        .store_element(&item(n, "c"), &format!("item-{n}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let got: HashSet<usize> = items(&*repository).into_iter().map(|(n, _)| n).collect();
    assert_eq!(got.len(), 100);
}

/// The generation lock admits one holder at a time, under contention.
pub fn generation_lock_is_exclusive<R: KeyRepository + 'static>(repository: Arc<R>) {
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (repository, inside, entered) = (
                Arc::clone(&repository),
                Arc::clone(&inside),
                Arc::clone(&entered),
            );
            std::thread::spawn(move || -> Result<()> {
                for _ in 0..5 {
                    let _lock = repository.lock_for_generation()?;
                    assert_eq!(
                        inside.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two holders at once"
                    );
                    std::thread::sleep(Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                    entered.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    assert_eq!(entered.load(Ordering::SeqCst), 20);
}

/// Two providers over one store (`a` and `b` open the same list or table): a revocation on
/// the first reaches the second through the store's notifications, well within a second.
pub fn pushed_refresh_reaches_another_node<R: KeyRepository + 'static>(a: R, b: R) -> Duration {
    let a = keyward::Provider::builder()
        .application_name("a")
        .repository(a)
        .build()
        .unwrap();
    let b = keyward::Provider::builder()
        .application_name("a")
        .repository(b)
        .build()
        .unwrap();
    let payload = a.protector(["p"]).protect(b"x").unwrap();
    assert_eq!(b.protector(["p"]).unprotect(&payload).unwrap(), b"x");
    let key = keyward::payload::parse(&payload).unwrap().0;
    let started = std::time::Instant::now();
    a.revoke_key(key, "test").unwrap();
    while b.protector(["p"]).unprotect(&payload).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "revocation did not reach node b within 1 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}
