//! `keyward inspect`: placeholder (being built).

use super::CliError;
use crate::cli::{GlobalOptions, InspectArgs};

/// Inspects a payload or cookie.
pub fn run(_global: &GlobalOptions, _args: &InspectArgs) -> Result<(), CliError> {
    Err(CliError::Usage("inspect is not built yet".into()))
}
