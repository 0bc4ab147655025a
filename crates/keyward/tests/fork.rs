//! Fork safety: a pre-forking server uses keyward in the parent (creating a key, protecting)
//! and then forks workers. Every worker's payloads must carry key modifiers, IVs and nonces of
//! their own: never its parent's next ones, never a sibling's (with GCM, a repeated nonce
//! under one subkey leaks the XOR of plaintexts and allows forgeries).

#![allow(unsafe_code)] // fork(2) and _exit(2): the subject of this test.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use std::collections::HashSet;
use std::path::Path;

use keyward::{Algorithm, Provider, SubkeyReuse};

#[path = "common/forked_workers.rs"]
mod forked_workers;

const PER_PROCESS: usize = 8;

/// The key modifier and IV/nonce of a payload (after magic and key id).
fn randomness(payload: &[u8], algorithm: Algorithm) -> (Vec<u8>, Vec<u8>) {
    let iv_len = if algorithm == Algorithm::AES_256_GCM {
        12
    } else {
        16
    };
    (payload[20..36].to_vec(), payload[36..36 + iv_len].to_vec())
}

/// Forks a child that protects `PER_PROCESS` payloads and writes them (hex, one per line) to
/// `out`, then leaves with `_exit` (no destructors: the parent's threads do not exist here).
fn fork_worker(protector: &keyward::Protector, out: &Path) -> libc::pid_t {
    // SAFETY: the child only protects (allocation is fork-safe in glibc), writes a file and
    // calls _exit; it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let lines: Vec<String> = (0..PER_PROCESS)
            .map(|i| {
                let payload = protector.protect(format!("child {i}").as_bytes()).unwrap();
                payload.iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect();
        let status = i32::from(std::fs::write(out, lines.join("\n")).is_err());
        // SAFETY: ends the child at once, running nothing of the parent's.
        unsafe { libc::_exit(status) };
    }
    pid
}

fn wait(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
}

fn read_payloads(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            (0..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

fn check(algorithm: Algorithm, reuse: SubkeyReuse) {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::builder()
        .application_name("prefork")
        .key_directory(dir.path().join("keys"))
        .algorithm(algorithm)
        .subkey_reuse(reuse)
        .build()
        .unwrap();
    let protector = provider.protector(["worker"]);
    // The parent creates the key (drawing 80 bytes) and protects before forking.
    let parent_before: Vec<Vec<u8>> = (0..3)
        .map(|_| protector.protect(b"parent").unwrap())
        .collect();

    let outputs = [dir.path().join("a"), dir.path().join("b")];
    let pids: Vec<_> = outputs
        .iter()
        .map(|out| fork_worker(&protector, out))
        .collect();
    for pid in pids {
        wait(pid);
    }
    let parent_after: Vec<Vec<u8>> = (0..PER_PROCESS)
        .map(|_| protector.protect(b"parent").unwrap())
        .collect();

    let children: Vec<Vec<Vec<u8>>> = outputs.iter().map(|p| read_payloads(p)).collect();
    let processes = [
        [parent_before.clone(), parent_after.clone()].concat(),
        children[0].clone(),
        children[1].clone(),
    ];
    // IVs and nonces: unique across every payload of every process.
    let mut ivs = HashSet::new();
    for payload in processes.iter().flatten() {
        assert!(
            ivs.insert(randomness(payload, algorithm).1),
            "{algorithm:?} {reuse:?}: an IV/nonce repeated across processes"
        );
    }
    // Key modifiers (and so subkeys, derived from key, purposes and modifier): no process
    // uses another's.
    let modifiers: Vec<HashSet<Vec<u8>>> = processes
        .iter()
        .map(|payloads| {
            payloads
                .iter()
                .map(|p| randomness(p, algorithm).0)
                .collect()
        })
        .collect();
    for (i, a) in modifiers.iter().enumerate() {
        for b in &modifiers[i + 1..] {
            assert!(
                a.is_disjoint(b),
                "{algorithm:?} {reuse:?}: two processes issued under one key modifier"
            );
        }
    }
    // Every worker's payload is an ordinary payload of the shared ring.
    for payload in children.iter().flatten() {
        assert!(protector.unprotect(payload).unwrap().starts_with(b"child "));
    }
}

#[test]
fn forked_workers_never_repeat_modifiers_ivs_or_nonces() {
    for algorithm in [Algorithm::AES_256_CBC_HMACSHA256, Algorithm::AES_256_GCM] {
        for reuse in [SubkeyReuse::DEFAULT, SubkeyReuse::PerPayload] {
            check(algorithm, reuse);
        }
    }
}

/// A key revoked after the fork stops working in every worker, and a key created after it is
/// read and protected with there, within the refresh period (the file store pushes nothing:
/// each worker's own refresh thread must find the change).
#[test]
fn forked_workers_follow_revocations_and_new_keys_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let period = time::Duration::seconds(2);
    let provider = Provider::builder()
        .application_name("prefork")
        .key_directory(dir.path().join("keys"))
        .refresh_period(period)
        .build()
        .unwrap();
    // The refresh period, plus slack for a loaded machine.
    let bound = std::time::Duration::from_secs(2 + 3);
    forked_workers::forked_workers_follow_the_ring(&provider, dir.path(), bound);
}
