//! Why a payload could not even be parsed.

/// Why a payload could not even be parsed (its shape is wrong before any key is involved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The payload is empty.
    Empty,
    /// The payload is shorter than the 20-byte header (magic + key id).
    TooShort {
        /// The length that was seen.
        len: usize,
    },
    /// The first four bytes are not the Data Protection magic header `09 F0 C9 F0`.
    BadMagic,
    /// The magic header is right but its version nibble is not 0 (a newer format).
    UnsupportedVersion {
        /// The version nibble that was seen.
        version: u8,
    },
    /// The body after the header is too short (or misaligned) for the key's algorithm.
    Truncated,
    /// The text form is not valid base64url (or standard base64).
    InvalidBase64,
}

impl std::fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("the payload is empty"),
            Self::TooShort { len } => write!(
                f,
                "the payload is {len} bytes long, shorter than the 20-byte header"
            ),
            Self::BadMagic => f.write_str(
                "the payload was not protected with ASP.NET Core Data Protection (bad magic header)",
            ),
            Self::UnsupportedVersion { version } => write!(
                f,
                "the payload was protected with a newer version of the format (version {version})"
            ),
            Self::Truncated => {
                f.write_str("the payload body is too short or misaligned for its key's algorithm")
            }
            Self::InvalidBase64 => f.write_str("the payload is not valid base64url"),
        }
    }
}
