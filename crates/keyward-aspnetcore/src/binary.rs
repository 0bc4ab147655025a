//! The `System.IO.BinaryWriter` primitives the ticket format is made of: little-endian
//! `int32`, one-byte `bool`, and strings as a 7-bit encoded UTF-8 byte count followed by the
//! bytes (`docs/spec/login-cookie.md` §2).
//!
//! The reader never panics and never allocates more than the input could hold: every length
//! and count is checked against the bytes that remain before anything is reserved, and the
//! strings it produces (defaults copied for `"\0"` included) share one allocation budget of
//! [`ALLOCATION_BUDGET_FACTOR`] × the input plus [`ALLOCATION_BUDGET_SLACK`].

use crate::error::{Result, TicketError};

/// The string .NET writes for "equal to the default" (the single character U+0000).
pub(crate) const DEFAULT_PLACEHOLDER: &str = "\0";

/// The string bytes a reader may produce per input byte. A `"\0"` placeholder is two bytes
/// of input and can stand for a default read earlier (a claim's type defaults to its
/// identity's name type, as long as the input allows), so without a budget a small input
/// could copy one long string tens of thousands of times. 16 is above what any ticket
/// whose defaults are the fixed .NET ones expands to (a claim of 13 bytes with every default
/// and an empty value yields 127 bytes of strings; an identity of 9 bytes, 117).
pub(crate) const ALLOCATION_BUDGET_FACTOR: usize = 16;

/// The string bytes a reader may produce beyond [`ALLOCATION_BUDGET_FACTOR`] × the input,
/// so that small tickets are never refused.
pub(crate) const ALLOCATION_BUDGET_SLACK: usize = 64 << 10;

