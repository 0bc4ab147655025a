//! [`AspNetCoreUser`] as an axum extractor (required, or `Option<AspNetCoreUser>`), from the
//! [`AspNetCoreLogin`] in the router's state.

use axum_core::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use super::aspnetcore_login::AspNetCoreLogin;
use super::user::AspNetCoreUser;
use crate::error::LoginRejection;

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
