//! `protect` and `unprotect` of 256 B with CBC+HMAC and GCM keys.
//!
//! Ids follow `protect/<entry>/<size>` and `unprotect/<entry>/<size>`; run with
//! `cargo bench -p keyward --bench protect`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keyward::{Algorithm, MemoryRepository, Protector, Provider};

const SIZES: &[usize] = &[256];

fn protector(algorithm: Algorithm) -> Protector {
    let provider = Provider::builder()
        .application_name("bench")
        .repository(MemoryRepository::new())
        .algorithm(algorithm)
        .build()
        .expect("provider");
    provider.ensure_default_key().expect("key");
    provider.protector(["Orders", "v1"])
}

fn entries() -> [(&'static str, Protector); 2] {
    [
        ("keyward_cbc", protector(Algorithm::AES_256_CBC_HMACSHA256)),
        ("keyward_gcm", protector(Algorithm::AES_256_GCM)),
    ]
}

fn bench_protect(c: &mut Criterion) {
    let mut group = c.benchmark_group("protect");
    for (name, protector) in entries() {
        for &size in SIZES {
            let data = vec![0x5a; size];
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &data, |b, data| {
                b.iter(|| protector.protect(black_box(data)).expect("protect"));
            });
        }
    }
    group.finish();
}

fn bench_unprotect(c: &mut Criterion) {
    let mut group = c.benchmark_group("unprotect");
    for (name, protector) in entries() {
        for &size in SIZES {
            let payload = protector.protect(&vec![0x5a; size]).expect("protect");
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &payload, |b, payload| {
                b.iter(|| protector.unprotect(black_box(payload)).expect("unprotect"));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_protect, bench_unprotect);
criterion_main!(benches);
