//! Stored document bytes to text: the encoding is found as XML 1.0 appendix F finds it (byte
//! order mark, else the first bytes of an XML declaration) and checked against the
//! declaration's `encoding=`. keyward reads UTF-8 and UTF-16, what .NET writes and what
//! Windows tools (`Out-File`, `Set-Content -Encoding Unicode`) make of a key file.

/// An encoding detected from a document's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    /// UTF-8, with a BOM or not.
    Utf8 { bom: bool },
    /// UTF-16 little-endian, with a BOM or (before a declaration) not.
    Utf16Le { bom: bool },
    /// UTF-16 big-endian, with a BOM or (before a declaration) not.
    Utf16Be { bom: bool },
}

impl Detected {
    fn describe(self) -> &'static str {
        match self {
            Self::Utf8 { bom: true } => "UTF-8 (byte order mark)",
            Self::Utf8 { bom: false } => "UTF-8",
            Self::Utf16Le { bom: true } => "UTF-16 little-endian (byte order mark)",
            Self::Utf16Le { bom: false } => "UTF-16 little-endian",
            Self::Utf16Be { bom: true } => "UTF-16 big-endian (byte order mark)",
            Self::Utf16Be { bom: false } => "UTF-16 big-endian",
        }
    }
}

/// Single-byte encodings that read 7-bit ASCII as ASCII: a document that declares one of
/// them but holds only ASCII bytes reads the same as UTF-8.
const ASCII_COMPATIBLE: [&str; 7] = [
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
];

/// Decodes a stored document's bytes (already limited in size) to text, without the byte
/// order mark. Accepted: UTF-8 with or without BOM; UTF-16 LE or BE with a BOM, or without
/// one when the document starts with an XML declaration; a declaration whose `encoding=`
/// (compared case-insensitively) names what was detected, or an ASCII-compatible single-byte
/// encoding when every byte is ASCII and there is no BOM.
///
/// The declaration is kept in the text: `roxmltree` ignores its `encoding=`.
///
/// # Errors
/// A short reason naming the problem: UTF-32 or EBCDIC, invalid UTF-8 (with the offset),
/// an odd byte count or an unpaired surrogate in UTF-16, a declaration that contradicts the
/// detected encoding, or another encoding with non-ASCII bytes. Never the document's text.
pub(crate) fn decode_document(bytes: &[u8]) -> Result<String, String> {
    let detected = detect(bytes)?;
    let text = match detected {
        Detected::Utf8 { bom } => {
            let body = if bom {
                bytes.get(3..).unwrap_or_default()
            } else {
                bytes
            };
            match std::str::from_utf8(body) {
                Ok(text) => text.to_owned(),
                Err(e) => {
                    // A declaration naming another encoding says more than "not UTF-8".
                    let valid = body.get(..e.valid_up_to()).unwrap_or_default();
                    check_declaration(std::str::from_utf8(valid).unwrap_or(""), detected, bytes)?;
                    return Err(format!(
                        "not UTF-8: invalid byte at offset {}",
                        e.valid_up_to() + if bom { 3 } else { 0 }
                    ));
                }
            }
        }
        Detected::Utf16Le { bom } => utf16(bytes, bom, u16::from_le_bytes)?,
        Detected::Utf16Be { bom } => utf16(bytes, bom, u16::from_be_bytes)?,
    };
    check_declaration(&text, detected, bytes)?;
    Ok(text)
}

/// The encoding from the first bytes (XML 1.0 appendix F), or why it is refused.
fn detect(bytes: &[u8]) -> Result<Detected, String> {
    let utf32 =
        || Err("UTF-32 is not supported (keyward reads UTF-8 and UTF-16 key documents)".to_owned());
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..]
        | [0xFF, 0xFE, 0x00, 0x00, ..]
        | [0x00, 0x00, 0x00, b'<', ..]
        | [b'<', 0x00, 0x00, 0x00, ..] => utf32(),
        [0xEF, 0xBB, 0xBF, ..] => Ok(Detected::Utf8 { bom: true }),
        [0xFF, 0xFE, ..] => Ok(Detected::Utf16Le { bom: true }),
        [0xFE, 0xFF, ..] => Ok(Detected::Utf16Be { bom: true }),
        [b'<', 0x00, b'?', 0x00, ..] => Ok(Detected::Utf16Le { bom: false }),
        [0x00, b'<', 0x00, b'?', ..] => Ok(Detected::Utf16Be { bom: false }),
        [0x4C, 0x6F, 0xA7, 0x94, ..] => {
            Err("EBCDIC is not supported (keyward reads UTF-8 and UTF-16 key documents)".to_owned())
        }
        _ => Ok(Detected::Utf8 { bom: false }),
    }
}

