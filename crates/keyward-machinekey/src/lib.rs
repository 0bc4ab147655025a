//! Classic ASP.NET `<machineKey>` elements for web farms: explicit keys from the OS-seeded
//! CSPRNG, as uppercase hex, with the lengths and algorithm names each framework accepts —
//! never `AutoGenerate` or `IsolateApps`, which differ per server and break farms.
//!
//! The rules are those of `../shared/spec/legacy-machinekey.md` §1. This is a different
//! product from keyward's Data Protection core, so it lives in its own crate (the classic
//! machineKey payloads build on it).

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use keyward::Secret;

/// The one error type of this crate: an argument the classic framework does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A framework, validation or decryption name (or their combination) that classic
    /// ASP.NET does not accept; the message says which and what is accepted.
    #[error("invalid machineKey setting: {0}")]
    InvalidArgument(String),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

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

    fn default_validation(self) -> MachineKeyValidation {
        match self {
            Self::V1_1 | Self::V2_0 => MachineKeyValidation::Sha1,
            Self::V4_0 | Self::V4_5 => MachineKeyValidation::HmacSha256,
        }
    }

    fn default_decryption(self) -> MachineKeyDecryption {
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

impl FromStr for Framework {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "1.1" => Ok(Self::V1_1),
            "2.0" | "3.0" | "3.5" => Ok(Self::V2_0),
            "4.0" => Ok(Self::V4_0),
            "4.5" | "4.5.1" | "4.5.2" | "4.6" | "4.6.1" | "4.6.2" | "4.7" | "4.7.1" | "4.7.2"
            | "4.8" | "4.8.1" => Ok(Self::V4_5),
            other => Err(Error::InvalidArgument(format!(
                "unknown framework {other:?}: use 1.1, 2.0, 4.0 or 4.5"
            ))),
        }
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
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown validation algorithm {text:?}: use SHA1, MD5, 3DES, AES, HMACSHA256, HMACSHA384 or HMACSHA512"
                ))
            })
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

impl FromStr for MachineKeyDecryption {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        [Self::Aes, Self::TripleDes, Self::Des]
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown decryption algorithm {text:?}: use AES, 3DES or DES (Auto is not generated: name the algorithm)"
                ))
            })
    }
}

/// A generated `<machineKey>`. `Debug` never shows the keys.
///
/// ```
/// use keyward_machinekey::{Framework, MachineKey};
/// let key = MachineKey::generate(Framework::V4_5, None, None).unwrap();
/// let element = key.element();
/// assert!(element.starts_with("<machineKey validationKey=\""));
/// assert!(element.contains(r#"validation="HMACSHA256" decryption="AES" compatibilityMode="Framework45""#));
/// assert_eq!(key.validation_key_hex().len(), 128);
/// assert_eq!(key.decryption_key_hex().len(), 64);
/// ```
pub struct MachineKey {
    framework: Framework,
    validation: MachineKeyValidation,
    decryption: MachineKeyDecryption,
    validation_key: Secret,
    decryption_key: Secret,
}

impl fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineKey")
            .field("framework", &self.framework)
            .field("validation", &self.validation)
            .field("decryption", &self.decryption)
            .finish_non_exhaustive()
    }
}

impl MachineKey {
    /// Generates fresh keys for `framework`, with the given algorithms or the framework's
    /// defaults (1.1: SHA1 + 3DES; 2.0: SHA1 + AES; 4.0 and 4.5: HMACSHA256 + AES).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the framework does not accept an algorithm.
    pub fn generate(
        framework: Framework,
        validation: Option<MachineKeyValidation>,
        decryption: Option<MachineKeyDecryption>,
    ) -> Result<Self> {
        let validation = validation.unwrap_or(framework.default_validation());
        let decryption = decryption.unwrap_or(framework.default_decryption());
        if !framework.validations().contains(&validation) {
            return Err(Error::InvalidArgument(format!(
                "ASP.NET {framework} does not accept validation=\"{}\": use one of {}",
                validation.name(),
                names(framework.validations().iter().map(|v| v.name()))
            )));
        }
        if !framework.decryptions().contains(&decryption) {
            return Err(Error::InvalidArgument(format!(
                "ASP.NET {framework} does not accept decryption {}: use one of {}",
                decryption.name(),
                names(framework.decryptions().iter().map(|d| d.name()))
            )));
        }
        Ok(Self {
            framework,
            validation,
            decryption,
            validation_key: Secret::random(validation.key_len()),
            decryption_key: Secret::random(decryption.key_len()),
        })
    }

    /// The framework generation.
    pub fn framework(&self) -> Framework {
        self.framework
    }

