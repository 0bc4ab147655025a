//! The SP800-108 key derivation of ASP.NET 4.5 (`SP800_108.DeriveKey`): counter mode with
//! HMAC-SHA512 keyed by the master key; the label is the primary purpose, the context the
//! specific purposes as `BinaryWriter` strings; the derived key is as long as the master key.

use hmac::{Hmac, KeyInit, Mac};
use keyward::Secret;
use sha2::Sha512;

/// What a payload is for: ASP.NET's `Purpose` (a primary purpose and specific purposes).
/// Another purpose derives other keys, so a payload made for one purpose never opens as
/// another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// The primary purpose, e.g. `FormsAuthentication.Ticket`.
    pub primary: String,
    /// The specific purposes, in order.
    pub specific: Vec<String>,
}

impl Purpose {
    /// The primary purpose of `MachineKey.Protect`.
    pub const MACHINE_KEY_PROTECT: &'static str = "User.MachineKey.Protect";
    /// The primary purpose of the forms authentication ticket.
    pub const FORMS_TICKET: &'static str = "FormsAuthentication.Ticket";
    /// The primary purpose of `__VIEWSTATE` (hidden field).
    pub const VIEWSTATE: &'static str = "WebForms.HiddenFieldPageStatePersister.ClientState";
    /// The primary purpose of `WebResource.axd?d=`.
    pub const WEB_RESOURCE: &'static str = "AssemblyResourceLoader.WebResourceUrl";
    /// The primary purpose of `ScriptResource.axd?d=`.
    pub const SCRIPT_RESOURCE: &'static str = "ScriptResourceHandler.ScriptResourceUrl";

    /// A purpose from its parts.
    pub fn new(primary: impl Into<String>, specific: Vec<String>) -> Self {
        Self {
            primary: primary.into(),
            specific,
        }
    }

    /// The purpose of `MachineKey.Protect(data, purposes…)`.
    pub fn machine_key_protect(purposes: &[String]) -> Self {
        Self::new(Self::MACHINE_KEY_PROTECT, purposes.to_vec())
    }

    /// The SP800-108 context: each specific purpose as a 7-bit-length-prefixed UTF-8 string.
    fn context(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for purpose in &self.specific {
            write_7bit(&mut out, purpose.len());
            out.extend_from_slice(purpose.as_bytes());
        }
        out
    }
}

/// `BinaryWriter.Write7BitEncodedInt`: low seven bits first, high bit set while more follow.
pub(crate) fn write_7bit(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Derives a key as long as `master` for `purpose`.
pub fn derive_key(master: &[u8], purpose: &Purpose) -> Secret {
    let out_len = master.len();
    let bits = u32::try_from(out_len.saturating_mul(8)).unwrap_or(u32::MAX);
    let context = purpose.context();
    let prf = <Hmac<Sha512> as KeyInit>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(out_len + 64));
    let mut counter: u32 = 1;
    while out.len() < out_len {
        let mut mac = prf.clone();
        mac.update(&counter.to_be_bytes());
        mac.update(purpose.primary.as_bytes());
        mac.update(&[0]);
        mac.update(&context);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        counter = counter.wrapping_add(1);
    }
    out.truncate(out_len);
    Secret::new(out.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_bit_lengths() {
        let mut out = Vec::new();
        write_7bit(&mut out, 47);
        write_7bit(&mut out, 300);
        assert_eq!(out, [47, 0xAC, 0x02]);
    }

    #[test]
    fn length_follows_the_master_key() {
        let purpose = Purpose::new("a", vec!["b".into()]);
        for len in [8, 16, 24, 32, 64, 65, 128, 200] {
            assert_eq!(derive_key(&vec![1; len], &purpose).len(), len);
        }
        assert_ne!(
            derive_key(&[1; 32], &purpose).expose(),
            derive_key(&[1; 32], &Purpose::new("a", vec!["c".into()])).expose()
        );
    }
}
