//! `keyward unprotect`.

use std::io::Write;

use super::{read_only_provider, read_stdin, CliError};
use crate::cli::{GlobalOptions, UnprotectArgs};

/// Unprotects PAYLOAD or stdin and writes the plaintext bytes exactly, nothing added.
pub fn run(global: &GlobalOptions, args: &UnprotectArgs) -> Result<(), CliError> {
    let text = match &args.payload {
        Some(payload) => payload.clone(),
        None => String::from_utf8_lossy(&read_stdin()?).into_owned(),
    };
    // Reading never writes: no directory, lock file or key is created by an unprotect.
    let provider = read_only_provider(global)?;
    let protector = provider.protector(args.purposes.iter().cloned());
    let payload = keyward::encoding::base64url_decode(text.trim())?;
    let plaintext = zeroize::Zeroizing::new(if args.time_limited {
        protector.to_time_limited().unprotect(&payload)?.0
    } else {
        protector.unprotect(&payload)?
    });
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&plaintext)
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}
