//! Text encodings of the wire format: base64url as `WebEncoders` writes it, and the 7-bit
//! length prefix of .NET's `BinaryWriter`.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

pub use crate::error::Base64Error;
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
    let mut out = Vec::new();
    base64url_decode_into(text, &mut out)?;
    Ok(out)
}

/// [`base64url_decode`], appending to `out` (no allocation when it has room).
///
/// ```
/// let mut out = b"x".to_vec();
/// keyward::encoding::base64url_decode_into("-_8", &mut out).unwrap();
/// assert_eq!(out, [b'x', 0xfb, 0xff]);
/// assert!(keyward::encoding::base64url_decode_into("-+", &mut out).is_err());
/// assert_eq!(out, [b'x', 0xfb, 0xff], "as it was after an error");
/// ```
///
/// # Errors
/// As [`base64url_decode`]; `out` is then as it was.
pub fn base64url_decode_into(text: &str, out: &mut Vec<u8>) -> Result<()> {
    let invalid = || Error::malformed(MalformedReason::InvalidBase64);
    let (url_safe, standard) = alphabets_used(text.as_bytes());
    let engine = match (url_safe, standard) {
        (true, true) => return Err(invalid()),
        (false, true) => &STANDARD_LENIENT,
        _ => &URL_SAFE_LENIENT,
    };
    let start = out.len();
    // What .NET writes (URL-safe, unpadded, canonical) decodes with SIMD; anything else that
    // is accepted (padding, the standard alphabet) is left to `base64`. The SIMD decoder
    // accepts a subset of what `base64` does, with the same bytes (tested below).
    if !standard
        && base64_simd::URL_SAFE_NO_PAD
            .decode_append(text.as_bytes(), out)
            .is_ok()
    {
        return Ok(());
    }
    out.truncate(start);
    engine.decode_vec(text, out).map_err(|_| {
        out.truncate(start);
        invalid()
    })
}

/// Whether `text` holds characters of the URL-safe alphabet (`-`, `_`) and of the standard
/// one (`+`, `/`). One pass, in fixed-size blocks without early exit so the compiler can
/// compare many bytes at once (a cookie is read on every request).
fn alphabets_used(text: &[u8]) -> (bool, bool) {
    fn scan(block: &[u8]) -> (u8, u8) {
        let (mut url_safe, mut standard) = (0u8, 0u8);
        for &b in block {
            url_safe |= u8::from(b == b'-') | u8::from(b == b'_');
            standard |= u8::from(b == b'+') | u8::from(b == b'/');
        }
        (url_safe, standard)
    }
    let (mut url_safe, mut standard) = (0u8, 0u8);
    let mut blocks = text.chunks_exact(64);
    for block in &mut blocks {
        let (u, s) = scan(block);
        url_safe |= u;
        standard |= s;
    }
    let (u, s) = scan(blocks.remainder());
    (url_safe | u != 0, standard | s != 0)
}

/// Encodes standard base64 with padding (the form key XML uses for master keys).
pub(crate) fn base64_standard_encode(data: &[u8]) -> String {
    STANDARD_LENIENT.encode(data)
}

/// Standard base64 as `Convert.FromBase64String` reads it: padding required, bits after the
/// last byte ignored.
const STANDARD_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes standard base64 as .NET's `Convert.FromBase64String` does, the one reader of every
/// base64 value in key XML (master keys, KEK and passphrase elements, certificates): spaces,
/// tabs, CR and LF are skipped anywhere (so values wrapped over lines read), `=` padding is
/// required, and empty text is refused (no key XML value is empty).
///
/// # Errors
/// A [`Base64Error`] saying what is wrong (a character and its offset at most).
pub(crate) fn base64_standard_decode(text: &str) -> std::result::Result<Vec<u8>, Base64Error> {
    // The compacted text may be a master key's base64: wiped when dropped.
    let mut compact = zeroize::Zeroizing::new(String::with_capacity(text.len()));
    let mut padding = 0usize;
    for (offset, character) in text.char_indices() {
        match character {
            ' ' | '\t' | '\r' | '\n' => continue,
            '=' => padding += 1,
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' if padding == 0 => {}
            _ => {
                return Err(Base64Error::InvalidCharacter {
                    character,
                    offset,
                    after_padding: padding > 0,
                })
            }
        }
        compact.push(character);
    }
    if compact.is_empty() {
        return Err(Base64Error::Empty);
    }
    if padding > 2 {
        return Err(Base64Error::TooMuchPadding);
    }
    if !compact.len().is_multiple_of(4) {
        return Err(Base64Error::Length(compact.len()));
    }
    // Checked above: only the alphabet, then at most two `=`, in quads. What the engine
    // could still refuse (none known) is reported as a length problem.
    STANDARD_PADDED
        .decode(compact.as_bytes())
        .map_err(|_| Base64Error::Length(compact.len()))
}

