//! `keyward keys export` / `keys import`: placeholder (being built).

use super::CliError;
use crate::cli::GlobalOptions;

/// Writes the ring to one file.
pub fn export(
    _global: &GlobalOptions,
    _output: Option<&std::path::Path>,
    _allow_plaintext: bool,
    _json: bool,
) -> Result<(), CliError> {
    Err(CliError::Usage("export is not built yet".into()))
}

/// Reads an export into the ring.
pub fn import(
    _global: &GlobalOptions,
    _file: &std::path::Path,
    _dry_run: bool,
    _json: bool,
) -> Result<(), CliError> {
    Err(CliError::Usage("import is not built yet".into()))
}
