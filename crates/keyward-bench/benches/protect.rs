//! keyward beside the primitive floor and peer crates, in one criterion run.
//!
//! Ids: `protect/<entry>/<size>`, `unprotect/<entry>/<size>` with entries `keyward_cbc`,
//! `keyward_gcm`, `floor_cbc`, `floor_gcm`, `fernet`, `cookie_private`, `branca`, sizes 32,
//! 256, 4096, 65536; and `unprotect_ring/<keys>/256` for rings of 1, 100 and 10 000 keys.
//! Reproduce with `cargo bench -p keyward-bench --bench protect` (see BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a failure stops the run with its cause.

use std::hint::black_box;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use keyward::{Algorithm, MemoryRepository, Protector, Provider};
use keyward_bench::{repository_with_keys, SIZES};
use rand::RngCore;
use sha2::{Sha256, Sha512};

/// The purposes every entry protects under (application name + two purposes).
const PURPOSES: [&str; 2] = ["Orders", "v1"];

fn keyward_protector(algorithm: Algorithm) -> Protector {
    let provider = Provider::builder()
        .application_name("bench")
        .repository(MemoryRepository::new())
        .algorithm(algorithm)
        .build()
        .unwrap();
    provider.protector(PURPOSES)
}

/// The primitive calls the format needs and nothing else: 32 random bytes, one HMAC-SHA512
/// KDF block from a pre-keyed state over a label of the real length, then AES-256-CBC and
/// HMAC-SHA256 over IV || ciphertext (or one AES-256-GCM seal), into one output buffer.
struct Floor {
    kdf: Hmac<Sha512>,
    /// Stand-in for `u32be(1) || AAD || 0x00 || context header`, the real length.
    label: Vec<u8>,
}

impl Floor {
    fn new() -> Self {
        let mut master = [0u8; 64];
        rand::thread_rng().fill_bytes(&mut master);
        let aad_len = 4 + 16 + 4 + (1 + 5) + PURPOSES.iter().map(|p| 1 + p.len()).sum::<usize>();
        Self {
            kdf: <Hmac<Sha512> as KeyInit>::new_from_slice(&master).unwrap(),
            label: vec![0x5a; 4 + aad_len + 1 + 82],
        }
    }

    fn subkeys(&self, key_modifier: &[u8]) -> [u8; 64] {
        let mut prf = self.kdf.clone();
        prf.update(&self.label);
        prf.update(key_modifier);
        prf.update(&512u32.to_be_bytes());
        prf.finalize().into_bytes().into()
    }

    fn protect_cbc(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut random = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut random);
        let keys = self.subkeys(&random[..16]);
        let padded = (plaintext.len() / 16 + 1) * 16;
        let mut out = Vec::with_capacity(32 + padded + 32);
        out.extend_from_slice(&random);
        out.extend_from_slice(plaintext);
        out.resize(32 + padded, 0);
        cbc::Encryptor::<aes::Aes256>::new_from_slices(&keys[..32], &random[16..])
            .unwrap()
            .encrypt_padded::<Pkcs7>(&mut out[32..], plaintext.len())
            .unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&keys[32..]).unwrap();
        mac.update(&out[16..]);
        out.extend_from_slice(&mac.finalize().into_bytes());
        out
    }

    fn unprotect_cbc(&self, body: &[u8]) -> Vec<u8> {
        let keys = self.subkeys(&body[..16]);
        let (signed, tag) = body.split_at(body.len() - 32);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&keys[32..]).unwrap();
        mac.update(&signed[16..]);
        mac.verify_slice(tag).unwrap();
        let mut out = signed[32..].to_vec();
        let len = cbc::Decryptor::<aes::Aes256>::new_from_slices(&keys[..32], &signed[16..32])
            .unwrap()
            .decrypt_padded::<Pkcs7>(&mut out)
            .unwrap()
            .len();
        out.truncate(len);
        out
    }

    /// GCM on aws-lc-rs, the backend keyward uses for GCM.
    fn protect_gcm(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut random = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut random);
        let keys = self.subkeys(&random[..16]);
        let mut out = Vec::with_capacity(28 + plaintext.len() + 16);
        out.extend_from_slice(&random[..28]);
        out.extend_from_slice(plaintext);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &keys[..32]).unwrap());
        let nonce = Nonce::try_assume_unique_for_key(&random[16..28]).unwrap();
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::empty(), &mut out[28..])
            .unwrap();
        out.extend_from_slice(tag.as_ref());
        out
    }

    fn unprotect_gcm(&self, body: &[u8]) -> Vec<u8> {
        let keys = self.subkeys(&body[..16]);
        let (sealed, tag) = body.split_at(body.len() - 16);
        let mut out = sealed[28..].to_vec();
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &keys[..32]).unwrap());
        let nonce = Nonce::try_assume_unique_for_key(&sealed[16..28]).unwrap();
        key.open_in_place_separate_tag(nonce, Aad::empty(), tag, &mut out)
            .unwrap();
        out
    }
}

