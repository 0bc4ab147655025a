//! `keyward machine-key generate`: a fresh `<machineKey>` element.

use std::io::Write;

use keyward_machinekey::{CompatibilityMode, Framework, MachineKey};
use serde::Serialize;

use super::{refuse_weak, weak_algorithms};
use crate::commands::CliError;

/// `--json` output (these field names are a contract).
#[derive(Serialize)]
struct MachineKeyJson {
    framework: String,
    validation: &'static str,
    decryption: &'static str,
    #[serde(rename = "validationKey")]
    validation_key: String,
    #[serde(rename = "decryptionKey")]
    decryption_key: String,
    #[serde(rename = "compatibilityMode")]
    compatibility_mode: Option<&'static str>,
    element: String,
}

/// Runs `machine-key generate`.
pub fn run(
    framework: &str,
    validation: Option<&str>,
    decryption: Option<&str>,
    json: bool,
    allow_weak: bool,
) -> Result<(), CliError> {
    let framework: Framework = framework.parse()?;
    let validation = validation.map(str::parse).transpose()?;
    let decryption = decryption.map(str::parse).transpose()?;
    let key = MachineKey::generate(framework, validation, decryption)?;
    // The algorithms in force, defaults included (the cipher is named: the mode is moot).
    refuse_weak(
        &weak_algorithms(
            key.validation(),
            Some(key.decryption()),
            CompatibilityMode::Framework45,
            None,
        ),
        allow_weak,
    )?;
    let mut out = std::io::stdout().lock();
    let written = if json {
        let value = MachineKeyJson {
            framework: framework.to_string(),
            validation: key.validation().name(),
            decryption: key.decryption().name(),
            validation_key: key.validation_key_hex(),
            decryption_key: key.decryption_key_hex(),
            compatibility_mode: framework.compatibility_mode(),
            element: key.element(),
        };
        crate::json_out::to_writer_pretty(&mut out, &value)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        writeln!(out, "{}", key.element())
    };
    written.map_err(|source| CliError::Io {
        context: "writing stdout",
        source,
    })
}
