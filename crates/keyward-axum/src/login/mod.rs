//! The ASP.NET Core login cookie in axum: read it ([`AspNetCoreUser`]), write it
//! ([`AspNetCoreLogin::sign_in`]) and remove it ([`AspNetCoreLogin::sign_out`]), with a .NET
//! app that shares the key ring and application name.
//!
//! - `aspnetcore_login`: [`AspNetCoreLogin`], its settings, signing in and out, reading a
//!   request's user;
//! - `user`: [`AspNetCoreUser`], the signed-in user;
//! - `user_extractor`: [`AspNetCoreUser`] as an axum extractor;
//! - `ticket_store`: [`TicketStore`] and the session key of a .NET `SessionStore` login;
//! - `set_cookies`: the `Set-Cookie` headers ([`LoginCookies`]) as ASP.NET Core renders them.

mod aspnetcore_login;
mod set_cookies;
mod ticket_store;
mod user;
mod user_extractor;

pub use aspnetcore_login::{
    AspNetCoreLogin, TicketValidation, DEFAULT_COOKIE_NAME, DEFAULT_EXPIRE_AFTER, DEFAULT_SCHEME,
};
pub use set_cookies::LoginCookies;
pub use ticket_store::{session_key, TicketStore, SESSION_ID_CLAIM_TYPE};
pub use user::AspNetCoreUser;
