//! [`MachineKeys`]: the usable key material of one `<machineKey>` — both keys, both algorithms
//! and the compatibility mode — and which primitive each mode makes of them.

use std::fmt;
use std::str::FromStr;

use keyward::Secret;

use crate::algorithms::{MachineKeyDecryption, MachineKeyValidation};
use crate::encoding::from_hex;
use crate::error::{Error, Result, SettingError, Unrecognized};
use crate::names::unrecognized;
use crate::primitives::{key_fits, HmacAlgorithm};

/// `compatibilityMode`: which crypto the runtime uses for forms tickets and ViewState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompatibilityMode {
    /// `Framework20SP1`: the legacy crypto (§3 of the spec); the runtime default before 4.5.
    Framework20SP1,
    /// `Framework20SP2`: the legacy crypto; differs from SP1 only in the pre-MS11-100 ticket.
    Framework20SP2,
    /// `Framework45`: SP800-108 derived keys and `MachineKey.Protect`-style payloads.
    Framework45,
}

impl CompatibilityMode {
    /// The attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Framework20SP1 => "Framework20SP1",
            Self::Framework20SP2 => "Framework20SP2",
            Self::Framework45 => "Framework45",
        }
    }

    /// Whether this mode uses the legacy (pre-4.5) crypto.
    pub fn is_legacy(self) -> bool {
        self != Self::Framework45
    }
}

impl fmt::Display for CompatibilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CompatibilityMode {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        // The configuration enum converter is case-sensitive.
        match text.trim() {
            "Framework20SP1" => Ok(Self::Framework20SP1),
            "Framework20SP2" => Ok(Self::Framework20SP2),
            "Framework45" => Ok(Self::Framework45),
            other => Err(unrecognized(Unrecognized::CompatibilityMode, other)),
        }
    }
}

/// The legacy "MAC": HMAC, or MD5 over data, key and zeros (not an HMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyMac {
    Hmac(HmacAlgorithm),
    Md5,
}

impl LegacyMac {
    pub(crate) fn len(self) -> usize {
        match self {
            Self::Hmac(algorithm) => algorithm.len(),
            Self::Md5 => 16,
        }
    }
}

/// The keys and algorithms of one `<machineKey>`, ready to use. Keys are [`Secret`]s:
/// zeroized on drop, never printed (`Debug` shows the algorithms only).
///
/// The decryption key may be missing (a MAC-only farm: `decryptionKey` absent or
/// `AutoGenerate`): MAC-only payloads (legacy ViewState without encryption) still validate,
/// and whatever needs the key fails with why it is missing.
pub struct MachineKeys {
    validation: MachineKeyValidation,
    decryption: Option<MachineKeyDecryption>,
    validation_key: Secret,
    /// The decryption key, or why there is none.
    decryption_key: std::result::Result<Secret, MissingKey>,
    mode: CompatibilityMode,
}

