//! Shadow traffic (`PLANNER_SHADOW_URL`): a copy of each `/a2a/task` request goes to another
//! deployment in the background, and the two answers are compared. The real answer never waits
//! for it: copies wait in a bounded queue and are dropped (and counted) when it is full; a slow
//! or failing shadow only shows in the metrics.
//!
//! Metrics: `planner_shadow_total{outcome="agree"|"disagree"|"error"}`,
//! `planner_shadow_disagreements_total{kind}`, `planner_shadow_dropped_total`,
//! `planner_shadow_agreement_ratio` (since start), `planner_shadow_latency_seconds{side}`.
//! One log line per disagreement carries both plans' summaries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use super::{PlanSummary, differences};
use crate::config::ShadowSettings;

/// One request and the answer this planner gave it.
#[derive(Debug)]
struct Job {
    request: Bytes,
    status: u16,
    response: Bytes,
    latency: Duration,
}

/// The handle the HTTP layer offers copies to.
#[derive(Debug)]
pub struct Shadow {
    tx: mpsc::Sender<Job>,
    target: String,
    tally: Arc<Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    agree: AtomicU64,
    compared: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
}

/// Counts since start (the same as the metrics, for probes and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShadowStats {
    pub compared: u64,
    pub agreed: u64,
    pub errors: u64,
    pub dropped: u64,
}

/// The sender that works through the queued copies, for [`ShadowWorker::run`] to run beside
/// the requests.
#[derive(Debug)]
pub struct ShadowWorker {
    rx: mpsc::Receiver<Job>,
    client: reqwest::Client,
    target: String,
    slots: Arc<Semaphore>,
    tally: Arc<Tally>,
}

impl Shadow {
    /// The handle and its worker; `None` when shadowing is off. Nothing runs until the worker
    /// does.
    pub fn new(settings: &ShadowSettings) -> Result<Option<(Shadow, ShadowWorker)>, String> {
        let Some(url) = settings.url.as_ref() else {
            return Ok(None);
        };
        let target = url
            .join("a2a/task")
            .map_err(|e| format!("PLANNER_SHADOW_URL: {e}"))?
            .to_string();
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(1))
            .build()
            .map_err(|e| format!("PLANNER_SHADOW_URL: {e}"))?;
        let (tx, rx) = mpsc::channel(settings.queue.get());
        let tally = Arc::new(Tally::default());
        let worker = ShadowWorker {
            rx,
            client,
            target: target.clone(),
            slots: Arc::new(Semaphore::new(settings.concurrency.get())),
            tally: tally.clone(),
        };
        Ok(Some((Shadow { tx, target, tally }, worker)))
    }

    /// Counts since start.
    pub fn stats(&self) -> ShadowStats {
        let t = &self.tally;
        ShadowStats {
            compared: t.compared.load(Ordering::Relaxed),
            agreed: t.agree.load(Ordering::Relaxed),
            errors: t.errors.load(Ordering::Relaxed),
            dropped: t.dropped.load(Ordering::Relaxed),
        }
    }

    /// Where copies go.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Queues a copy of `request` with this planner's answer; drops it when the queue is full.
    pub fn offer(&self, request: Bytes, status: u16, response: Bytes, latency: Duration) {
        let job = Job {
            request,
            status,
            response,
            latency,
        };
        if self.tx.try_send(job).is_err() {
            self.tally.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("planner_shadow_dropped_total").increment(1);
        }
    }
}

impl ShadowWorker {
    /// Sends each queued copy, at most the configured number at once, until the handle is
    /// dropped.
    pub async fn run(mut self) {
        tracing::info!(target_url = %self.target, "shadow traffic on");
        while let Some(job) = self.rx.recv().await {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let (client, target, tally) =
                (self.client.clone(), self.target.clone(), self.tally.clone());
            tokio::spawn(async move {
                compare_one(&client, &target, job, &tally).await;
                drop(permit);
            });
        }
    }
}

async fn compare_one(client: &reqwest::Client, target: &str, job: Job, tally: &Tally) {
    let started = Instant::now();
    let sent = client
        .post(target)
        .header("content-type", "application/json")
        .header("x-planner-shadow", "1")
        .body(job.request.clone())
        .send()
        .await;
    let (status, body) = match sent {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.bytes().await {
                Ok(b) => (status, b),
                Err(e) => return shadow_error(tally, &e.to_string()),
            }
        }
        Err(e) => return shadow_error(tally, &e.to_string()),
    };
    let shadow_latency = started.elapsed();
    metrics::histogram!("planner_shadow_latency_seconds", "side" => "primary")
        .record(job.latency.as_secs_f64());
    metrics::histogram!("planner_shadow_latency_seconds", "side" => "shadow")
        .record(shadow_latency.as_secs_f64());
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);
    let primary = PlanSummary::of(job.status, &parse(&job.response));
    let shadow = PlanSummary::of(status, &parse(&body));
    let diffs = differences(&primary, &shadow);
    let compared = tally.compared.fetch_add(1, Ordering::Relaxed) + 1;
    let agree = if diffs.is_empty() {
        tally.agree.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        tally.agree.load(Ordering::Relaxed)
    };
    metrics::gauge!("planner_shadow_agreement_ratio").set(agree as f64 / compared as f64);
    if diffs.is_empty() {
        metrics::counter!("planner_shadow_total", "outcome" => "agree").increment(1);
        return;
    }
    metrics::counter!("planner_shadow_total", "outcome" => "disagree").increment(1);
    for d in &diffs {
        metrics::counter!("planner_shadow_disagreements_total", "kind" => d.as_str()).increment(1);
    }
    let request = parse(&job.request);
    let field = |path: &str| {
        request
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    tracing::info!(
        task_id = %field("/task_id"),
        journey_id = %field("/parameters/execution_context/journey_id"),
        differences = %diffs.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(","),
        primary = %primary.line(),
        shadow = %shadow.line(),
        primary_ms = job.latency.as_secs_f64() * 1000.0,
        shadow_ms = shadow_latency.as_secs_f64() * 1000.0,
        query = %field("/parameters/natural_language").chars().take(200).collect::<String>(),
        "shadow disagrees"
    );
}

fn shadow_error(tally: &Tally, error: &str) {
    tally.errors.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("planner_shadow_total", "outcome" => "error").increment(1);
    tracing::debug!(error, "shadow request failed");
}
