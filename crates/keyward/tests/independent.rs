//! Cross-check against an independent implementation written here from the spec text
//! (`docs/spec/payload.md`, `docs/spec/keys.md`) with raw RustCrypto calls, sharing no
//! code with keyward: key XML written as .NET writes it, payloads made here read by keyward
//! and payloads made by keyward read here, for CBC and GCM keys.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

use aes_gcm::aead::{consts::U12, AeadInOut, KeyInit};
use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, Mac};
use keyward::{Error, KeyId, Provider, SubkeyReuse};
use sha2::{Sha256, Sha512};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut out);
    out
}

fn key_xml(id: &str, algorithm: &str, master_key: &[u8]) -> String {
    let validation = if algorithm.ends_with("CBC") {
        "<validation algorithm=\"HMACSHA256\" />"
    } else {
        ""
    };
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<key id=\"{id}\" version=\"1\">\r\n  <creationDate>2020-01-01T00:00:00Z</creationDate>\r\n  <activationDate>2020-01-01T00:00:00Z</activationDate>\r\n  <expirationDate>2099-01-01T00:00:00Z</expirationDate>\r\n  <descriptor deserializerType=\"Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=9.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60\">\r\n    <descriptor>\r\n      <encryption algorithm=\"{algorithm}\" />\r\n      {validation}\r\n      <masterKey d3p1:requiresEncryption=\"true\" xmlns:d3p1=\"http://schemas.asp.net/2015/03/dataProtection\">\r\n        <!-- Warning: the key below is in an unencrypted form. -->\r\n        <value>{}</value>\r\n      </masterKey>\r\n    </descriptor>\r\n  </descriptor>\r\n</key>",
        B64.encode(master_key)
    )
}

fn guid_bytes(id: &str) -> [u8; 16] {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    let mut b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b.try_into().unwrap()
}

fn aad(id: &str, purposes: &[&str]) -> Vec<u8> {
    let mut out = vec![0x09, 0xF0, 0xC9, 0xF0];
    out.extend_from_slice(&guid_bytes(id));
    out.extend_from_slice(&(purposes.len() as u32).to_be_bytes());
    for p in purposes {
        let mut n = p.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(p.as_bytes());
    }
    out
}

fn kdf(kdk: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 1u32;
    while out.len() < len {
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(kdk).unwrap();
        mac.update(&i.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&((len * 8) as u32).to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn cbc_header() -> Vec<u8> {
    let k = kdf(&[], &[], &[], 64);
    let mut h = vec![0, 0, 0, 0, 0, 32, 0, 0, 0, 16, 0, 0, 0, 32, 0, 0, 0, 32];
    let mut block = [0u8; 16];
    let e = cbc::Encryptor::<aes::Aes256>::new_from_slices(&k[..32], &[0; 16]).unwrap();
    h.extend_from_slice(e.encrypt_padded::<Pkcs7>(&mut block, 0).unwrap());
    h.extend_from_slice(
        &<Hmac<Sha256> as KeyInit>::new_from_slice(&k[32..])
            .unwrap()
            .finalize()
            .into_bytes(),
    );
    h
}

fn gcm_header() -> Vec<u8> {
    let k = kdf(&[], &[], &[], 32);
    let mut h = vec![0, 1, 0, 0, 0, 32, 0, 0, 0, 12, 0, 0, 0, 16, 0, 0, 0, 16];
    let gcm = aes_gcm::AesGcm::<aes::Aes256, U12>::new_from_slice(&k).unwrap();
    let tag = gcm
        .encrypt_inout_detached(&Default::default(), &[], (&mut [][..]).into())
        .unwrap();
    h.extend_from_slice(&tag);
    h
}

fn protect(id: &str, gcm: bool, master: &[u8], purposes: &[&str], plaintext: &[u8]) -> String {
    let label = aad(id, purposes);
    let key_modifier: [u8; 16] = random();
    let mut out = label[..20].to_vec();
    out.extend_from_slice(&key_modifier);
    if gcm {
        let nonce: [u8; 12] = random();
        let context = [gcm_header(), key_modifier.to_vec()].concat();
        let k = kdf(master, &label, &context, 32);
        let mut buf = plaintext.to_vec();
        let cipher = aes_gcm::AesGcm::<aes::Aes256, U12>::new_from_slice(&k).unwrap();
        let tag = cipher
            .encrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into())
            .unwrap();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
    } else {
        let iv: [u8; 16] = random();
        let context = [cbc_header(), key_modifier.to_vec()].concat();
        let k = kdf(master, &label, &context, 64);
        let mut buf = vec![0u8; plaintext.len() + 16];
        buf[..plaintext.len()].copy_from_slice(plaintext);
        let e = cbc::Encryptor::<aes::Aes256>::new_from_slices(&k[..32], &iv).unwrap();
        let ct = e
            .encrypt_padded::<Pkcs7>(&mut buf, plaintext.len())
            .unwrap()
            .to_vec();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&k[32..]).unwrap();
        mac.update(&iv);
        mac.update(&ct);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&mac.finalize().into_bytes());
    }
    B64URL.encode(out)
}

