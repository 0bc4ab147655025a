//! Every JSON document the CLI prints goes through here. Store text (key-ring XML, login
//! tickets, web.config files) is chosen by whoever can write there, and serde_json escapes
//! only C0 controls, `"` and `\`: DEL, the C1 controls (U+009B is an 8-bit CSI, U+009D an
//! 8-bit OSC) and the bidirectional controls would reach the terminal raw. This formatter
//! writes them as `\uXXXX`, which every JSON reader turns back into the same string.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Whether `c` is written as `\uXXXX`: DEL and C1 (U+007F–U+009F), and the bidirectional
/// controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
pub fn must_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// A serde_json formatter (pretty or compact), with [`must_escape`] characters escaped.
struct TerminalSafe<F>(F);

impl<F: Formatter> Formatter for TerminalSafe<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if must_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // Every such character is in the Basic Multilingual Plane: one \u escape.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // The layout is the wrapped formatter's.
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// `serde_json::to_writer_pretty`, with [`must_escape`] characters escaped.
///
/// # Errors
/// As serde_json's: the value does not serialize, or writing fails.
pub fn to_writer_pretty<W: Write, T: ?Sized + Serialize>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(writer, TerminalSafe(PrettyFormatter::new()));
    value.serialize(&mut serializer)
}

/// `serde_json::to_vec` (compact, one line), with [`must_escape`] characters escaped: the
/// sidecar's answers, which clients may log.
///
/// # Errors
/// As serde_json's: the value does not serialize.
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(128);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut bytes, TerminalSafe(CompactFormatter));
    value.serialize(&mut serializer)?;
    Ok(bytes)
}

/// `serde_json::to_string_pretty`, with [`must_escape`] characters escaped.
///
/// # Errors
/// As serde_json's: the value does not serialize.
pub fn to_string_pretty<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<String> {
    let mut bytes = Vec::with_capacity(128);
    to_writer_pretty(&mut bytes, value)?;
    // The serializer writes UTF-8 only (str fragments and ASCII escapes).
    String::from_utf8(bytes)
        .map_err(|e| serde_json::Error::io(io::Error::new(io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn escapes_del_c1_and_bidi_and_round_trips() {
        let hostile = "a\u{7f}b\u{9b}31m\u{9d}0;t\u{9c}\u{61c}\u{200e}\u{200f}\u{202a}\u{202e}\u{2066}\u{2069}é🦀\n\"";
        let value = serde_json::json!({ "k\u{202e}": [hostile] });
        let text = to_string_pretty(&value).unwrap();
        assert!(!text.chars().any(must_escape), "{text:?}");
        for escape in [
            "\\u007f", "\\u009b", "\\u009d", "\\u009c", "\\u061c", "\\u200e", "\\u200f", "\\u202a",
            "\\u202e", "\\u2066", "\\u2069", "\\n", "\\\"",
        ] {
            assert!(text.contains(escape), "{escape} missing in {text}");
        }
        assert!(text.contains("é🦀"), "other text stays as it is: {text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    /// Every printed JSON goes through this module: no other source file calls serde_json's
    /// writers outside its tests.
    #[test]
    fn no_other_module_prints_json_with_serde_json_itself() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("json_out.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for call in [
                        "serde_json::to_writer",
                        "serde_json::to_string",
                        "serde_json::to_vec",
                    ] {
                        if code.contains(call) {
                            found.push(format!("{}: {call}", path.display()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.is_empty(), "use crate::json_out instead: {found:?}");
    }

    #[test]
    fn compact_is_serde_jsons_compact_layout_with_controls_escaped() {
        let value = serde_json::json!({"a": [1, {"b": null}], "c": "x\u{9b}y"});
        let bytes = to_vec(&value).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"a":[1,{"b":null}],"c":"x\u009by"}"#
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            value
        );
    }

    #[test]
    fn layout_is_serde_jsons_pretty_layout() {
        let value = serde_json::json!({"a": [1, {"b": null}], "c": {}, "d": []});
        assert_eq!(
            to_string_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