/// Decodes UTF-16 code units (after a 2-byte BOM when `bom`).
fn utf16(bytes: &[u8], bom: bool, unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    let body = if bom {
        bytes.get(2..).unwrap_or_default()
    } else {
        bytes
    };
    if !body.len().is_multiple_of(2) {
        return Err(format!(
            "UTF-16 text with an odd number of bytes ({})",
            bytes.len()
        ));
    }
    let units = body.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let start = if bom { 2 } else { 0 };
    let mut text = String::with_capacity(body.len() / 2);
    // Code units read so far, for the byte offset of an error.
    let mut units_read = 0;
    for decoded in char::decode_utf16(units) {
        match decoded {
            Ok(c) => {
                text.push(c);
                units_read += c.len_utf16();
            }
            Err(e) => {
                return Err(format!(
                    "invalid UTF-16: unpaired surrogate 0x{:04X} at byte offset {}",
                    e.unpaired_surrogate(),
                    start + units_read * 2
                ));
            }
        }
    }
    Ok(text)
}

/// Checks the XML declaration's `encoding=`, if any, against what was detected.
fn check_declaration(text: &str, detected: Detected, bytes: &[u8]) -> Result<(), String> {
    let Some(declared) = declared_encoding(text) else {
        return Ok(());
    };
    let name = declared.to_ascii_lowercase();
    let matches = match detected {
        Detected::Utf8 { .. } => name == "utf-8" || name == "utf8",
        Detected::Utf16Le { .. } => matches!(name.as_str(), "utf-16" | "utf-16le" | "unicode"),
        Detected::Utf16Be { .. } => matches!(name.as_str(), "utf-16" | "utf-16be"),
    };
    if matches {
        return Ok(());
    }
    // Shown in a message: only when it looks like an encoding name.
    let shown = if declared.len() <= 40
        && declared
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        format!("encoding=\"{declared}\"")
    } else {
        "an encoding= that is not an encoding name".to_owned()
    };
    let single_byte = ASCII_COMPATIBLE.contains(&name.as_str());
    match detected {
        Detected::Utf8 { bom: false } if single_byte => match bytes.iter().position(|b| !b.is_ascii()) {
            None => Ok(()),
            Some(offset) => Err(format!(
                "the XML declaration says {shown} and the document has a non-ASCII byte at offset {offset}; keyward reads only UTF-8 and UTF-16 key documents"
            )),
        },
        _ if single_byte || name.starts_with("utf") => Err(format!(
            "the XML declaration says {shown} but the document is {}",
            detected.describe()
        )),
        _ => Err(format!(
            "the XML declaration says {shown}, which keyward does not read (only UTF-8 and UTF-16; the document is {})",
            detected.describe()
        )),
    }
}

