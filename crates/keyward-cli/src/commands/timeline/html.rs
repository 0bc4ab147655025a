//! The HTML page: one self-contained file (inline SVG and CSS, no script, no external
//! resource) with the same picture as the terminal, and a table of the keys below it.

use std::fmt::Write as _;

use keyward::time::OffsetDateTime;
use keyward::KeyStatus;

use super::model::{short_id, ticks, Bar, SuccessorState, Timeline};
use super::rfc3339;

/// The SVG's width in pixels.
const WIDTH: f64 = 1160.0;
/// Where the chart begins.
const CHART_X0: f64 = 190.0;
/// Where the chart ends.
const CHART_X1: f64 = 1030.0;
/// Where the key rows begin.
const ROWS_Y: f64 = 206.0;
/// A row's height.
const ROW_H: f64 = 32.0;
/// A bar's height.
const BAR_H: f64 = 20.0;

/// Fill colours (the screenshot test knows them): created, not yet active.
const PENDING: &str = "#90caf9";
/// Active, not the default.
const ACTIVE: &str = "#66bb6a";
/// The default key.
const DEFAULT: &str = "#1b5e20";
/// Revoked.
const REVOKED: &str = "#d32f2f";
/// Unusable (unreadable master key, unknown algorithm).
const UNUSABLE: &str = "#9e9e9e";
/// No default key.
const NO_DEFAULT: &str = "#ffcdd2";
/// The now line.
const NOW: &str = "#8e24aa";
/// The successor's deadline.
const DUE: &str = "#ef6c00";

/// Text from anywhere made safe inside HTML and SVG text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub fn render(timeline: &Timeline) -> String {
    let mut svg = String::new();
    let height = draw(&mut svg, timeline);
    let mut page = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>keyward key ring timeline</title>
<style>
body {{ margin: 0; background: #fff; color: #212121; font-family: sans-serif; }}
svg {{ display: block; }}
svg text {{ font-family: sans-serif; }}
svg .mono {{ font-family: monospace; }}
section {{ padding: 0 16px 24px 16px; font-size: 14px; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #e0e0e0; }}
td.mono {{ font-family: monospace; }}
</style>
</head>
<body>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="key ring timeline">
{svg}</svg>
"#
    );
    table(&mut page, timeline);
    page.push_str("</body>\n</html>\n");
    page
}

/// The x of a moment, clamped to the chart.
fn x(timeline: &Timeline, at: OffsetDateTime) -> f64 {
    CHART_X0 + (CHART_X1 - CHART_X0) * timeline.fraction(at).clamp(0.0, 1.0)
}

/// A bar segment with a tooltip.
fn rect(svg: &mut String, class: &str, x0: f64, x1: f64, y: f64, fill: &str, tip: &str) {
    let width = (x1 - x0).max(2.0);
    let opacity = if class.contains("expired") {
        r#" fill-opacity="0.45""#
    } else {
        ""
    };
    let _ = writeln!(
        svg,
        r#"<rect class="{class}" x="{x0:.1}" y="{y:.1}" width="{width:.1}" height="{BAR_H:.1}" fill="{fill}"{opacity}><title>{}</title></rect>"#,
        escape(tip)
    );
}

/// Text at (x, y); `anchor` is `start`, `middle` or `end`.
#[allow(clippy::too_many_arguments)]
fn text(
    svg: &mut String,
    x: f64,
    y: f64,
    size: u32,
    fill: &str,
    anchor: &str,
    extra: &str,
    body: &str,
) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"{extra}>{}</text>"#,
        escape(body)
    );
}

