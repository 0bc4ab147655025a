//! `keyward doctor`: checks a key ring and explains what is wrong, one finding per line with a
//! severity and a suggested fix. Exit status 0 (healthy), 1 (warnings) or 2 (errors).
//!
//! Doctor never writes: it reads the store, the key files' metadata and the clocks.

mod files;
mod ring;
mod users;

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{DoctorArgs, GlobalOptions};
use crate::printable::printable;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A check that passed.
    Ok,
    /// Worth knowing; nothing to fix.
    Info,
    /// Works now, fails later or for some nodes.
    Warning,
    /// Fails now.
    Error,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One finding (`doctor --json` field names are a contract).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `store`, `files`, `keys`, `time` or `config`.
    pub area: &'static str,
    /// A stable identifier of the check (`keys.no_default`, `files.unreadable_by_service`…).
    pub code: &'static str,
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
    /// The key concerned, if one is.
    pub key_id: Option<String>,
    /// The file concerned, if one is.
    pub path: Option<String>,
    /// The instant concerned (RFC 3339), if one is: where a gap in the default key starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Finding {
    fn new(severity: Severity, area: &'static str, code: &'static str, message: String) -> Self {
        Self {
            severity,
            area,
            code,
            message,
            fix: None,
            key_id: None,
            path: None,
            at: None,
        }
    }

    fn at(mut self, at: keyward::time::OffsetDateTime) -> Self {
        self.at = Some(crate::timespec::format_time_seconds(at));
        self
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn key(mut self, id: impl ToString) -> Self {
        self.key_id = Some(id.to_string());
        self
    }

    fn path(mut self, path: &std::path::Path) -> Self {
        self.path = Some(path.display().to_string());
        self
    }
}

/// `doctor --json`.
#[derive(Debug, Serialize)]
struct Report {
    /// `healthy`, `warnings` or `errors`.
    status: &'static str,
    store: Option<StoreSummary>,
    findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
struct StoreSummary {
    location: String,
    /// How long reading the ring took.
    latency_ms: u128,
    keys: usize,
}

/// Runs every check and prints the findings.
pub fn run(global: &GlobalOptions, args: &DoctorArgs) -> ExitCode {
    let mut findings = Vec::new();
    findings.extend(ring::configuration(global));
    let started = std::time::Instant::now();
    let provider = super::ring_reader(global);
    let latency = started.elapsed();
    let mut store = None;
    match &provider {
        Ok(provider) => {
            let keys = provider.keys();
            findings.push(Finding::new(
                Severity::Ok,
                "store",
                "store.readable",
                format!(
                    "{} answered in {} ms: {} key(s), {} unreadable",
                    provider.location(),
                    latency.as_millis(),
                    keys.len(),
                    provider.unreadable_keys().len()
                ),
            ));
            store = Some(StoreSummary {
                location: provider.location(),
                latency_ms: latency.as_millis(),
                keys: keys.len(),
            });
        }
        Err(error) => findings.push(
            Finding::new(
                Severity::Error,
                "store",
                "store.unreachable",
                format!("cannot read the key ring: {}", keyward::error_chain(error)),
            )
            .fix("check the --keys-dir / --repository value, that the store runs, and that this user may read it"),
        ),
    }
    if let Some(uri) = &global.repository {
        findings.extend(blob_findings(uri));
    }
    if let Some(directory) = super::directory_of(global) {
        findings.extend(files::check(&directory, args.service_user.as_deref()));
    }
    if let Ok(provider) = &provider {
        findings.extend(ring::keys(global, provider));
        findings.extend(ring::time(global, provider));
    }
    print(findings, store, args.json)
}

/// An Azure blob ring: its size against the bound, ETag and content type.
fn blob_findings(uri: &str) -> Option<Finding> {
    let facts = match keyward_setup::inspect_azure_blob(uri)? {
        Ok(facts) => facts,
        // The store check above already reports an unreadable store.
        Err(_) => return None,
    };
    if !facts.exists {
        return Some(Finding::new(
            Severity::Info,
            "store",
            "store.blob",
            "the blob does not exist yet: an empty ring (the first key creates it)".into(),
        ));
    }
    let content_type = facts.content_type.clone().unwrap_or_default();
    let xml = content_type.to_ascii_lowercase().contains("xml");
    let limit = keyward_azure::MAX_BLOB_BYTES as usize;
    let near_limit = facts.bytes > limit / 10 * 8;
    let severity = if !xml || near_limit {
        Severity::Warning
    } else {
        Severity::Ok
    };
    let mut finding = Finding::new(
        severity,
        "store",
        "store.blob",
        format!(
            "blob: {} bytes of at most {limit}, {} element(s), ETag {}, content type {}",
            facts.bytes,
            facts.elements,
            facts.etag.as_deref().unwrap_or("(none)"),
            if content_type.is_empty() {
                "(none)"
            } else {
                &content_type
            },
        ),
    );
    if near_limit {
        finding = finding.fix("delete expired keys on purpose (`keys delete`), or the blob will soon be too large to read");
    } else if !xml {
        finding = finding.fix("the blob is not XML by its content type: check that it is the ring .NET's PersistKeysToAzureBlobStorage writes");
    }
    Some(finding)
}

fn print(mut findings: Vec<Finding>, store: Option<StoreSummary>, json: bool) -> ExitCode {
    // Worst first, each area together, in the order the checks ran.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    let (status, code) = match worst {
        Severity::Error => ("errors", 2),
        Severity::Warning => ("warnings", 1),
        _ => ("healthy", 0),
    };
    let mut out = std::io::stdout().lock();
    let written = if json {
        crate::json_out::to_writer_pretty(
            &mut out,
            &Report {
                status,
                store,
                findings,
            },
        )
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
    } else {
        write_text(&mut out, &findings, status)
    };
    match written {
        // The reader went away (`keyward doctor | head -3`): the status is still the ring's.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(_) => ExitCode::from(2),
        Ok(()) => ExitCode::from(code),
    }
}

fn write_text(out: &mut impl Write, findings: &[Finding], status: &str) -> std::io::Result<()> {
    for finding in findings {
        write!(
            out,
            "{:<7}  {:<6}  {}",
            finding.severity.label(),
            finding.area,
            printable(&finding.message)
        )?;
        if let Some(fix) = &finding.fix {
            write!(out, " — fix: {}", printable(fix))?;
        }
        writeln!(out)?;
    }
    let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
    writeln!(
        out,
        "{status}: {} error(s), {} warning(s)",
        count(Severity::Error),
        count(Severity::Warning)
    )
}
