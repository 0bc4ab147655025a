//! Property tests: forms tickets round-trip in both modes with every algorithm pair each mode
//! accepts, and every single-bit flip of a protected value is rejected (forms tickets,
//! `MachineKey.Protect`, ViewState in each protection).
#![allow(clippy::unwrap_used)]

use keyward_machinekey::encoding::{from_base64, from_hex, to_base64, upper_hex};
use keyward_machinekey::viewstate::{self, Page};
use keyward_machinekey::{
    forms_ticket, framework45, CompatibilityMode, FormsAuthenticationTicket, MachineKeyDecryption,
    MachineKeyValidation, MachineKeys, Purpose,
};
use proptest::prelude::*;

use CompatibilityMode::{Framework20SP1, Framework20SP2, Framework45};
use MachineKeyDecryption as D;
use MachineKeyValidation as V;

/// Every (mode, validation, decryption, decryption key length) the runtime accepts.
fn pairs() -> Vec<(CompatibilityMode, V, D, usize)> {
    let mut out = Vec::new();
    for mode in [Framework20SP1, Framework20SP2, Framework45] {
        let validations: &[V] = if mode == Framework45 {
            &[V::Sha1, V::HmacSha256, V::HmacSha384, V::HmacSha512]
        } else {
            &[
                V::Sha1,
                V::Md5,
                V::TripleDes,
                V::Aes,
                V::HmacSha256,
                V::HmacSha384,
                V::HmacSha512,
            ]
        };
        for &v in validations {
            for (d, len) in [
                (D::Aes, 16),
                (D::Aes, 24),
                (D::Aes, 32),
                (D::TripleDes, 16),
                (D::TripleDes, 24),
                (D::Des, 8),
            ] {
                // validation="3DES"/"AES" encrypts ViewState with that cipher and the
                // decryption key, which must then fit it too.
                let fits = match v {
                    V::TripleDes => len != 32,
                    V::Aes => len != 8,
                    _ => true,
                };
                if fits {
                    out.push((mode, v, d, len));
                }
            }
        }
    }
    out
}

fn keys_for(mode: CompatibilityMode, v: V, d: D, len: usize, seed: u8) -> MachineKeys {
    let vk: Vec<u8> = (0..v.key_len())
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect();
    let dk: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(17) ^ seed.rotate_left(3))
        .collect();
    MachineKeys::from_hex(v.name(), &upper_hex(&vk), d.name(), &upper_hex(&dk), mode).unwrap()
}

fn ticket_strategy() -> impl Strategy<Value = FormsAuthenticationTicket> {
    (
        any::<u8>(),
        "\\PC{0,40}",
        0i64..3_155_378_975_999_999_999,
        0i64..3_155_378_975_999_999_999,
        any::<bool>(),
        "\\PC{0,60}",
        "/[a-z/]{0,10}",
    )
        .prop_map(
            |(version, name, issued, expires, persistent, user_data, path)| {
                FormsAuthenticationTicket {
                    version,
                    name,
                    issue_utc_ticks: issued,
                    expiration_utc_ticks: expires,
                    is_persistent: persistent,
                    user_data,
                    cookie_path: path,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn forms_tickets_round_trip_in_every_mode_and_pair(
        ticket in ticket_strategy(),
        index in 0usize..1000,
        seed in any::<u8>(),
    ) {
        let all = pairs();
        let (mode, v, d, len) = all[index % all.len()];
        let keys = keys_for(mode, v, d, len, seed);
        let cookie = forms_ticket::encrypt(&keys, &ticket).unwrap();
        prop_assert_eq!(forms_ticket::decrypt(&keys, &cookie).unwrap(), ticket.clone());
        // Another key never reads it.
        let other = keys_for(mode, v, d, len, seed ^ 0x55);
        prop_assert!(forms_ticket::decrypt(&other, &cookie).is_err());
    }

    #[test]
    fn protect_round_trips_for_any_bytes_and_purposes(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        purposes in proptest::collection::vec("[a-zA-Z.]{1,20}", 0..4),
        index in 0usize..1000,
    ) {
        let fx45: Vec<_> = pairs().into_iter().filter(|p| p.0 == Framework45).collect();
        let (mode, v, d, len) = fx45[index % fx45.len()];
        let keys = keys_for(mode, v, d, len, 7);
        let purpose = Purpose::machine_key_protect(&purposes);
        let protected = framework45::protect(&keys, &purpose, &data).unwrap();
        prop_assert_eq!(framework45::unprotect(&keys, &purpose, &protected).unwrap(), data);
    }
}

/// Flips each bit of `bytes` in turn and asserts `read` rejects every variant.
fn every_flip_rejected(bytes: &[u8], what: &str, read: impl Fn(&[u8]) -> bool) {
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.to_vec();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(!read(&flipped), "{what}: flipping bit {i} was accepted");
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let ticket = FormsAuthenticationTicket {
        version: 1,
        name: "alice".into(),
        issue_utc_ticks: 638_000_000_000_000_000,
        expiration_utc_ticks: 638_000_036_000_000_000,
        is_persistent: false,
        user_data: "42".into(),
        cookie_path: "/".into(),
    };
    let page = Page {
        template_source_directory: Some("/".into()),
        page_type: Some("DEFAULT_ASPX".into()),
        view_state_user_key: Some("session".into()),
        generator: Some(0xCA0B_0334),
    };
    let state = b"\xff\x01\x0f\x0f\x05\x09837428029dd";
    for (mode, v, d, len) in pairs() {
        let keys = keys_for(mode, v, d, len, 3);
        let label = format!("{mode} {} {} {len}", v.name(), d.name());
        let cookie = forms_ticket::encrypt(&keys, &ticket).unwrap();
        every_flip_rejected(
            &from_hex(&cookie).unwrap(),
            &format!("ticket {label}"),
            |b| forms_ticket::decrypt(&keys, &upper_hex(b)).is_ok(),
        );
        for encrypt in [false, true] {
            let value = viewstate::encode(&keys, &page, state, encrypt).unwrap();
            every_flip_rejected(
                &from_base64(&value).unwrap(),
                &format!("viewstate {label} {encrypt}"),
                |b| viewstate::decode(&keys, &page, &to_base64(b)).is_ok(),
            );
        }
        if mode == Framework45 {
            let purpose = Purpose::machine_key_protect(&["a".into()]);
            let protected = framework45::protect(&keys, &purpose, b"payload").unwrap();
            every_flip_rejected(&protected, &format!("protect {label}"), |b| {
                framework45::unprotect(&keys, &purpose, b).is_ok()
            });
        }
    }
}
