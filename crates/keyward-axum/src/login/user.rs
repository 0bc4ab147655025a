//! [`AspNetCoreUser`]: the signed-in user of a request, from the ASP.NET Core login cookie.

use std::fmt;

use std::ops::Range;
use std::sync::OnceLock;

use keyward_aspnetcore::{AuthenticationTicket, Claim, ClaimsPrincipal, TicketView};
use zeroize::Zeroizing;

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
    inner: UserTicket,
}

/// Where a user's ticket is: read from a cookie (kept as the decrypted bytes, made into an
/// owned ticket only when asked for), or owned already (a server-side session, a ticket the
/// validation hook saw).
#[derive(Clone)]
enum UserTicket {
    Read {
        /// The serialized ticket, decrypted (personal data: wiped on drop).
        bytes: Zeroizing<Vec<u8>>,
        /// Where the name claim's value lies in `bytes`.
        name: Option<Range<usize>>,
        ticket: OnceLock<AuthenticationTicket>,
    },
    Owned(AuthenticationTicket),
}

impl fmt::Debug for AspNetCoreUser {
    // Claims are personal data: only the scheme and the number of claims.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ticket = self.ticket();
        f.debug_struct("AspNetCoreUser")
            .field("scheme", &ticket.scheme)
            .field("claims", &ticket.principal.claims().count())
            .finish_non_exhaustive()
    }
}

impl AspNetCoreUser {
    /// The user of a ticket that opened and passed every check.
    pub(super) fn new(ticket: AuthenticationTicket) -> Self {
        Self {
            inner: UserTicket::Owned(ticket),
        }
    }

    /// The user of a serialized ticket that passed every check; `name` is where its name
    /// lies in `bytes`. The owned ticket is made from `bytes` when first asked for.
    pub(super) fn read(bytes: Zeroizing<Vec<u8>>, name: Option<Range<usize>>) -> Self {
        Self {
            inner: UserTicket::Read {
                bytes,
                name,
                ticket: OnceLock::new(),
            },
        }
    }

    /// The primary identity's name (its name claim), as .NET's `User.Identity.Name`.
    pub fn name(&self) -> Option<&str> {
        match &self.inner {
            UserTicket::Read { bytes, name, .. } => name
                .clone()
                .and_then(|range| bytes.get(range))
                .and_then(|name| std::str::from_utf8(name).ok()),
            UserTicket::Owned(ticket) => ticket.principal.name(),
        }
    }

    /// Every claim of every identity.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.ticket().principal.claims()
    }

    /// The principal (.NET's `HttpContext.User`).
    pub fn principal(&self) -> &ClaimsPrincipal {
        &self.ticket().principal
    }

    /// The whole ticket: principal, scheme and properties (`.issued`, `.expires`, …).
    pub fn ticket(&self) -> &AuthenticationTicket {
        match &self.inner {
            UserTicket::Read { bytes, ticket, .. } => ticket.get_or_init(|| owned_ticket(bytes)),
            UserTicket::Owned(ticket) => ticket,
        }
    }

    /// The ticket, taken out.
    pub fn into_ticket(self) -> AuthenticationTicket {
        match self.inner {
            UserTicket::Read { bytes, ticket, .. } => {
                ticket.into_inner().unwrap_or_else(|| owned_ticket(&bytes))
            }
            UserTicket::Owned(ticket) => ticket,
        }
    }
}

/// Where `part` (a string borrowed from `bytes`) lies in `bytes`; `None` if it is not a part
/// of them. Address arithmetic only.
pub(super) fn range_in(bytes: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= bytes.len()).then_some(start..end)
}

/// The owned ticket of bytes that were read as a ticket before. They cannot fail to read
/// again (the same bytes, the same reader); if they did, the user would have no identities,
/// so no claim, name or role, rather than a panic.
fn owned_ticket(bytes: &[u8]) -> AuthenticationTicket {
    match TicketView::parse(bytes) {
        Ok(view) => view.to_ticket(),
        Err(_) => AuthenticationTicket::new(
            "",
            ClaimsPrincipal::default(),
            keyward_aspnetcore::AuthenticationProperties::new(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use keyward_aspnetcore::{
        AuthenticationProperties, ClaimsIdentity, TicketSerializer, NAME_CLAIM_TYPE,
    };

    use super::*;

    fn ticket() -> AuthenticationTicket {
        let mut identity = ClaimsIdentity::new("Cookies");
        identity
            .claims
            .push(Claim::new("email", "alice@example.com"));
        identity.claims.push(Claim::new(NAME_CLAIM_TYPE, "alice"));
        let mut properties = AuthenticationProperties::new();
        properties.insert(".custom", "x");
        AuthenticationTicket::new("Cookies", ClaimsPrincipal::new(identity), properties)
    }

    /// A user read from bytes answers exactly as the owned ticket does, makes that ticket
    /// once, and shows no claim value in `Debug`.
    #[test]
    fn a_user_read_from_bytes_is_the_owned_ticket() {
        let owned = ticket();
        let bytes = TicketSerializer::serialize(&owned).unwrap();
        let view = TicketView::parse(&bytes).unwrap();
        let name = view.name().and_then(|n| range_in(&bytes, n));
        drop(view);
        let user = AspNetCoreUser::read(Zeroizing::new(bytes), name);
        assert_eq!(user.name(), Some("alice"));
        assert_eq!(user.ticket(), &owned);
        assert!(std::ptr::eq(user.ticket(), user.ticket()), "made once");
        assert_eq!(user.claims().count(), 2);
        assert_eq!(user.principal(), &owned.principal);
        let debug = format!("{user:?}");
        assert!(debug.contains("claims: 2"), "{debug}");
        assert!(!debug.contains("alice"), "{debug}");
        assert_eq!(user.clone().into_ticket(), owned);

        let by_owned = AspNetCoreUser::new(owned.clone());
        assert_eq!(by_owned.name(), user.name());
        assert_eq!(by_owned.into_ticket(), owned);
    }

    #[test]
    fn range_in_finds_only_parts_of_the_bytes() {
        let bytes = b"hello world".to_vec();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(range_in(&bytes, &text[6..]), Some(6..11));
        assert_eq!(range_in(&bytes, "elsewhere"), None);
    }
}
