//! The terminal picture: one row of Unicode cells per key on a shared time axis, the default
//! key over time, now, a legend and a summary; ANSI colour on request.

use keyward::time::OffsetDateTime;
use keyward::KeyStatus;

use super::model::{column, column_middle, short_id, ticks, SuccessorState, Timeline};
use super::rfc3339;
use crate::printable::printable;

/// Columns before the chart: a space, the 8-character id, two spaces.
const LABEL: usize = 11;
/// Columns after the chart: a space and the status.
const STATUS: usize = 13;
/// The narrowest chart drawn.
const MIN_CHART: usize = 20;

/// How a cell is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Pending,
    Active,
    Default,
    Revoked,
    Unusable,
    Now,
    NoDefault,
}

impl Style {
    /// The ANSI SGR parameters.
    fn sgr(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Pending => Some("36"),
            Self::Active => Some("32"),
            Self::Default => Some("1;92"),
            Self::Revoked => Some("1;31"),
            Self::Unusable => Some("33"),
            Self::Now => Some("1;35"),
            Self::NoDefault => Some("31"),
        }
    }
}

/// One row of cells.
#[derive(Debug, Clone)]
struct Row(Vec<(char, Style)>);

impl Row {
    /// `width` blank cells.
    fn blank(width: usize) -> Self {
        Self(vec![(' ', Style::Plain); width])
    }

    /// Sets one cell (beyond the row: ignored).
    fn put(&mut self, at: usize, ch: char, style: Style) {
        if let Some(cell) = self.0.get_mut(at) {
            *cell = (ch, style);
        }
    }

    /// Writes `text` from `at` on.
    fn put_str(&mut self, at: usize, text: &str, style: Style) {
        for (i, ch) in text.chars().enumerate() {
            self.put(at + i, ch, style);
        }
    }

    /// The row as text, trailing spaces trimmed, coloured by runs when `color`.
    fn render(&self, color: bool) -> String {
        let end = self
            .0
            .iter()
            .rposition(|(ch, _)| *ch != ' ')
            .map_or(0, |i| i + 1);
        let mut out = String::new();
        let mut current = Style::Plain;
        for &(ch, style) in &self.0[..end] {
            if color && style != current {
                if current.sgr().is_some() {
                    out.push_str("\u{1b}[0m");
                }
                if let Some(sgr) = style.sgr() {
                    out.push_str("\u{1b}[");
                    out.push_str(sgr);
                    out.push('m');
                }
                current = style;
            }
            out.push(ch);
        }
        if color && current.sgr().is_some() {
            out.push_str("\u{1b}[0m");
        }
        out
    }
}

/// Draws the timeline `width` columns wide.
pub fn render(timeline: &Timeline, width: usize, color: bool) -> String {
    let chart = width.saturating_sub(LABEL + STATUS).max(MIN_CHART);
    let total = LABEL + chart + STATUS;
    let col = |t: OffsetDateTime| LABEL + column(t, timeline.start, timeline.end, chart);
    let now_col = col(timeline.now);
    let mut lines = vec![format!(
        "key ring timeline: {}",
        printable(&timeline.location)
    )];
    if timeline.bars.is_empty() && timeline.unreadable.is_empty() {
        lines.push("no keys (the first protect, or `keyward keys ensure`, creates one)".into());
        return join(lines);
    }
    lines.push(String::new());

    // The axis: dates above, ticks and the now marker on the line.
    let ticks = ticks(timeline.start, timeline.end, chart);
    let mut labels = Row::blank(total);
    let mut axis = Row::blank(total);
    for c in LABEL..LABEL + chart {
        axis.put(c, '─', Style::Plain);
    }
    let mut free_from = 0;
    for (at, text) in &ticks {
        let c = col(*at);
        axis.put(c, '┬', Style::Plain);
        if c >= free_from && c + text.chars().count() <= LABEL + chart {
            labels.put_str(c, text, Style::Plain);
            free_from = c + text.chars().count() + 1;
        }
    }
    axis.put(now_col, '▼', Style::Now);
    lines.push(labels.render(color));
    lines.push(axis.render(color));

    // One row per key.
    for bar in &timeline.bars {
        let mut row = Row::blank(total);
        row.put_str(1, &bar.short_id(), Style::Plain);
        let (start, activation, end) = bar.span();
        let (first, active_from) = (col(start), col(activation));
        let last = col(end).max(first + 1);
        for c in first..last {
            let (ch, style) = match bar.status {
                KeyStatus::Revoked => ('╳', Style::Revoked),
                KeyStatus::Unreadable => ('?', Style::Unusable),
                _ if c < active_from => ('░', Style::Pending),
                _ => {
                    let middle = column_middle(c - LABEL, timeline.start, timeline.end, chart)
                        .clamp(activation, end);
                    if timeline.default_at(middle) == Some(bar.id) {
                        ('▓', Style::Default)
                    } else {
                        ('█', Style::Active)
                    }
                }
            };
            row.put(c, ch, style);
        }
        if row.0.get(now_col).is_some_and(|(ch, _)| *ch == ' ') {
            row.put(now_col, '│', Style::Now);
        }
        let (status, style) = status_label(bar.status);
        row.put_str(LABEL + chart + 1, status, style);
        lines.push(row.render(color));
    }

    // The default key over time, each stretch named by its key.
    let mut band = Row::blank(total);
    band.put_str(1, "default", Style::Plain);
    let mut c = 0;
    while c < chart {
        let key = timeline.default_at(column_middle(c, timeline.start, timeline.end, chart));
        let mut run_end = c + 1;
        while run_end < chart
            && timeline.default_at(column_middle(run_end, timeline.start, timeline.end, chart))
                == key
        {
            run_end += 1;
        }
        for cell in c..run_end {
            match key {
                Some(_) => band.put(LABEL + cell, '▓', Style::Default),
                None => band.put(LABEL + cell, '·', Style::NoDefault),
            }
        }
        if let Some(id) = key {
            if run_end - c >= 10 {
                band.put_str(LABEL + c + 1, &short_id(id), Style::Default);
            }
        }
        c = run_end;
    }
    lines.push(band.render(color));

    // Now, named under its column.
    let mut now_row = Row::blank(total.max(now_col + 40));
    let now_text = format!("↑ now {}", rfc3339(timeline.now));
    let text_len = now_text.chars().count();
    if now_col + text_len <= total {
        now_row.put_str(now_col, &now_text, Style::Now);
    } else {
        let text = format!("now {} ↑", rfc3339(timeline.now));
        let len = text.chars().count();
        now_row.put_str((now_col + 1).saturating_sub(len), &text, Style::Now);
    }
    lines.push(now_row.render(color));
    lines.push(String::new());

    lines.extend(legend(width, color));
    lines.extend(summary(timeline));
    join(lines)
}

