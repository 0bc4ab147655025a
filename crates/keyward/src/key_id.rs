//! [`KeyId`]: the GUID that names a key, and its two byte orders.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The id of a key: a GUID, shown lowercase with hyphens (`6417072d-bd2e-4737-8995-fd280fe00251`).
///
/// Payloads carry it in .NET's `Guid.ToByteArray` order (the first three fields
/// little-endian); ordering compares the canonical form, as .NET's `Guid.CompareTo` does.
///
/// ```
/// use keyward::KeyId;
/// let id: KeyId = "{BA73C9CE-D322-4E45-AF90-341307E11C38}".parse().unwrap();
/// assert_eq!(id.to_string(), "ba73c9ce-d322-4e45-af90-341307e11c38");
/// assert_eq!(id.to_guid_bytes()[..4], [0xce, 0xc9, 0x73, 0xba]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Uuid);

impl KeyId {
    /// A new random (version 4) key id from keyward's CSPRNG.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        crate::crypto::rng::fill(&mut bytes);
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The key id from the 16 bytes of a payload (`Guid.ToByteArray` order).
    pub fn from_guid_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes_le(bytes))
    }

    /// The 16 bytes in `Guid.ToByteArray` order, as payloads carry them.
    pub fn to_guid_bytes(&self) -> [u8; 16] {
        self.0.to_bytes_le()
    }

    /// The id as a [`Uuid`].
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for KeyId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0.hyphenated())
    }
}

/// The text was not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a key id (a GUID such as 6417072d-bd2e-4737-8995-fd280fe00251): {0:?}")]
pub struct ParseKeyIdError(String);

impl FromStr for KeyId {
    type Err = ParseKeyIdError;

    /// Parses a GUID case-insensitively, with or without braces (as `XmlConvert.ToGuid`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| ParseKeyIdError(text.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_bytes_round_trip() {
        let id = KeyId::random();
        assert_eq!(KeyId::from_guid_bytes(id.to_guid_bytes()), id);
        assert_eq!(id.as_uuid().get_version_num(), 4);
    }

    #[test]
    fn order_is_canonical_string_order() {
        let mut ids: Vec<KeyId> = (0..50).map(|_| KeyId::random()).collect();
        ids.sort();
        let strings: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut sorted = strings.clone();
        sorted.sort();
        assert_eq!(strings, sorted);
    }

    #[test]
    fn rejects_garbage() {
        assert!("not-a-guid".parse::<KeyId>().is_err());
        assert!("".parse::<KeyId>().is_err());
    }
}

/// A hasher for maps keyed by [`KeyId`]: key ids are random GUIDs read from the key
/// repository (never inserted from a payload), so folding their bytes and multiplying spreads
/// them as well as SipHash does, at a fraction of its cost on every `unprotect`.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyIdHasher(u64);

impl std::hash::Hasher for KeyIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(23) ^ n as u64;
    }

    fn finish(&self) -> u64 {
        // Fibonacci multiplier: high and low bits both depend on every input bit of the fold.
        (self.0 ^ (self.0 >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// A map keyed by [`KeyId`] with [`KeyIdHasher`].
pub(crate) type KeyIdMap<V> =
    std::collections::HashMap<KeyId, V, std::hash::BuildHasherDefault<KeyIdHasher>>;
