//! The authenticated-encryption algorithms a key can use, with the names key XML gives them.

use std::fmt;

/// An AES key size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AesKeySize {
    /// AES-128 (16-byte key).
    Aes128,
    /// AES-192 (24-byte key).
    Aes192,
    /// AES-256 (32-byte key).
    Aes256,
}

impl AesKeySize {
    /// The key length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    /// The key size for a key length in bits, if AES has one.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            128 => Some(Self::Aes128),
            192 => Some(Self::Aes192),
            256 => Some(Self::Aes256),
            _ => None,
        }
    }
}

/// The HMAC that authenticates CBC payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationAlgorithm {
    /// HMAC-SHA256 (the .NET default).
    HmacSha256,
    /// HMAC-SHA512.
    HmacSha512,
}

impl ValidationAlgorithm {
    /// The digest (and HMAC subkey) length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha512 => 64,
        }
    }

    /// The name key XML uses (`HMACSHA256`, `HMACSHA512`).
    pub fn xml_name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMACSHA256",
            Self::HmacSha512 => "HMACSHA512",
        }
    }

    /// Parses a key-XML name, case-sensitively as .NET's `Enum.Parse` does.
    pub fn from_xml_name(name: &str) -> Option<Self> {
        match name {
            "HMACSHA256" => Some(Self::HmacSha256),
            "HMACSHA512" => Some(Self::HmacSha512),
            _ => None,
        }
    }
}

/// The algorithm of a key: AES-CBC with an HMAC, or AES-GCM.
///
/// ```
/// use keyward::Algorithm;
/// assert_eq!(Algorithm::default(), Algorithm::AES_256_CBC_HMACSHA256);
/// assert_eq!(Algorithm::AES_256_GCM.to_string(), "AES_256_GCM");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// AES-CBC with PKCS#7 padding, authenticated by an HMAC over IV and ciphertext.
    Cbc {
        /// The AES key size.
        key_size: AesKeySize,
        /// The HMAC.
        validation: ValidationAlgorithm,
    },
    /// AES-GCM with a 96-bit nonce and a 128-bit tag.
    Gcm {
        /// The AES key size.
        key_size: AesKeySize,
    },
}

impl Default for Algorithm {
    fn default() -> Self {
        Self::AES_256_CBC_HMACSHA256
    }
}

impl Algorithm {
    /// AES-256-CBC + HMACSHA256, the .NET default.
    pub const AES_256_CBC_HMACSHA256: Self = Self::Cbc {
        key_size: AesKeySize::Aes256,
        validation: ValidationAlgorithm::HmacSha256,
    };
    /// AES-256-GCM.
    pub const AES_256_GCM: Self = Self::Gcm {
        key_size: AesKeySize::Aes256,
    };

    /// The AES key size.
    pub fn key_size(self) -> AesKeySize {
        match self {
            Self::Cbc { key_size, .. } | Self::Gcm { key_size } => key_size,
        }
    }

    /// Where the parts of a payload body lie under this algorithm (key modifier, IV or nonce,
    /// ciphertext, tag).
    pub fn body_layout(self) -> crate::payload::BodyLayout {
        use crate::payload::{BodyLayout, KEY_MODIFIER_LEN};
        match self.validation() {
            Some(validation) => BodyLayout {
                key_modifier_len: KEY_MODIFIER_LEN,
                iv_len: 16,
                tag_len: validation.digest_len(),
                block_len: Some(16),
            },
            None => BodyLayout {
                key_modifier_len: KEY_MODIFIER_LEN,
                iv_len: 12,
                tag_len: 16,
                block_len: None,
            },
        }
    }

    /// The validation algorithm, for CBC.
    pub fn validation(self) -> Option<ValidationAlgorithm> {
        match self {
            Self::Cbc { validation, .. } => Some(validation),
            Self::Gcm { .. } => None,
        }
    }

    /// The `<encryption algorithm="…">` name: `AES_256_CBC`, `AES_128_GCM`, …
    pub fn encryption_xml_name(self) -> &'static str {
        match self {
            Self::Cbc { key_size, .. } => match key_size {
                AesKeySize::Aes128 => "AES_128_CBC",
                AesKeySize::Aes192 => "AES_192_CBC",
                AesKeySize::Aes256 => "AES_256_CBC",
            },
            Self::Gcm { key_size } => match key_size {
                AesKeySize::Aes128 => "AES_128_GCM",
                AesKeySize::Aes192 => "AES_192_GCM",
                AesKeySize::Aes256 => "AES_256_GCM",
            },
        }
    }

    /// Builds the algorithm from the default descriptor's names. `validation` is ignored for
    /// GCM (as .NET ignores it) and required for CBC.
    pub fn from_xml_names(encryption: &str, validation: Option<&str>) -> Option<Self> {
        let (key_size, gcm) = match encryption {
            "AES_128_CBC" => (AesKeySize::Aes128, false),
            "AES_192_CBC" => (AesKeySize::Aes192, false),
            "AES_256_CBC" => (AesKeySize::Aes256, false),
            "AES_128_GCM" => (AesKeySize::Aes128, true),
            "AES_192_GCM" => (AesKeySize::Aes192, true),
            "AES_256_GCM" => (AesKeySize::Aes256, true),
            _ => return None,
        };
        if gcm {
            return Some(Self::Gcm { key_size });
        }
        let validation = ValidationAlgorithm::from_xml_name(validation?)?;
        Some(Self::Cbc {
            key_size,
            validation,
        })
    }

    /// The number of subkey bytes the KDF derives per payload.
    pub(crate) fn subkey_len(self) -> usize {
        self.key_size().bytes() + self.validation().map_or(0, ValidationAlgorithm::digest_len)
    }

    /// An index unique to each algorithm (for per-algorithm caches).
    pub(crate) fn index(self) -> usize {
        let size = match self.key_size() {
            AesKeySize::Aes128 => 0,
            AesKeySize::Aes192 => 1,
            AesKeySize::Aes256 => 2,
        };
        let mode = match self.validation() {
            Some(ValidationAlgorithm::HmacSha256) => 0,
            Some(ValidationAlgorithm::HmacSha512) => 1,
            None => 2,
        };
        mode * 3 + size
    }

    /// How many distinct algorithms there are (the range of [`Algorithm::index`]).
    pub(crate) const COUNT: usize = 9;
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.validation() {
            Some(validation) => write!(
                f,
                "{}/{}",
                self.encryption_xml_name(),
                validation.xml_name()
            ),
            None => f.write_str(self.encryption_xml_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_names_round_trip_and_indices_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for enc in [
            "AES_128_CBC",
            "AES_192_CBC",
            "AES_256_CBC",
            "AES_128_GCM",
            "AES_192_GCM",
            "AES_256_GCM",
        ] {
            for val in ["HMACSHA256", "HMACSHA512"] {
                let alg = Algorithm::from_xml_names(enc, Some(val)).unwrap();
                assert_eq!(alg.encryption_xml_name(), enc);
                assert!(alg.index() < Algorithm::COUNT);
                seen.insert(alg.index());
            }
        }
        assert_eq!(seen.len(), Algorithm::COUNT);
        assert_eq!(Algorithm::from_xml_names("AES_256_CBC", None), None);
        assert_eq!(
            Algorithm::from_xml_names("aes_256_cbc", Some("HMACSHA256")),
            None
        );
    }
}
