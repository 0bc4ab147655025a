//! [`AspNetCoreUser`]: the signed-in user of a request, from the ASP.NET Core login cookie.

use std::fmt;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_aspnetcore::{
    cookie_pairs, AuthenticationTicket, ChunkingCookieManager, Claim, ClaimsPrincipal,
};

use super::config::{AspNetCoreLogin, TicketValidation, SESSION_ID_CLAIM_TYPE};

/// The user an ASP.NET Core login cookie names. As an extractor it answers 401 when the
/// request has no valid login (no cookie, missing chunks, tampered, another application or
/// scheme, a revoked key, or past its `.expires`; a cookie that only names a server-side
/// session when no [`TicketStore`](crate::TicketStore) is configured, or a session the store
/// no longer holds; a ticket the validation hook rejects); take an `Option<AspNetCoreUser>`
/// for pages that serve anonymous users too. Needs an [`AspNetCoreLogin`] in the router's
/// state. What a .NET sign-out or password change does and does not end here:
/// [`AspNetCoreLogin`]'s docs.
///
/// ```
/// use axum::{extract::FromRef, routing::get, Router};
/// use keyward_axum::{AspNetCoreLogin, AspNetCoreUser};
///
/// #[derive(Clone)]
/// struct AppState {
///     login: AspNetCoreLogin,
/// }
///
/// impl FromRef<AppState> for AspNetCoreLogin {
///     fn from_ref(state: &AppState) -> Self {
///         state.login.clone()
///     }
/// }
///
/// async fn me(user: AspNetCoreUser) -> String {
///     let claims: Vec<String> =
///         user.claims().map(|c| format!("{}: {}", c.claim_type, c.value)).collect();
///     format!("{}\n{}", user.name().unwrap_or("(no name)"), claims.join("\n"))
/// }
///
/// let provider = keyward::Provider::ephemeral("shop")?;
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .with_state(AppState { login: AspNetCoreLogin::new(&provider) });
/// # Ok::<(), keyward::Error>(())
/// ```
#[derive(Clone)]
pub struct AspNetCoreUser {
    ticket: AuthenticationTicket,
}

impl fmt::Debug for AspNetCoreUser {
    // Claims are personal data: only the scheme and the number of claims.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AspNetCoreUser")
            .field("scheme", &self.ticket.scheme)
            .field("claims", &self.claims().count())
            .finish_non_exhaustive()
    }
}

impl AspNetCoreUser {
    /// The primary identity's name (its name claim), as .NET's `User.Identity.Name`.
    pub fn name(&self) -> Option<&str> {
        self.ticket.principal.name()
    }

    /// Every claim of every identity.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.ticket.principal.claims()
    }

    /// The principal (.NET's `HttpContext.User`).
    pub fn principal(&self) -> &ClaimsPrincipal {
        &self.ticket.principal
    }

    /// The whole ticket: principal, scheme and properties (`.issued`, `.expires`, …).
    pub fn ticket(&self) -> &AuthenticationTicket {
        &self.ticket
    }

    /// The ticket, taken out.
    pub fn into_ticket(self) -> AuthenticationTicket {
        self.ticket
    }
}

/// Why a request has no [`AspNetCoreUser`]: a 401 as a response (the reason is logged at
/// debug level, never sent).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginRejection {
    /// No login cookie.
    Missing,
    /// A login whose `.expires` has passed.
    Expired,
    /// A login cookie that does not open: chunks missing or extra, tampered, another
    /// application or scheme, an unknown or revoked key, or not a ticket.
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

impl<S> FromRequestParts<S> for AspNetCoreUser
where
    S: Send + Sync,
    AspNetCoreLogin: FromRef<S>,
{
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        AspNetCoreLogin::from_ref(state).user_from_headers(&parts.headers)
    }
}

impl<S> OptionalFromRequestParts<S> for AspNetCoreUser
where
    S: Send + Sync,
    AspNetCoreLogin: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match AspNetCoreLogin::from_ref(state).user_from_headers(&parts.headers) {
            Ok(user) => Ok(Some(user)),
            Err(rejection) => {
                tracing::debug!(reason = %rejection, "request without a valid login");
                Ok(None)
            }
        }
    }
}

/// The session key of a ticket written by a .NET app with a `SessionStore`: the value of its
/// first [`SESSION_ID_CLAIM_TYPE`] claim.
pub fn session_key(ticket: &AuthenticationTicket) -> Option<&str> {
    ticket
        .principal
        .find_first(SESSION_ID_CLAIM_TYPE)
        .map(|claim| claim.value.as_str())
}

/// .NET: a ticket whose `ExpiresUtc` is before now fails ("Ticket expired").
fn expired(login: &AspNetCoreLogin, ticket: &AuthenticationTicket) -> bool {
    ticket
        .properties
        .expires_utc()
        .is_some_and(|expires| expires < login.now())
}

/// Reassembles, unprotects, deserializes and checks the expiry of the login in `headers`;
/// looks a session ticket up in the ticket store, and runs the validation hook.
pub(super) fn read(
    login: &AspNetCoreLogin,
    chunking: &ChunkingCookieManager,
    headers: &HeaderMap,
) -> Result<AspNetCoreUser, LoginRejection> {
    let pairs = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie_pairs);
    let value = chunking
        .reassemble(login.cookie_name(), pairs)
        .map_err(LoginRejection::Invalid)?
        .ok_or(LoginRejection::Missing)?;
    let ticket = login
        .format()
        .unprotect(&value)
        .map_err(LoginRejection::Invalid)?;
    if expired(login, &ticket) {
        return Err(LoginRejection::Expired);
    }
    let ticket = match (session_key(&ticket), login.ticket_store()) {
        (None, None) => ticket,
        (Some(_), None) => return Err(LoginRejection::TicketStoreRequired),
        (None, Some(_)) => return Err(LoginRejection::MissingSessionId),
        (Some(key), Some(store)) => {
            let stored = store.retrieve(key).ok_or(LoginRejection::SessionNotFound)?;
            if expired(login, &stored) {
                return Err(LoginRejection::Expired);
            }
            stored
        }
    };
    if let Some(validate) = login.validator() {
        if validate(&ticket) == TicketValidation::Reject {
            return Err(LoginRejection::Rejected);
        }
    }
    Ok(AspNetCoreUser { ticket })
}

#[cfg(test)]
mod rejection_tests {
    use super::LoginRejection;
    use std::error::Error as _;

    #[test]
    fn an_invalid_cookie_keeps_its_cause() {
        let rejection = LoginRejection::Invalid(keyward_aspnetcore::Error::Unprotect(
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
