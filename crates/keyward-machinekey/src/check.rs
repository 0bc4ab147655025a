//! `check`: whether a set of `web.config` files (the servers of one farm, or the apps that
//! share a login) hold keys that work there: the same keys and algorithms everywhere, no
//! `AutoGenerate`/`IsolateApps`, key lengths and algorithms strong enough for the mode, and an
//! explicit `compatibilityMode`. Each finding says why it matters. Keys are never printed.

use crate::algorithms::{MachineKeyDecryption, MachineKeyValidation};
use crate::config::{KeySetting, MachineKeyConfig};
use crate::error::Result;
use crate::keys::CompatibilityMode;
use crate::primitives::constant_time_eq;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, as the caller named it.
    pub file: String,
    /// A stable short code, e.g. `auto-generate` or `differs`.
    pub code: &'static str,
    /// What is wrong and why it matters.
    pub message: String,
}

/// Checks every file (each given with the name to report and what reading it gave), alone
/// and against the first readable one.
pub fn check(files: &[(String, Result<MachineKeyConfig>)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut reference: Option<(&str, &MachineKeyConfig)> = None;
    for (file, config) in files {
        let mut add = |code: &'static str, message: String| {
            findings.push(Finding {
                file: file.clone(),
                code,
                message,
            })
        };
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                add("unreadable", error.to_string());
                continue;
            }
        };
        check_one(config, &mut add);
        match reference {
            None => reference = Some((file, config)),
            Some((first, other)) => compare(first, other, config, &mut add),
        }
    }
    findings
}

