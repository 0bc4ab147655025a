//! The login a valid `.ASPXAUTH` ticket stands for, as parts another framework can turn into
//! its own login (the ASP.NET Core bridge in `keyward machine-key bridge` does): who, what the
//! application stored with it, and for how long.

use time::OffsetDateTime;

use crate::error::{Error, Result};
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
            return Err(Error::InvalidContent(
                "the ticket's dates are out of range".into(),
            ));
        };
        if ticket.is_expired_at(now) {
            return Err(Error::InvalidContent(format!(
                "the ticket expired at {expires}: the user must sign in again"
            )));
        }
        if ticket.name.is_empty() {
            return Err(Error::InvalidContent("the ticket has no user name".into()));
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
