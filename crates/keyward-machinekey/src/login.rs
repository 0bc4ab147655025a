//! The login a valid `.ASPXAUTH` ticket stands for, as parts another framework can turn into
//! its own login (the ASP.NET Core bridge in `keyward machine-key bridge` does): who, what the
//! application stored with it, and for how long.

use time::OffsetDateTime;

#[cfg(doc)]
use crate::error::Error;
use crate::error::{ContentError, Result};
use crate::forms_ticket::{self, FormsAuthenticationTicket};
use crate::keys::MachineKeys;

/// What a forms ticket says about a login. Holds personal data: do not log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginParts {
    /// The user name (`FormsAuthentication.SetAuthCookie(name, …)`).
    pub name: String,
    /// The ticket's user data (often roles or an id; empty when unused).
    pub user_data: String,
    /// When the ticket was issued.
    pub issued: OffsetDateTime,
    /// When it expires; the new login should expire then too.
    pub expires: OffsetDateTime,
    /// Whether the cookie was persistent ("remember me").
    pub persistent: bool,
}

impl LoginParts {
    /// The parts of an already decrypted ticket, if it is valid at `now`.
    ///
    /// # Errors
    /// [`Error::InvalidContent`] for an expired ticket, an empty name, or dates `time` cannot
    /// represent.
    pub fn from_ticket(ticket: &FormsAuthenticationTicket, now: OffsetDateTime) -> Result<Self> {
        let (Some(issued), Some(expires)) = (ticket.issued(), ticket.expires()) else {
            return Err(ContentError::DatesOutOfRange.into());
        };
        if ticket.is_expired_at(now) {
            return Err(ContentError::Expired {
                expired_at: expires,
            }
            .into());
        }
        if ticket.name.is_empty() {
            return Err(ContentError::NoUserName.into());
        }
        Ok(Self {
            name: ticket.name.clone(),
            user_data: ticket.user_data.clone(),
            issued,
            expires,
            persistent: ticket.is_persistent,
        })
    }
}

/// Decrypts a `.ASPXAUTH` value with `keys` and returns its login, if valid at `now`.
///
/// # Errors
/// As [`forms_ticket::decrypt`] and [`LoginParts::from_ticket`].
pub fn login_from_forms_ticket(
    keys: &MachineKeys,
    value: &str,
    now: OffsetDateTime,
) -> Result<LoginParts> {
    LoginParts::from_ticket(&forms_ticket::decrypt(keys, value)?, now)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_expired_ticket_is_named_with_an_rfc3339_time() {
        let ticket = FormsAuthenticationTicket {
            version: 2,
            name: "alice".into(),
            issue_utc_ticks: forms_ticket::time_to_ticks(
                datetime!(2019-06-26 15:20:10.3633638 UTC),
            )
            .unwrap(),
            expiration_utc_ticks: forms_ticket::time_to_ticks(
                datetime!(2019-06-26 16:20:10.3633638 UTC),
            )
            .unwrap(),
            is_persistent: false,
            user_data: String::new(),
            cookie_path: "/".into(),
        };
        let error = LoginParts::from_ticket(&ticket, datetime!(2019-06-27 00:00 UTC)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid content: the ticket expired at 2019-06-26T16:20:10.3633638Z: the user must sign in again"
        );
        assert!(LoginParts::from_ticket(&ticket, datetime!(2019-06-26 15:30 UTC)).is_ok());
    }
}
