//! # keyward
//!
//! Data protection for web applications and web farms, byte-compatible with ASP.NET Core
//! Data Protection: the same payloads, the same key XML, so Rust and .NET servers pointed at
//! one key ring read each other's cookies and tokens.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! use keyward::Provider;
//!
//! let provider = Provider::builder()
//!     .application_name("shop")            // .NET: SetApplicationName("shop")
//!     .key_directory(dir.path().join("keys")) // .NET: PersistKeysToFileSystem(...)
//!     .build()?;
//! let protector = provider.protector(["Orders", "v1"]);
//! let payload = protector.protect(b"order 42")?;
//! assert_eq!(protector.unprotect(&payload)?, b"order 42");
//!
//! // Another purpose chain cannot read it.
//! let other = provider.protector(["Invoices"]);
//! assert!(matches!(other.unprotect(&payload), Err(keyward::Error::InvalidPayload)));
//! # Ok::<(), keyward::Error>(())
//! ```
//!
//! The pieces: a [`Provider`] owns a key ring read from a [`KeyRepository`] (a directory by
//! default); [`Protector`]s protect under a purpose chain; keys are [`KeyInfo`] to the outside
//! and their master keys live in [`Secret`]s, which are wiped on drop and never printed.

// One audited exception: registering the `fork` handler (crypto/fork.rs).
#![deny(unsafe_code)]

pub mod at_rest;
mod builder;
mod clock;
mod crypto;
mod date;
pub mod discriminator;
mod element_tree;
pub mod encoding;
pub mod error;
mod key;
mod key_id;
mod live_ring;
pub mod metrics;
pub mod payload;
mod policy;
mod process;
mod protector;
mod provider;
mod purpose;
mod refresh;
mod repository;
pub mod schedule;
mod secret;
mod subkeys;
mod time_limited;

pub use builder::ProviderBuilder;
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use crypto::{AesKeySize, Algorithm, ValidationAlgorithm};
pub use error::{error_chain, Error, MalformedReason, Result};
pub use key::xml::{DATA_PROTECTION_NAMESPACE, DEFAULT_DESERIALIZER_TYPE};
pub use key::{
    AtRestProtection, KeyId, KeyInfo, KeySignature, KeyStatus, ParseKeyIdError, UnreadableKey,
};
pub use policy::KeyManagementPolicy;
pub use protector::{Opened, Protector, Unprotected};
pub use provider::admin::Deletion;
pub use provider::export::{RingExport, RingImport};
pub use provider::janitor::{Ensured, PlannedKey};
pub use provider::revocation;
pub use provider::rewrap::Rewrap;
pub use provider::{KeyLookup, Provider, DEFAULT_KEY_LIFETIME, MIN_KEY_LIFETIME};
pub use purpose::additional_authenticated_data;
pub use repository::{FileSystemRepository, KeyRepository, MemoryRepository};
pub use secret::Secret;
pub use subkeys::SubkeyReuse;
pub use time;
pub use time_limited::{
    from_ticks, max_expiration, to_ticks, TimeLimitedProtector, TIME_LIMITED_PURPOSE,
};

/// What a key store implements, and what helps it: the API for store authors (the Redis and
/// PostgreSQL crates are written against it). Applications need only the crate root.
///
/// A store keeps XML documents ([`StoredElement`](store::StoredElement)), hands out an
/// exclusive lock for key generation ([`GenerationLock`](store::GenerationLock)), and may push
/// change notifications ([`spawn_watcher`](store::spawn_watcher)).
pub mod store {
    pub use crate::element_tree::{parse_element, XmlElement, XmlNode, MAX_DOCUMENT_BYTES};
    pub use crate::key::KeyDocument;
    pub use crate::repository::{
        retry_pause, spawn_watcher, ChangeCallback, ElementHandle, FileSystemRepository,
        GenerationLock, KeyRepository, MemoryRepository, Notification, ProcessOwner,
        ReadOnlyFileSystemRepository, StoredElement,
    };
}

/// Low-level pieces exposed for known-answer tests and interoperability checks. Not part of
/// the stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::crypto::testing::*;
    pub use crate::key::xml::testing::{descriptor_xml, read_default_descriptor};

    /// The 7-bit length prefix of the purpose AAD (`encoding::varint_len`), for its
    /// known-answer test.
    pub fn varint_len(value: u32) -> usize {
        crate::encoding::varint_len(value)
    }

    /// Appends the 7-bit length prefix of the purpose AAD (`encoding::write_varint`).
    pub fn write_varint(out: &mut Vec<u8>, value: u32) {
        crate::encoding::write_varint(out, value);
    }
    pub use crate::key::{resolve_default_key, Resolution, ResolverPolicy};
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
