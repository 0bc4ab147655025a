//! The ASP.NET Core login cookie in Rust: what the cookie authentication handler puts in
//! `.AspNetCore.Cookies`, byte for byte.
//!
//! ```text
//! AuthenticationTicket ─TicketSerializer v5─▶ bytes ─Protector(app, CookieAuthenticationMiddleware,
//!     scheme, "v2")─▶ payload ─base64url─▶ value ─ChunkingCookieManager─▶ Set-Cookie(s)
//! ```
//!
//! A .NET server and a Rust server that share a key ring (keyward reads and writes .NET's)
//! and an application name read each other's login cookies: [`TicketDataFormat`] protects and
//! unprotects, [`TicketSerializer`] is the binary format, [`ChunkingCookieManager`] splits
//! long values into `NAME=chunks-N`, `NAMEC1` … and puts them back together, and
//! [`CookieHeader`] reads a `Cookie:` request header (bounded, chunks reassembled, values
//! percent-decoded on request). No web framework is involved.
//!
//! Errors: [`TicketError`] for a ticket's bytes and protection, [`CookieError`] for the
//! header and its chunks, and [`Error`] for either (reading a login from a request meets
//! both).
//!
//! ```
//! use keyward_aspnetcore::{
//!     AuthenticationProperties, AuthenticationTicket, ChunkingCookieManager, Claim,
//!     ClaimsIdentity, ClaimsPrincipal, CookieHeader, TicketDataFormat, NAME_CLAIM_TYPE,
//! };
//! let provider = keyward::Provider::ephemeral("shop")?;
//! let format = TicketDataFormat::for_cookie_scheme(&provider, "Cookies");
//!
//! let mut identity = ClaimsIdentity::new("Cookies");
//! identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
//! let mut properties = AuthenticationProperties::new();
//! properties.set_issued_utc(provider.now());
//! let ticket = AuthenticationTicket::new("Cookies", ClaimsPrincipal::new(identity), properties);
//!
//! // Sign-in: the Set-Cookie values.
//! let cookies = ChunkingCookieManager::new().split(".AspNetCore.Cookies", &format.protect(&ticket)?);
//! let header: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
//!
//! // A later request: the Cookie header.
//! let request = header.join("; ");
//! let value = CookieHeader::parse(&request)?
//!     .reassemble(".AspNetCore.Cookies")?
//!     .expect("the cookie is there");
//! assert_eq!(format.unprotect(&value)?.principal.name(), Some("alice"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Hostile input never panics: sizes, counts, string lengths and actor depth are bounded
//! ([`MAX_TICKET_BYTES`], [`MAX_CLAIMS`], [`MAX_ACTOR_DEPTH`], [`MAX_CHUNKS`],
//! [`MAX_COOKIES`] …) and every
//! error names what was wrong. Tickets hold personal data: do not log them.

#![forbid(unsafe_code)]

mod binary;
mod chunking;
mod claims;
mod cookie_header;
mod data_format;
mod error;
mod login;
mod properties;
mod serializer;
mod ticket;
mod ticket_view;

pub use chunking::{
    ChunkingCookieManager, DEFAULT_CHUNK_SIZE, DEFAULT_COOKIE_ATTRIBUTES, MAX_CHUNKS,
};
pub use claims::{
    Claim, ClaimsIdentity, ClaimsPrincipal, DEFAULT_ISSUER, NAME_CLAIM_TYPE,
    NAME_IDENTIFIER_CLAIM_TYPE, ROLE_CLAIM_TYPE, STRING_VALUE_TYPE,
};
pub use cookie_header::{percent_decode, CookieHeader, MAX_COOKIES};
pub use data_format::{
    TicketDataFormat, COOKIE_AUTHENTICATION_PURPOSE, COOKIE_AUTHENTICATION_VERSION_PURPOSE,
    MAX_PROTECTED_CHARS,
};
pub use error::{CookieError, Error, Result, TicketError};
pub use login::{default_cookie_name, LoginReader};
pub use properties::{
    format_rfc1123, parse_rfc1123, AuthenticationProperties, EXPIRES_KEY, ISSUED_KEY,
    PERSISTENT_KEY, REDIRECT_KEY, REFRESH_KEY,
};
pub use serializer::{
    TicketSerializer, MAX_ACTOR_DEPTH, MAX_CLAIMS, MAX_IDENTITIES, MAX_PROPERTIES,
    MAX_TICKET_BYTES, PROPERTIES_FORMAT_VERSION, TICKET_FORMAT_VERSION,
};
pub use ticket::AuthenticationTicket;
pub use ticket_view::{ClaimView, IdentityView, TicketView};