impl fmt::Debug for MachineKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineKeys")
            .field("validation", &self.validation)
            .field("decryption", &self.decryption)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl MachineKeys {
    /// Keys from their parts. `decryption: None` is `decryption="Auto"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty key.
    pub fn new(
        validation: MachineKeyValidation,
        validation_key: Secret,
        decryption: Option<MachineKeyDecryption>,
        decryption_key: Secret,
        mode: CompatibilityMode,
    ) -> Result<Self> {
        if validation_key.is_empty() || decryption_key.is_empty() {
            return Err(SettingError::EmptyKeys.into());
        }
        Ok(Self {
            validation,
            decryption,
            validation_key,
            decryption_key: Ok(decryption_key),
            mode,
        })
    }

    /// Keys for MAC-only payloads: a validation key and no decryption key (legacy ViewState
    /// that is validated, not encrypted). Anything that needs the decryption key fails with
    /// [`Error::InvalidArgument`] saying it is missing ([`SettingError::NoDecryptionKey`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty key.
    pub fn mac_only(
        validation: MachineKeyValidation,
        validation_key: Secret,
        mode: CompatibilityMode,
    ) -> Result<Self> {
        Self::without_decryption_key(validation, validation_key, None, MissingKey::NotGiven, mode)
    }

    /// Keys without a decryption key; `missing` is the error whatever needs it returns.
    pub(crate) fn without_decryption_key(
        validation: MachineKeyValidation,
        validation_key: Secret,
        decryption: Option<MachineKeyDecryption>,
        missing: MissingKey,
        mode: CompatibilityMode,
    ) -> Result<Self> {
        if validation_key.is_empty() {
            return Err(SettingError::EmptyValidationKey.into());
        }
        Ok(Self {
            validation,
            decryption,
            validation_key,
            decryption_key: Err(missing),
            mode,
        })
    }

    /// Keys from `web.config` spellings: algorithm names (`decryption` may be `Auto`) and hex
    /// keys.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown name or a key that is not hex.
    pub fn from_hex(
        validation: &str,
        validation_key: &str,
        decryption: &str,
        decryption_key: &str,
        mode: CompatibilityMode,
    ) -> Result<Self> {
        let hex = |attribute: &'static str, text: &str| {
            from_hex(text.trim())
                .map(Secret::new)
                .ok_or(SettingError::NotHex { attribute })
        };
        Self::new(
            validation.parse()?,
            hex("validationKey", validation_key)?,
            parse_decryption(decryption)?,
            hex("decryptionKey", decryption_key)?,
            mode,
        )
    }

    /// The same keys in another compatibility mode.
    pub fn with_mode(mut self, mode: CompatibilityMode) -> Self {
        self.mode = mode;
        self
    }

    /// The compatibility mode.
    pub fn mode(&self) -> CompatibilityMode {
        self.mode
    }

    /// The validation algorithm.
    pub fn validation(&self) -> MachineKeyValidation {
        self.validation
    }

    /// The decryption algorithm (`None`: `Auto`).
    pub fn decryption(&self) -> Option<MachineKeyDecryption> {
        self.decryption
    }

    pub(crate) fn validation_key(&self) -> &[u8] {
        self.validation_key.expose()
    }

    /// The decryption key, or why there is none.
    pub(crate) fn decryption_key(&self) -> Result<&[u8]> {
        match &self.decryption_key {
            Ok(key) => Ok(key.expose()),
            Err(missing) => Err(missing.error()),
        }
    }

    /// Framework45's MAC: `SHA1` means HMAC-SHA1; MD5, 3DES and AES are configuration errors.
    pub(crate) fn fx45_mac(&self) -> Result<HmacAlgorithm> {
        match self.validation {
            MachineKeyValidation::Sha1 => Ok(HmacAlgorithm::Sha1),
            MachineKeyValidation::HmacSha256 => Ok(HmacAlgorithm::Sha256),
            MachineKeyValidation::HmacSha384 => Ok(HmacAlgorithm::Sha384),
            MachineKeyValidation::HmacSha512 => Ok(HmacAlgorithm::Sha512),
            other => Err(SettingError::RefusedByFramework45(other).into()),
        }
    }

    /// Framework45's cipher: `Auto` is AES; the master key must fit it exactly.
    pub(crate) fn fx45_cipher(&self) -> Result<MachineKeyDecryption> {
        let cipher = self.decryption.unwrap_or(MachineKeyDecryption::Aes);
        let key_len = self.decryption_key()?.len();
        if !key_fits(cipher, key_len) {
            return Err(SettingError::DerivedKeySize { cipher, key_len }.into());
        }
        Ok(cipher)
    }

    /// The legacy MAC (`HashData`): SHA1, AES and 3DES validation mean HMAC-SHA1.
    pub(crate) fn legacy_mac(&self) -> LegacyMac {
        match self.validation {
            MachineKeyValidation::Md5 => LegacyMac::Md5,
            MachineKeyValidation::Sha1
            | MachineKeyValidation::Aes
            | MachineKeyValidation::TripleDes => LegacyMac::Hmac(HmacAlgorithm::Sha1),
            MachineKeyValidation::HmacSha256 => LegacyMac::Hmac(HmacAlgorithm::Sha256),
            MachineKeyValidation::HmacSha384 => LegacyMac::Hmac(HmacAlgorithm::Sha384),
            MachineKeyValidation::HmacSha512 => LegacyMac::Hmac(HmacAlgorithm::Sha512),
        }
    }

    /// The legacy cipher and the part of the decryption key it uses: `Auto` is DES for an
    /// 8-byte key, else AES; DES uses the first 8 bytes of a longer key.
    pub(crate) fn legacy_cipher(&self) -> Result<(MachineKeyDecryption, &[u8])> {
        let key = self.decryption_key()?;
        let cipher = match self.decryption {
            Some(cipher) => cipher,
            None if key.len() == 8 => MachineKeyDecryption::Des,
            None => MachineKeyDecryption::Aes,
        };
        self.legacy_keyed(cipher, key)
    }

    /// The cipher of `validation="AES"|"3DES"` (ViewState encrypted with the "validation
    /// symmetric algorithm"): AES, or 3DES (DES for an 8-byte key), keyed with the decryption
    /// key. `None` for the other validation algorithms.
    pub(crate) fn legacy_validation_cipher(&self) -> Option<Result<(MachineKeyDecryption, &[u8])>> {
        if !matches!(
            self.validation,
            MachineKeyValidation::Aes | MachineKeyValidation::TripleDes
        ) {
            return None;
        }
        let key = match self.decryption_key() {
            Ok(key) => key,
            Err(missing) => return Some(Err(missing)),
        };
        let cipher = match self.validation {
            MachineKeyValidation::TripleDes if key.len() == 8 => MachineKeyDecryption::Des,
            MachineKeyValidation::TripleDes => MachineKeyDecryption::TripleDes,
            _ => MachineKeyDecryption::Aes,
        };
        Some(self.legacy_keyed(cipher, key))
    }

    fn legacy_keyed<'k>(
        &self,
        cipher: MachineKeyDecryption,
        key: &'k [u8],
    ) -> Result<(MachineKeyDecryption, &'k [u8])> {
        let key = match (cipher, key.get(..8)) {
            (MachineKeyDecryption::Des, Some(first)) => first,
            _ => key,
        };
        if key_fits(cipher, key.len()) {
            Ok((cipher, key))
        } else {
            Err(SettingError::KeySize {
                cipher,
                key_len: key.len(),
            }
            .into())
        }
    }
}

/// Why keys have no decryption key: what whatever needs it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingKey {
    /// `decryptionKey` is absent or `AutoGenerate` (these flags): [`Error::RegistryKey`].
    AutoGenerate(&'static str),
    /// The keys were made without one: [`SettingError::NoDecryptionKey`].
    NotGiven,
}

impl MissingKey {
    /// The error whatever needs the key returns.
    fn error(self) -> Error {
        match self {
            Self::AutoGenerate(value) => Error::RegistryKey {
                attribute: "decryptionKey",
                value,
            },
            Self::NotGiven => SettingError::NoDecryptionKey.into(),
        }
    }
}

/// A `decryption` value: `Auto` is `None`.
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown name.
pub fn parse_decryption(text: &str) -> Result<Option<MachineKeyDecryption>> {
    if text.trim() == "Auto" {
        Ok(None)
    } else {
        text.parse().map(Some)
    }
}
