//! `keyward doctor`: placeholder (being built).

use std::process::ExitCode;

use crate::cli::{DoctorArgs, GlobalOptions};

/// Runs the checks; the exit status is 0 (healthy), 1 (warnings) or 2 (errors).
pub fn run(_global: &GlobalOptions, _args: &DoctorArgs) -> ExitCode {
    eprintln!("keyward: doctor is not built yet");
    ExitCode::from(2)
}
