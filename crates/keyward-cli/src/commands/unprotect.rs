//! `keyward unprotect`.

use std::io::{Read, Write};

use super::{read_only_provider, CliError};
use crate::cli::{GlobalOptions, UnprotectArgs};

/// Unprotects PAYLOAD or stdin and writes the plaintext bytes exactly, nothing added.
pub fn run(global: &GlobalOptions, args: &UnprotectArgs) -> Result<(), CliError> {
    let text = match &args.payload {
        Some(payload) => payload.clone(),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| CliError::Io {
                    context: "reading stdin",
                    source,
                })?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
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
