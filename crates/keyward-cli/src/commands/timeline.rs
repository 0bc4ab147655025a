//! `keyward keys timeline`: placeholder (being built).

use super::CliError;
use crate::cli::{ColorArg, GlobalOptions};

/// Draws the ring over time.
pub fn run(
    _global: &GlobalOptions,
    _html: Option<&std::path::Path>,
    _json: bool,
    _width: Option<usize>,
    _color: ColorArg,
) -> Result<(), CliError> {
    Err(CliError::Usage("timeline is not built yet".into()))
}
