//! `keyward machine-key bridge`: a valid `.ASPXAUTH` forms ticket becomes the equivalent
//! ASP.NET Core login cookie — a `ClaimsPrincipal` with the name claim and the ticket's user
//! data (`ClaimTypes.UserData`), issued/expires/persistent carried over — protected with the
//! key ring and application name of the global options, chunked as ASP.NET Core chunks it.
//!
//! The ticket side (decrypt, check expiry, take the parts) is
//! [`keyward_machinekey::login`]; this module only maps the parts onto keyward-aspnetcore.

use keyward_aspnetcore::{
    AuthenticationProperties, AuthenticationTicket, ChunkingCookieManager, Claim, ClaimsIdentity,
    ClaimsPrincipal, TicketDataFormat, NAME_CLAIM_TYPE,
};
use keyward_machinekey::login::login_from_forms_ticket;
use keyward_machinekey::LoginParts;
use serde_json::json;

use super::{keys_of, print_json, print_lines, refuse_weak};
use crate::cli::{GlobalOptions, MachineKeyBridgeArgs};
use crate::commands::{command_now, provider, CliError};
use crate::timespec::format_time;

/// `ClaimTypes.UserData`: where the forms ticket's user data goes.
pub const USER_DATA_CLAIM_TYPE: &str =
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/userdata";

/// The ASP.NET Core ticket for a classic login: identity of authentication type `scheme`
/// with the name claim (and the user data claim when there is user data), and the ticket's
/// issue, expiry and persistence.
pub fn core_ticket(login: &LoginParts, scheme: &str) -> AuthenticationTicket {
    let mut identity = ClaimsIdentity::new(scheme);
    identity
        .claims
        .push(Claim::new(NAME_CLAIM_TYPE, login.name.clone()));
    if !login.user_data.is_empty() {
        identity
            .claims
            .push(Claim::new(USER_DATA_CLAIM_TYPE, login.user_data.clone()));
    }
    let mut properties = AuthenticationProperties::new();
    properties.set_issued_utc(login.issued);
    properties.set_expires_utc(login.expires);
    properties.set_persistent(login.persistent);
    AuthenticationTicket::new(scheme, ClaimsPrincipal::new(identity), properties)
}

/// Runs `machine-key bridge`.
pub fn run(global: &GlobalOptions, args: &MachineKeyBridgeArgs) -> Result<(), CliError> {
    let (keys, weak) = keys_of(&args.config)?;
    refuse_weak(&weak, args.allow_weak)?;
    let now = command_now(global)?;
    let login = login_from_forms_ticket(&keys, &args.value, now)?;
    let ticket = core_ticket(&login, &args.scheme);
    let provider = provider(global)?;
    let value = TicketDataFormat::for_cookie_scheme(&provider, &args.scheme)
        .protect(&ticket)
        .map_err(|e| CliError::Usage(format!("protecting the ASP.NET Core ticket: {e}")))?;
    let cookies = ChunkingCookieManager::new()
        .try_split(
            &args.cookie_name,
            &value,
            keyward_aspnetcore::DEFAULT_COOKIE_ATTRIBUTES,
        )
        .map_err(|e| CliError::Usage(format!("the login cookie: {e}")))?;
    if args.json {
        print_json(&json!({
            "name": login.name,
            "user_data": login.user_data,
            "issued": format_time(login.issued),
            "expires": format_time(login.expires),
            "persistent": login.persistent,
            "scheme": args.scheme,
            "cookies": cookies.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        }))
    } else {
        print_lines(
            &cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>(),
        )
    }
}
