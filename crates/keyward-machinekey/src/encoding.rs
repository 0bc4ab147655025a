//! The text forms classic ASP.NET payloads travel in: uppercase hex (`CryptoUtil.BinaryToHex`,
//! the forms cookie), `HttpServerUtility.UrlTokenEncode` (cookieless tickets, resource URLs,
//! anti-forgery tokens), standard base64 (ViewState) and base64url without padding (Katana).
//! Decoders are strict and return `None` rather than guess.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Uppercase hex, as `CryptoUtil.BinaryToHex` writes it.
pub fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Hex of either case; `None` for an odd length or any other character.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// `HttpServerUtility.UrlTokenEncode`: base64 with `-` and `_`, the `=` padding replaced by
/// one digit counting it; empty input gives an empty string.
pub fn url_token_encode(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let mut text = URL_SAFE_NO_PAD.encode(bytes);
    let padding = (4 - text.len() % 4) % 4;
    text.push(char::from(b'0' + padding as u8));
    text
}

/// `HttpServerUtility.UrlTokenDecode`, strict: the last character is the padding count (0–2)
/// and the rest base64url whose length matches it.
pub fn url_token_decode(text: &str) -> Option<Vec<u8>> {
    let (body, last) = text.split_at_checked(text.len().checked_sub(1)?)?;
    let padding = match last {
        "0" => 0,
        "1" => 1,
        "2" => 2,
        _ => return None,
    };
    if (body.len() + padding) % 4 != 0 || body.contains('=') {
        return None;
    }
    URL_SAFE_NO_PAD.decode(body).ok()
}

/// Standard base64 with padding (`__VIEWSTATE`), whitespace refused.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Standard base64 with padding.
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// base64url without padding (Katana and ASP.NET Core).
pub fn from_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// base64url without padding.
pub fn to_base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Every reading of `text` as one of the encodings above, most specific first (hex, UrlToken,
/// base64url, base64), without duplicates. A MAC then tells which was meant.
pub fn candidates(text: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let readings = [
        from_hex(text),
        url_token_decode(text),
        from_base64url(text),
        from_base64(text),
    ];
    for bytes in readings.into_iter().flatten() {
        if !out.contains(&bytes) {
            out.push(bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_token_round_trips() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).collect();
            let token = url_token_encode(&bytes);
            if len == 0 {
                assert_eq!(token, "");
            } else {
                assert_eq!(url_token_decode(&token), Some(bytes));
            }
        }
        assert_eq!(url_token_decode("QQ"), None);
        assert_eq!(url_token_decode("QQ3"), None);
        assert_eq!(url_token_decode(""), None);
    }

    #[test]
    fn hex_is_strict() {
        assert_eq!(from_hex("0aFF"), Some(vec![10, 255]));
        assert_eq!(from_hex("0aF"), None);
        assert_eq!(from_hex("0g"), None);
        assert_eq!(upper_hex(&[10, 255]), "0AFF");
    }
}
