//! `keyward keys timeline`: a picture of the ring over time. Each key is a bar from creation
//! through activation to expiration, with the default key over time, now, the next rotation
//! and the successor's deadline: in the terminal, as JSON, or as a self-contained HTML page.

/// The HTML page.
mod html;
/// What is drawn.
mod model;
/// The terminal picture.
mod terminal;

use crate::timespec::format_time_seconds as rfc3339;
use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::{ring_reader, CliError};
use crate::cli::{ColorArg, GlobalOptions};
use model::{short_id, RingFacts, Timeline};

/// The terminal picture's width when neither `--width` nor `COLUMNS` gives one.
const DEFAULT_WIDTH: usize = 100;
/// The narrowest and widest pictures drawn.
const WIDTH_RANGE: (usize, usize) = (40, 1000);

/// Draws the ring over time: the terminal picture (or JSON with `json`), and the HTML page
/// to `html` when given.
pub fn run(
    global: &GlobalOptions,
    html: Option<&std::path::Path>,
    json: bool,
    width: Option<usize>,
    color: ColorArg,
) -> Result<(), CliError> {
    let provider = ring_reader(global)?;
    let policy = provider.policy();
    let timeline = Timeline::build(
        RingFacts {
            now: provider.now(),
            location: provider.location(),
            keys: provider.keys(),
            unreadable: provider.unreadable_keys(),
            propagation_window: policy.propagation_window,
            max_clock_skew: policy.max_clock_skew,
            key_lifetime: policy.key_lifetime,
        },
        &provider.schedule(),
    );
    if let Some(path) = html {
        std::fs::write(path, html::render(&timeline)).map_err(CliError::writing(path))?;
    }
    let mut out = std::io::stdout().lock();
    let written = if json {
        crate::json_out::to_writer_pretty(&mut out, &json_view(&timeline))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        let width = width
            .or_else(|| {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.trim().parse().ok())
            })
            .unwrap_or(DEFAULT_WIDTH)
            .clamp(WIDTH_RANGE.0, WIDTH_RANGE.1);
        let color = match color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => std::io::stdout().is_terminal(),
        };
        out.write_all(terminal::render(&timeline, width, color).as_bytes())
    };
    written.map_err(|source| CliError::Io {
        context: "writing stdout",
        source,
    })?;
    if let Some(path) = html {
        eprintln!("keyward: wrote the timeline page to {}", path.display());
    }
    Ok(())
}

/// `--json`: these field names are a contract.
#[derive(Debug, Serialize)]
struct JsonTimeline {
    /// The moment drawn as now.
    now: String,
    /// Where the ring lives.
    location: String,
    /// The axis drawn.
    axis: JsonAxis,
    /// The default key now.
    default_key: Option<String>,
    /// One entry per key, by activation.
    keys: Vec<JsonKey>,
    /// Key elements that could not be read.
    unreadable: Vec<JsonUnreadable>,
    /// The default key over time (`key: null`: none qualifies; `until: null`: it lasts).
    default_periods: Vec<JsonPeriod>,
    /// The next change of the default key.
    next_rotation: Option<JsonRotation>,
    /// The current default key's successor and its deadline.
    successor: Option<JsonSuccessor>,
    /// The policy the deadlines come from.
    policy: JsonPolicy,
}

/// The axis drawn.
#[derive(Debug, Serialize)]
struct JsonAxis {
    start: String,
    end: String,
}

/// One key's bar.
#[derive(Debug, Serialize)]
struct JsonKey {
    id: String,
    short_id: String,
    created: String,
    activation: String,
    expiration: String,
    status: String,
    revoked: bool,
    reason: Option<String>,
}

/// A key element that could not be read.
#[derive(Debug, Serialize)]
struct JsonUnreadable {
    id: Option<String>,
    location: String,
    reason: String,
    created: Option<String>,
    activation: Option<String>,
    expiration: Option<String>,
}

/// A stretch of time with one default key.
#[derive(Debug, Serialize)]
struct JsonPeriod {
    from: String,
    until: Option<String>,
    key: Option<String>,
}

/// The next change of the default key.
#[derive(Debug, Serialize)]
struct JsonRotation {
    at: String,
    from: Option<String>,
    to: Option<String>,
}

/// The default key's successor.
#[derive(Debug, Serialize)]
struct JsonSuccessor {
    /// When it must be written: its takeover less the propagation window.
    due: String,
    key: Option<String>,
    created: Option<String>,
    /// `written`, `written-late`, `missing` or `overdue`.
    state: &'static str,
}

/// The policy's durations.
#[derive(Debug, Serialize)]
struct JsonPolicy {
    propagation_window_seconds: i64,
    key_lifetime_seconds: i64,
}

/// The timeline as `--json` prints it.
fn json_view(timeline: &Timeline) -> JsonTimeline {
    let id = |id: Option<keyward::KeyId>| id.map(|id| id.to_string());
    JsonTimeline {
        now: rfc3339(timeline.now),
        location: timeline.location.clone(),
        axis: JsonAxis {
            start: rfc3339(timeline.start),
            end: rfc3339(timeline.end),
        },
        default_key: id(timeline.default_now),
        keys: timeline
            .bars
            .iter()
            .map(|bar| JsonKey {
                id: bar.id.to_string(),
                short_id: short_id(bar.id),
                created: rfc3339(bar.creation),
                activation: rfc3339(bar.activation),
                expiration: rfc3339(bar.expiration),
                status: bar.status.to_string(),
                revoked: bar.status == keyward::KeyStatus::Revoked,
                reason: bar.reason.clone(),
            })
            .collect(),
        unreadable: timeline
            .unreadable
            .iter()
            .map(|key| JsonUnreadable {
                id: id(key.id),
                location: key.location.clone(),
                reason: key.reason.clone(),
                created: key.creation.map(rfc3339),
                activation: key.activation.map(rfc3339),
                expiration: key.expiration.map(rfc3339),
            })
            .collect(),
        default_periods: timeline
            .periods
            .iter()
            .map(|p| JsonPeriod {
                from: rfc3339(p.from),
                until: p.until.map(rfc3339),
                key: id(p.key),
            })
            .collect(),
        next_rotation: timeline.next_rotation.map(|r| JsonRotation {
            at: rfc3339(r.at),
            from: id(r.from),
            to: id(r.to),
        }),
        successor: timeline.successor.map(|s| JsonSuccessor {
            due: rfc3339(s.due),
            key: id(s.key),
            created: s.created.map(rfc3339),
            state: s.state.as_str(),
        }),
        policy: JsonPolicy {
            propagation_window_seconds: timeline.propagation_window.whole_seconds(),
            key_lifetime_seconds: timeline.key_lifetime.whole_seconds(),
        },
    }
}