/// One entry: how it protects and unprotects.
trait Entry {
    fn protect(&mut self, data: &[u8]) -> Vec<u8>;
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8>;
}

struct Keyward(Protector);
impl Entry for Keyward {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.protect(data).unwrap()
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0.unprotect(payload).unwrap()
    }
}

struct FloorCbc(Floor);
impl Entry for FloorCbc {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.protect_cbc(data)
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0.unprotect_cbc(payload)
    }
}

struct FloorGcm(Floor);
impl Entry for FloorGcm {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.protect_gcm(data)
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0.unprotect_gcm(payload)
    }
}

struct FernetEntry(fernet::Fernet);
impl Entry for FernetEntry {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.encrypt(data).into_bytes()
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0
            .decrypt(std::str::from_utf8(payload).unwrap())
            .unwrap()
    }
}

/// `cookie`'s PrivateJar: protect = `add` of a cookie (AES-256-GCM under one key, no KDF),
/// unprotect = `get` of it (decrypts from the parent jar).
struct CookiePrivate(cookie::Key);
impl Entry for CookiePrivate {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        let mut jar = cookie::CookieJar::new();
        let value = std::str::from_utf8(data).unwrap().to_owned();
        jar.private_mut(&self.0)
            .add(cookie::Cookie::new("session", value));
        jar.get("session").unwrap().value().as_bytes().to_vec()
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new(
            "session",
            std::str::from_utf8(payload).unwrap().to_owned(),
        ));
        jar.private(&self.0)
            .get("session")
            .unwrap()
            .value()
            .as_bytes()
            .to_vec()
    }
}

struct BrancaEntry(branca::Branca);
impl Entry for BrancaEntry {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.encode(data).unwrap().into_bytes()
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0
            .decode(std::str::from_utf8(payload).unwrap(), 0)
            .unwrap()
    }
}

fn entries() -> Vec<(&'static str, Box<dyn Entry>)> {
    let mut branca_key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut branca_key);
    vec![
        (
            "keyward_cbc",
            Box::new(Keyward(keyward_protector(
                Algorithm::AES_256_CBC_HMACSHA256,
            ))),
        ),
        (
            "keyward_gcm",
            Box::new(Keyward(keyward_protector(Algorithm::AES_256_GCM))),
        ),
        ("floor_cbc", Box::new(FloorCbc(Floor::new()))),
        ("floor_gcm", Box::new(FloorGcm(Floor::new()))),
        (
            "fernet",
            Box::new(FernetEntry(
                fernet::Fernet::new(&fernet::Fernet::generate_key()).unwrap(),
            )),
        ),
        (
            "cookie_private",
            Box::new(CookiePrivate(cookie::Key::generate())),
        ),
        (
            "branca",
            Box::new(BrancaEntry(branca::Branca::new(&branca_key).unwrap())),
        ),
    ]
}

/// Printable plaintext (cookie values must be text), the same bytes for every entry.
fn data(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

fn bench_protect(c: &mut Criterion) {
    let mut group = c.benchmark_group("protect");
    for (name, mut entry) in entries() {
        for size in SIZES {
            let data = data(size);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &data, |b, data| {
                b.iter(|| entry.protect(black_box(data)));
            });
        }
    }
    group.finish();
}

fn bench_unprotect(c: &mut Criterion) {
    let mut group = c.benchmark_group("unprotect");
    for (name, mut entry) in entries() {
        for size in SIZES {
            let data = data(size);
            let payload = entry.protect(&data);
            assert_eq!(entry.unprotect(&payload), data, "{name} round trip");
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &payload, |b, payload| {
                b.iter(|| entry.unprotect(black_box(payload)));
            });
        }
    }
    group.finish();
}

fn bench_ring_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("unprotect_ring");
    for keys in [1usize, 100, 10_000] {
        let provider = Provider::builder()
            .application_name("bench")
            .repository(repository_with_keys(keys))
            .read_only(true)
            .build()
            .unwrap();
        assert_eq!(provider.keys().len(), keys);
        let protector = provider.protector(PURPOSES);
        let payload = protector.protect(&data(256)).unwrap();
        group.throughput(Throughput::Bytes(256));
        group.bench_with_input(
            BenchmarkId::new(keys.to_string(), 256),
            &payload,
            |b, payload| {
                b.iter(|| protector.unprotect(black_box(payload)).unwrap());
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_protect, bench_unprotect, bench_ring_size);
criterion_main!(benches);
