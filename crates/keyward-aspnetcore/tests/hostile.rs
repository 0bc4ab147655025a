//! Hostile tickets and cookies: truncated at every length, every single-bit flip, huge
//! declared lengths and counts, deep actors. Nothing panics, nothing allocates without bound,
//! and errors say what was wrong.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
#![allow(unsafe_code)] // A capping global allocator cannot be written without it.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use base64::Engine as _;
use keyward_aspnetcore::{
    ChunkingCookieManager, CookieHeader, TicketDataFormat, TicketError, TicketSerializer,
    MAX_CLAIMS,
};
use proptest::prelude::*;

use common::{auth_cookie_cases, str_of};

/// Forwards to the system allocator, but on a thread inside [`with_allocation_cap`] refuses
/// (returns null, so the process aborts with "memory allocation failed") once the bytes
/// allocated there pass the cap: a regression fails fast instead of exhausting the machine.
struct Capping;

thread_local! {
    /// Bytes this thread may still allocate (`usize::MAX`: no cap).
    static ALLOWANCE: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Bytes this thread allocated (never decreases: frees are not refunded).
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn charge(size: usize) -> bool {
    ALLOCATED
        .try_with(|n| n.set(n.get().saturating_add(size)))
        .ok();
    ALLOWANCE
        .try_with(|left| match left.get().checked_sub(size) {
            Some(rest) => {
                left.set(rest);
                true
            }
            None => false,
        })
        .unwrap_or(true)
}

// SAFETY: every call is forwarded to the system allocator unchanged, or refused with null
// (which `GlobalAlloc` allows); the counters are const-initialised thread-local `Cell`s,
// which never allocate.
unsafe impl GlobalAlloc for Capping {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !charge(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !charge(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Capping = Capping;

/// Runs `f` allowed at most `cap` bytes of allocation on this thread; returns its result and
/// the bytes it allocated.
fn with_allocation_cap<T>(cap: usize, f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    ALLOWANCE.with(|left| left.set(cap));
    let out = f();
    ALLOWANCE.with(|left| left.set(usize::MAX));
    (out, ALLOCATED.with(Cell::get) - before)
}

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
                matches!(error, TicketError::Truncated { .. }),
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
            TicketError::Truncated {
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
        Err(TicketError::TooMany {
            what: "the identity count",
            ..
        })
    ));
    let mut bytes = vec![5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0];
    bytes.extend_from_slice(&(MAX_CLAIMS as i32 + 1).to_le_bytes());
    assert!(matches!(
        TicketSerializer::deserialize(&bytes),
        Err(TicketError::TooMany {
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
        Err(TicketError::Truncated {
            what: "a claim count",
            ..
        })
    ));
    // Too large in all.
    let big = vec![0u8; keyward_aspnetcore::MAX_TICKET_BYTES + 1];
    assert!(matches!(
        TicketSerializer::deserialize(&big),
        Err(TicketError::TooLarge { .. })
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
        Err(TicketError::ActorTooDeep { .. })
    ));
}

/// The amplification of the security review: a 512 KiB name claim type, then as many claims
/// as fit under `MAX_TICKET_BYTES` whose type is `"\0"` ("the identity's name type") and
/// whose other fields are empty or defaults. Each claim is 13 bytes of input; copying the
/// name type into every one would allocate ~20 GB.
#[test]
fn defaults_copied_past_the_allocation_budget_are_refused() {
    const NAME_TYPE_BYTES: usize = 512 << 10;
    const CLAIM: [u8; 13] = [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0];
    let mut bytes = vec![5, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0x80, 0x80, 0x20]); // 7-bit encoded 524288
    bytes.resize(bytes.len() + NAME_TYPE_BYTES, b'n');
    bytes.extend_from_slice(&[1, 0]); // the role type: the default
    let tail = 2 + 8; // two flags, then the properties' version and count
    let claims = (keyward_aspnetcore::MAX_TICKET_BYTES - bytes.len() - 4 - tail) / CLAIM.len();
    assert!(claims > 40_000 && claims <= MAX_CLAIMS, "{claims}");
    bytes.extend_from_slice(&(claims as i32).to_le_bytes());
    for _ in 0..claims {
        bytes.extend_from_slice(&CLAIM);
    }
    bytes.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert!(bytes.len() <= keyward_aspnetcore::MAX_TICKET_BYTES);

    let started = std::time::Instant::now();
    let (result, allocated) =
        with_allocation_cap(256 << 20, || TicketSerializer::deserialize(&bytes));
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            TicketError::AllocationBudget {
                what: "a claim type",
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("a claim type") && message.contains("allocation budget"),
        "{message}"
    );
    assert!(allocated < 64 << 20, "{allocated} bytes allocated");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// 65,535 properties (distinct keys, the most a .NET dictionary in a cookie-sized ticket
/// holds in practice) read in linear time: each insertion used to scan the order list, and
/// such a ticket took 11.6 s to read. Insertion order and the exact bytes survive.
#[test]
fn a_ticket_with_65535_properties_reads_in_linear_time() {
    const COUNT: usize = 65_535;
    let mut properties = keyward_aspnetcore::AuthenticationProperties::new();
    // Keys in an order that is not sorted, so the insertion order is visible.
    for i in 0..COUNT {
        properties.insert(format!("k{:05}", (i * 7919) % COUNT), "");
    }
    assert_eq!(properties.len(), COUNT);
    let ticket = keyward_aspnetcore::AuthenticationTicket::new(
        "Cookies",
        keyward_aspnetcore::ClaimsPrincipal::new(keyward_aspnetcore::ClaimsIdentity::new(
            "Cookies",
        )),
        properties,
    );
    let bytes = TicketSerializer::serialize(&ticket).unwrap();

    let started = std::time::Instant::now();
    let read = TicketSerializer::deserialize(&bytes).unwrap();
    let elapsed = started.elapsed();
    eprintln!("{COUNT} properties read in {elapsed:?}");
    // The target is < 50 ms in release; debug builds on a loaded machine get room.
    assert!(
        elapsed < std::time::Duration::from_secs(2),
        "{COUNT} properties took {elapsed:?} to read"
    );
    assert_eq!(read, ticket);
    let keys: Vec<&str> = read.properties.iter().map(|(k, _)| k).take(3).collect();
    assert_eq!(keys, ["k00000", "k07919", "k15838"]);
    assert_eq!(TicketSerializer::serialize(&read).unwrap(), bytes);
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
        let pairs = CookieHeader::parse(&header).unwrap();
        let _ = ChunkingCookieManager::new().reassemble(&name, pairs.iter());
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
        let pairs = CookieHeader::parse(&header).unwrap();
        let _ = ChunkingCookieManager::new().reassemble("n", pairs.iter());
    }
}

/// Found by the `ticket_serializer` fuzz target: a ticket that reads must serialize to bytes
/// that read back to the same ticket.
#[test]
fn fuzz_found_ticket_round_trips() {
    let input: &[u8] = &[
        5, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 5, 0, 0, 1, 0,
        1, 0, 0, 0, 0, 197, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    ];
    let ticket = keyward_aspnetcore::TicketSerializer::deserialize(input).unwrap();
    let bytes = keyward_aspnetcore::TicketSerializer::serialize(&ticket).unwrap();
    let again = keyward_aspnetcore::TicketSerializer::deserialize(&bytes).unwrap();
    assert_eq!(
        format!("{again:#?}"),
        format!("{ticket:#?}"),
        "{input:?}\n{bytes:?}"
    );
}
