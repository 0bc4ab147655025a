//! The `Set-Cookie` headers of signing in and out, rendered as ASP.NET Core renders them.

use std::convert::Infallible;
use std::fmt;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use keyward::time::OffsetDateTime;
use keyward_aspnetcore::{chunk_digits, cookie_pairs, format_rfc1123, ChunkingCookieManager};

/// `Set-Cookie` headers that sign a user in or out: return them from a handler (alone, or in
/// a tuple before the body).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCookies(Vec<String>);

impl fmt::Debug for LoginCookies {
    // The values are login tickets: show the cookie names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|h| h.split_once('=').map_or(h.as_str(), |(name, _)| name))
            .collect();
        f.debug_tuple("LoginCookies").field(&names).finish()
    }
}

impl LoginCookies {
    /// The `Set-Cookie` header values, in order.
    pub fn headers(&self) -> &[String] {
        &self.0
    }
}

impl IntoResponseParts for LoginCookies {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for header in self.0 {
            // Names come from the configuration, values are base64url: always valid; a
            // configured name that is not is dropped with a warning.
            match HeaderValue::try_from(header) {
                Ok(value) => {
                    res.headers_mut().append(SET_COOKIE, value);
                }
                Err(_) => {
                    tracing::warn!("a login cookie was not sent: its name is not valid in a header")
                }
            }
        }
        Ok(res)
    }
}

impl IntoResponse for LoginCookies {
    fn into_response(self) -> Response {
        (self, ()).into_response()
    }
}

/// A login could not be written: no key could protect, or the ticket is too large. As a
/// response it is a bare 500; the cause is logged, never sent.
#[derive(Debug)]
pub struct LoginError(keyward_aspnetcore::Error);

impl LoginError {
    pub(crate) fn new(error: keyward_aspnetcore::Error) -> Self {
        Self(error)
    }

    /// The error behind it.
    pub fn into_inner(self) -> keyward_aspnetcore::Error {
        self.0
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the login cookie could not be written: {}", self.0)
    }
}

impl std::error::Error for LoginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "the login cookie could not be written");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// `; expires=…; path=/; secure; samesite=lax; httponly`, in .NET's order and spelling.
fn attributes(secure: bool, expires: Option<OffsetDateTime>) -> String {
    let mut attributes = String::new();
    if let Some(expires) = expires {
        attributes.push_str("; expires=");
        attributes.push_str(&format_rfc1123(expires));
    }
    attributes.push_str("; path=/");
    if secure {
        attributes.push_str("; secure");
    }
    attributes.push_str("; samesite=lax; httponly");
    attributes
}

/// What .NET writes to delete a cookie.
fn removal(name: &str, secure: bool) -> String {
    let gone = OffsetDateTime::UNIX_EPOCH;
    format!("{name}={}", attributes(secure, Some(gone)))
}

/// The names of `name`'s chunks (`nameC1` …) in the request, whatever their number.
fn chunks_in_request<'h>(name: &str, headers: &'h HeaderMap) -> Vec<&'h str> {
    let mut chunks: Vec<&str> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie_pairs)
        .map(|(chunk, _)| chunk)
        .filter(|chunk| chunk_digits(name, chunk).is_some())
        .collect();
    chunks.sort_unstable();
    chunks.dedup();
    chunks
}

pub(super) fn sign_in(
    chunking: &ChunkingCookieManager,
    name: &str,
    value: &str,
    secure: bool,
    expires: Option<OffsetDateTime>,
    request: &HeaderMap,
) -> Result<LoginCookies, keyward_aspnetcore::Error> {
    let attributes = attributes(secure, expires);
    let cookies = chunking.try_split(name, value, &attributes)?;
    let mut headers: Vec<String> = cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}{attributes}"))
        .collect();
    // Chunks of an earlier, longer login that this one does not overwrite.
    for stale in chunks_in_request(name, request) {
        if !cookies.iter().any(|(written, _)| written == stale) {
            headers.push(removal(stale, secure));
        }
    }
    Ok(LoginCookies(headers))
}

pub(super) fn sign_out(name: &str, secure: bool, request: &HeaderMap) -> LoginCookies {
    let mut headers = vec![removal(name, secure)];
    headers.extend(
        chunks_in_request(name, request)
            .into_iter()
            .map(|chunk| removal(chunk, secure)),
    );
    LoginCookies(headers)
}
