//! Reading `<machineKey>` from a whole `web.config` (or `machine.config`) or from the element
//! alone, as the runtime reads it: attributes trimmed, `AutoGenerate` flags recognized (and
//! refused for use: those keys live in one machine's registry), the effective compatibility
//! mode worked out from `<httpRuntime targetFramework>` when the attribute is absent.
//!
//! XML is parsed with DTDs refused and a size limit, so a hostile file cannot expand entities
//! or reach the network.

use std::fmt;

use keyward::Secret;

use crate::algorithms::{MachineKeyDecryption, MachineKeyValidation};
use crate::encoding::from_hex;
use crate::error::{ConfigError, Error, Result, Unrecognized};
use crate::keys::{parse_decryption, CompatibilityMode, MachineKeys, MissingKey};
use crate::names::unrecognized;

pub use crate::limits::MAX_CONFIG_BYTES;

/// A `validationKey` or `decryptionKey` value.
pub enum KeySetting {
    /// An explicit key (hex in the file).
    Explicit(Secret),
    /// `AutoGenerate` (the runtime default when the attribute is absent), with its flags.
    AutoGenerate {
        /// `,IsolateApps`: a different key per application path.
        isolate_apps: bool,
        /// `,IsolateByAppId`: a different key per IIS application id (4.5).
        isolate_by_app_id: bool,
        /// Whether the attribute was absent (the runtime default
        /// `AutoGenerate,IsolateApps` applies).
        implicit: bool,
    },
}

impl KeySetting {
    /// The attribute text the setting stands for (never a key).
    pub fn flags(&self) -> Option<String> {
        self.flag_text().map(str::to_owned)
    }

    /// [`KeySetting::flags`] as keyward's own fixed text.
    fn flag_text(&self) -> Option<&'static str> {
        match self {
            Self::Explicit(_) => None,
            Self::AutoGenerate {
                isolate_apps,
                isolate_by_app_id,
                ..
            } => Some(match (isolate_apps, isolate_by_app_id) {
                (false, false) => "AutoGenerate",
                (true, false) => "AutoGenerate,IsolateApps",
                (false, true) => "AutoGenerate,IsolateByAppId",
                (true, true) => "AutoGenerate,IsolateApps,IsolateByAppId",
            }),
        }
    }

    /// The explicit key, if any.
    pub fn explicit(&self) -> Option<&Secret> {
        match self {
            Self::Explicit(key) => Some(key),
            Self::AutoGenerate { .. } => None,
        }
    }
}

impl fmt::Debug for KeySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit(key) => write!(f, "Explicit({} bytes)", key.len()),
            Self::AutoGenerate { .. } => write!(f, "{}", self.flags().unwrap_or_default()),
        }
    }
}

/// One `<machineKey>` as configured. Algorithm names are kept as written so that `check` can
/// report a bad one; [`MachineKeyConfig::keys`] turns the whole into usable [`MachineKeys`].
#[derive(Debug)]
pub struct MachineKeyConfig {
    /// `validationKey`.
    pub validation_key: KeySetting,
    /// `decryptionKey`.
    pub decryption_key: KeySetting,
    /// `validation` as written (`None`: absent).
    pub validation: Option<String>,
    /// `decryption` as written (`None`: absent, i.e. `Auto`).
    pub decryption: Option<String>,
    /// `compatibilityMode` as written (`None`: absent).
    pub compatibility_mode: Option<String>,
    /// `<httpRuntime targetFramework>`, which sets the default compatibility mode.
    pub target_framework: Option<String>,
    /// `dataProtectorType` (e.g. the ASP.NET Core SystemWeb bridge).
    pub data_protector_type: Option<String>,
    /// `applicationName` (the bridge's discriminator when set).
    pub application_name: Option<String>,
    /// Whether the file had a `<machineKey>` element at all.
    pub element_present: bool,
}

