//! `keyward protect`.

use std::io::Write;

use super::{command_now, provider, read_stdin, CliError};
use crate::cli::{GlobalOptions, ProtectArgs};
use crate::timespec::{parse_positive_duration, parse_time_in_range};

/// Protects TEXT or stdin and prints base64url without padding and a newline. The options
/// are checked before the ring is opened: a refused duration or time writes no key.
pub fn run(global: &GlobalOptions, args: &ProtectArgs) -> Result<(), CliError> {
    let checked_now = command_now(global)?;
    let out_of_range =
        |duration: &str| CliError::Usage(format!("--expires-in {duration:?} is out of range"));
    let lifetime = match args.expires_in.as_deref() {
        Some(duration) => {
            let lifetime =
                parse_positive_duration("--expires-in", duration).map_err(CliError::Usage)?;
            checked_now
                .checked_add(lifetime)
                .and_then(crate::timespec::in_range)
                .ok_or_else(|| out_of_range(duration))?;
            Some((duration, lifetime))
        }
        None => None,
    };
    if let Some(at) = &args.expires_at {
        parse_time_in_range(at, checked_now).map_err(CliError::Usage)?;
    }
    let provider = provider(global)?;
    let protector = provider.protector(args.purposes.iter().cloned());
    let plaintext = match &args.text {
        Some(text) => text.clone().into_bytes(),
        None => read_stdin()?,
    };
    let now = provider.now();
    let expiration = match (lifetime, &args.expires_at) {
        (Some((duration, lifetime)), _) => Some(
            now.checked_add(lifetime)
                .and_then(crate::timespec::in_range)
                .ok_or_else(|| out_of_range(duration))?,
        ),
        (None, Some(at)) => Some(parse_time_in_range(at, now).map_err(CliError::Usage)?),
        (None, None) => None,
    };
    let payload = match expiration {
        Some(expiration) => protector
            .to_time_limited()
            .protect(&plaintext, expiration)?,
        None => protector.protect(&plaintext)?,
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", keyward::encoding::base64url_encode(&payload))
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}