/// The lines, each ended by a newline.
fn join(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The status column's text and colour.
fn status_label(status: KeyStatus) -> (&'static str, Style) {
    match status {
        KeyStatus::Default => ("default", Style::Default),
        KeyStatus::Active => ("active", Style::Active),
        KeyStatus::Pending => ("pending", Style::Pending),
        KeyStatus::Expired => ("expired", Style::Plain),
        KeyStatus::Revoked => ("✕ revoked", Style::Revoked),
        KeyStatus::Unreadable => ("? unusable", Style::Unusable),
    }
}

/// The legend, wrapped to `width`.
fn legend(width: usize, color: bool) -> Vec<String> {
    let items = [
        ('░', Style::Pending, "created, not yet active"),
        ('█', Style::Active, "active"),
        ('▓', Style::Default, "the default key"),
        ('╳', Style::Revoked, "revoked"),
        ('?', Style::Unusable, "unusable"),
        ('·', Style::NoDefault, "no default key"),
        ('│', Style::Now, "now"),
    ];
    let mut lines = Vec::new();
    let mut line = Row(Vec::new());
    line.0.extend("legend:".chars().map(|c| (c, Style::Plain)));
    for (glyph, style, text) in items {
        let len = 3 + text.chars().count();
        if line.0.len() + len > width && line.0.len() > 8 {
            lines.push(line.render(color));
            line = Row(vec![(' ', Style::Plain); 7]);
        }
        line.0
            .extend([(' ', Style::Plain), (' ', Style::Plain), (glyph, style)]);
        line.0.push((' ', Style::Plain));
        line.0.extend(text.chars().map(|c| (c, Style::Plain)));
    }
    lines.push(line.render(color));
    lines
}

/// The summary: now and the default key, the next rotation, the successor's deadline,
/// unreadable keys and remarks.
fn summary(timeline: &Timeline) -> Vec<String> {
    let mut lines = Vec::new();
    let default = match timeline.default_now {
        Some(id) => {
            let until = timeline
                .next_rotation
                .map_or_else(String::new, |r| format!(" until {}", rfc3339(r.at)));
            format!("{}{until}", short_id(id))
        }
        None => {
            "none (the next protect, or `keyward keys ensure`, creates a key active at once)".into()
        }
    };
    lines.push(format!(
        "now: {}; default: {default}",
        rfc3339(timeline.now)
    ));
    let name = |id: Option<keyward::KeyId>| id.map_or_else(|| "none".to_owned(), short_id);
    lines.push(match timeline.next_rotation {
        Some(r) => format!(
            "next rotation: {}, {} → {}",
            rfc3339(r.at),
            name(r.from),
            name(r.to)
        ),
        None => "next rotation: none ahead".into(),
    });
    if let Some(s) = timeline.successor {
        let created = s.created.map(rfc3339).unwrap_or_default();
        let state = match s.state {
            SuccessorState::Written => format!("written ({}, created {created})", name(s.key)),
            SuccessorState::WrittenLate => format!(
                "written late ({}, created {created}): nodes that have not re-read the ring may not know it when it takes over",
                name(s.key)
            ),
            SuccessorState::Missing => {
                "not written yet: the next protect, or `keyward keys ensure`, creates one by then"
                    .into()
            }
            SuccessorState::Overdue => {
                "OVERDUE, none written: run `keyward keys ensure` now".into()
            }
        };
        lines.push(format!(
            "successor must be written by {}: {state}",
            rfc3339(s.due)
        ));
    }
    for key in &timeline.unreadable {
        lines.push(format!(
            "unreadable key {} in {}: {}",
            key.id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
            printable(&key.location),
            printable(&key.reason)
        ));
    }
    for bar in &timeline.bars {
        if let Some(reason) = &bar.reason {
            lines.push(format!("{}: {}", bar.short_id(), printable(reason)));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_when_asked() {
        let mut row = Row::blank(5);
        row.put(1, '█', Style::Active);
        assert_eq!(row.render(false), " █");
        assert_eq!(row.render(true), " \u{1b}[32m█\u{1b}[0m");
    }
}
