//! The algorithm and framework names `<machineKey>` uses, as `web.config` spells them.

use std::fmt;

/// The .NET Framework generation whose `web.config` the element is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framework {
    /// ASP.NET 1.1 (no `decryption` attribute: the key length picks DES or 3DES).
    V1_1,
    /// ASP.NET 2.0 / 3.5.
    V2_0,
    /// ASP.NET 4.0 (and 4.5+ apps that must interoperate with 4.0 and 2.0 servers).
    V4_0,
    /// ASP.NET 4.5 and later (`compatibilityMode="Framework45"`).
    V4_5,
}

impl Framework {
    /// All generations.
    pub const ALL: [Framework; 4] = [Self::V1_1, Self::V2_0, Self::V4_0, Self::V4_5];

    /// The validation algorithms this generation accepts.
    pub fn validations(self) -> &'static [MachineKeyValidation] {
        use MachineKeyValidation::*;
        match self {
            Self::V1_1 => &[Sha1, Md5, TripleDes],
            Self::V2_0 => &[Sha1, Md5, TripleDes, Aes],
            Self::V4_0 => &[
                Sha1, Md5, TripleDes, Aes, HmacSha256, HmacSha384, HmacSha512,
            ],
            Self::V4_5 => &[Sha1, HmacSha256, HmacSha384, HmacSha512],
        }
    }

    /// The decryption algorithms this generation accepts.
    pub fn decryptions(self) -> &'static [MachineKeyDecryption] {
        use MachineKeyDecryption::*;
        match self {
            Self::V1_1 => &[TripleDes, Des],
            _ => &[Aes, TripleDes, Des],
        }
    }

    pub(crate) fn default_validation(self) -> MachineKeyValidation {
        match self {
            Self::V1_1 | Self::V2_0 => MachineKeyValidation::Sha1,
            Self::V4_0 | Self::V4_5 => MachineKeyValidation::HmacSha256,
        }
    }

    pub(crate) fn default_decryption(self) -> MachineKeyDecryption {
        match self {
            Self::V1_1 => MachineKeyDecryption::TripleDes,
            _ => MachineKeyDecryption::Aes,
        }
    }

    /// The `compatibilityMode` written for this generation, if any.
    pub fn compatibility_mode(self) -> Option<&'static str> {
        match self {
            Self::V1_1 | Self::V2_0 => None,
            Self::V4_0 => Some("Framework20SP2"),
            Self::V4_5 => Some("Framework45"),
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V1_1 => "1.1",
            Self::V2_0 => "2.0",
            Self::V4_0 => "4.0",
            Self::V4_5 => "4.5",
        })
    }
}

/// A `validation` attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MachineKeyValidation {
    /// `SHA1` (HMAC-SHA1).
    Sha1,
    /// `MD5`.
    Md5,
    /// `3DES` (legacy: HMAC-SHA1 plus 3DES encryption of ViewState).
    TripleDes,
    /// `AES` (legacy: HMAC-SHA1 plus AES encryption of ViewState).
    Aes,
    /// `HMACSHA256`.
    HmacSha256,
    /// `HMACSHA384`.
    HmacSha384,
    /// `HMACSHA512`.
    HmacSha512,
}

impl MachineKeyValidation {
    /// The attribute value, exactly as `web.config` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Md5 => "MD5",
            Self::TripleDes => "3DES",
            Self::Aes => "AES",
            Self::HmacSha256 => "HMACSHA256",
            Self::HmacSha384 => "HMACSHA384",
            Self::HmacSha512 => "HMACSHA512",
        }
    }

    /// The validation key length in bytes: 128 for HMACSHA384/512, else 64.
    pub fn key_len(self) -> usize {
        match self {
            Self::HmacSha384 | Self::HmacSha512 => 128,
            _ => 64,
        }
    }
}

/// A `decryption` attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MachineKeyDecryption {
    /// `AES` with a 32-byte key.
    Aes,
    /// `3DES` with a 24-byte key.
    TripleDes,
    /// `DES` with an 8-byte key (weak; only for old servers).
    Des,
}

impl MachineKeyDecryption {
    /// The attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes => "AES",
            Self::TripleDes => "3DES",
            Self::Des => "DES",
        }
    }

    /// The decryption key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes => 32,
            Self::TripleDes => 24,
            Self::Des => 8,
        }
    }
}
