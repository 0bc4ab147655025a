//! Hostile tickets and cookies: truncated at every length, every single-bit flip, huge
//! declared lengths and counts, deep actors. Nothing panics, nothing allocates without bound,
//! and errors say what was wrong.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use base64::Engine as _;
use keyward_aspnetcore::{
    parse_cookie_header, ChunkingCookieManager, Error, TicketDataFormat, TicketSerializer,
    MAX_CLAIMS,
};
use proptest::prelude::*;

use common::{auth_cookie_cases, str_of};

fn real_tickets() -> Vec<Vec<u8>> {
    auth_cookie_cases()
        .iter()
        .map(|case| {
            base64::engine::general_purpose::STANDARD
                .decode(str_of(case, "serialized_b64"))
                .unwrap()
        })
        .collect()
}

#[test]
fn every_truncation_is_refused_and_says_where() {
    for bytes in real_tickets() {
        for len in 0..bytes.len() {
            let error = TicketSerializer::deserialize(&bytes[..len]).unwrap_err();
            assert!(
                matches!(error, Error::Truncated { .. }),
                "cut at {len}: {error}"
            );
            assert!(error.to_string().contains("ends early"), "{error}");
        }
    }
}

#[test]
fn every_bit_flip_is_refused_or_reads_without_panic() {
    for bytes in real_tickets() {
        for index in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[index] ^= 1 << bit;
                if let Ok(ticket) = TicketSerializer::deserialize(&flipped) {
                    // A flip inside a value reads as another value: it serializes again.
                    let _ = TicketSerializer::serialize(&ticket);
                }
            }
        }
    }
}

#[test]
fn huge_lengths_and_counts_allocate_nothing() {
    // A scheme declaring 2^31-1 bytes.
    let error =
        TicketSerializer::deserialize(&[5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x07]).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Truncated {
                what: "the authentication scheme",
                ..
            }
        ),
        "{error}"
    );
    // i32::MAX identities, and a claim count above the limit.
    let mut bytes = vec![5, 0, 0, 0, 0];
    bytes.extend_from_slice(&i32::MAX.to_le_bytes());
    assert!(matches!(
        TicketSerializer::deserialize(&bytes),
        Err(Error::TooMany {
            what: "the identity count",
            ..
        })
    ));
    let mut bytes = vec![5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0];
    bytes.extend_from_slice(&(MAX_CLAIMS as i32 + 1).to_le_bytes());
    assert!(matches!(
        TicketSerializer::deserialize(&bytes),
        Err(Error::TooMany {
            what: "a claim count",
            ..
        })
    ));
    // A claim count the remaining bytes cannot hold.
    let mut bytes = vec![5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0];
    bytes.extend_from_slice(&1000i32.to_le_bytes());
    bytes.extend_from_slice(&[0; 100]);
    assert!(matches!(
        TicketSerializer::deserialize(&bytes),
        Err(Error::Truncated {
            what: "a claim count",
            ..
        })
    ));
    // Too large in all.
    let big = vec![0u8; keyward_aspnetcore::MAX_TICKET_BYTES + 1];
    assert!(matches!(
        TicketSerializer::deserialize(&big),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn an_actor_chain_as_long_as_the_input_is_refused_without_recursion_blowup() {
    let mut bytes = vec![5, 0, 0, 0, 0, 1, 0, 0, 0];
    for _ in 0..50_000 {
        bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    }
    assert!(matches!(
        TicketSerializer::deserialize(&bytes),
        Err(Error::ActorTooDeep { .. })
    ));
}

#[test]
fn tampered_cookies_do_not_unprotect() {
    let provider = keyward::Provider::ephemeral("shop").unwrap();
    let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
    for case in auth_cookie_cases() {
        // Another ring: the key is unknown.
        assert!(format.unprotect(str_of(&case, "payload")).is_err());
    }
    for odd in ["", " ", "CfDJ8", "!!!!", "chunks-2", "=", "%"] {
        assert!(format.unprotect(odd).is_err(), "{odd:?}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = TicketSerializer::deserialize(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = vec![5, 0, 0, 0, 7];
        bytes.extend_from_slice(b"Cookies");
        bytes.extend_from_slice(&tail);
        let _ = TicketSerializer::deserialize(&bytes);
    }

    #[test]
    fn arbitrary_cookie_headers_never_panic(header in "\\PC{0,200}", name in "[a-zA-Z.]{0,6}") {
        let pairs = parse_cookie_header(&header);
        let _ = ChunkingCookieManager::new()
            .reassemble(&name, pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    }

    #[test]
    fn chunk_headers_with_noise_never_panic(
        count in "[0-9+ x-]{0,4}",
        chunks in prop::collection::vec(("[0-9]{0,3}", "[a-z]{0,3}"), 0..8),
    ) {
        let mut header = format!("n=chunks-{count}");
        for (index, value) in chunks {
            header.push_str(&format!("; nC{index}={value}"));
        }
        let pairs = parse_cookie_header(&header);
        let _ = ChunkingCookieManager::new()
            .reassemble("n", pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    }
}
