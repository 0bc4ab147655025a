//! A .NET app's server-side ticket store (`CookieAuthenticationOptions.SessionStore`): the
//! [`TicketStore`] look-up, and the session key a login cookie then carries.

use keyward_aspnetcore::AuthenticationTicket;

/// The claim type .NET's cookie handler puts in the cookie, alone, when a `SessionStore`
/// (`ITicketStore`) keeps the real ticket on the server: its value is the session key
/// (`CookieAuthenticationHandler`'s `SessionIdClaim`).
pub const SESSION_ID_CLAIM_TYPE: &str = "Microsoft.AspNetCore.Authentication.Cookies-SessionId";

/// The server-side ticket store of a .NET app that sets `CookieAuthenticationOptions.SessionStore`
/// (an `ITicketStore`, e.g. over Redis or a database): the login cookie then carries only a
/// session key, and the ticket (the user's claims, its expiry) is kept under that key until
/// sign-out removes it. Give [`AspNetCoreLogin::ticket_store`](crate::AspNetCoreLogin::ticket_store) a look-up into the same
/// store (read the entry as .NET's store wrote it, e.g. with
/// [`TicketSerializer::deserialize`](keyward_aspnetcore::TicketSerializer::deserialize) when
/// it keeps `TicketSerializer` bytes).
///
/// Any `Fn(&str) -> Option<AuthenticationTicket> + Send + Sync` is one. It runs on the
/// request's task: keep it quick (an in-memory cache, or a blocking client inside
/// [`tokio::task::block_in_place`](https://docs.rs/tokio/latest/tokio/task/fn.block_in_place.html)).
pub trait TicketStore: Send + Sync {
    /// The ticket stored under `session_key`, or `None` when there is none (signed out,
    /// expired, evicted) **or it cannot be had now** (the store is down): a login is refused
    /// unless its ticket is found.
    fn retrieve(&self, session_key: &str) -> Option<AuthenticationTicket>;
}

impl<F> TicketStore for F
where
    F: Fn(&str) -> Option<AuthenticationTicket> + Send + Sync,
{
    fn retrieve(&self, session_key: &str) -> Option<AuthenticationTicket> {
        self(session_key)
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
