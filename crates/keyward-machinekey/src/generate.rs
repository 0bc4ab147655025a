//! Generating a `<machineKey>` element: explicit keys from the OS-seeded CSPRNG, as uppercase
//! hex, with the lengths and algorithm names each framework accepts.

use std::fmt;

use keyward::Secret;

use crate::algorithms::{Framework, MachineKeyDecryption, MachineKeyValidation};
use crate::encoding::upper_hex;
#[cfg(doc)]
use crate::error::Error;
use crate::error::{Result, SettingError};

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
            return Err(SettingError::ValidationNotAccepted {
                framework,
                validation,
            }
            .into());
        }
        if !framework.decryptions().contains(&decryption) {
            return Err(SettingError::DecryptionNotAccepted {
                framework,
                decryption,
            }
            .into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::*;
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
