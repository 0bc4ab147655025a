//! How an unprotect call reads its payload and where the plaintext goes (a new vector, the
//! caller's buffer, or the payload itself), and what it reports besides.

use crate::crypto::Subkeys;
use crate::error::Result;
use crate::key_id::KeyId;
use crate::payload::HEADER_LEN;

/// Where an unprotect call reads its payload and puts the plaintext.
pub(super) enum Opening<'a> {
    /// A payload read where it lies; the plaintext appended to `out`.
    Append {
        payload: &'a [u8],
        out: &'a mut Vec<u8>,
    },
    /// A payload decrypted where it lies.
    InPlace(&'a mut [u8]),
}

impl<'a> Opening<'a> {
    pub(super) fn append(payload: &'a [u8], out: &'a mut Vec<u8>) -> Self {
        Self::Append { payload, out }
    }

    pub(super) fn payload(&self) -> &[u8] {
        match self {
            Self::Append { payload, .. } => payload,
            Self::InPlace(payload) => payload,
        }
    }

    /// Authenticates and decrypts the payload's body with `subkeys`; returns where the
    /// plaintext lies (in `out`, or in the payload).
    pub(super) fn open(self, subkeys: &Subkeys) -> Result<std::ops::Range<usize>> {
        match self {
            Self::Append { payload, out } => {
                let start = out.len();
                subkeys.decrypt_body_into(&payload[HEADER_LEN..], out)?;
                Ok(start..out.len())
            }
            Self::InPlace(payload) => subkeys
                .decrypt_body_in_place(&mut payload[HEADER_LEN..])
                .map(|r| r.start + HEADER_LEN..r.end + HEADER_LEN),
        }
    }
}

/// What an unprotect call found besides the plaintext.
pub(super) struct OpenedAt {
    /// Where the plaintext lies (see [`Opening::open`]).
    pub(super) plaintext: std::ops::Range<usize>,
    pub(super) key_id: KeyId,
    pub(super) was_revoked: bool,
    pub(super) requires_migration: bool,
}

/// What an unprotect call wants to know besides the plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The plaintext only (revoked keys refused).
    Plain,
    /// Revoked keys opened too, and whether the key is the current default.
    AllowRevoked,
    /// Revoked keys refused; which key, and whether it is the current default.
    ReportKey,
}