/// Draws the SVG body; returns its height.
fn draw(svg: &mut String, timeline: &Timeline) -> f64 {
    text(
        svg,
        16.0,
        34.0,
        22,
        "#212121",
        "start",
        r#" font-weight="bold""#,
        "Key ring timeline",
    );
    text(
        svg,
        16.0,
        56.0,
        13,
        "#616161",
        "start",
        "",
        &timeline.location,
    );
    for (i, line) in summary(timeline).iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = 82.0 + 20.0 * i as f64;
        let weight = if line.contains("OVERDUE") || line.contains("NO default") {
            r#" font-weight="bold""#
        } else {
            ""
        };
        text(svg, 16.0, y, 14, "#212121", "start", weight, line);
    }
    legend(svg, 152.0);

    let rows = timeline.bars.len();
    #[allow(clippy::cast_precision_loss)]
    let band_y = ROWS_Y + ROW_H * rows as f64;
    let bottom = band_y + ROW_H;

    // Axis, ticks and grid.
    let axis_y = ROWS_Y - 8.0;
    let _ = writeln!(
        svg,
        "<line x1=\"{CHART_X0}\" y1=\"{axis_y}\" x2=\"{CHART_X1}\" y2=\"{axis_y}\" stroke=\"#757575\"/>"
    );
    let mut free_from = 0.0;
    for (at, label) in ticks(timeline.start, timeline.end, 105) {
        let tx = x(timeline, at);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{bottom:.1}\" stroke=\"#eeeeee\"/>",
            axis_y - 4.0
        );
        if tx >= free_from && tx + 70.0 <= CHART_X1 + 30.0 {
            text(svg, tx, axis_y - 8.0, 12, "#616161", "middle", "", &label);
            free_from = tx + 80.0;
        }
    }

    for (i, bar) in timeline.bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let row_y = ROWS_Y + ROW_H * i as f64;
        draw_bar(svg, timeline, bar, row_y);
    }

    // The default key over time.
    text(
        svg,
        16.0,
        band_y + 20.0,
        14,
        "#212121",
        "start",
        r#" font-weight="bold""#,
        "default key",
    );
    for period in &timeline.periods {
        let from = period.from.max(timeline.start);
        let until = period.until.unwrap_or(timeline.end).min(timeline.end);
        if until <= from {
            continue;
        }
        let (x0, x1) = (x(timeline, from), x(timeline, until));
        let range = format!(
            "from {} until {}",
            rfc3339(period.from),
            period.until.map_or_else(|| "…".to_owned(), rfc3339)
        );
        match period.key {
            Some(id) => {
                rect(
                    svg,
                    "band key",
                    x0,
                    x1,
                    band_y + 6.0,
                    DEFAULT,
                    &format!("default key {id} {range}"),
                );
                if x1 - x0 >= 80.0 {
                    text(
                        svg,
                        x0 + 6.0,
                        band_y + 21.0,
                        13,
                        "#ffffff",
                        "start",
                        r#" class="mono""#,
                        &short_id(id),
                    );
                }
            }
            None => {
                rect(
                    svg,
                    "band none",
                    x0,
                    x1,
                    band_y + 6.0,
                    NO_DEFAULT,
                    &format!("no default key {range}"),
                );
                if x1 - x0 >= 80.0 {
                    text(
                        svg,
                        x0 + 6.0,
                        band_y + 21.0,
                        12,
                        "#b71c1c",
                        "start",
                        "",
                        "no default",
                    );
                }
            }
        }
    }

    // Markers: now, the next rotation, the successor's deadline: lines through the chart,
    // named under it (each name beside a tick at its moment).
    let mut y = bottom + 20.0;
    let mut marker = |svg: &mut String,
                      at: OffsetDateTime,
                      colour: &str,
                      dash: &str,
                      label: &str| {
        let mx = x(timeline, at);
        for (y1, y2) in [(axis_y - 2.0, bottom + 2.0), (y - 12.0, y + 3.0)] {
            let _ = writeln!(
                svg,
                "<line class=\"marker\" x1=\"{mx:.1}\" y1=\"{y1:.1}\" x2=\"{mx:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>"
            );
        }
        let (anchor, tx) = if mx > (CHART_X0 + CHART_X1) / 2.0 {
            ("end", mx - 6.0)
        } else {
            ("start", mx + 6.0)
        };
        text(
            svg,
            tx,
            y,
            13,
            colour,
            anchor,
            r#" font-weight="bold""#,
            label,
        );
        y += 20.0;
    };
    marker(
        svg,
        timeline.now,
        NOW,
        "",
        &format!("now {}", rfc3339(timeline.now)),
    );
    if let Some(r) = timeline.next_rotation {
        marker(
            svg,
            r.at,
            "#37474f",
            r#" stroke-dasharray="2 3""#,
            &format!("next rotation {}", rfc3339(r.at)),
        );
    }
    if let Some(s) = timeline.successor {
        marker(
            svg,
            s.due,
            DUE,
            r#" stroke-dasharray="6 4""#,
            &format!("successor due {}", rfc3339(s.due)),
        );
    }
    y + 8.0
}

