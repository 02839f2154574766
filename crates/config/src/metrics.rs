//! `[metrics]`: gated's Prometheus metrics, served over HTTP, written as a node-exporter
//! textfile, or both. Off when the section is absent.
//!
//! ```toml
//! [metrics]
//! listen = "127.0.0.1:9464"          # GET /metrics (OpenMetrics or Prometheus text)
//! textfile = "/var/lib/prometheus/node-exporter/gated.prom"
//! textfile_interval_s = 15
//! ```
//!
//! The metrics carry nothing personal (no document, no transaction id): counts by outcome and
//! reason code, stage latencies, device health, the outbox and the sync. The list is in gated's
//! README ("Metrics").

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::Problem;

/// `[metrics]`: where gated exposes its metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Serve `GET /metrics` on this address, e.g. `127.0.0.1:9464` (Prometheus on the gate or
    /// scraping through a tunnel). Another address than loopback is accepted with a warning:
    /// the gate's state is then readable from that network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Write the metrics to this file for node-exporter's textfile collector (an absolute
    /// path ending in `.prom`, in the collector's directory), every `textfile_interval_s`,
    /// atomically (written beside it, then renamed over it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textfile: Option<PathBuf>,
    /// How often the textfile is written, seconds (1..=3600).
    #[serde(default = "default_textfile_interval_s")]
    pub textfile_interval_s: u32,
}

fn default_textfile_interval_s() -> u32 {
    15
}

impl MetricsSection {
    /// Metrics served on `listen` only.
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen: Some(listen),
            textfile: None,
            textfile_interval_s: default_textfile_interval_s(),
        }
    }

    /// The section's problems and warnings, by key path.
    pub(crate) fn validate(&self, problems: &mut Vec<Problem>, warnings: &mut Vec<Problem>) {
        if self.listen.is_none() && self.textfile.is_none() {
            problems.push(Problem {
                key: "metrics".into(),
                message: "set listen, textfile or both (leave the section out to turn metrics off)"
                    .into(),
            });
        }
        let mut bad = |key: &str, message: String| {
            problems.push(Problem {
                key: format!("metrics.{key}"),
                message,
            })
        };
        if let Some(listen) = self.listen
            && !listen.ip().is_loopback()
        {
            warnings.push(Problem {
                key: "metrics.listen".into(),
                message: format!(
                    "{listen} is not a loopback address: the gate's state (no personal data) \
                     is readable from that network; restrict it with a firewall"
                ),
            });
        }
        if let Some(path) = &self.textfile {
            if !path.is_absolute() {
                bad(
                    "textfile",
                    format!("{} must be an absolute path", path.display()),
                );
            } else if path.extension().is_none_or(|e| e != "prom") {
                bad(
                    "textfile",
                    format!(
                        "{} must end in .prom (node-exporter's textfile collector reads no other)",
                        path.display()
                    ),
                );
            } else if path.parent().is_some_and(|dir| !dir.is_dir()) {
                warnings.push(Problem {
                    key: "metrics.textfile".into(),
                    message: format!(
                        "{} is not a directory on this machine (node-exporter's \
                         --collector.textfile.directory)",
                        path.parent()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default()
                    ),
                });
            }
        }
        if !(1..=3600).contains(&self.textfile_interval_s) {
            bad(
                "textfile_interval_s",
                format!("{} is outside 1..=3600", self.textfile_interval_s),
            );
        }
    }
}
