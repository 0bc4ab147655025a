//! The ASP.NET Core login cookie in axum: read it ([`AspNetCoreUser`]), write it
//! ([`AspNetCoreLogin::sign_in`]) and remove it ([`AspNetCoreLogin::sign_out`]), with a .NET
//! app that shares the key ring and application name.

mod config;
mod set_cookies;
mod user;

pub use config::{
    AspNetCoreLogin, TicketStore, TicketValidation, DEFAULT_COOKIE_NAME, DEFAULT_EXPIRE_AFTER,
    DEFAULT_SCHEME, SESSION_ID_CLAIM_TYPE,
};
pub use set_cookies::{LoginCookies, LoginError};
pub use user::{session_key, AspNetCoreUser, LoginRejection};