/// One key's row: its id, its bar by phase, its status.
fn draw_bar(svg: &mut String, timeline: &Timeline, bar: &Bar, row_y: f64) {
    let id = bar.id.to_string();
    let _ = writeln!(
        svg,
        "<text class=\"mono\" x=\"16\" y=\"{:.1}\" font-size=\"15\" fill=\"#212121\"><title>{}</title>{}</text>",
        row_y + 21.0,
        escape(&id),
        escape(&bar.short_id())
    );
    let (start, activation, end) = bar.span();
    let dates = format!(
        "key {id}\ncreated {}\nactive from {}\nexpires {}",
        rfc3339(bar.creation),
        rfc3339(bar.activation),
        rfc3339(bar.expiration)
    );
    let y = row_y + 6.0;
    let expired = if bar.status == KeyStatus::Expired {
        " expired"
    } else {
        ""
    };
    match bar.status {
        KeyStatus::Revoked => {
            rect(
                svg,
                "bar revoked",
                x(timeline, start),
                x(timeline, end),
                y,
                REVOKED,
                &format!("{dates}\nrevoked"),
            );
        }
        KeyStatus::Unreadable => {
            let reason = bar.reason.as_deref().unwrap_or("unusable");
            rect(
                svg,
                "bar unusable",
                x(timeline, start),
                x(timeline, end),
                y,
                UNUSABLE,
                &format!("{dates}\nunusable: {reason}"),
            );
        }
        _ => {
            if activation > start {
                rect(
                    svg,
                    &format!("bar pending{expired}"),
                    x(timeline, start),
                    x(timeline, activation),
                    y,
                    PENDING,
                    &format!("{dates}\ncreated, not yet active"),
                );
            }
            // The active span, split where the key is the default.
            let mut cursor = activation;
            for period in &timeline.periods {
                let from = period.from.max(activation);
                let until = period.until.unwrap_or(end).min(end);
                if until <= from || period.key != Some(bar.id) {
                    continue;
                }
                if from > cursor {
                    rect(
                        svg,
                        &format!("bar active{expired}"),
                        x(timeline, cursor),
                        x(timeline, from),
                        y,
                        ACTIVE,
                        &format!("{dates}\nactive"),
                    );
                }
                rect(
                    svg,
                    &format!("bar default{expired}"),
                    x(timeline, from),
                    x(timeline, until),
                    y,
                    DEFAULT,
                    &format!("{dates}\nthe default key"),
                );
                cursor = until;
            }
            if end > cursor {
                rect(
                    svg,
                    &format!("bar active{expired}"),
                    x(timeline, cursor),
                    x(timeline, end),
                    y,
                    ACTIVE,
                    &format!("{dates}\nactive"),
                );
            }
        }
    }
    let (status, colour) = match bar.status {
        KeyStatus::Default => ("default", DEFAULT),
        KeyStatus::Active => ("active", "#2e7d32"),
        KeyStatus::Pending => ("pending", "#1565c0"),
        KeyStatus::Expired => ("expired", "#757575"),
        KeyStatus::Revoked => ("✕ revoked", REVOKED),
        KeyStatus::Unreadable => ("? unusable", "#616161"),
    };
    text(
        svg,
        CHART_X1 + 12.0,
        row_y + 21.0,
        14,
        colour,
        "start",
        r#" font-weight="bold""#,
        status,
    );
}

