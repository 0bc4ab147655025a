//! `keyward keys ensure`: placeholder (being built).

use super::CliError;
use crate::cli::GlobalOptions;

/// The janitor.
pub fn run(
    _global: &GlobalOptions,
    _delete_expired_before: Option<&str>,
    _dry_run: bool,
    _json: bool,
) -> Result<(), CliError> {
    Err(CliError::Usage("ensure is not built yet".into()))
}
