//! [`ProtectError`]: a cookie could not be protected.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A cookie value could not be protected: the key ring had no usable key and none could be
/// created in time. As a response it is a bare 500; the cause is logged, never sent.
#[derive(Debug)]
pub struct ProtectError(keyward::Error);

impl ProtectError {
    pub(crate) fn new(error: keyward::Error) -> Self {
        Self(error)
    }

    /// The keyward error behind it.
    pub fn into_inner(self) -> keyward::Error {
        self.0
    }
}

impl fmt::Display for ProtectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a cookie could not be protected: {}", self.0)
    }
}

impl std::error::Error for ProtectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for ProtectError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "a cookie could not be protected");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}
