//! Text encodings of the wire format: base64url as `WebEncoders` writes it, and the 7-bit
//! length prefix of .NET's `BinaryWriter`.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::error::{Error, MalformedReason, Result};

const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes bytes as base64url without padding, as `WebEncoders.Base64UrlEncode` does (and so as
/// `IDataProtector.Protect(string)` and ASP.NET Core cookies do).
///
/// ```
/// assert_eq!(keyward::encoding::base64url_encode(&[0xfb, 0xff]), "-_8");
/// ```
pub fn base64url_encode(data: &[u8]) -> String {
    URL_SAFE_LENIENT.encode(data)
}

/// Decodes base64url, accepting what current ASP.NET Core accepts: the URL-safe alphabet or the
/// standard one (never both mixed), with or without `=` padding.
///
/// ```
/// assert_eq!(keyward::encoding::base64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
/// assert!(keyward::encoding::base64url_decode("x").is_err());
/// ```
///
/// # Errors
/// [`Error::MalformedPayload`] with [`MalformedReason::InvalidBase64`] for anything else.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>> {
    let invalid = || Error::malformed(MalformedReason::InvalidBase64);
    let url_safe = text.bytes().any(|b| b == b'-' || b == b'_');
    let standard = text.bytes().any(|b| b == b'+' || b == b'/');
    let engine = match (url_safe, standard) {
        (true, true) => return Err(invalid()),
        (false, true) => &STANDARD_LENIENT,
        _ => &URL_SAFE_LENIENT,
    };
    engine.decode(text).map_err(|_| invalid())
}

/// Encodes standard base64 with padding (the form key XML uses for master keys).
pub(crate) fn base64_standard_encode(data: &[u8]) -> String {
    STANDARD_LENIENT.encode(data)
}

/// Decodes standard base64, padding optional.
pub(crate) fn base64_standard_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT.decode(text).ok()
}

/// How many bytes the 7-bit encoding of `value` takes (1 to 5), as .NET's
/// `Measure7BitEncodedUIntLength`.
///
/// ```
/// assert_eq!(keyward::encoding::varint_len(127), 1);
/// assert_eq!(keyward::encoding::varint_len(128), 2);
/// ```
pub fn varint_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Appends the 7-bit encoding of `value` (`BinaryWriter.Write7BitEncodedInt`): seven data bits
/// per byte, least significant first, high bit set on every byte but the last.
///
/// ```
/// let mut out = Vec::new();
/// keyward::encoding::write_varint(&mut out, 155);
/// assert_eq!(out, [0x9b, 0x01]);
/// ```
pub fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        // Truncation is the point: the low seven bits with the continuation bit.
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_measure() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "value {v}");
        }
    }

    #[test]
    fn decode_accepts_both_alphabets_and_padding() {
        assert_eq!(base64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("-_8=").unwrap(), [0xfb, 0xff]);
        assert!(base64url_decode("-/8").is_err(), "mixed alphabets");
        assert!(base64url_decode("a").is_err(), "length 1 mod 4");
        assert!(base64url_decode("(x)").is_err());
    }
}
