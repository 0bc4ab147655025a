//! `keyward machine-key encode forms-ticket --config web.config --json FILE`: a forms ticket
//! from JSON, as `FormsAuthentication.Encrypt` makes it (uppercase hex).

use keyward_machinekey::forms_ticket::{self, ticks_to_time, time_to_ticks};
use keyward_machinekey::FormsAuthenticationTicket;
use serde::Deserialize;

use super::{keys_of, print_lines, refuse_weak};
use crate::cli::MachineKeyEncodeCommand;
use crate::commands::{read_stdin_limited, CliError};

/// The JSON `decode forms-ticket` prints; only `name` is required.
#[derive(Deserialize)]
struct TicketJson {
    #[serde(default = "one")]
    version: u8,
    name: String,
    #[serde(default)]
    user_data: String,
    #[serde(default = "root")]
    cookie_path: String,
    #[serde(default)]
    persistent: bool,
    issued: Option<String>,
    expires: Option<String>,
    issue_utc_ticks: Option<i64>,
    expiration_utc_ticks: Option<i64>,
}

fn one() -> u8 {
    1
}

fn root() -> String {
    "/".into()
}

/// Runs `machine-key encode`.
pub fn run(command: &MachineKeyEncodeCommand) -> Result<(), CliError> {
    let MachineKeyEncodeCommand::FormsTicket {
        config,
        json,
        allow_weak,
    } = command;
    let (keys, weak) = keys_of(config)?;
    refuse_weak(&weak, *allow_weak)?;
    let text = if json.as_os_str() == "-" {
        read_stdin_limited()?
    } else {
        std::fs::read(json).map_err(CliError::reading(json))?
    };
    let input: TicketJson = serde_json::from_slice(&text)
        .map_err(|e| CliError::Usage(format!("{}: not a ticket: {e}", json.display())))?;
    let ticks =
        |ticks: Option<i64>, text: &Option<String>, what: &str| -> Result<Option<i64>, CliError> {
            if let Some(ticks) = ticks {
                if ticks_to_time(ticks).is_none() {
                    return Err(CliError::Usage(format!(
                        "{what}: {ticks} ticks is out of range"
                    )));
                }
                return Ok(Some(ticks));
            }
            text.as_deref()
                .map(|t| {
                    keyward::time::OffsetDateTime::parse(
                        t,
                        &keyward::time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                    .and_then(time_to_ticks)
                    .ok_or_else(|| CliError::Usage(format!("{what} {t:?} is not an RFC 3339 time")))
                })
                .transpose()
        };
    let now = time_to_ticks(keyward::time::OffsetDateTime::now_utc()).unwrap_or_default();
    let issued = ticks(input.issue_utc_ticks, &input.issued, "issued")?.unwrap_or(now);
    // FormsAuthentication's default timeout: 30 minutes.
    let expires = ticks(input.expiration_utc_ticks, &input.expires, "expires")?
        .unwrap_or(issued.saturating_add(30 * 60 * 10_000_000));
    let ticket = FormsAuthenticationTicket {
        version: input.version,
        name: input.name,
        issue_utc_ticks: issued,
        expiration_utc_ticks: expires,
        is_persistent: input.persistent,
        user_data: input.user_data,
        cookie_path: input.cookie_path,
    };
    print_lines(&[forms_ticket::encrypt(&keys, &ticket)?])
}
