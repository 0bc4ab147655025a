//! A fixed workload for profilers: `valgrind --tool=callgrind target/release/examples/profile
//! cbc 20000` protects and unprotects 256 B that many times; a third argument `protect` only
//! protects, `unprotect` reads one payload that many times, `per-payload` protects and unprotects deriving subkeys for every payload.

#![allow(clippy::unwrap_used)] // A profiling workload: a failure stops it with its cause.

use keyward::{Algorithm, SubkeyReuse};

fn main() {
    let mut args = std::env::args().skip(1);
    let algorithm = match args.next().as_deref() {
        Some("gcm") => Algorithm::AES_256_GCM,
        _ => Algorithm::AES_256_CBC_HMACSHA256,
    };
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let mode = args.next().unwrap_or_default();
    let reuse = if mode == "per-payload" {
        SubkeyReuse::PerPayload
    } else {
        SubkeyReuse::DEFAULT
    };
    let protector = keyward_bench::protector(algorithm, reuse).unwrap();
    let data = vec![0x61; 256];
    let mut total = 0usize;
    if mode == "unprotect" {
        let payload = protector.protect(&data).unwrap();
        for _ in 0..rounds {
            total += protector.unprotect(&payload).unwrap().len();
        }
        assert!(total >= rounds * 256);
        return;
    }
    for _ in 0..rounds {
        let payload = protector.protect(&data).unwrap();
        total += if mode == "protect" {
            payload.len()
        } else {
            protector.unprotect(&payload).unwrap().len()
        };
    }
    assert!(total >= rounds * 256);
}