impl MachineKeyConfig {
    /// Reads a whole `web.config`/`machine.config` or a bare `<machineKey …/>` element. A
    /// `<machineKey>` directly under `<system.web>` wins; else the first one anywhere (e.g. in
    /// `<location>`). A file without one gives the runtime defaults (`AutoGenerate`).
    ///
    /// # Errors
    /// [`Error::Config`] for XML that does not parse (DTDs are refused), a file too large, an
    /// encrypted section (`aspnet_regiis -pe`), a `configSource`, or a key value that is
    /// neither hex nor `AutoGenerate` flags.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge.into());
        }
        let text = text.trim_start_matches('\u{feff}');
        let document = roxmltree::Document::parse_with_options(
            text,
            roxmltree::ParsingOptions {
                allow_dtd: false,
                nodes_limit: 1_000_000,
                ..roxmltree::ParsingOptions::default()
            },
        )
        .map_err(|e| ConfigError::Xml(Box::new(e)))?;
        let root = document.root_element();
        let elements: Vec<_> = document
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "machineKey")
            .collect();
        let preferred = elements
            .iter()
            .find(|n| {
                n.parent_element().is_some_and(|p| {
                    p.tag_name().name() == "system.web" && p.parent_element() == Some(root)
                })
            })
            .or_else(|| elements.first());
        let target_framework = document
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "httpRuntime")
            .and_then(|n| n.attribute("targetFramework"))
            .map(|t| t.trim().to_owned());
        let Some(element) = preferred else {
            return Ok(Self {
                validation_key: implicit_auto(),
                decryption_key: implicit_auto(),
                validation: None,
                decryption: None,
                compatibility_mode: None,
                target_framework,
                data_protector_type: None,
                application_name: None,
                element_present: false,
            });
        };
        if element.attribute("configSource").is_some() {
            return Err(ConfigError::ConfigSource.into());
        }
        if element.attribute("configProtectionProvider").is_some()
            || element
                .children()
                .any(|n| n.is_element() && n.tag_name().name() == "EncryptedData")
        {
            return Err(ConfigError::Encrypted.into());
        }
        let attribute = |name: &str| element.attribute(name).map(|v| v.trim().to_owned());
        Ok(Self {
            validation_key: key_setting("validationKey", attribute("validationKey"))?,
            decryption_key: key_setting("decryptionKey", attribute("decryptionKey"))?,
            validation: attribute("validation"),
            decryption: attribute("decryption"),
            compatibility_mode: attribute("compatibilityMode"),
            target_framework,
            data_protector_type: attribute("dataProtectorType").filter(|t| !t.is_empty()),
            application_name: attribute("applicationName"),
            element_present: true,
        })
    }

    /// Reads a file (see [`MachineKeyConfig::parse`]); UTF-8 or UTF-16 with a BOM.
    ///
    /// # Errors
    /// [`Error::ConfigFile`] naming the file when it cannot be read ([`ConfigError::Unreadable`],
    /// whose source is the I/O error) or used (as [`MachineKeyConfig::parse`]).
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let in_file = |problem: ConfigError| Error::ConfigFile {
            path: path.to_owned(),
            problem,
        };
        let metadata = std::fs::metadata(path).map_err(|e| in_file(ConfigError::Unreadable(e)))?;
        if metadata.len() > MAX_CONFIG_BYTES as u64 {
            return Err(in_file(ConfigError::FileTooLarge));
        }
        let bytes = std::fs::read(path).map_err(|e| in_file(ConfigError::Unreadable(e)))?;
        let text = decode_text(&bytes).map_err(in_file)?;
        Self::parse(&text).map_err(|e| match e {
            Error::Config(problem) => in_file(problem),
            other => other,
        })
    }

    /// The validation algorithm in force (absent: `HMACSHA256`, the 4.0+ default).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a name ASP.NET does not know, or an `alg:` name.
    pub fn validation(&self) -> Result<MachineKeyValidation> {
        match &self.validation {
            None => Ok(MachineKeyValidation::HmacSha256),
            Some(name) if name.starts_with("alg:") => {
                Err(unrecognized(Unrecognized::CustomValidation, name))
            }
            Some(name) => name.parse(),
        }
    }

    /// The decryption algorithm in force (`None`: `Auto`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a name ASP.NET does not know, or an `alg:` name.
    pub fn decryption(&self) -> Result<Option<MachineKeyDecryption>> {
        match &self.decryption {
            None => Ok(None),
            Some(name) if name.starts_with("alg:") => {
                Err(unrecognized(Unrecognized::CustomDecryption, name))
            }
            Some(name) => parse_decryption(name),
        }
    }

    /// The compatibility mode in force: the attribute, else `Framework45` when
    /// `<httpRuntime targetFramework>` is 4.5 or later, else `Framework20SP1`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown mode.
    pub fn compatibility_mode(&self) -> Result<CompatibilityMode> {
        match &self.compatibility_mode {
            Some(mode) => mode.parse(),
            None if self
                .target_framework
                .as_deref()
                .is_some_and(targets_45_or_later) =>
            {
                Ok(CompatibilityMode::Framework45)
            }
            None => Ok(CompatibilityMode::Framework20SP1),
        }
    }

    /// The usable keys. A `decryptionKey` that is absent or `AutoGenerate` beside an explicit
    /// `validationKey` (a farm that only MACs its ViewState) gives keys without a decryption
    /// key: MAC-only payloads validate, and what needs the key fails with
    /// [`Error::RegistryKey`] naming `decryptionKey`.
    ///
    /// # Errors
    /// [`Error::RegistryKey`] for an `AutoGenerate` validation key (it lives in one machine's
    /// registry); [`Error::InvalidArgument`] for an unknown algorithm or mode.
    pub fn keys(&self) -> Result<MachineKeys> {
        let explicit = |setting: &KeySetting| match setting {
            KeySetting::Explicit(key) => Ok(Secret::new(key.expose().to_vec())),
            auto => Err(auto.flag_text().unwrap_or_default()),
        };
        let validation_key =
            explicit(&self.validation_key).map_err(|value| Error::RegistryKey {
                attribute: "validationKey",
                value,
            })?;
        match explicit(&self.decryption_key) {
            Ok(decryption_key) => MachineKeys::new(
                self.validation()?,
                validation_key,
                self.decryption()?,
                decryption_key,
                self.compatibility_mode()?,
            ),
            Err(flags) => MachineKeys::without_decryption_key(
                self.validation()?,
                validation_key,
                self.decryption()?,
                MissingKey::AutoGenerate(flags),
                self.compatibility_mode()?,
            ),
        }
    }
}