fn check_one(config: &MachineKeyConfig, add: &mut impl FnMut(&'static str, String)) {
    if !config.element_present {
        add(
            "no-machine-key",
            "no <machineKey> element: the runtime uses AutoGenerate,IsolateApps, a key each server makes and keeps in its registry, so servers of a farm cannot read each other's tickets and ViewState".into(),
        );
    }
    for (attribute, setting) in [
        ("validationKey", &config.validation_key),
        ("decryptionKey", &config.decryption_key),
    ] {
        if let KeySetting::AutoGenerate {
            isolate_apps,
            isolate_by_app_id,
            implicit,
        } = setting
        {
            if config.element_present {
                let why = if *implicit {
                    "is absent, so AutoGenerate,IsolateApps applies"
                } else {
                    "is AutoGenerate"
                };
                add(
                    "auto-generate",
                    format!("{attribute} {why}: each server generates its own key and keeps it in its registry, so the servers of a farm disagree; set an explicit key (keyward machine-key generate)"),
                );
            }
            if *isolate_apps && !*implicit {
                add(
                    "isolate-apps",
                    format!("{attribute} has IsolateApps: the key also differs per application path, so apps cannot share tickets"),
                );
            }
            if *isolate_by_app_id {
                add(
                    "isolate-apps",
                    format!("{attribute} has IsolateByAppId: the key also differs per IIS application id, which differs between servers"),
                );
            }
        }
    }
    let mode = match config.compatibility_mode() {
        Ok(mode) => Some(mode),
        Err(error) => {
            add("bad-mode", error.to_string());
            None
        }
    };
    if config.element_present && config.compatibility_mode.is_none() {
        let effective = mode.map(|m| m.name()).unwrap_or("?");
        let because = if config.target_framework.is_some() {
            "from <httpRuntime targetFramework>"
        } else {
            "the runtime default"
        };
        add(
            "implicit-mode",
            format!("compatibilityMode is not set: it is {effective} here ({because}), and a server with another targetFramework or runtime uses another crypto and cannot read these tickets; write compatibilityMode=\"{effective}\""),
        );
    }
    let validation = match config.validation() {
        Ok(v) => Some(v),
        Err(error) => {
            add("bad-algorithm", error.to_string());
            None
        }
    };
    let decryption = match config.decryption() {
        Ok(d) => Some(d),
        Err(error) => {
            add("bad-algorithm", error.to_string());
            None
        }
    };
    let legacy = mode.is_none_or(CompatibilityMode::is_legacy);
    if let Some(validation) = validation {
        check_validation(config, validation, legacy, mode, add);
    }
    if let Some(decryption) = decryption {
        check_decryption(config, decryption, legacy, add);
    }
    if config.data_protector_type.is_some() && config.application_name.is_none() {
        add(
            "no-application-name",
            "dataProtectorType is set without applicationName: the data protector's discriminator falls back to the IIS application id (e.g. /LM/W3SVC/1/ROOT), which differs between servers whose site ids differ; set applicationName".into(),
        );
    }
}

fn check_validation(
    config: &MachineKeyConfig,
    validation: MachineKeyValidation,
    legacy: bool,
    mode: Option<CompatibilityMode>,
    add: &mut impl FnMut(&'static str, String),
) {
    use MachineKeyValidation as V;
    let fx45 = mode == Some(CompatibilityMode::Framework45);
    if fx45 && matches!(validation, V::Md5 | V::TripleDes | V::Aes) {
        add(
            "bad-algorithm",
            format!("validation=\"{}\" is refused in Framework45 mode (a configuration error at startup): use HMACSHA256 or HMACSHA512", validation.name()),
        );
    }
    match validation {
        V::Md5 => add(
            "weak-algorithm",
            "validation=\"MD5\": the legacy MAC is MD5(data || key), not an HMAC, and MD5 is broken: use HMACSHA256 (4.0+) or SHA1 (2.0)".into(),
        ),
        V::TripleDes | V::Aes if legacy => add(
            "weak-algorithm",
            format!("validation=\"{}\" means HMAC-SHA1 plus ViewState encryption with that cipher: name the MAC (HMACSHA256) and the cipher (decryption=\"AES\") instead", validation.name()),
        ),
        _ => {}
    }
    let Some(key) = config.validation_key.explicit() else {
        return;
    };
    let len = key.len();
    let tag = match validation {
        V::Md5 => 16,
        V::Sha1 | V::TripleDes | V::Aes => 20,
        V::HmacSha256 => 32,
        V::HmacSha384 => 48,
        V::HmacSha512 => 64,
    };
    if legacy && len < 20 {
        add(
            "short-key",
            format!("validationKey is {len} bytes: the legacy runtime refuses fewer than 20 (40 hex digits)"),
        );
    } else if len < tag {
        add(
            "short-key",
            format!("validationKey is {len} bytes, shorter than the {tag}-byte MAC it keys: the MAC is only as strong as the key; use {} bytes ({} hex digits)", validation.key_len(), validation.key_len() * 2),
        );
    }
    let pad = if matches!(validation, V::HmacSha384 | V::HmacSha512) {
        128
    } else {
        64
    };
    if legacy && len > pad {
        add(
            "long-key",
            format!("validationKey is {len} bytes: the legacy runtime's HMAC pads hold {pad}, so a longer key fails there; use {pad} bytes"),
        );
    }
}

fn check_decryption(
    config: &MachineKeyConfig,
    decryption: Option<MachineKeyDecryption>,
    legacy: bool,
    add: &mut impl FnMut(&'static str, String),
) {
    use MachineKeyDecryption as D;
    let len = config.decryption_key.explicit().map(|k| k.len());
    let cipher = match decryption {
        Some(cipher) => cipher,
        None if legacy && len == Some(8) => D::Des,
        None => D::Aes,
    };
    match cipher {
        D::Des => add(
            "weak-algorithm",
            "the decryption cipher is DES (decryption=\"DES\", or Auto with an 8-byte key): a 56-bit key is searched exhaustively in days; use AES with a 32-byte key".into(),
        ),
        D::TripleDes => add(
            "weak-algorithm",
            "decryption=\"3DES\": 64-bit blocks (Sweet32) and disallowed by NIST for encryption since 2024; use AES with a 32-byte key".into(),
        ),
        D::Aes => {}
    }
    let Some(len) = len else {
        return;
    };
    let fits = match (cipher, legacy) {
        (D::Aes, _) => matches!(len, 16 | 24 | 32),
        (D::TripleDes, _) => matches!(len, 16 | 24),
        (D::Des, true) => len >= 8,
        (D::Des, false) => len == 8,
    };
    if !fits {
        add(
            "bad-key-length",
            format!("decryptionKey is {len} bytes, which {} does not take in this mode (AES: 16, 24 or 32; 3DES: 16 or 24; DES: 8): the runtime fails with Bad_machine_key", cipher.name()),
        );
    } else if cipher == D::Aes && len < 32 {
        add(
            "short-key",
            format!("decryptionKey is {len} bytes (AES-{}): use 32 bytes (AES-256), as keyward machine-key generate does", len * 8),
        );
    }
}

fn compare(
    first: &str,
    reference: &MachineKeyConfig,
    config: &MachineKeyConfig,
    add: &mut impl FnMut(&'static str, String),
) {
    let key_differs = |a: &KeySetting, b: &KeySetting| match (a.explicit(), b.explicit()) {
        (Some(a), Some(b)) => !constant_time_eq(a.expose(), b.expose()),
        // AutoGenerate differs per machine by construction (reported above).
        _ => false,
    };
    if key_differs(&reference.validation_key, &config.validation_key) {
        add(
            "differs",
            format!("validationKey differs from {first}: tickets and ViewState made on one do not validate on the other"),
        );
    }
    if key_differs(&reference.decryption_key, &config.decryption_key) {
        add(
            "differs",
            format!("decryptionKey differs from {first}: tickets made on one do not decrypt on the other"),
        );
    }
    let names = [
        (
            "validation",
            reference.validation().ok().map(|v| v.name()),
            config.validation().ok().map(|v| v.name()),
        ),
        (
            "decryption",
            reference
                .decryption()
                .ok()
                .map(|d| d.map_or("Auto", |d| d.name())),
            config
                .decryption()
                .ok()
                .map(|d| d.map_or("Auto", |d| d.name())),
        ),
        (
            "compatibilityMode",
            reference.compatibility_mode().ok().map(|m| m.name()),
            config.compatibility_mode().ok().map(|m| m.name()),
        ),
    ];
    for (attribute, a, b) in names {
        if let (Some(a), Some(b)) = (a, b) {
            if a != b {
                add(
                    "differs",
                    format!("{attribute} is {b} here but {a} in {first}: the servers cannot read each other's payloads"),
                );
            }
        }
    }
}
