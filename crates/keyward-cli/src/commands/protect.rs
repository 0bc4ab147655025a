//! `keyward protect`.

use std::io::Write;

use super::{provider, read_stdin, CliError};
use crate::cli::{GlobalOptions, ProtectArgs};
use crate::timespec::{parse_positive_duration, parse_time_in_range};

/// Protects TEXT or stdin and prints base64url without padding and a newline.
pub fn run(global: &GlobalOptions, args: &ProtectArgs) -> Result<(), CliError> {
    let provider = provider(global)?;
    let protector = provider.protector(args.purposes.iter().cloned());
    let plaintext = match &args.text {
        Some(text) => text.clone().into_bytes(),
        None => read_stdin()?,
    };
    let now = provider.now();
    let expiration = match (&args.expires_in, &args.expires_at) {
        (Some(duration), _) => Some(
            now.checked_add(
                parse_positive_duration("--expires-in", duration).map_err(CliError::Usage)?,
            )
            .and_then(crate::timespec::in_range)
            .ok_or_else(|| CliError::Usage(format!("--expires-in {duration:?} is out of range")))?,
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
