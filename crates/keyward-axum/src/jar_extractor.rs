//! [`ProtectedCookieJar`] as an extractor and as (part of) a response.

use std::convert::Infallible;

use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::header::SET_COOKIE;
use http::request::Parts;
use http::HeaderValue;

use crate::cookie_jar::ProtectedCookieJar;
use crate::cookie_protection::CookieProtection;

impl<S> FromRequestParts<S> for ProtectedCookieJar
where
    S: Send + Sync,
    CookieProtection: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(
            &parts.headers,
            CookieProtection::from_ref(state),
        ))
    }
}

impl IntoResponseParts for ProtectedCookieJar {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for header in self.set_cookie_headers() {
            // Cookie names and protected values are header-safe; a name that is not (set by
            // the application) is dropped with a warning rather than failing the response.
            match HeaderValue::try_from(header) {
                Ok(value) => {
                    res.headers_mut().append(SET_COOKIE, value);
                }
                Err(_) => tracing::warn!(
                    "a cookie was not sent: its name or attributes are not valid in a header"
                ),
            }
        }
        Ok(res)
    }
}

impl IntoResponse for ProtectedCookieJar {
    fn into_response(self) -> Response {
        (self, ()).into_response()
    }
}
