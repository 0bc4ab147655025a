//! `keyward machine-key decode --config web.config KIND VALUE`: forms tickets, ViewState and
//! `MachineKey.Protect` output, printed as JSON.

use keyward_machinekey::encoding::{candidates, to_base64};
use keyward_machinekey::viewstate::{self, Page, Protection};
use keyward_machinekey::{forms_ticket, framework45, FormsAuthenticationTicket, Purpose};
use serde_json::{json, Value};

use super::{keys_of, print_json, warn_weak};
use crate::cli::{MachineKeyDecodeArgs, MachineKeyDecodeKind};
use crate::commands::CliError;
use crate::timespec::format_time;

/// Runs `machine-key decode`.
pub fn run(args: &MachineKeyDecodeArgs) -> Result<(), CliError> {
    let config = args.config.as_deref().ok_or_else(|| {
        CliError::Usage(
            "machine-key decode needs --config web.config (the file with the <machineKey>)".into(),
        )
    })?;
    let (keys, weak) = keys_of(config)?;
    warn_weak(&config.display().to_string(), &weak);
    let mode = keys.mode().name();
    let value = match &args.kind {
        MachineKeyDecodeKind::FormsTicket { value } => {
            let ticket = forms_ticket::decrypt(&keys, value)?;
            let mut json = ticket_json(&ticket);
            json["kind"] = json!("forms-ticket");
            json["compatibility_mode"] = json!(mode);
            json
        }
        MachineKeyDecodeKind::Viewstate {
            template_source_directory,
            page_type,
            view_state_user_key,
            generator,
            value,
        } => {
            let page = Page {
                template_source_directory: template_source_directory.clone(),
                page_type: page_type.clone(),
                view_state_user_key: view_state_user_key.clone(),
                generator: generator
                    .as_deref()
                    .map(viewstate::parse_generator)
                    .transpose()?,
            };
            let decoded = viewstate::decode(&keys, &page, value)?;
            let mut json = bytes_json(&decoded.state);
            json["kind"] = json!("viewstate");
            json["compatibility_mode"] = json!(mode);
            json["protection"] = json!(match decoded.protection {
                Protection::Framework45 => "framework45",
                Protection::LegacyMac => "mac-only (readable by anyone)",
                Protection::LegacyEncrypted => "encrypted",
            });
            json
        }
        MachineKeyDecodeKind::Protect { purposes, value } => {
            if purposes.iter().any(|p| p.trim().is_empty()) {
                return Err(CliError::Usage(
                    "MachineKey.Protect refuses empty or whitespace purposes".into(),
                ));
            }
            let purpose = Purpose::machine_key_protect(purposes);
            let readings = candidates(value.trim());
            if readings.is_empty() {
                return Err(CliError::Usage(
                    "the value is not hex, UrlToken, base64url or base64".into(),
                ));
            }
            // The MAC tells which encoding was meant; the last error speaks for all.
            let mut last = None;
            let mut opened = None;
            for bytes in readings {
                match framework45::unprotect(&keys, &purpose, &bytes) {
                    Ok(plaintext) => {
                        opened = Some(plaintext);
                        break;
                    }
                    Err(error) => last = Some(error),
                }
            }
            let plaintext = match (opened, last) {
                (Some(plaintext), _) => plaintext,
                (None, Some(error)) => return Err(error.into()),
                (None, None) => unreachable!("at least one reading was tried"),
            };
            let mut json = bytes_json(&plaintext);
            json["kind"] = json!("protect");
            json["purposes"] = json!(purposes);
            json
        }
    };
    print_json(&value)
}

/// A ticket as JSON (also the input shape of `encode forms-ticket`).
pub(super) fn ticket_json(ticket: &FormsAuthenticationTicket) -> Value {
    json!({
        "version": ticket.version,
        "name": ticket.name,
        "user_data": ticket.user_data,
        "cookie_path": ticket.cookie_path,
        "persistent": ticket.is_persistent,
        "issued": ticket.issued().map(format_time),
        "expires": ticket.expires().map(format_time),
        "issue_utc_ticks": ticket.issue_utc_ticks,
        "expiration_utc_ticks": ticket.expiration_utc_ticks,
    })
}

/// Bytes as base64, and as UTF-8 text when they are.
fn bytes_json(bytes: &[u8]) -> Value {
    json!({
        "length": bytes.len(),
        "base64": to_base64(bytes),
        "utf8": std::str::from_utf8(bytes).ok(),
    })
}
