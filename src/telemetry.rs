//! Telemetry set up once per process: tracing to stderr (JSON lines or text) and the Prometheus
//! recorder behind `/metrics`, with the periodic upkeep its histograms need.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::{LogFormat, LogSettings};

/// Installs the global tracing subscriber. Call once, before anything logs.
pub fn init_tracing(log: &LogSettings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

/// Latency buckets (seconds) for every `*_seconds` histogram, so they aggregate across replicas.
const BUCKETS: [f64; 14] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// Token-count buckets for the per-call token histograms.
const TOKEN_BUCKETS: [f64; 12] = [
    8.0, 16.0, 24.0, 32.0, 48.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Installs the global metrics recorder and starts its upkeep task; `None` if a recorder is
/// already installed (tests start several apps in one process). Needs a Tokio runtime.
pub fn install_metrics() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
        .ok()?
        .set_buckets_for_metric(Matcher::Suffix("_tokens".into()), &TOKEN_BUCKETS)
        .ok()?
        .install_recorder()
        .ok()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            upkeep.run_upkeep();
        }
    });
    Some(handle)
}
