//! Telemetry set up once per process: tracing to stderr (JSON lines or text) and the Prometheus
//! recorder behind `/metrics`, with the periodic upkeep its histograms need.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogSettings};

/// Installs the global tracing subscriber. Call once, before anything logs.
pub fn init_tracing(log: &LogSettings) {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    match log.format {
        LogFormat::Json => json_logs(filter, std::io::stderr).init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
}

/// The JSON-lines subscriber: one object per event, its fields at the top level, the current
/// span's fields under `span`.
fn json_logs<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .finish()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer that keeps what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn span_fields_recorded_later_are_written_as_valid_json() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = json_logs(EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                path = %"/a2a/task",
                request_id = %"ab\"c\\d",
                attempt = 2u64,
                journey_id = tracing::field::Empty,
                caller = tracing::field::Empty,
            );
            let _entered = span.enter();
            span.record("journey_id", "j-1 \u{e9}\n");
            span.record("caller", "orchestrator");
            span.record("journey_id", "j-2");
            tracing::info!(ok = true, "task done");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
        let span = &line["span"];
        assert_eq!(span["path"], "/a2a/task");
        assert_eq!(span["request_id"], "ab\"c\\d");
        assert_eq!(span["attempt"], 2);
        assert_eq!(span["caller"], "orchestrator");
        assert_eq!(span["journey_id"], "j-2", "the last value recorded wins");
        assert_eq!(line["message"], "task done");
        assert_eq!(line["ok"], true);
    }
}
