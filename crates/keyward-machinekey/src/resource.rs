//! `WebResource.axd?d=` and `ScriptResource.axd?d=` values (UrlToken). Both crypto modes
//! make them deterministic ("cacheable"): Framework45 takes the IV from SHA-256 of the
//! plaintext, legacy crypto the prefix from SHA-1 of it. They always use the machineKey
//! algorithms, even when `dataProtectorType` routes other payloads elsewhere.

use crate::encoding::{url_token_decode, url_token_encode};
#[cfg(doc)]
use crate::error::Error;
use crate::error::{MalformedError, Result};
use crate::framework45::{self, IvMode};
use crate::kdf::Purpose;
use crate::keys::MachineKeys;
use crate::legacy::{self, PrefixMode};

/// Which handler the value is for (its Framework45 primary purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `WebResource.axd` (`AssemblyResourceLoader.WebResourceUrl`).
    WebResource,
    /// `ScriptResource.axd` (`ScriptResourceHandler.ScriptResourceUrl`).
    ScriptResource,
}

impl ResourceKind {
    fn purpose(self) -> Purpose {
        let primary = match self {
            Self::WebResource => Purpose::WEB_RESOURCE,
            Self::ScriptResource => Purpose::SCRIPT_RESOURCE,
        };
        Purpose::new(primary, Vec::new())
    }
}

/// Decrypts a `d=` value, e.g. to `s|WebForms.js`.
///
/// # Errors
/// [`Error::Malformed`] for a value that is not UrlToken; [`Error::InvalidPayload`] for other
/// keys, kind or mode, or an altered value.
pub fn decode(keys: &MachineKeys, kind: ResourceKind, value: &str) -> Result<Vec<u8>> {
    let bytes = url_token_decode(value.trim()).ok_or(MalformedError::ResourceEncoding)?;
    if keys.mode().is_legacy() {
        legacy::decrypt(keys, &bytes, &[])
    } else {
        framework45::unprotect(keys, &kind.purpose(), &bytes)
    }
}

/// Makes the `d=` value for `plaintext`: the same input gives the same value, as the server's.
///
/// # Errors
/// [`Error::InvalidArgument`] when the keys do not work in their mode.
pub fn encode(keys: &MachineKeys, kind: ResourceKind, plaintext: &[u8]) -> Result<String> {
    let bytes = if keys.mode().is_legacy() {
        legacy::encrypt(keys, plaintext, &[], PrefixMode::Hash)?
    } else {
        framework45::protect_with(keys, &kind.purpose(), plaintext, IvMode::Cacheable)?
    };
    Ok(url_token_encode(&bytes))
}
