//! [`AspNetCoreUser`]: the signed-in user of a request, from the ASP.NET Core login cookie.

use std::fmt;

use keyward_aspnetcore::{AuthenticationTicket, Claim, ClaimsPrincipal};

/// The user an ASP.NET Core login cookie names. As an extractor it answers 401 when the
/// request has no valid login (no cookie, missing chunks, tampered, another application or
/// scheme, a revoked key, or past its `.expires`; a cookie that only names a server-side
/// session when no [`TicketStore`](crate::TicketStore) is configured, or a session the store
/// no longer holds; a ticket the validation hook rejects); take an `Option<AspNetCoreUser>`
/// for pages that serve anonymous users too. Needs an
/// [`AspNetCoreLogin`](crate::AspNetCoreLogin) in the router's state (see
/// [`AspNetCoreLogin::user_from_headers`](crate::AspNetCoreLogin::user_from_headers) outside
/// an extractor). What a .NET sign-out or password change does and does not end here:
/// [`AspNetCoreLogin`](crate::AspNetCoreLogin)'s docs.
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
    /// The user of a ticket that opened and passed every check.
    pub(super) fn new(ticket: AuthenticationTicket) -> Self {
        Self { ticket }
    }

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
