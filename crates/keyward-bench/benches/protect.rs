//! keyward beside the primitive floor and peer crates, in one criterion run.
//!
//! Ids: `protect/<entry>/<size>`, `unprotect/<entry>/<size>` with entries `keyward_cbc`,
//! `keyward_gcm`, `floor_cbc`, `floor_gcm`, `fernet`, `cookie_private`, `branca`, sizes 32,
//! 256, 4096, 65536; and `unprotect_ring/<keys>/256` for rings of 1, 100 and 10 000 keys.
//!
//! Beside them: `keyward_cbc_per_payload` and `keyward_gcm_per_payload` (subkeys derived for
//! every payload, as ASP.NET Core does; their `unprotect` cycles through 4096 payloads, each
//! with its own key modifier, so every read derives), and `floor_cbc_reused` /
//! `floor_gcm_reused` (the primitive calls for a payload whose subkeys are already derived
//! and expanded: the floor of keyward's default, shared-subkey path).
//! Reproduce with `cargo bench -p keyward-bench --bench protect` (see BENCHMARKS.md).

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a failure stops the run with its cause.

use std::hint::black_box;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_256,
};
use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use keyward::{Algorithm, Protector, Provider, SubkeyReuse};
use keyward_bench::{repository_with_keys, PURPOSES, SIZES};
use rand::RngCore;
use sha2::{Sha256, Sha512};

