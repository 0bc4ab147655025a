//! `keyward unprotect`.

use std::io::Write;

use super::{read_only_provider, read_stdin_limited, CliError};
use crate::cli::{GlobalOptions, UnprotectArgs};

/// Unprotects PAYLOAD or stdin and writes the plaintext bytes exactly, nothing added.
pub fn run(global: &GlobalOptions, args: &UnprotectArgs) -> Result<(), CliError> {
    let text = match &args.payload {
        Some(payload) => payload.clone(),
        None => String::from_utf8_lossy(&read_stdin_limited()?).into_owned(),
    };
    // Reading never writes: no directory, lock file or key is created by an unprotect.
    let provider = read_only_provider(global)?;
    let protector = provider.protector(args.purposes.iter().cloned());
    let payload = keyward::encoding::base64url_decode(text.trim())?;
    let opened = if args.time_limited {
        protector
            .to_time_limited()
            .unprotect(&payload)
            .map(|(bytes, _)| bytes)
    } else {
        protector.unprotect(&payload)
    };
    let plaintext = zeroize::Zeroizing::new(opened.map_err(|error| hint(global, error))?);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&plaintext)
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            context: "writing stdout",
            source,
        })
}

/// A failed authentication under an application name that looks like a content root without
/// the trailing separator .NET ≥ 7 appends: say so (the most common cause for apps that never
/// called `SetApplicationName`).
fn hint(global: &GlobalOptions, error: keyward::Error) -> CliError {
    let suspicious = matches!(error, keyward::Error::InvalidPayload)
        && global.content_root.is_none()
        && global
            .application_name
            .iter()
            .any(|name| keyward::discriminator::looks_like_content_root_without_separator(name));
    if suspicious {
        return CliError::Usage(format!(
            "{error}; the application name looks like a content root without its trailing separator: a .NET ≥ 7 app that never called SetApplicationName uses the path with one appended (try --content-root DIR)"
        ));
    }
    error.into()
}
