//! The errors of this crate: [`TicketError`] for tickets (their bytes, their protection),
//! [`CookieError`] for `Cookie:` headers and chunked cookies, and [`Error`], either of them.
//! Every variant says what was wrong and where, never a claim value or a cookie value (names
//! of cookies and property keys are shown: they are identifiers, not secrets).

/// A ticket or a cookie error: what reading a login cookie from a request can meet (the
/// header, its chunks, then the ticket, then its expiry). The text and source of a ticket or
/// cookie error are the inner error's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ticket's bytes or protection.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// The `Cookie:` header or the cookie's chunks.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The login's `.expires` has passed (ASP.NET Core refuses it too).
    #[error("the login expired at {expires}")]
    Expired {
        /// When it expired.
        expires: keyward::time::OffsetDateTime,
    },
}

/// A `Result` whose error is [`Error`] unless another is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a ticket could not be read, written, protected or unprotected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The bytes end before the field being read does.
    #[error("the ticket ends early: {what} at byte {offset} needs {needed} bytes but {remaining} remain")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs (a string's declared length, or a fixed size).
        needed: u64,
        /// How many bytes were left.
        remaining: usize,
    },
    /// A 7-bit encoded string length longer than five bytes or above `i32::MAX`.
    #[error("{what} at byte {offset}: its 7-bit encoded length is malformed or above 2^31-1")]
    BadLength {
        /// The field being read.
        what: &'static str,
        /// Where its length starts.
        offset: usize,
    },
    /// A string that is not UTF-8 (`BinaryWriter` always writes UTF-8).
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
        /// Where its bytes start.
        offset: usize,
    },
    /// A format version this crate (and .NET) does not read.
    #[error("unsupported {what} format version {found} (expected {expected})")]
    UnsupportedVersion {
        /// Which format: the ticket or its properties.
        what: &'static str,
        /// The version found.
        found: i32,
        /// The version .NET writes.
        expected: i32,
    },
    /// A negative count.
    #[error("{what} is {count}: a count cannot be negative")]
    NegativeCount {
        /// Which count.
        what: &'static str,
        /// Its value.
        count: i32,
    },
    /// A count above this crate's bound, or above what the remaining bytes could hold.
    #[error("{what} is {count}, above the limit of {max}")]
    TooMany {
        /// Which count.
        what: &'static str,
        /// Its value.
        count: u64,
        /// The most accepted here.
        max: u64,
    },
    /// Actors nested deeper than [`crate::MAX_ACTOR_DEPTH`].
    #[error("the identity's actors nest deeper than {max} levels")]
    ActorTooDeep {
        /// The limit.
        max: usize,
    },
    /// Serialized bytes above [`crate::MAX_TICKET_BYTES`], or a protected value above
    /// [`crate::MAX_PROTECTED_CHARS`].
    #[error("{what} is {len} bytes long; at most {max} are accepted")]
    TooLarge {
        /// The serialized ticket or the protected text.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The strings read (with the defaults copied where the ticket writes `"\0"`) would
    /// take more bytes than the input allows: 16 × its length + 64 KiB. A placeholder can
    /// stand for a long string read earlier (a claim type for the identity's name type), so
    /// a small input could otherwise make the reader copy it without bound.
    #[error("{what} at byte {offset} exceeds the allocation budget of {budget} string bytes for this ticket (16 times its length plus 64 KiB, defaults copied included)")]
    AllocationBudget {
        /// The field being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// The budget of the whole ticket.
        budget: usize,
    },
    /// Bytes after the properties, which .NET never writes.
    #[error("{count} unexpected bytes follow the end of the ticket")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The same key twice in a dictionary (.NET's `Dictionary.Add` refuses it too).
    #[error("{what} holds the key {key:?} twice")]
    DuplicateKey {
        /// Which dictionary.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// A field whose value is exactly `"\0"`: the format writes that string for "same as the
    /// default", so the value cannot survive a round trip (.NET would silently change it).
    #[error("{what} is the string \"\\0\", which the ticket format reserves for \"same as the default\"")]
    ReservedPlaceholder {
        /// The field.
        what: &'static str,
    },
    /// The protected value is not base64url (or base64).
    #[error("the protected ticket is not base64url")]
    Encoding(#[source] keyward::Error),
    /// Data protection refused the payload: tampered, wrong purposes (scheme or application
    /// name), unknown or revoked key.
    #[error("the ticket does not unprotect")]
    Unprotect(#[source] keyward::Error),
    /// Data protection could not protect (no usable key, store failure).
    #[error("the ticket could not be protected")]
    Protect(#[source] keyward::Error),
}

/// Why a `Cookie:` header could not be read, or a cookie split into chunks or put back
/// together from them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// A header holding more than [`crate::MAX_COOKIES`] cookies.
    #[error("the Cookie header holds more than {max} cookies")]
    TooManyCookies {
        /// The limit.
        max: usize,
    },
    /// `chunks-N` where N is not a decimal number above zero.
    #[error(
        "cookie {name:?} starts with \"chunks-\" but its count is not a decimal number above zero"
    )]
    BadChunkCount {
        /// The cookie.
        name: String,
    },
    /// N above [`crate::MAX_CHUNKS`].
    #[error("cookie {name:?} declares {declared} chunks; at most {max} are put back together", max = crate::MAX_CHUNKS)]
    TooManyChunks {
        /// The cookie.
        name: String,
        /// N as written (its first digits).
        declared: String,
    },
    /// A chunk is missing or empty.
    #[error("chunk {chunk:?} of {count} is missing or empty: the request does not hold the whole cookie")]
    MissingChunk {
        /// The chunk cookie's name.
        chunk: String,
        /// N.
        count: usize,
    },
    /// A chunk beyond N, or not numbered as .NET numbers them (a leading zero).
    #[error("cookie {chunk:?} is not one of the {count} chunks declared: the request mixes cookies from different responses")]
    ExtraChunk {
        /// The chunk cookie's name.
        chunk: String,
        /// N.
        count: usize,
    },
    /// The same chunk twice with different values.
    #[error("chunk {chunk:?} appears twice with different values")]
    DuplicateChunk {
        /// The chunk cookie's name.
        chunk: String,
    },
    /// A chunk size too small for the cookie's name and attributes (.NET throws too).
    #[error("chunk size {chunk_size} is too small for cookie {name:?}: at least {min} is needed")]
    ChunkSizeTooSmall {
        /// The cookie.
        name: String,
        /// The configured size.
        chunk_size: usize,
        /// The smallest size that works (`template length + 10`, as .NET).
        min: usize,
    },
}