/// How many bytes the 7-bit encoding of `value` takes (1 to 5), as .NET's
/// `Measure7BitEncodedUIntLength`. (The purpose AAD's length prefixes; the ticket format's
/// own reader and writer are in keyward-aspnetcore.)
pub(crate) fn varint_len(value: u32) -> usize {
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
pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u32) {
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

    /// The SIMD decoder changes nothing: on any text over both alphabets, padding and a
    /// stray character, `base64url_decode_into` accepts exactly what `base64` alone does,
    /// with the same bytes, and leaves `out` as it was on refusal.
    #[test]
    fn simd_decoding_accepts_what_base64_accepts_with_the_same_bytes() {
        use proptest::prelude::*;
        let alphabet: Vec<char> =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=."
                .chars()
                .collect();
        let reference = |text: &str| -> Option<Vec<u8>> {
            let (url_safe, standard) = alphabets_used(text.as_bytes());
            let engine = match (url_safe, standard) {
                (true, true) => return None,
                (false, true) => &STANDARD_LENIENT,
                _ => &URL_SAFE_LENIENT,
            };
            engine.decode(text).ok()
        };
        let mut runner = proptest::test_runner::TestRunner::default();
        let texts = proptest::collection::vec(proptest::sample::select(alphabet), 0..200)
            .prop_map(|chars| chars.into_iter().collect::<String>());
        runner
            .run(&texts, |text| {
                let mut out = b"kept".to_vec();
                let ours = base64url_decode_into(&text, &mut out)
                    .ok()
                    .map(|()| out[4..].to_vec());
                prop_assert_eq!(&ours, &reference(&text), "{}", text);
                if ours.is_none() {
                    prop_assert_eq!(&out, b"kept");
                }
                Ok(())
            })
            .unwrap();
        // Real payloads (every length's tail): canonical, unpadded URL-safe text.
        for len in 0..300usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let text = base64url_encode(&data);
            assert_eq!(base64url_decode(&text).unwrap(), data);
            assert_eq!(reference(&text).unwrap(), data);
        }
    }

    /// The block scan finds each alphabet's characters wherever they lie (in a full block or
    /// the remainder), as a byte-by-byte scan does.
    #[test]
    fn alphabets_are_found_anywhere() {
        for len in [0usize, 1, 63, 64, 65, 200] {
            for at in 0..len {
                for (c, expected) in [
                    (b'-', (true, false)),
                    (b'_', (true, false)),
                    (b'+', (false, true)),
                    (b'/', (false, true)),
                    (b'A', (false, false)),
                ] {
                    let mut text = vec![b'a'; len];
                    text[at] = c;
                    assert_eq!(alphabets_used(&text), expected, "{len} {at} {c}");
                }
            }
        }
        assert_eq!(alphabets_used(b"-+"), (true, true));
    }

    #[test]
    fn varint_as_binary_writer_writes_it() {
        let mut out = Vec::new();
        write_varint(&mut out, 155);
        assert_eq!(out, [0x9b, 0x01]);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(u32::MAX), 5);
    }

    #[test]
    fn varint_matches_measure() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "value {v}");
        }
    }

    #[test]
    fn standard_decode_skips_whitespace_as_dotnet_does() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = base64_standard_encode(&bytes);
        // 76-column lines with CRLF, and lines indented with spaces and tabs.
        let wrapped: String = text
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
            .collect();
        assert_eq!(base64_standard_decode(&wrapped).unwrap(), bytes);
        let indented: String = text
            .as_bytes()
            .chunks(64)
            .map(|line| format!("\n \t  {}", std::str::from_utf8(line).unwrap()))
            .collect();
        assert_eq!(base64_standard_decode(&indented).unwrap(), bytes);
        assert_eq!(base64_standard_decode(" +/ 8= ").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64_standard_decode("AA =\n=").unwrap(), [0]);
        // Bits after the last byte are ignored, as .NET ignores them.
        assert_eq!(base64_standard_decode("AB==").unwrap(), [0]);
    }

    #[test]
    fn standard_decode_says_what_is_wrong() {
        let err = |text: &str| base64_standard_decode(text).unwrap_err().to_string();
        assert_eq!(err(""), "empty");
        assert_eq!(err(" \r\n\t"), "empty");
        assert_eq!(err("AAAA AAA!"), "invalid character '!' at offset 8");
        assert_eq!(err("AA-_"), "invalid character '-' at offset 2");
        // Only the four whitespace characters .NET skips.
        assert_eq!(err("AA\u{a0}AA"), "invalid character '\\u{a0}' at offset 2");
        assert_eq!(err("AA\x0bAA"), "invalid character '\\u{b}' at offset 2");
        assert_eq!(
            err("AA=A"),
            "invalid character 'A' at offset 3 (after '=' padding)"
        );
        assert_eq!(err("A==="), "more than two '=' padding characters");
        assert_eq!(
            err("+/8"),
            "length is not a multiple of 4 after removing whitespace (3 characters)"
        );
        assert_eq!(
            err("AAAAA\r\n"),
            "length is not a multiple of 4 after removing whitespace (5 characters)"
        );
        // The message never holds the text.
        assert!(!err("c2VjcmV0c2VjcmV0!").contains("c2Vj"));
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
