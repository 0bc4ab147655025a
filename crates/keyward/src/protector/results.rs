//! What the unprotect variants that say more than the plaintext return.

use std::fmt;

use crate::key_id::KeyId;

/// What [`Protector::unprotect_allow_revoked`](super::Protector::unprotect_allow_revoked) returns.
#[derive(Clone, PartialEq, Eq)]
pub struct Unprotected {
    /// The plaintext.
    pub data: Vec<u8>,
    /// The payload's key has been revoked.
    pub was_revoked: bool,
    /// The payload was not protected with the current default key (or its key is revoked):
    /// protect the data again.
    pub requires_migration: bool,
}

impl fmt::Debug for Unprotected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unprotected")
            .field("data", &format_args!("[{} bytes]", self.data.len()))
            .field("was_revoked", &self.was_revoked)
            .field("requires_migration", &self.requires_migration)
            .finish()
    }
}

/// What [`Protector::unprotect_with_key`](super::Protector::unprotect_with_key) returns: the plaintext, and which key opened it.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The plaintext.
    pub data: Vec<u8>,
    /// The key the payload was protected with.
    pub key_id: KeyId,
    /// Whether that key is the ring's current default key (if not, a cookie or token may be
    /// protected again so it moves to the current key).
    pub is_default: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("data", &format_args!("[{} bytes]", self.data.len()))
            .field("key_id", &self.key_id)
            .field("is_default", &self.is_default)
            .finish()
    }
}