    /// The validation algorithm.
    pub fn validation(&self) -> MachineKeyValidation {
        self.validation
    }

    /// The decryption algorithm.
    pub fn decryption(&self) -> MachineKeyDecryption {
        self.decryption
    }

    /// The validation key as uppercase hex.
    pub fn validation_key_hex(&self) -> String {
        upper_hex(self.validation_key.expose())
    }

    /// The decryption key as uppercase hex.
    pub fn decryption_key_hex(&self) -> String {
        upper_hex(self.decryption_key.expose())
    }

    /// The element, ready to paste into `<system.web>` of `web.config`.
    pub fn element(&self) -> String {
        let mut element = format!(
            "<machineKey validationKey=\"{}\" decryptionKey=\"{}\" validation=\"{}\"",
            self.validation_key_hex(),
            self.decryption_key_hex(),
            self.validation.name()
        );
        // 1.1 has no decryption attribute: the 8- or 24-byte key picks DES or 3DES.
        if self.framework != Framework::V1_1 {
            element.push_str(&format!(" decryption=\"{}\"", self.decryption.name()));
        }
        if let Some(mode) = self.framework.compatibility_mode() {
            element.push_str(&format!(" compatibilityMode=\"{mode}\""));
        }
        element.push_str(" />");
        element
    }
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MachineKeyDecryption as D;
    use MachineKeyValidation as V;

    const ALL_V: [V; 7] = [
        V::Sha1,
        V::Md5,
        V::TripleDes,
        V::Aes,
        V::HmacSha256,
        V::HmacSha384,
        V::HmacSha512,
    ];
    const ALL_D: [D; 3] = [D::Aes, D::TripleDes, D::Des];

    fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
        let start = element.find(&format!(" {name}=\""))? + name.len() + 3;
        element[start..].split('"').next()
    }

    #[test]
    fn every_combination_is_right_or_refused() {
        for framework in Framework::ALL {
            for v in ALL_V {
                for d in ALL_D {
                    let allowed = framework.validations().contains(&v)
                        && framework.decryptions().contains(&d);
                    let generated = MachineKey::generate(framework, Some(v), Some(d));
                    let Ok(key) = generated else {
                        assert!(!allowed, "{framework} {v:?} {d:?} refused");
                        assert!(generated
                            .unwrap_err()
                            .to_string()
                            .contains("does not accept"));
                        continue;
                    };
                    assert!(allowed, "{framework} {v:?} {d:?} generated");
                    let element = key.element();
                    let vk = attribute(&element, "validationKey").unwrap();
                    let dk = attribute(&element, "decryptionKey").unwrap();
                    assert_eq!(vk.len(), v.key_len() * 2, "{element}");
                    assert_eq!(dk.len(), d.key_len() * 2, "{element}");
                    for key in [vk, dk] {
                        assert!(
                            key.bytes()
                                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                            "{key}"
                        );
                    }
                    assert_eq!(attribute(&element, "validation"), Some(v.name()));
                    let expected_decryption = (framework != Framework::V1_1).then(|| d.name());
                    assert_eq!(attribute(&element, "decryption"), expected_decryption);
                    assert_eq!(
                        attribute(&element, "compatibilityMode"),
                        framework.compatibility_mode()
                    );
                    assert!(!element.contains("AutoGenerate") && !element.contains("IsolateApps"));
                    if framework == Framework::V4_5 {
                        assert!(!matches!(v, V::Md5 | V::TripleDes | V::Aes));
                    }
                    if framework == Framework::V1_1 {
                        assert!(vk.len() <= 128 && d != D::Aes);
                    }
                }
            }
        }
    }

    #[test]
    fn defaults_and_freshness() {
        let a = MachineKey::generate(Framework::V4_5, None, None).unwrap();
        let b = MachineKey::generate(Framework::V4_5, None, None).unwrap();
        assert_ne!(a.validation_key_hex(), b.validation_key_hex());
        assert_eq!((a.validation(), a.decryption()), (V::HmacSha256, D::Aes));
        let old = MachineKey::generate(Framework::V1_1, None, None).unwrap();
        assert_eq!(
            (old.validation(), old.decryption()),
            (V::Sha1, D::TripleDes)
        );
        assert!(!format!("{a:?}").contains(&a.validation_key_hex()[..16]));
        assert!("9.9".parse::<Framework>().is_err());
        assert!("Auto".parse::<MachineKeyDecryption>().is_err());
        assert_eq!(
            "hmacsha512".parse::<MachineKeyValidation>().unwrap(),
            V::HmacSha512
        );
    }
}
