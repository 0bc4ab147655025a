//! The primitives of the payload format on two backends, RustCrypto and aws-lc-rs, each
//! with a fresh key per call as the format needs (subkeys differ for every payload).
//!
//! Groups `backend_<primitive>` with ids `<backend>/<size>`; run with
//! `cargo bench -p keyward-bench --bench backend`. BENCHMARKS.md records the decision.

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a failure stops the run with its cause.

use std::hint::black_box;

use aes_gcm::aead::{consts::U12, AeadInOut, KeyInit};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, PaddedBlockEncryptingKey,
    UnboundCipherKey, AES_256,
};
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyIvInit};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Sha256, Sha512};

const KEY: [u8; 32] = [7; 32];
const IV: [u8; 16] = [9; 16];

fn kdf(c: &mut Criterion) {
    // One KDF block: a pre-keyed HMAC-SHA512 over a label+context of a typical length.
    let mut group = c.benchmark_group("backend_kdf_hmac_sha512");
    let master = [3u8; 64];
    let input = [0x5a_u8; 150];
    let rust = <Hmac<Sha512> as KeyInit>::new_from_slice(&master).unwrap();
    group.bench_function(BenchmarkId::new("rustcrypto", 150), |b| {
        b.iter(|| {
            let mut m = rust.clone();
            m.update(black_box(&input));
            m.finalize().into_bytes()
        });
    });
    let aws = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA512, &master);
    group.bench_function(BenchmarkId::new("aws_lc_rs", 150), |b| {
        b.iter(|| aws_lc_rs::hmac::sign(&aws, black_box(&input)));
    });
    group.finish();
}

fn hmac_fresh_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("backend_hmac_sha256_fresh_key");
    for size in [272usize, 4112] {
        let data = vec![1u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("rustcrypto", size), &data, |b, data| {
            b.iter(|| {
                let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(black_box(&KEY)).unwrap();
                m.update(data);
                m.finalize().into_bytes()
            });
        });
        group.bench_with_input(BenchmarkId::new("aws_lc_rs", size), &data, |b, data| {
            b.iter(|| {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, black_box(&KEY));
                aws_lc_rs::hmac::sign(&key, data)
            });
        });
    }
    group.finish();
}

fn cbc_fresh_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("backend_aes256_cbc_encrypt_fresh_key");
    for size in [256usize, 4096] {
        let data = vec![1u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("rustcrypto", size), &data, |b, data| {
            b.iter(|| {
                let mut buf = Vec::with_capacity(size + 16);
                buf.extend_from_slice(data);
                buf.resize(size + 16, 0);
                cbc::Encryptor::<aes::Aes256>::new_from_slices(black_box(&KEY), &IV)
                    .unwrap()
                    .encrypt_padded::<Pkcs7>(&mut buf, size)
                    .unwrap()
                    .len()
            });
        });
        group.bench_with_input(BenchmarkId::new("aws_lc_rs", size), &data, |b, data| {
            b.iter(|| {
                let mut buf = Vec::with_capacity(size + 16);
                buf.extend_from_slice(data);
                let key = UnboundCipherKey::new(&AES_256, black_box(&KEY)).unwrap();
                let encrypting = PaddedBlockEncryptingKey::cbc_pkcs7(key).unwrap();
                encrypting
                    .less_safe_encrypt(&mut buf, EncryptionContext::Iv128(IV.into()))
                    .unwrap();
                buf.len()
            });
        });
    }
    group.finish();
}

/// AES-256-CBC with a key expanded once (subkeys shared by many payloads), 256 B + a block
/// of padding, encrypt and decrypt.
fn cbc_prepared_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("backend_aes256_cbc_prepared_key");
    let size = 272usize;
    let data = vec![1u8; size];
    group.throughput(Throughput::Bytes(size as u64));
    let cipher = <aes::Aes256 as aes::cipher::KeyInit>::new_from_slice(&KEY).unwrap();
    group.bench_function(BenchmarkId::new("rustcrypto_encrypt", size), |b| {
        let mut buf = data.clone();
        b.iter(|| {
            let enc =
                cbc::Encryptor::<aes::Aes256>::inner_iv_slice_init(cipher.clone(), &IV).unwrap();
            enc.encrypt_padded::<NoPadding>(black_box(&mut buf), size)
                .unwrap()
                .len()
        });
    });
    group.bench_function(BenchmarkId::new("rustcrypto_decrypt", size), |b| {
        let mut buf = data.clone();
        b.iter(|| {
            let dec =
                cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init(cipher.clone(), &IV).unwrap();
            dec.decrypt_padded::<NoPadding>(black_box(&mut buf))
                .unwrap()
                .len()
        });
    });
    let enc_key = EncryptingKey::cbc(UnboundCipherKey::new(&AES_256, &KEY).unwrap()).unwrap();
    let dec_key = DecryptingKey::cbc(UnboundCipherKey::new(&AES_256, &KEY).unwrap()).unwrap();
    group.bench_function(BenchmarkId::new("aws_lc_rs_encrypt", size), |b| {
        let mut buf = data.clone();
        b.iter(|| {
            enc_key
                .less_safe_encrypt(black_box(&mut buf), EncryptionContext::Iv128(IV.into()))
                .unwrap();
        });
    });
    group.bench_function(BenchmarkId::new("aws_lc_rs_decrypt", size), |b| {
        let mut buf = data.clone();
        b.iter(|| {
            dec_key
                .decrypt(black_box(&mut buf), DecryptionContext::Iv128(IV.into()))
                .unwrap()
                .len()
        });
    });
    group.finish();
}

fn gcm_fresh_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("backend_aes256_gcm_seal_fresh_key");
    for size in [256usize, 4096] {
        let data = vec![1u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("rustcrypto", size), &data, |b, data| {
            b.iter(|| {
                let mut buf = data.clone();
                let gcm =
                    aes_gcm::AesGcm::<aes::Aes256, U12>::new_from_slice(black_box(&KEY)).unwrap();
                gcm.encrypt_inout_detached(&[4u8; 12].into(), &[], buf.as_mut_slice().into())
                    .unwrap()
            });
        });
        group.bench_with_input(BenchmarkId::new("aws_lc_rs", size), &data, |b, data| {
            b.iter(|| {
                let mut buf = data.clone();
                let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, black_box(&KEY)).unwrap());
                key.seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([4; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .unwrap()
            });
        });
    }
    group.finish();
}

fn randomness(c: &mut Criterion) {
    let mut group = c.benchmark_group("backend_random_32_bytes");
    group.bench_function(BenchmarkId::new("rand_thread_rng", 32), |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut out);
            out
        });
    });
    group.bench_function(BenchmarkId::new("aws_lc_rs", 32), |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            aws_lc_rs::rand::fill(&mut out).unwrap();
            out
        });
    });
    group.bench_function(BenchmarkId::new("os_getrandom", 32), |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut out);
            out
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    kdf,
    hmac_fresh_key,
    cbc_fresh_key,
    cbc_prepared_key,
    gcm_fresh_key,
    randomness
);
criterion_main!(benches);