/// The `encoding=` value of the XML declaration at the start of `text`, if there is one.
/// A malformed declaration gives `None` (the XML parser reports it).
fn declared_encoding(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("<?xml")?;
    if !rest.starts_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    let end = rest.find("?>")?;
    let mut rest = &rest[..end];
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if rest.is_empty() {
            return None;
        }
        let name_end = rest.find(|c: char| !c.is_ascii_alphabetic())?;
        let (name, after) = rest.split_at(name_end);
        let after = after.trim_start_matches([' ', '\t', '\r', '\n']);
        let after = after
            .strip_prefix('=')?
            .trim_start_matches([' ', '\t', '\r', '\n']);
        let quote = after.chars().next().filter(|q| matches!(q, '"' | '\''))?;
        let value_and_rest = &after[1..];
        let close = value_and_rest.find(quote)?;
        let value = &value_and_rest[..close];
        if name == "encoding" {
            return Some(value.trim());
        }
        rest = &value_and_rest[close + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    fn utf16be(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
        out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        out
    }

    const DOC: &str = "<key id=\"é\">\r\n  <v>x</v>\r\n</key>";

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode_document(DOC.as_bytes()).unwrap(), DOC);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(DOC.as_bytes());
        assert_eq!(decode_document(&bom).unwrap(), DOC);
        let declared = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{DOC}");
        assert_eq!(decode_document(declared.as_bytes()).unwrap(), declared);
        let no_encoding = format!("<?xml version='1.0' standalone='yes'?>{DOC}");
        assert_eq!(
            decode_document(no_encoding.as_bytes()).unwrap(),
            no_encoding
        );
    }

    #[test]
    fn utf16_both_orders_with_bom_or_declaration() {
        assert_eq!(decode_document(&utf16le(DOC, true)).unwrap(), DOC);
        assert_eq!(decode_document(&utf16be(DOC, true)).unwrap(), DOC);
        let declared = format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n{DOC}");
        for bytes in [
            utf16le(&declared, true),
            utf16be(&declared, true),
            utf16le(&declared, false),
            utf16be(&declared, false),
        ] {
            assert_eq!(decode_document(&bytes).unwrap(), declared);
        }
        // Outside the BMP: a surrogate pair.
        let emoji = "<v>\u{1F511}</v>";
        assert_eq!(decode_document(&utf16le(emoji, true)).unwrap(), emoji);
        // And roxmltree accepts a UTF-16 declaration in text already decoded.
        let doc = crate::element_tree::parse_limited(&declared).unwrap();
        assert_eq!(doc.root_element().attribute("id"), Some("é"));
    }

    #[test]
    fn refusals_name_the_problem() {
        let err = |bytes: &[u8]| decode_document(bytes).unwrap_err();
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><v>caf\xe9</v>";
        let offset = latin1.iter().position(|&b| b == 0xe9).unwrap();
        assert_eq!(
            err(latin1),
            format!("the XML declaration says encoding=\"ISO-8859-1\" and the document has a non-ASCII byte at offset {offset}; keyward reads only UTF-8 and UTF-16 key documents")
        );
        // Non-ASCII but valid UTF-8 under a single-byte declaration: refused too.
        let utf8_e = "<?xml version=\"1.0\" encoding=\"windows-1252\"?><v>caf\u{e9}</v>";
        assert!(err(utf8_e.as_bytes()).contains("non-ASCII byte"));
        // Only ASCII: reads the same in ISO-8859-1 and UTF-8.
        let ascii = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><v>cafe</v>";
        assert_eq!(decode_document(ascii.as_bytes()).unwrap(), ascii);
        let utf8_declared = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{DOC}");
        assert_eq!(
            err(&utf16le(&utf8_declared, true)),
            "the XML declaration says encoding=\"utf-8\" but the document is UTF-16 little-endian (byte order mark)"
        );
        assert_eq!(
            err(&utf16be(&utf8_declared, false)),
            "the XML declaration says encoding=\"utf-8\" but the document is UTF-16 big-endian"
        );
        let utf16_declared = format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>{DOC}");
        assert_eq!(
            err(utf16_declared.as_bytes()),
            "the XML declaration says encoding=\"utf-16\" but the document is UTF-8"
        );
        let mut bom_latin1 = vec![0xEF, 0xBB, 0xBF];
        bom_latin1.extend_from_slice(ascii.as_bytes());
        assert_eq!(
            err(&bom_latin1),
            "the XML declaration says encoding=\"iso-8859-1\" but the document is UTF-8 (byte order mark)"
        );
        assert!(err(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><v/>")
            .contains("encoding=\"Shift_JIS\", which keyward does not read"));
        assert!(
            err(b"<?xml version=\"1.0\" encoding=\"a b<>\"?><v/>").contains("not an encoding name")
        );
        assert!(err(&[0xFF, 0xFE, 0, 0, b'<', 0, 0, 0]).starts_with("UTF-32"));
        assert!(err(&[0, 0, 0xFE, 0xFF]).starts_with("UTF-32"));
        assert!(err(&[0, 0, 0, b'<', 0, 0, 0, b'?']).starts_with("UTF-32"));
        assert!(err(&[0x4C, 0x6F, 0xA7, 0x94]).starts_with("EBCDIC"));
        assert_eq!(
            err(&[0xFF, 0xFE, b'<', 0, b'v']),
            "UTF-16 text with an odd number of bytes (5)"
        );
        assert_eq!(
            err(&[0xFF, 0xFE, b'<', 0, 0x00, 0xD8, b'>', 0]),
            "invalid UTF-16: unpaired surrogate 0xD800 at byte offset 4"
        );
        assert_eq!(
            err(&[0xFE, 0xFF, 0xDC, 0x00]),
            "invalid UTF-16: unpaired surrogate 0xDC00 at byte offset 2"
        );
        assert_eq!(err(b"<v>\xff</v>"), "not UTF-8: invalid byte at offset 3");
        assert_eq!(
            err(b"\xef\xbb\xbf<v>\xc3</v>"),
            "not UTF-8: invalid byte at offset 6"
        );
    }

    #[test]
    fn declaration_parsing() {
        assert_eq!(
            declared_encoding("<?xml version=\"1.0\" encoding = 'x-y' ?>"),
            Some("x-y")
        );
        assert_eq!(declared_encoding("<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding("<?xml-stylesheet href='a'?>"), None);
        assert_eq!(declared_encoding("<a/><?xml encoding='x'?>"), None);
        assert_eq!(declared_encoding("<?xml version=\"1.0 encoding='x'"), None);
    }
}