/// Whether a `targetFramework` value (e.g. `4.5`, `4.7.2`, `4.8`) is 4.5 or later.
fn targets_45_or_later(version: &str) -> bool {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), _) if major > 4 => true,
        (Some(4), Some(minor)) => minor >= 5,
        _ => false,
    }
}

fn implicit_auto() -> KeySetting {
    KeySetting::AutoGenerate {
        isolate_apps: true,
        isolate_by_app_id: false,
        implicit: true,
    }
}

/// A key attribute: hex, or `AutoGenerate` with `IsolateApps`/`IsolateByAppId` flags.
fn key_setting(attribute: &'static str, value: Option<String>) -> Result<KeySetting> {
    let Some(value) = value else {
        return Ok(implicit_auto());
    };
    if value.is_empty() {
        return Err(ConfigError::EmptyKey { attribute }.into());
    }
    if let Some(bytes) = from_hex(&value) {
        return Ok(KeySetting::Explicit(Secret::new(bytes)));
    }
    let mut auto = false;
    let mut isolate_apps = false;
    let mut isolate_by_app_id = false;
    for flag in value.split(',').map(str::trim) {
        match flag {
            "AutoGenerate" => auto = true,
            "IsolateApps" => isolate_apps = true,
            "IsolateByAppId" => isolate_by_app_id = true,
            _ => return Err(ConfigError::NotAKey { attribute }.into()),
        }
    }
    if !auto {
        return Err(ConfigError::IsolateWithoutAutoGenerate { attribute }.into());
    }
    Ok(KeySetting::AutoGenerate {
        isolate_apps,
        isolate_by_app_id,
        implicit: false,
    })
}

