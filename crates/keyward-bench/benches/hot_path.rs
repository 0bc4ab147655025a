//! The hot path: allocations per call beside the time, and throughput from several threads.
//!
//! Ids:
//! - `hot_path/<algorithm>/<call>` (256 B, subkeys shared and cached as on keyward's default
//!   path) for calls `protect`, `protect_into`, `unprotect`, `unprotect_into`,
//!   `unprotect_in_place`; the allocations each call makes (counted by a global allocator on
//!   the calling thread, once warm) are printed and written to
//!   `target/criterion/hot_path/allocations.json`.
//! - `threads/<protect|unprotect>_<algorithm>/<n>`: `n` threads (1 and the number of cores)
//!   on one provider and one protector, each making one call per iteration; the throughput is
//!   `n` calls per iteration, so `time(1) ÷ time(n)` is the scaling (n when perfect).
//!
//! Reproduce with `cargo bench -p keyward-bench --bench hot_path` (see BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a failure stops the run with its cause.
#![allow(clippy::print_stdout)] // The allocation counts are part of the report.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keyward::{Algorithm, Protector, SubkeyReuse};
use keyward_testdata::allocations::{allocations_during, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const SIZE: usize = 256;

fn algorithms() -> [(&'static str, Algorithm); 2] {
    [
        ("cbc", Algorithm::AES_256_CBC_HMACSHA256),
        ("gcm", Algorithm::AES_256_GCM),
    ]
}

/// The calls measured, each with the buffers it reuses across iterations.
struct Calls {
    protector: Protector,
    data: Vec<u8>,
    payload: Vec<u8>,
    out: Vec<u8>,
    scratch: Vec<u8>,
}

impl Calls {
    const NAMES: [&'static str; 5] = [
        "protect",
        "protect_into",
        "unprotect",
        "unprotect_into",
        "unprotect_in_place",
    ];

    fn new(algorithm: Algorithm) -> Self {
        let protector = keyward_bench::protector(algorithm, SubkeyReuse::DEFAULT).unwrap();
        let data: Vec<u8> = (0..SIZE).map(|i| b'a' + (i % 26) as u8).collect();
        let payload = protector.protect(&data).unwrap();
        let mut calls = Self {
            protector,
            data,
            out: Vec::with_capacity(2 * payload.len()),
            scratch: Vec::with_capacity(2 * payload.len()),
            payload,
        };
        // Warm: the subkeys of the payload are cached and expanded for reuse.
        for name in Self::NAMES {
            calls.call(name);
            calls.call(name);
        }
        calls
    }

    /// Makes one call; returns a length so the work cannot be optimised away.
    fn call(&mut self, name: &str) -> usize {
        let p = &self.protector;
        match name {
            "protect" => p.protect(black_box(&self.data)).unwrap().len(),
            "protect_into" => {
                self.out.clear();
                p.protect_into(black_box(&self.data), &mut self.out)
                    .unwrap();
                self.out.len()
            }
            "unprotect" => p.unprotect(black_box(&self.payload)).unwrap().len(),
            "unprotect_into" => {
                self.out.clear();
                p.unprotect_into(black_box(&self.payload), &mut self.out)
                    .unwrap();
                self.out.len()
            }
            "unprotect_in_place" => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&self.payload);
                p.unprotect_in_place(black_box(&mut self.scratch))
                    .unwrap()
                    .len()
            }
            other => unreachable!("no call named {other}"),
        }
    }

    /// Allocations per call, over 1000 warm calls on this thread.
    fn allocations_per_call(&mut self, name: &str) -> f64 {
        const CALLS: u64 = 1000;
        let allocations = allocations_during(|| {
            for _ in 0..CALLS {
                black_box(self.call(name));
            }
        });
        allocations as f64 / CALLS as f64
    }
}

fn bench_hot_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("hot_path");
    group.throughput(Throughput::Bytes(SIZE as u64));
    let mut counts = Vec::new();
    for (algorithm_name, algorithm) in algorithms() {
        let mut calls = Calls::new(algorithm);
        for name in Calls::NAMES {
            let per_call = calls.allocations_per_call(name);
            println!("hot_path/{algorithm_name}/{name}: {per_call} allocations per call");
            counts.push(format!("\"{algorithm_name}/{name}\": {per_call}"));
            group.bench_function(BenchmarkId::new(algorithm_name, name), |b| {
                b.iter(|| calls.call(name));
            });
        }
    }
    group.finish();
    write_allocations(&counts);
}

/// Writes the allocation counts beside criterion's estimates.
fn write_allocations(counts: &[String]) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("criterion/hot_path");
    let json = format!("{{{}}}\n", counts.join(", "));
    if std::fs::create_dir_all(&dir).is_ok() {
        // A benchmark keeps running when it cannot write its side file; the counts were printed.
        let _ = std::fs::write(dir.join("allocations.json"), json);
    }
}

/// `threads` calls at once, `iters` each, on one protector: the wall time of the whole.
fn run_threads(
    protector: &Protector,
    threads: usize,
    iters: u64,
    unprotect: bool,
    data: &[u8],
    payload: &[u8],
) -> Duration {
    let start_line = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let start_line = &start_line;
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(2 * payload.len());
                    start_line.wait();
                    for _ in 0..iters {
                        out.clear();
                        if unprotect {
                            protector
                                .unprotect_into(black_box(payload), &mut out)
                                .unwrap();
                        } else {
                            protector.protect_into(black_box(data), &mut out).unwrap();
                        }
                    }
                    black_box(out.len());
                })
            })
            .collect();
        start_line.wait();
        let started = Instant::now();
        for handle in handles {
            handle.join().unwrap();
        }
        started.elapsed()
    })
}

fn bench_threads(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let mut group = c.benchmark_group("threads");
    for (algorithm_name, algorithm) in algorithms() {
        let protector = keyward_bench::protector(algorithm, SubkeyReuse::DEFAULT).unwrap();
        let data = vec![b'a'; SIZE];
        let payload = protector.protect(&data).unwrap();
        protector.unprotect(&payload).unwrap();
        for (call, unprotect) in [("protect", false), ("unprotect", true)] {
            for threads in [1, cores] {
                group.throughput(Throughput::Elements(threads as u64));
                group.bench_function(
                    BenchmarkId::new(format!("{call}_{algorithm_name}"), threads),
                    |b| {
                        b.iter_custom(|iters| {
                            run_threads(&protector, threads, iters, unprotect, &data, &payload)
                        });
                    },
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_hot_path, bench_threads);
criterion_main!(benches);