fn unprotect(id: &str, gcm: bool, master: &[u8], purposes: &[&str], text: &str) -> Option<Vec<u8>> {
    let data = B64URL.decode(text).ok()?;
    let label = aad(id, purposes);
    if data[..20] != label[..20] {
        return None;
    }
    let body = &data[20..];
    let key_modifier = &body[..16];
    if gcm {
        let context = [gcm_header(), key_modifier.to_vec()].concat();
        let k = kdf(master, &label, &context, 32);
        let (nonce, rest) = body[16..].split_at(12);
        let (ct, tag) = rest.split_at(rest.len() - 16);
        let mut buf = ct.to_vec();
        let cipher = aes_gcm::AesGcm::<aes::Aes256, U12>::new_from_slice(&k).unwrap();
        cipher
            .decrypt_inout_detached(
                nonce.try_into().ok()?,
                &[],
                buf.as_mut_slice().into(),
                tag.try_into().ok()?,
            )
            .ok()?;
        Some(buf)
    } else {
        let context = [cbc_header(), key_modifier.to_vec()].concat();
        let k = kdf(master, &label, &context, 64);
        let (iv_ct, tag) = body[16..].split_at(body.len() - 16 - 32);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&k[32..]).unwrap();
        mac.update(iv_ct);
        mac.verify_slice(tag).ok()?;
        let (iv, ct) = iv_ct.split_at(16);
        let mut buf = ct.to_vec();
        let d = cbc::Decryptor::<aes::Aes256>::new_from_slices(&k[..32], iv).unwrap();
        Some(d.decrypt_padded::<Pkcs7>(&mut buf).ok()?.to_vec())
    }
}

#[test]
fn keyward_and_the_independent_implementation_read_each_other() {
    for (algorithm, gcm, reuse) in [
        ("AES_256_CBC", false, SubkeyReuse::DEFAULT),
        ("AES_256_GCM", true, SubkeyReuse::DEFAULT),
        ("AES_256_CBC", false, SubkeyReuse::PerPayload),
        ("AES_256_GCM", true, SubkeyReuse::PerPayload),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let id = KeyId::random().to_string().to_uppercase();
        let master: [u8; 64] = random();
        std::fs::write(
            dir.path().join(format!("key-{}.xml", id.to_lowercase())),
            key_xml(&id, algorithm, &master),
        )
        .unwrap();
        let provider = Provider::builder()
            .application_name("Cross Check ✓")
            .key_directory(dir.path())
            .subkey_reuse(reuse)
            .build()
            .unwrap();
        for (i, purposes) in [vec![], vec!["a"], vec!["Orders", "v1", "ünï"], vec!["x"; 3]]
            .into_iter()
            .enumerate()
        {
            let chain: Vec<&str> = std::iter::once("Cross Check ✓")
                .chain(purposes.iter().copied())
                .collect();
            let plaintext: Vec<u8> = (0..(i * 97 + 5)).map(|n| (n * 7) as u8).collect();
            let id = id.to_lowercase();

            let theirs = protect(&id, gcm, &master, &chain, &plaintext);
            let protector = provider.protector(purposes.iter().copied());
            // Twice: the second read takes the subkeys the first one derived and kept.
            for _ in 0..2 {
                let read = protector
                    .unprotect(&B64URL.decode(&theirs).unwrap())
                    .unwrap();
                assert_eq!(read, plaintext, "{algorithm}: keyward reads theirs");
            }

            // Several payloads: with shared subkeys they carry one key modifier.
            let several: Vec<String> = (0..3)
                .map(|_| B64URL.encode(protector.protect(&plaintext).unwrap()))
                .collect();
            for ours in &several {
                assert_eq!(
                    unprotect(&id, gcm, &master, &chain, ours).as_deref(),
                    Some(&plaintext[..]),
                    "{algorithm} {reuse:?}: they read ours"
                );
            }
            let modifiers: std::collections::HashSet<Vec<u8>> = several
                .iter()
                .map(|p| B64URL.decode(p).unwrap()[20..36].to_vec())
                .collect();
            let expected = if reuse == SubkeyReuse::PerPayload {
                3
            } else {
                1
            };
            assert_eq!(modifiers.len(), expected, "{algorithm} {reuse:?}");
            let ours = several[0].clone();

            // Tampering is refused on both sides.
            let mut bytes = B64URL.decode(&theirs).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            assert!(matches!(
                protector.unprotect(&bytes),
                Err(Error::InvalidPayload)
            ));
            let mut bytes = B64URL.decode(&ours).unwrap();
            bytes[30] ^= 0x80;
            assert_eq!(
                unprotect(&id, gcm, &master, &chain, &B64URL.encode(&bytes)),
                None
            );
        }
        // The key keyward used is the one written here: no key was created.
        assert_eq!(provider.keys().len(), 1);
    }
}
