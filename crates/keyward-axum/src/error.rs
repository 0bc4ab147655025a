//! The errors of this crate, all of one shape: a type that says what failed, keeps what
//! caused it as its [`source`](std::error::Error::source) (and gives it back with
//! `into_inner` where there is one), and is a response on its own (a bare status; the
//! cause is logged, never sent).
//!
//! - [`ProtectError`]: a [`ProtectedCookieJar`](crate::ProtectedCookieJar) cookie could not
//!   be protected (500).
//! - [`LoginError`]: the ASP.NET Core login cookie could not be written (500).
//! - [`LoginRejection`]: a request has no valid login (401).

use std::fmt;

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

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

/// A login could not be written: no key could protect, or the ticket is too large. As a
/// response it is a bare 500; the cause is logged, never sent.
#[derive(Debug)]
pub struct LoginError(keyward_aspnetcore::Error);

impl LoginError {
    pub(crate) fn new(error: impl Into<keyward_aspnetcore::Error>) -> Self {
        Self(error.into())
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

/// Why a request has no [`AspNetCoreUser`](crate::AspNetCoreUser): a 401 as a response (the
/// reason is logged at debug level, never sent).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginRejection {
    /// No login cookie.
    Missing,
    /// A login whose `.expires` has passed.
    Expired,
    /// A login cookie that does not open: too many cookies in the header, chunks missing or
    /// extra, tampered, another application or scheme, an unknown or revoked key, or not a
    /// ticket.
    Invalid(keyward_aspnetcore::Error),
    /// The cookie holds only a session key (a .NET app with
    /// `CookieAuthenticationOptions.SessionStore` keeps the ticket on the server), and no
    /// [`TicketStore`](crate::TicketStore) is configured to look it up: the session may
    /// have ended (it is deleted at sign-out), so the cookie proves nothing on its own.
    TicketStoreRequired,
    /// A ticket store is configured and the cookie names no session (.NET: "SessionId
    /// missing").
    MissingSessionId,
    /// The ticket store holds no ticket for the cookie's session: signed out, expired or
    /// removed on the server (.NET: "Identity missing in session store").
    SessionNotFound,
    /// The application's validation hook
    /// ([`AspNetCoreLogin::validate_with`](crate::AspNetCoreLogin::validate_with)) rejected
    /// the ticket (.NET: `RejectPrincipal` in `OnValidatePrincipal`).
    Rejected,
}

impl LoginRejection {
    /// An invalid login cookie: its header, its chunks or its ticket.
    pub(crate) fn invalid(error: impl Into<keyward_aspnetcore::Error>) -> Self {
        Self::Invalid(error.into())
    }
}

impl fmt::Display for LoginRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no login cookie"),
            Self::Expired => f.write_str("the login has expired"),
            Self::Invalid(e) => write!(f, "the login cookie is not valid: {e}"),
            Self::TicketStoreRequired => f.write_str(
                "the login cookie names a server-side session and no ticket store is configured to look it up",
            ),
            Self::MissingSessionId => {
                f.write_str("a ticket store is configured and the login cookie names no session")
            }
            Self::SessionNotFound => {
                f.write_str("the ticket store holds no ticket for the login's session")
            }
            Self::Rejected => f.write_str("the login was rejected by the validation hook"),
        }
    }
}

impl std::error::Error for LoginRejection {
    /// The cookie's own error, for an invalid cookie (the chain reaches the keyward error
    /// that refused it: unknown key, revoked key, tampered…).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Invalid(error) => Some(error),
            _ => None,
        }
    }
}

impl IntoResponse for LoginRejection {
    fn into_response(self) -> Response {
        tracing::debug!(reason = %self, "request without a valid login");
        (StatusCode::UNAUTHORIZED, "not signed in\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::LoginRejection;
    use std::error::Error as _;

    #[test]
    fn an_invalid_cookie_keeps_its_cause() {
        let rejection = LoginRejection::invalid(keyward_aspnetcore::TicketError::Unprotect(
            keyward::Error::InvalidPayload,
        ));
        let source = rejection
            .source()
            .expect("the cookie's error is the source");
        let cause = source.source().expect("and it keeps keyward's");
        assert_eq!(
            cause.to_string(),
            keyward::Error::InvalidPayload.to_string()
        );
        assert!(LoginRejection::Missing.source().is_none());
    }
}
