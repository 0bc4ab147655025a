//! `__VIEWSTATE`: validate and decrypt (and make, for tests and tooling) given the page's
//! purposes, in either crypto mode.
//!
//! * Framework45: `Protect` with the primary purpose
//!   `WebForms.HiddenFieldPageStatePersister.ClientState` and the specific purposes
//!   `TemplateSourceDirectory: <TSD upper-cased>`, `Type: <page type upper-cased>` and, when the
//!   page sets one, `ViewStateUserKey: <key>`.
//! * Legacy: the modifier is `LE32(__VIEWSTATEGENERATOR)` followed by the UTF-16LE
//!   ViewStateUserKey; the state is MAC-only (`state || HashData(state, modifier)`) or
//!   encrypted (`EncryptOrDecryptData`). Under `validation="AES"|"3DES"` it is MACed with
//!   HMAC-SHA1, then encrypted with the algorithm the validation names.
//!
//! The generator is taken from the page (`__VIEWSTATEGENERATOR`), never recomputed: .NET's
//! culture-aware hash cannot be reproduced for every input.

use crate::encoding::{from_base64, to_base64};
#[cfg(doc)]
use crate::error::Error;
use crate::error::{MalformedError, Result, SettingError, Unrecognized};
use crate::framework45::{self, MAX_PROTECTED_BYTES};
use crate::kdf::Purpose;
use crate::keys::MachineKeys;
use crate::legacy::{self, PrefixMode, SymmetricAlgorithm};
use crate::names::unrecognized;

/// What identifies the page a ViewState belongs to. Framework45 needs the template source
/// directory and the type; legacy crypto needs the generator. The ViewStateUserKey serves
/// both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The page's `TemplateSourceDirectory`: its virtual directory as a full path, e.g. `/` or
    /// `/MAC/VSK/TEST` (upper-cased here, as .NET does).
    pub template_source_directory: Option<String>,
    /// The page's type name, e.g. `DEFAULT_ASPX` (`default.aspx` compiles to
    /// `ASP.default_aspx`; upper-cased here).
    pub page_type: Option<String>,
    /// The page's `ViewStateUserKey`, when it sets one (often the session id).
    pub view_state_user_key: Option<String>,
    /// `__VIEWSTATEGENERATOR` (hex on the page, e.g. `EDD8C9AE`).
    pub generator: Option<u32>,
}

impl Page {
    /// The Framework45 purpose of this page's ViewState.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] without a template source directory and a type.
    pub fn purpose(&self) -> Result<Purpose> {
        let (Some(directory), Some(page_type)) = (&self.template_source_directory, &self.page_type)
        else {
            return Err(SettingError::NoPagePurpose.into());
        };
        let mut specific = vec![
            format!("TemplateSourceDirectory: {}", directory.to_uppercase()),
            format!("Type: {}", page_type.to_uppercase()),
        ];
        if let Some(key) = &self.view_state_user_key {
            specific.push(format!("ViewStateUserKey: {key}"));
        }
        Ok(Purpose::new(Purpose::VIEWSTATE, specific))
    }

    /// The legacy MAC modifier: `LE32(generator)` then the UTF-16LE ViewStateUserKey.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] without a generator.
    pub fn modifier(&self) -> Result<Vec<u8>> {
        let generator = self.generator.ok_or(SettingError::NoGenerator)?;
        let mut out = generator.to_le_bytes().to_vec();
        if let Some(key) = &self.view_state_user_key {
            for unit in key.encode_utf16() {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        Ok(out)
    }
}

/// Parses `__VIEWSTATEGENERATOR` (8 hex digits).
///
/// # Errors
/// [`Error::InvalidArgument`] for anything else.
pub fn parse_generator(text: &str) -> Result<u32> {
    let text = text.trim();
    let refused = || unrecognized(Unrecognized::ViewStateGenerator, text);
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused());
    }
    u32::from_str_radix(text, 16).map_err(|_| refused())
}

/// How a ViewState was protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Framework45 `Protect` (always encrypted and MACed).
    Framework45,
    /// Legacy, MAC only: the state is readable by anyone.
    LegacyMac,
    /// Legacy, encrypted and MACed.
    LegacyEncrypted,
}

/// A validated ViewState.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewState {
    /// The `ObjectStateFormatter` bytes (they start `FF 01`).
    pub state: Vec<u8>,
    /// How it was protected.
    pub protection: Protection,
}

/// Validates (and decrypts) a `__VIEWSTATE` value (standard base64) for `page`, in the keys'
/// mode. In legacy mode a MAC-only state and an encrypted one are both tried.
///
/// # Errors
/// [`Error::Malformed`] for bad base64 or a value too large; [`Error::InvalidPayload`] for
/// other keys, another page or an altered value; [`Error::InvalidArgument`] when the page
/// lacks what the mode needs.
pub fn decode(keys: &MachineKeys, page: &Page, value: &str) -> Result<ViewState> {
    let value = value.trim();
    if value.len() > MAX_PROTECTED_BYTES / 3 * 4 + 4 {
        return Err(MalformedError::ViewStateTooLarge.into());
    }
    let bytes = from_base64(value).ok_or(MalformedError::ViewStateNotBase64)?;
    if !keys.mode().is_legacy() {
        let state = framework45::unprotect(keys, &page.purpose()?, &bytes)?;
        return Ok(ViewState {
            state,
            protection: Protection::Framework45,
        });
    }
    let modifier = page.modifier()?;
    if keys.legacy_validation_cipher().is_some() {
        let signed = legacy::decrypt_with(keys, SymmetricAlgorithm::Validation, &bytes, &modifier)?;
        let state = legacy::verify(keys, &signed, &modifier)?.to_vec();
        return Ok(ViewState {
            state,
            protection: Protection::LegacyEncrypted,
        });
    }
    if let Ok(state) = legacy::verify(keys, &bytes, &modifier) {
        return Ok(ViewState {
            state: state.to_vec(),
            protection: Protection::LegacyMac,
        });
    }
    let state = legacy::decrypt(keys, &bytes, &modifier)?;
    Ok(ViewState {
        state,
        protection: Protection::LegacyEncrypted,
    })
}

/// Makes a `__VIEWSTATE` value (standard base64) for `page`: Framework45 `Protect`, or in
/// legacy mode MAC-only or encrypted as `encrypt` says (`validation="AES"|"3DES"` always
/// encrypts).
///
/// # Errors
/// [`Error::InvalidArgument`] when the page lacks what the mode needs or the keys do not work.
pub fn encode(keys: &MachineKeys, page: &Page, state: &[u8], encrypt: bool) -> Result<String> {
    let bytes = if !keys.mode().is_legacy() {
        framework45::protect(keys, &page.purpose()?, state)?
    } else {
        let modifier = page.modifier()?;
        if keys.legacy_validation_cipher().is_some() {
            let signed = legacy::sign(keys, state, &modifier);
            legacy::encrypt_with(
                keys,
                SymmetricAlgorithm::Validation,
                &signed,
                &modifier,
                PrefixMode::Random,
            )?
        } else if encrypt {
            legacy::encrypt(keys, state, &modifier, PrefixMode::Random)?
        } else {
            legacy::sign(keys, state, &modifier)
        }
    };
    Ok(to_base64(&bytes))
}
