//! Prometheus exposition shared by `gated` and `central` (two users, one rule for both).
//!
//! Metrics are kept in a [`prometheus_client`] registry, which encodes OpenMetrics text. A
//! scraper that asks for OpenMetrics (Prometheus does) gets it; anyone else (`curl`,
//! `promtool check metrics`, node-exporter's textfile collector) gets the classic Prometheus
//! text format 0.0.4, made from the same encoding by [`to_prometheus_text`]: counter families
//! are declared under their `_total` sample name, and the OpenMetrics-only `# UNIT` and
//! `# EOF` lines are left out.
//!
//! [`Samples`] reads either format back into numbers, for tests and tools.

use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

/// The OpenMetrics text format's content type.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format's content type.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
    /// Prometheus text 0.0.4.
    PrometheusText,
}

impl Format {
    /// The format to answer a request with this `Accept` header in: OpenMetrics when the
    /// client names it, the Prometheus text format otherwise.
    pub fn for_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::PrometheusText,
        }
    }

    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::PrometheusText => PROMETHEUS_TEXT_CONTENT_TYPE,
        }
    }
}

/// Encodes `registry` in `format`.
pub fn encode(registry: &Registry, format: Format) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail; an encoder error would mean a bad metric name,
    // which the tests of each registry rule out.
    if prometheus_client::encoding::text::encode(&mut text, registry).is_err() {
        text.clear();
    }
    match format {
        Format::OpenMetrics => text,
        Format::PrometheusText => to_prometheus_text(&text),
    }
}

/// OpenMetrics text as Prometheus text 0.0.4: each counter family's `# HELP` and `# TYPE`
/// lines name its `_total` samples, `# UNIT` and `# EOF` lines go.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let declared = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match declared {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Runs `promtool check metrics` (Debian's `prometheus` package) on `text`: `Ok` when it
/// reports no problem, else what it said (or why it could not run). For tests and CI.
pub fn promtool_check(text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("promtool (apt install prometheus): {err}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|err| format!("promtool stdin: {err}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| format!("promtool: {err}"))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics ({}): {said}",
            output.status
        ))
    }
}

/// Samples read from exposition text: each `name{labels}` with its value, labels sorted by
/// name, so that `Samples::get("gate_outcomes_total", &[("outcome", "passed")])` finds it
/// whatever order they were written in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples(BTreeMap<String, f64>);

impl Samples {
    /// Reads every sample line (comments and blank lines skipped; a line that does not parse
    /// is skipped too: `promtool check metrics` is the judge of the format).
    pub fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((series, value)) = split_value(line) else {
                continue;
            };
            let Some((name, labels)) = parse_series(series) else {
                continue;
            };
            let Ok(value) = parse_number(value) else {
                continue;
            };
            samples.insert(key(&name, &labels), value);
        }
        Self(samples)
    }

    /// The value of `name` with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0.get(&key(name, &labels)).copied()
    }

    /// The value of `name` with these labels, 0 when absent (a counter not yet incremented).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The sum of `name` over every label set that includes `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                let Some((found, found_labels)) = parse_series(series) else {
                    return false;
                };
                found == name
                    && labels
                        .iter()
                        .all(|(k, v)| found_labels.iter().any(|(fk, fv)| fk == k && fv == v))
            })
            .map(|(_, value)| value)
            .sum()
    }

    /// Every series, as `name{label="value",...}`.
    pub fn series(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0
            .iter()
            .map(|(series, value)| (series.as_str(), *value))
    }
}

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// `series value [timestamp]` split after the series (which may hold spaces inside quotes).
fn split_value(line: &str) -> Option<(&str, &str)> {
    let end = match line.find('{') {
        Some(open) if line[..open].find(' ').is_none() => {
            let close = closing_brace(line, open)?;
            close + 1
        }
        _ => line.find(' ')?,
    };
    let value = line[end..].split_whitespace().next()?;
    Some((&line[..end], value))
}

fn closing_brace(line: &str, open: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(open + i),
            _ => {}
        }
    }
    None
}

fn parse_series(series: &str) -> Option<(String, Vec<(String, String)>)> {
    let Some(open) = series.find('{') else {
        return Some((series.to_owned(), Vec::new()));
    };
    let name = series[..open].to_owned();
    let inner = series[open + 1..].strip_suffix('}')?;
    let mut labels = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => return None,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end?;
        labels.push((label.trim().to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',').trim_start();
    }
    Some((name, labels))
}

fn parse_number(text: &str) -> Result<f64, std::num::ParseFloatError> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        other => other.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Unit;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Reason {
        reason: String,
    }

    fn registry() -> Registry {
        let mut registry = Registry::default();
        let outcomes = Family::<Reason, Counter>::default();
        registry.register("demo_outcomes", "Outcomes", outcomes.clone());
        outcomes
            .get_or_create(&Reason {
                reason: "FACE \"MISMATCH\"".into(),
            })
            .inc_by(3);
        let latency = Histogram::new([0.5, 1.0]);
        registry.register_with_unit("demo_latency", "Latency", Unit::Seconds, latency.clone());
        latency.observe(0.7);
        registry
    }

    #[test]
    fn counters_are_declared_under_their_total_name_in_prometheus_text() {
        let text = encode(&registry(), Format::PrometheusText);
        assert!(
            text.contains("# HELP demo_outcomes_total Outcomes.\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE demo_outcomes_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE demo_latency_seconds histogram\n"),
            "{text}"
        );
        assert!(!text.contains("# UNIT"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        let open = encode(&registry(), Format::OpenMetrics);
        assert!(open.contains("# TYPE demo_outcomes counter\n"), "{open}");
        assert!(open.ends_with("# EOF\n"), "{open}");
    }

    #[test]
    fn samples_read_back_whatever_the_format() {
        for format in [Format::OpenMetrics, Format::PrometheusText] {
            let samples = Samples::parse(&encode(&registry(), format));
            assert_eq!(
                samples.get("demo_outcomes_total", &[("reason", "FACE \"MISMATCH\"")]),
                Some(3.0)
            );
            assert_eq!(samples.value("demo_latency_seconds_count", &[]), 1.0);
            assert_eq!(
                samples.value("demo_latency_seconds_bucket", &[("le", "0.5")]),
                0.0
            );
            assert_eq!(
                samples.value("demo_latency_seconds_bucket", &[("le", "+Inf")]),
                1.0
            );
            assert_eq!(samples.sum("demo_latency_seconds_bucket", &[]), 2.0);
        }
    }

    #[test]
    fn the_accept_header_chooses_the_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::for_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::for_accept(Some("*/*")), Format::PrometheusText);
        assert_eq!(Format::for_accept(None), Format::PrometheusText);
    }
}