/// Text from bytes: UTF-8 (with or without BOM) or UTF-16 with a BOM.
fn decode_text(bytes: &[u8]) -> std::result::Result<String, ConfigError> {
    let utf16 = |rest: &[u8], little: bool| {
        if !rest.len().is_multiple_of(2) {
            return Err(ConfigError::OddUtf16);
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| {
                if little {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| ConfigError::InvalidUtf16)
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| ConfigError::NotUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flags_and_defaults() {
        let config = MachineKeyConfig::parse(
            r#"<configuration><system.web><httpRuntime targetFramework="4.7.2"/>
               <machineKey validationKey="AutoGenerate,IsolateApps" decryptionKey="00112233445566778899AABBCCDDEEFF"/>
               </system.web></configuration>"#,
        )
        .unwrap();
        assert_eq!(
            config.validation_key.flags().as_deref(),
            Some("AutoGenerate,IsolateApps")
        );
        assert_eq!(
            config.compatibility_mode().unwrap(),
            CompatibilityMode::Framework45
        );
        let error = config.keys().unwrap_err();
        assert!(error.to_string().contains("registry"), "{error}");
        assert!(MachineKeyConfig::parse("<machineKey validationKey=\"IsolateApps\"/>").is_err());
        assert!(MachineKeyConfig::parse(
            "<!DOCTYPE x [<!ENTITY a \"b\">]><machineKey validationKey=\"&a;\"/>"
        )
        .is_err());
        let none = MachineKeyConfig::parse("<configuration/>").unwrap();
        assert!(!none.element_present);
        assert!(none.keys().is_err());
        assert!(!targets_45_or_later("4.0") && targets_45_or_later("4.5.1"));
    }

    /// A MAC-only farm (validationKey set, decryptionKey absent or AutoGenerate) reads its
    /// MAC-only ViewState; what needs the decryption key names it.
    #[test]
    fn a_mac_only_machine_key_needs_no_decryption_key_for_mac_only_payloads() {
        use crate::viewstate::{self, Page, Protection};
        // The vector bs-vs-legacy-noenc-sha1 (testdata/vectors/legacy-machinekey.json).
        let validation_key = "F5144F1A581A57BA3B60311AF7562A855998F7DD203CD8A71405599B980D8694B5C986C888BE4FC0E6571C2CE600D58CE82B8FA13106B17D77EA4CECDDBBEC1B";
        let page = Page {
            generator: Some(0xEDD8_C9AE),
            ..Page::default()
        };
        for decryption_key in ["", " decryptionKey=\"AutoGenerate,IsolateApps\""] {
            let config = MachineKeyConfig::parse(&format!(
                "<machineKey validationKey=\"{validation_key}\"{decryption_key} validation=\"SHA1\" compatibilityMode=\"Framework20SP1\"/>"
            ))
            .unwrap();
            let keys = config.keys().unwrap();
            let state = viewstate::decode(
                &keys,
                &page,
                "/wEPDwUJODExMDE5NzY5ZGSglOSr1rG6xN5rzh/4C9UEuwa64w==",
            )
            .unwrap();
            assert_eq!(state.protection, Protection::LegacyMac);
            assert!(state.state.starts_with(&[0xFF, 0x01]));
            // An encrypted one, and a forms ticket, need the decryption key: the error says so.
            for error in [
                viewstate::encode(&keys, &page, b"x", true).unwrap_err(),
                crate::forms_ticket::decrypt(&keys, &"00".repeat(64)).unwrap_err(),
            ] {
                assert!(
                    matches!(
                        error,
                        Error::RegistryKey {
                            attribute: "decryptionKey",
                            ..
                        }
                    ),
                    "{error:?}"
                );
            }
        }
        // The same keys made in code.
        let keys = MachineKeys::mac_only(
            crate::algorithms::MachineKeyValidation::Sha1,
            Secret::new(from_hex(validation_key).unwrap()),
            CompatibilityMode::Framework20SP1,
        )
        .unwrap();
        let state = viewstate::decode(
            &keys,
            &page,
            "/wEPDwUJODExMDE5NzY5ZGSglOSr1rG6xN5rzh/4C9UEuwa64w==",
        )
        .unwrap();
        assert_eq!(state.protection, Protection::LegacyMac);
        let error = crate::forms_ticket::encrypt(
            &keys,
            &crate::forms_ticket::FormsAuthenticationTicket {
                version: 2,
                name: "a".into(),
                issue_utc_ticks: 0,
                expiration_utc_ticks: 0,
                is_persistent: false,
                user_data: String::new(),
                cookie_path: "/".into(),
            },
        )
        .unwrap_err();
        assert!(error.to_string().contains("no decryptionKey"), "{error}");
        // Without a validationKey nothing works.
        let config = MachineKeyConfig::parse(
            "<machineKey decryptionKey=\"00112233445566778899AABBCCDDEEFF\"/>",
        )
        .unwrap();
        assert!(matches!(
            config.keys().unwrap_err(),
            Error::RegistryKey {
                attribute: "validationKey",
                ..
            }
        ));
    }
}