/// The legend: a swatch and a word per kind of mark.
fn legend(svg: &mut String, y: f64) {
    let items = [
        (PENDING, "created, not yet active"),
        (ACTIVE, "active"),
        (DEFAULT, "the default key"),
        (REVOKED, "revoked"),
        (UNUSABLE, "unusable"),
        (NO_DEFAULT, "no default key"),
    ];
    let mut lx = 16.0;
    for (fill, label) in items {
        let _ = writeln!(
            svg,
            "<rect class=\"legend\" x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{fill}\"/>",
            y - 12.0
        );
        text(svg, lx + 20.0, y, 13, "#424242", "start", "", label);
        #[allow(clippy::cast_precision_loss)]
        let advance = 40.0 + 7.0 * label.chars().count() as f64;
        lx += advance;
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{lx:.1}\" y1=\"{:.1}\" x2=\"{lx:.1}\" y2=\"{:.1}\" stroke=\"{NOW}\" stroke-width=\"2\"/>",
        y - 13.0,
        y + 3.0
    );
    text(svg, lx + 8.0, y, 13, "#424242", "start", "", "now");
}

/// The summary lines, as the terminal prints them.
fn summary(timeline: &Timeline) -> Vec<String> {
    let name = |id: Option<keyward::KeyId>| id.map_or_else(|| "none".to_owned(), short_id);
    let mut lines = Vec::new();
    lines.push(match timeline.default_now {
        Some(id) => format!("Now {}: the default key is {}.", rfc3339(timeline.now), short_id(id)),
        None => format!(
            "Now {}: NO default key; the next protect, or `keyward keys ensure`, creates one active at once.",
            rfc3339(timeline.now)
        ),
    });
    lines.push(match timeline.next_rotation {
        Some(r) => format!(
            "Next rotation {}: {} → {}.",
            rfc3339(r.at),
            name(r.from),
            name(r.to)
        ),
        None => "No rotation ahead.".to_owned(),
    });
    if let Some(s) = timeline.successor {
        let created = s.created.map(rfc3339).unwrap_or_default();
        lines.push(match s.state {
            SuccessorState::Written => format!(
                "Successor due by {}: written ({}, created {created}).",
                rfc3339(s.due),
                name(s.key)
            ),
            SuccessorState::WrittenLate => format!(
                "Successor due by {}: written late ({}, created {created}); nodes may not know it when it takes over.",
                rfc3339(s.due),
                name(s.key)
            ),
            SuccessorState::Missing => format!(
                "Successor due by {}: not written yet; the next protect, or `keyward keys ensure`, creates one by then.",
                rfc3339(s.due)
            ),
            SuccessorState::Overdue => format!(
                "Successor due by {}: OVERDUE, none written; run `keyward keys ensure` now.",
                rfc3339(s.due)
            ),
        });
    }
    lines
}

/// The keys in full below the picture.
fn table(page: &mut String, timeline: &Timeline) {
    page.push_str("<section>\n<h2>Keys</h2>\n");
    if timeline.bars.is_empty() && timeline.unreadable.is_empty() {
        page.push_str("<p>No keys: the first protect, or <code>keyward keys ensure</code>, creates one.</p>\n</section>\n");
        return;
    }
    page.push_str("<table>\n<tr><th>id</th><th>status</th><th>created</th><th>activation</th><th>expiration</th><th>remark</th></tr>\n");
    for bar in &timeline.bars {
        let _ = writeln!(
            page,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&bar.id.to_string()),
            escape(bar.status.as_str()),
            rfc3339(bar.creation),
            rfc3339(bar.activation),
            rfc3339(bar.expiration),
            escape(bar.reason.as_deref().unwrap_or(""))
        );
    }
    for key in &timeline.unreadable {
        let _ = writeln!(
            page,
            "<tr><td class=\"mono\">{}</td><td>unreadable</td><td>{}</td><td>{}</td><td>{}</td><td>{} in {}</td></tr>",
            escape(&key.id.map_or_else(|| "?".to_owned(), |id| id.to_string())),
            key.creation.map(rfc3339).unwrap_or_default(),
            key.activation.map(rfc3339).unwrap_or_default(),
            key.expiration.map(rfc3339).unwrap_or_default(),
            escape(&key.reason),
            escape(&key.location)
        );
    }
    page.push_str("</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>\u{1b}"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;\u{fffd}"
        );
    }
}
