//! Reading the algorithm and framework names of `web.config` text (`FromStr`), with the
//! error that names what was not recognised.

use std::str::FromStr;

use crate::algorithms::{Framework, MachineKeyDecryption, MachineKeyValidation};
use crate::error::{Error, Result, SettingError, Unrecognized};

impl FromStr for Framework {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "1.1" => Ok(Self::V1_1),
            "2.0" | "3.0" | "3.5" => Ok(Self::V2_0),
            "4.0" => Ok(Self::V4_0),
            "4.5" | "4.5.1" | "4.5.2" | "4.6" | "4.6.1" | "4.6.2" | "4.7" | "4.7.1" | "4.7.2"
            | "4.8" | "4.8.1" => Ok(Self::V4_5),
            other => Err(unrecognized(Unrecognized::Framework, other)),
        }
    }
}

impl FromStr for MachineKeyValidation {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let all = [
            Self::Sha1,
            Self::Md5,
            Self::TripleDes,
            Self::Aes,
            Self::HmacSha256,
            Self::HmacSha384,
            Self::HmacSha512,
        ];
        all.into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| unrecognized(Unrecognized::Validation, text))
    }
}

impl FromStr for MachineKeyDecryption {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        [Self::Aes, Self::TripleDes, Self::Des]
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| unrecognized(Unrecognized::Decryption, text))
    }
}

/// [`SettingError::Unrecognized`] for `value` given as `kind`.
pub(crate) fn unrecognized(kind: Unrecognized, value: &str) -> Error {
    SettingError::Unrecognized {
        kind,
        value: value.to_owned(),
    }
    .into()
}