fn keyward_protector(algorithm: Algorithm, reuse: SubkeyReuse) -> Protector {
    keyward_bench::protector(algorithm, reuse).unwrap()
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

/// The primitive calls for a payload whose subkeys are derived and expanded already (keyward's
/// default path between key modifiers): a random IV or nonce from the same generator, then
/// AES-256-CBC (aws-lc-rs, expanded key) + HMAC-SHA256 (pre-keyed RustCrypto) over
/// IV || ciphertext, or one AES-256-GCM seal/open (aws-lc-rs), into one output buffer.
struct FloorReused {
    key_modifier: [u8; 16],
    cbc_encrypt: EncryptingKey,
    cbc_decrypt: DecryptingKey,
    mac: Hmac<Sha256>,
    gcm: LessSafeKey,
}

impl FloorReused {
    fn new() -> Self {
        let mut keys = [0u8; 16 + 32 + 32 + 32];
        rand::thread_rng().fill_bytes(&mut keys);
        let (key_modifier, rest) = keys.split_at(16);
        let (k_e, rest) = rest.split_at(32);
        let (k_h, k_gcm) = rest.split_at(32);
        let cipher_key = || UnboundCipherKey::new(&AES_256, k_e).unwrap();
        Self {
            key_modifier: key_modifier.try_into().unwrap(),
            cbc_encrypt: EncryptingKey::cbc(cipher_key()).unwrap(),
            cbc_decrypt: DecryptingKey::cbc(cipher_key()).unwrap(),
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(k_h).unwrap(),
            gcm: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, k_gcm).unwrap()),
        }
    }

    fn protect_cbc(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut iv = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut iv);
        let padded = (plaintext.len() / 16 + 1) * 16;
        let mut out = Vec::with_capacity(32 + padded + 32);
        out.extend_from_slice(&self.key_modifier);
        out.extend_from_slice(&iv);
        out.extend_from_slice(plaintext);
        let pad = u8::try_from(padded - plaintext.len()).unwrap();
        out.resize(32 + padded, pad);
        self.cbc_encrypt
            .less_safe_encrypt(&mut out[32..], EncryptionContext::Iv128(iv.into()))
            .unwrap();
        let tag = self
            .mac
            .clone()
            .chain_update(&out[16..])
            .finalize()
            .into_bytes();
        out.extend_from_slice(&tag);
        out
    }

    fn unprotect_cbc(&self, body: &[u8]) -> Vec<u8> {
        let (signed, tag) = body.split_at(body.len() - 32);
        self.mac
            .clone()
            .chain_update(&signed[16..])
            .verify_slice(tag)
            .unwrap();
        let mut out = signed[32..].to_vec();
        let iv: [u8; 16] = signed[16..32].try_into().unwrap();
        let len = self
            .cbc_decrypt
            .decrypt(&mut out, DecryptionContext::Iv128(iv.into()))
            .unwrap()
            .len();
        let pad = usize::from(out[len - 1]);
        out.truncate(len - pad);
        out
    }

    fn protect_gcm(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(28 + plaintext.len() + 16);
        out.extend_from_slice(&self.key_modifier);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .gcm
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut out[28..],
            )
            .unwrap();
        out.extend_from_slice(tag.as_ref());
        out
    }

    fn unprotect_gcm(&self, body: &[u8]) -> Vec<u8> {
        let (sealed, tag) = body.split_at(body.len() - 16);
        let mut out = sealed[28..].to_vec();
        let nonce = Nonce::try_assume_unique_for_key(&sealed[16..28]).unwrap();
        self.gcm
            .open_in_place_separate_tag(nonce, Aad::empty(), tag, &mut out)
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

struct FloorCbcReused(FloorReused);
impl Entry for FloorCbcReused {
    fn protect(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.protect_cbc(data)
    }
    fn unprotect(&mut self, payload: &[u8]) -> Vec<u8> {
        self.0.unprotect_cbc(payload)
    }
}

struct FloorGcmReused(FloorReused);
impl Entry for FloorGcmReused {
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

/// How `unprotect` is measured for an entry.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    /// The same payload again and again (a session cookie read on every request).
    Same,
    /// A cycle of [`COLD_PAYLOADS`] payloads, each with its own key modifier: every read
    /// derives subkeys (payloads issued elsewhere, each seen once).
    Cold,
}

/// Payloads in a cold-read cycle: eight times keyward's 512-slot subkey cache.
const COLD_PAYLOADS: usize = 4096;

fn entries() -> Vec<(&'static str, Reads, Box<dyn Entry>)> {
    let mut branca_key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut branca_key);
    let keyward = |algorithm| Box::new(Keyward(keyward_protector(algorithm, SubkeyReuse::DEFAULT)));
    let per_payload = |algorithm| {
        Box::new(Keyward(keyward_protector(
            algorithm,
            SubkeyReuse::PerPayload,
        )))
    };
    vec![
        (
            "keyward_cbc",
            Reads::Same,
            keyward(Algorithm::AES_256_CBC_HMACSHA256),
        ),
        ("keyward_gcm", Reads::Same, keyward(Algorithm::AES_256_GCM)),
        (
            "keyward_cbc_per_payload",
            Reads::Cold,
            per_payload(Algorithm::AES_256_CBC_HMACSHA256),
        ),
        (
            "keyward_gcm_per_payload",
            Reads::Cold,
            per_payload(Algorithm::AES_256_GCM),
        ),
        ("floor_cbc", Reads::Same, Box::new(FloorCbc(Floor::new()))),
        ("floor_gcm", Reads::Same, Box::new(FloorGcm(Floor::new()))),
        (
            "floor_cbc_reused",
            Reads::Same,
            Box::new(FloorCbcReused(FloorReused::new())),
        ),
        (
            "floor_gcm_reused",
            Reads::Same,
            Box::new(FloorGcmReused(FloorReused::new())),
        ),
        (
            "fernet",
            Reads::Same,
            Box::new(FernetEntry(
                fernet::Fernet::new(&fernet::Fernet::generate_key()).unwrap(),
            )),
        ),
        (
            "cookie_private",
            Reads::Same,
            Box::new(CookiePrivate(cookie::Key::generate())),
        ),
        (
            "branca",
            Reads::Same,
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
    for (name, _, mut entry) in entries() {
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
    for (name, reads, mut entry) in entries() {
        for size in SIZES {
            let data = data(size);
            let count = if reads == Reads::Cold {
                COLD_PAYLOADS
            } else {
                1
            };
            let payloads: Vec<Vec<u8>> = (0..count).map(|_| entry.protect(&data)).collect();
            for payload in &payloads {
                assert_eq!(entry.unprotect(payload), data, "{name} round trip");
            }
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &payloads, |b, payloads| {
                let mut next = 0;
                b.iter(|| {
                    next = (next + 1) % payloads.len();
                    entry.unprotect(black_box(&payloads[next]))
                });
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
