//! `keyward machine-key check web.config…`: one finding per line (`FILE: code: why`), or
//! JSON; exit status 1 on any finding. With none, one `ok: …` line.

use keyward_machinekey::check::check;
use keyward_machinekey::MachineKeyConfig;
use serde_json::json;

use super::{print_json, print_lines, weak_in_config};
use crate::cli::MachineKeyCheckArgs;
use crate::commands::CliError;
use crate::printable::printable;

/// Runs `machine-key check`.
pub fn run(args: &MachineKeyCheckArgs) -> Result<(), CliError> {
    let files: Vec<_> = args
        .files
        .iter()
        .map(|path| {
            // The library names the file in its errors; the finding names it already.
            let read = MachineKeyConfig::read(path).map_err(|e| match e {
                keyward_machinekey::Error::ConfigFile { problem, .. } => {
                    keyward_machinekey::Error::Config(problem)
                }
                other => other,
            });
            (path.display().to_string(), read)
        })
        .collect();
    let findings = check(&files);
    // Beside the findings (stdout), one warning line on stderr names the weak algorithms of
    // every file (SHA1 included, which is no finding), as decode warns.
    let weak: Vec<String> = files
        .iter()
        .filter_map(|(file, read)| {
            let weak = weak_in_config(read.as_ref().ok()?);
            (!weak.is_empty()).then(|| format!("{file} ({})", weak.join(", ")))
        })
        .collect();
    if !weak.is_empty() {
        eprintln!(
            "keyward: warning: weak machineKey algorithms in {}",
            printable(&weak.join("; "))
        );
    }
    if args.json {
        let list: Vec<_> = findings
            .iter()
            .map(|f| json!({"file": f.file, "code": f.code, "message": f.message}))
            .collect();
        print_json(&json!({"files": files.len(), "findings": list}))?;
    } else if findings.is_empty() {
        // All is well: one line says so (silence reads like nothing was checked).
        print_lines(&[match files.len() {
            1 => "ok: 1 config, no finding".to_owned(),
            n => format!("ok: {n} configs, same keys, no finding"),
        }])?;
    } else {
        let lines: Vec<String> = findings
            .iter()
            .map(|f| printable(&format!("{}: {}: {}", f.file, f.code, f.message)))
            .collect();
        print_lines(&lines)?;
    }
    match findings.len() {
        0 => Ok(()),
        n => Err(CliError::Usage(format!(
            "{n} finding{} in {} file{}",
            if n == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ))),
    }
}
