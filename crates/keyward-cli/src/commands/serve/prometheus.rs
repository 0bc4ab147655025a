//! The sidecar's `metrics` recorder: keeps the library's counters and gauges (and the
//! sidecar's own) and renders them in Prometheus' text format for `GET /metrics`.
//!
//! keyward records only counters and gauges with a handful of fixed labels, so this is a map
//! of atomics; histograms are not kept.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// What a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

type Labels = Vec<(String, String)>;

#[derive(Debug, Default)]
struct Family {
    kind: Option<Kind>,
    help: Option<String>,
    series: BTreeMap<Labels, Arc<AtomicU64>>,
}

/// The recorder; clones share one set of series.
#[derive(Debug, Clone, Default)]
pub struct PrometheusRecorder {
    families: Arc<Mutex<BTreeMap<String, Family>>>,
}

impl PrometheusRecorder {
    /// Installs a new recorder as the process's global one and returns a handle to render
    /// it. A recorder installed earlier stays (and this one then sees nothing).
    pub fn install() -> Self {
        let recorder = Self::default();
        if metrics::set_global_recorder(recorder.clone()).is_err() {
            tracing::debug!("a metrics recorder was already installed");
        }
        keyward::metrics::describe();
        recorder
    }

    fn series(&self, key: &Key, kind: Kind) -> Arc<AtomicU64> {
        let labels: Labels = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families.entry(key.name().to_owned()).or_default();
        family.kind.get_or_insert(kind);
        let initial = match kind {
            Kind::Counter => 0,
            Kind::Gauge => 0f64.to_bits(),
        };
        family
            .series
            .entry(labels)
            .or_insert_with(|| Arc::new(AtomicU64::new(initial)))
            .clone()
    }

    fn describe(&self, key: KeyName, kind: Kind, unit: Option<Unit>, help: SharedString) {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families.entry(key.as_str().to_owned()).or_default();
        family.kind.get_or_insert(kind);
        family.help = Some(match unit {
            Some(unit) => format!("{help} ({})", unit.as_str()),
            None => help.to_string(),
        });
    }

    /// Every series in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (name, family) in families.iter() {
            let Some(kind) = family.kind else { continue };
            if let Some(help) = &family.help {
                let help = help.replace('\\', "\\\\").replace('\n', "\\n");
                let _ = writeln!(out, "# HELP {name} {help}");
            }
            let _ = writeln!(
                out,
                "# TYPE {name} {}",
                match kind {
                    Kind::Counter => "counter",
                    Kind::Gauge => "gauge",
                }
            );
            for (labels, value) in &family.series {
                let raw = value.load(Ordering::Relaxed);
                let value = match kind {
                    Kind::Counter => raw.to_string(),
                    Kind::Gauge => format_gauge(f64::from_bits(raw)),
                };
                let _ = writeln!(out, "{name}{} {value}", format_labels(labels));
            }
        }
        out
    }
}

fn format_gauge(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

fn format_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(key, value)| {
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{key}=\"{value}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Recorder for PrometheusRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, Kind::Counter, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, Kind::Gauge, unit, description);
    }

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.series(key, Kind::Counter))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.series(key, Kind::Gauge))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_with_labels() {
        let recorder = PrometheusRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("a_total", "Things that happened");
            metrics::counter!("a_total", "reason" => "x\"y").increment(2);
            metrics::counter!("a_total", "reason" => "x\"y").increment(1);
            metrics::gauge!("b").set(1.5);
            metrics::gauge!("c").set(f64::NAN);
        });
        let text = recorder.render();
        assert!(
            text.contains("# HELP a_total Things that happened\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE a_total counter\n"), "{text}");
        assert!(text.contains("a_total{reason=\"x\\\"y\"} 3\n"), "{text}");
        assert!(text.contains("# TYPE b gauge\nb 1.5\n"), "{text}");
        assert!(text.contains("c NaN\n"), "{text}");
    }
}
