//! The `Set-Cookie` headers of signing in and out, rendered as ASP.NET Core renders them.

use std::convert::Infallible;
use std::fmt;

use axum_core::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use keyward::time::OffsetDateTime;
use keyward_aspnetcore::{format_rfc1123, ChunkingCookieManager, CookieError, CookieHeader};

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

/// The names of `name`'s chunks (`nameC1` …) in the request, whatever their number, sorted.
/// A request holding more cookies than [`keyward_aspnetcore::MAX_COOKIES`] is not read: none.
fn chunks_in_request<'h>(name: &str, headers: &'h HeaderMap) -> Vec<&'h str> {
    let values = headers.get_all(COOKIE);
    let Ok(cookies) = CookieHeader::parse_all(values.iter().filter_map(|v| v.to_str().ok())) else {
        return Vec::new();
    };
    let mut chunks = cookies.chunk_names(name);
    chunks.sort_unstable();
    chunks
}

pub(super) fn sign_in(
    chunking: &ChunkingCookieManager,
    name: &str,
    value: &str,
    secure: bool,
    expires: Option<OffsetDateTime>,
    request: &HeaderMap,
) -> Result<LoginCookies, CookieError> {
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