/// Reads `BinaryWriter` output, tracking the offset for error messages and the string bytes
/// produced against the allocation budget.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// `bytes` as text, when all of it is UTF-8 (a ticket whose lengths are all below 128
    /// is): a string inside it is then sliced out (its ends checked for character
    /// boundaries) instead of checked again. A slice that is not at boundaries is checked as
    /// bytes and refused as invalid UTF-8, as it would be without this.
    text: Option<&'a str>,
    offset: usize,
    /// The whole budget, for error messages.
    budget: usize,
    /// What is left of it.
    budget_left: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`, with a budget of [`ALLOCATION_BUDGET_FACTOR`] ×
    /// `bytes.len()` + [`ALLOCATION_BUDGET_SLACK`] string bytes.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        let budget = bytes
            .len()
            .saturating_mul(ALLOCATION_BUDGET_FACTOR)
            .saturating_add(ALLOCATION_BUDGET_SLACK);
        Self {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
            offset: 0,
            budget,
            budget_left: budget,
        }
    }

    /// Charges `len` string bytes for `what` (at `offset`) to the budget, before they are
    /// allocated.
    fn charge(&mut self, what: &'static str, offset: usize, len: usize) -> Result<(), TicketError> {
        match self.budget_left.checked_sub(len) {
            Some(left) => {
                self.budget_left = left;
                Ok(())
            }
            None => Err(TicketError::AllocationBudget {
                what,
                offset,
                budget: self.budget,
            }),
        }
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Takes `len` bytes, or says that `what` is cut short.
    fn take(
        &mut self,
        len: usize,
        what: &'static str,
        start: usize,
    ) -> Result<&'a [u8], TicketError> {
        let remaining = self.remaining();
        if len > remaining {
            return Err(TicketError::Truncated {
                what,
                offset: start,
                needed: len as u64,
                remaining,
            });
        }
        let taken = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(taken)
    }

    /// `BinaryReader.ReadInt32`.
    pub(crate) fn read_i32(&mut self, what: &'static str) -> Result<i32, TicketError> {
        let start = self.offset;
        let bytes = self.take(4, what, start)?;
        let mut le = [0u8; 4];
        le.copy_from_slice(bytes);
        Ok(i32::from_le_bytes(le))
    }

    /// `BinaryReader.ReadBoolean`: any non-zero byte is true, as in .NET.
    pub(crate) fn read_bool(&mut self, what: &'static str) -> Result<bool, TicketError> {
        let start = self.offset;
        Ok(self.take(1, what, start)?[0] != 0)
    }

    /// `BinaryReader.Read7BitEncodedInt` for a string length: at most five bytes, at most
    /// `i32::MAX`.
    fn read_length(&mut self, what: &'static str) -> Result<usize, TicketError> {
        // Most strings are shorter than 128 bytes: a one-byte length.
        if let Some(&byte) = self.bytes.get(self.offset).filter(|&&b| b < 0x80) {
            self.offset += 1;
            return Ok(usize::from(byte));
        }
        let start = self.offset;
        let mut value: u64 = 0;
        for index in 0..5 {
            let byte = self.take(1, what, start)?[0];
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return usize::try_from(value)
                    .ok()
                    .filter(|&v| v <= i32::MAX as usize)
                    .ok_or(TicketError::BadLength {
                        what,
                        offset: start,
                    });
            }
        }
        Err(TicketError::BadLength {
            what,
            offset: start,
        })
    }

    /// The length, then that many bytes of UTF-8, borrowed from the input; with the offset
    /// where the string's length starts.
    fn read_str(&mut self, what: &'static str) -> Result<(&'a str, usize), TicketError> {
        let at = self.offset;
        let len = self.read_length(what)?;
        let start = self.offset;
        let bytes = self.take(len, what, start)?;
        if let Some(text) = self.text.and_then(|all| all.get(start..start + len)) {
            return Ok((text, at));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| TicketError::InvalidUtf8 {
            what,
            offset: start,
        })?;
        Ok((text, at))
    }

    /// `BinaryReader.ReadString`: the length, then that many bytes of UTF-8, borrowed from
    /// the input. Charged to the budget (what an owned copy would allocate).
    pub(crate) fn read_text(&mut self, what: &'static str) -> Result<&'a str, TicketError> {
        let (text, at) = self.read_str(what)?;
        self.charge(what, at, text.len())?;
        Ok(text)
    }

    /// A string where `"\0"` stands for `default`. What it stands for (the default, or the
    /// string read) is charged to the budget.
    pub(crate) fn read_text_or(
        &mut self,
        what: &'static str,
        default: &'a str,
    ) -> Result<&'a str, TicketError> {
        let (text, at) = self.read_str(what)?;
        let value = if text == DEFAULT_PLACEHOLDER {
            default
        } else {
            text
        };
        self.charge(what, at, value.len())?;
        Ok(value)
    }

    /// An `int32` count: not negative, at most `max`, and no more items than the remaining
    /// bytes could hold at `min_item_bytes` each (so nothing is reserved for items that
    /// cannot be there).
    pub(crate) fn read_count(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_bytes: usize,
    ) -> Result<usize, TicketError> {
        let count = self.read_i32(what)?;
        let Ok(count) = usize::try_from(count) else {
            return Err(TicketError::NegativeCount { what, count });
        };
        if count > max {
            return Err(TicketError::TooMany {
                what,
                count: count as u64,
                max: max as u64,
            });
        }
        let fits = self.remaining() / min_item_bytes.max(1);
        if count > fits {
            return Err(TicketError::Truncated {
                what,
                offset: self.offset - 4,
                needed: (count as u64).saturating_mul(min_item_bytes as u64),
                remaining: self.remaining(),
            });
        }
        Ok(count)
    }

    /// Succeeds only when every byte was read.
    pub(crate) fn finish(self) -> Result<(), TicketError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(TicketError::TrailingBytes { count }),
        }
    }
}

/// Writes `BinaryWriter` output.
#[derive(Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// How many bytes were written.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// `BinaryWriter.Write(int)`.
    pub(crate) fn write_i32(&mut self, value: i32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// A count as `int32`, refused above `max` (which is below `i32::MAX`).
    pub(crate) fn write_count(
        &mut self,
        what: &'static str,
        count: usize,
        max: usize,
    ) -> Result<(), TicketError> {
        match i32::try_from(count) {
            Ok(value) if count <= max => {
                self.write_i32(value);
                Ok(())
            }
            _ => Err(TicketError::TooMany {
                what,
                count: count as u64,
                max: max as u64,
            }),
        }
    }

    /// `BinaryWriter.Write(bool)`.
    pub(crate) fn write_bool(&mut self, value: bool) {
        self.out.push(u8::from(value));
    }

    /// `BinaryWriter.Write(string)`. Lengths above `i32::MAX` cannot occur: the serializer
    /// refuses the ticket long before (its total size is bounded).
    pub(crate) fn write_string(
        &mut self,
        what: &'static str,
        value: &str,
    ) -> Result<(), TicketError> {
        let len = u32::try_from(value.len())
            .ok()
            .filter(|&len| len <= i32::MAX as u32)
            .ok_or(TicketError::TooLarge {
                what,
                len: value.len(),
                max: i32::MAX as usize,
            })?;
        write_length(&mut self.out, len);
        self.out.extend_from_slice(value.as_bytes());
        Ok(())
    }

    /// A string written as `"\0"` when it equals `default` (ordinal comparison). A value that
    /// *is* `"\0"` but is not the default is refused: it would read back as the default.
    pub(crate) fn write_string_or(
        &mut self,
        what: &'static str,
        value: &str,
        default: &str,
    ) -> Result<(), TicketError> {
        if value == default {
            self.write_string(what, DEFAULT_PLACEHOLDER)
        } else if value == DEFAULT_PLACEHOLDER {
            Err(TicketError::ReservedPlaceholder { what })
        } else {
            self.write_string(what, value)
        }
    }
}

/// `BinaryWriter.Write7BitEncodedInt` for a string length: seven data bits per byte, least
/// significant first, the high bit set on every byte but the last.
fn write_length(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        // Truncation is the point: the low seven bits with the continuation bit.
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;

    #[test]
    fn strings_are_7bit_length_prefixed_utf8() {
        let mut w = Writer::new();
        w.write_string("s", "é").unwrap();
        w.write_string("s", &"a".repeat(200)).unwrap();
        let bytes = w.into_bytes();
        assert_eq!(&bytes[..3], &[2, 0xc3, 0xa9]);
        assert_eq!(&bytes[3..5], &[0xc8, 0x01]);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.read_text("s").unwrap(), "é");
        assert_eq!(r.read_text("s").unwrap().len(), 200);
        r.finish().unwrap();
    }

    #[test]
    fn the_placeholder_stands_for_the_default() {
        let mut w = Writer::new();
        w.write_string_or("t", "x", "x").unwrap();
        w.write_string_or("t", "y", "x").unwrap();
        assert!(matches!(
            w.write_string_or("t", "\0", "x"),
            Err(TicketError::ReservedPlaceholder { what: "t" })
        ));
        let bytes = w.into_bytes();
        assert_eq!(&bytes[..2], &[1, 0]);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.read_text_or("t", "x").unwrap(), "x");
        assert_eq!(r.read_text_or("t", "x").unwrap(), "y");
    }

    #[test]
    fn lengths_are_bounded_and_checked_against_the_input() {
        // Six continuation bytes; a five-byte value above i32::MAX; a length past the end.
        for bytes in [
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00][..],
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
        ] {
            assert!(matches!(
                Reader::new(bytes).read_text("s"),
                Err(TicketError::BadLength { .. })
            ));
        }
        assert!(matches!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x07]).read_text("s"),
            Err(TicketError::Truncated {
                needed: 2_147_483_647,
                ..
            })
        ));
        assert!(matches!(
            Reader::new(&[2, 0xff, 0xfe]).read_text("s"),
            Err(TicketError::InvalidUtf8 { offset: 1, .. })
        ));
    }

    #[test]
    fn counts_are_positive_bounded_and_fit_the_input() {
        let neg = (-1i32).to_le_bytes();
        assert!(matches!(
            Reader::new(&neg).read_count("c", 10, 1),
            Err(TicketError::NegativeCount { count: -1, .. })
        ));
        let big = 11i32.to_le_bytes();
        assert!(matches!(
            Reader::new(&big).read_count("c", 10, 1),
            Err(TicketError::TooMany { count: 11, .. })
        ));
        let three = [3, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            Reader::new(&three).read_count("c", 10, 3),
            Err(TicketError::Truncated { .. })
        ));
        assert_eq!(Reader::new(&three[..]).read_count("c", 10, 1).unwrap(), 3);
    }

    #[test]
    fn strings_and_copied_defaults_share_one_budget() {
        // Two bytes of input (one placeholder): a budget of 2 × 16 + 64 KiB string bytes.
        let budget = 2 * ALLOCATION_BUDGET_FACTOR + ALLOCATION_BUDGET_SLACK;
        let mut r = Reader::new(&[1, 0]);
        let default = "d".repeat(budget);
        assert_eq!(r.read_text_or("t", &default).unwrap().len(), budget);
        let mut r = Reader::new(&[1, 0]);
        let default = "d".repeat(budget + 1);
        assert!(matches!(
            r.read_text_or("t", &default),
            Err(TicketError::AllocationBudget {
                what: "t",
                offset: 0,
                budget: b,
            }) if b == budget
        ));
        // Strings read are charged too: the second placeholder finds the budget spent.
        let mut r = Reader::new(&[1, 0, 1, 0]);
        let default = "d".repeat((4 * ALLOCATION_BUDGET_FACTOR + ALLOCATION_BUDGET_SLACK) / 2 + 1);
        r.read_text_or("t", &default).unwrap();
        assert!(matches!(
            r.read_text_or("u", &default),
            Err(TicketError::AllocationBudget {
                what: "u",
                offset: 2,
                ..
            })
        ));
    }

    #[test]
    fn bools_read_any_nonzero_as_true() {
        let mut r = Reader::new(&[0, 1, 7]);
        assert!(!r.read_bool("b").unwrap());
        assert!(r.read_bool("b").unwrap());
        assert!(r.read_bool("b").unwrap());
        assert!(r.read_bool("b").is_err());
    }
}
