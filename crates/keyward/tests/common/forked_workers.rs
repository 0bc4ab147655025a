//! Forked workers follow the key ring: a pre-forking server builds its provider, protects,
//! and forks workers; a key revoked after the fork must stop working in every worker, and a
//! key created after it must be read (and protected with) there, within the refresh bound.
//!
//! Shared by keyward's file-store test (`tests/fork.rs`) and keyward-redis's
//! (`tests/fork.rs`, through `#[path]`). Children report over a pipe, one line each; the
//! parent asserts, in bounded time, and kills children that overstay.

#![allow(unsafe_code)] // fork(2), pipe(2), _exit(2), kill(2), waitpid(2): the subject of the test.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keyward::{Error, KeyId, Provider};

/// How many workers the parent forks.
pub const WORKERS: usize = 4;

/// How long a child looks for the change before it reports failure (well past any bound).
const CHILD_PATIENCE: Duration = Duration::from_secs(20);

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn key_of(payload: &[u8]) -> KeyId {
    keyward::payload::parse(payload).unwrap().0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The worker: uses the provider once (the first call in a new process), says `ready`, then
/// waits for the parent's change (the file `change`: the revocation's time and a payload of
/// the new key) and reports how long after the revocation it saw it: the old key's payload
/// refused as revoked and its own payloads under another key (from its refresh thread or the
/// store's notifications alone), then the new key's payload read.
fn worker(provider: &Provider, old: &[u8], change: &Path, report: &mut File) -> i32 {
    let protector = provider.protector(["fork"]);
    let old_key = key_of(old);
    let before = protector.unprotect(old).map(drop);
    let mine = protector.protect(b"worker").map(|p| key_of(&p));
    if before.is_err() || mine.as_ref().ok() != Some(&old_key) {
        say(
            report,
            format!(
                "fail {}: before the change: unprotect {before:?}, protect {mine:?}",
                std::process::id()
            ),
        );
        return 1;
    }
    say(report, format!("ready {}", std::process::id()));
    let started = Instant::now();
    let (mut revoked, mut read_new, mut protects_new) = (None, None, None);
    let mut last = String::new();
    while started.elapsed() < CHILD_PATIENCE {
        if let Ok(text) = std::fs::read_to_string(change) {
            let (at, payload) = text.trim().split_once(' ').unwrap();
            let at: u128 = at.parse().unwrap();
            let since = |_: ()| unix_millis().saturating_sub(at);
            let new = unhex(payload);
            match protector.unprotect(old) {
                Err(Error::KeyRevoked(_)) => revoked = revoked.or(Some(since(()))),
                other => last = format!("old payload: {:?}", other.map(drop)),
            }
            match protector.protect(b"worker").map(|p| key_of(&p)) {
                Ok(key) if key != old_key => protects_new = protects_new.or(Some(since(()))),
                other => last = format!("protect: {other:?}"),
            }
            // Only then the new key's payload: its unknown key id would have this worker
            // reload at once, and the revocation and the new default key must come without.
            if revoked.is_some() && protects_new.is_some() {
                match protector.unprotect(&new) {
                    Ok(data) if data == b"after" => read_new = read_new.or(Some(since(()))),
                    other => last = format!("new key's payload: {:?}", other.map(drop)),
                }
            }
            if let (Some(a), Some(b), Some(c)) = (revoked, read_new, protects_new) {
                say(report, format!("ok {} {a} {b} {c}", std::process::id()));
                return 0;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    say(
        report,
        format!(
            "fail {}: after {CHILD_PATIENCE:?}: revoked {revoked:?} ms, read the new key {read_new:?} ms, protects with it {protects_new:?} ms; last: {last}",
            std::process::id()
        ),
    );
    1
}

/// Writes `line` to the report pipe in one `write` (a pipe keeps writes of up to 4 KiB whole,
/// so the workers' lines never interleave).
fn say(report: &mut File, mut line: String) {
    line.push('\n');
    let _ = report.write_all(line.as_bytes());
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new descriptors into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe failed");
    // SAFETY: both descriptors are new and owned here alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// What a worker took, after the revocation, to see it (ms): the old key refused, the new
/// key read, its own payloads under the new key.
#[derive(Debug)]
pub struct Seen {
    pub revoked_ms: u128,
    pub read_new_ms: u128,
    pub protects_new_ms: u128,
}

/// Forks [`WORKERS`] workers of `provider` (which has protected before), revokes the default
/// key and creates its successor (through `provider`, as an operator's node would), and
/// returns what each worker saw, or fails naming the worker that did not within `bound`.
pub fn forked_workers_follow_the_ring(provider: &Provider, scratch: &Path, bound: Duration) {
    let protector = provider.protector(["fork"]);
    let old = protector.protect(b"before").unwrap();
    let old_key = key_of(&old);
    let change = scratch.join("change");
    let (read_end, write_end) = pipe();
    let mut pids = Vec::new();
    for _ in 0..WORKERS {
        // SAFETY: the child only uses keyward and the file system, writes to the pipe and
        // leaves with _exit; it never returns into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let mut report = File::from(write_end.try_clone().unwrap());
            let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker(provider, &old, &change, &mut report)
            }))
            .unwrap_or_else(|_| {
                say(
                    &mut report,
                    format!("fail {}: the worker panicked", std::process::id()),
                );
                2
            });
            // SAFETY: ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(status) };
        }
        pids.push(pid);
    }
    drop(write_end);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(File::from(read_end)).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + CHILD_PATIENCE + Duration::from_secs(15);
    let next = || lines.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let finish = |pids: &[libc::pid_t]| {
        for &pid in pids {
            // SAFETY: signals and reaps our own children.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    };
    for _ in 0..WORKERS {
        match next() {
            Ok(line) if line.starts_with("ready ") => {}
            other => {
                finish(&pids);
                panic!("a worker was not ready: {other:?}");
            }
        }
    }
    // The change, after every worker has used its provider: the default key revoked (which
    // creates its successor at once), a payload of the successor for the workers to read.
    provider.revoke_key(old_key, "fork test").unwrap();
    let new = protector.protect(b"after").unwrap();
    assert_ne!(
        key_of(&new),
        old_key,
        "the parent protects with the successor"
    );
    let temp = scratch.join("change.tmp");
    std::fs::write(&temp, format!("{} {}", unix_millis(), hex(&new))).unwrap();
    std::fs::rename(&temp, &change).unwrap();
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for _ in 0..WORKERS {
        match next() {
            Ok(line) => match line.strip_prefix("ok ") {
                Some(rest) => {
                    let f: Vec<u128> = rest.split(' ').map(|n| n.parse().unwrap()).collect();
                    seen.push(Seen {
                        revoked_ms: f[1],
                        read_new_ms: f[2],
                        protects_new_ms: f[3],
                    });
                }
                None => failures.push(line),
            },
            Err(e) => failures.push(format!("no report in time: {e}")),
        }
    }
    finish(&pids);
    assert!(failures.is_empty(), "workers failed: {failures:#?}");
    let bound_ms = bound.as_millis();
    for s in &seen {
        assert!(
            s.revoked_ms <= bound_ms && s.read_new_ms <= bound_ms && s.protects_new_ms <= bound_ms,
            "a worker took longer than {bound:?}: {s:?}"
        );
    }
    eprintln!("workers saw the change after: {seen:?}");
}
