//! Why text is not base64 as key XML holds it.

/// Why text is not base64 as key XML holds it. The message names a character and its
/// offset at most, never the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// Nothing but whitespace.
    Empty,
    /// A character outside the standard alphabet (or data after `=` padding), at a byte
    /// offset of the text.
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its byte offset in the text as given (whitespace included).
        offset: usize,
        /// Whether it follows `=` padding.
        after_padding: bool,
    },
    /// More than two `=`.
    TooMuchPadding,
    /// The characters left after removing whitespace are not a multiple of 4.
    Length(usize),
}

impl std::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("empty"),
            Self::InvalidCharacter {
                character,
                offset,
                after_padding: false,
            } => write!(f, "invalid character {character:?} at offset {offset}"),
            Self::InvalidCharacter {
                character,
                offset,
                after_padding: true,
            } => write!(
                f,
                "invalid character {character:?} at offset {offset} (after '=' padding)"
            ),
            Self::TooMuchPadding => f.write_str("more than two '=' padding characters"),
            Self::Length(n) => write!(
                f,
                "length is not a multiple of 4 after removing whitespace ({n} characters)"
            ),
        }
    }
}

impl std::error::Error for Base64Error {}
