//! `POST /a2a/task`, the orchestrator's contract: read the body into the planner's request,
//! plan it, answer in the contract's shape. Every failure is a `status: "failed"` body with
//! `{code, message}` ([`super::Failure`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tower::limit::GlobalConcurrencyLimitLayer;

use super::guard::Caller;
use super::{AppState, Failure, shed};
use crate::config::Strategy;
use crate::error::TaskError;
use crate::legacy;
use crate::wire::{Task, TaskResponse, TaskResult};

/// The route, behind the shared in-flight limit.
pub fn router(state: &AppState, in_flight: &GlobalConcurrencyLimitLayer) -> Router<AppState> {
    Router::new().route("/a2a/task", shed(post(task), state, in_flight))
}

/// `POST /a2a/task`.
async fn task(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = caller.map(|Extension(Caller(name))| name);
    let Some(shadow) = &state.shadow else {
        return plan(&state, caller, body).await;
    };
    // With shadow traffic on, the answer's bytes are kept for the comparison.
    let started = std::time::Instant::now();
    let request = body.as_ref().ok().cloned();
    let response = plan(&state, caller, body).await;
    let Some(request) = request else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    shadow.offer(
        request,
        parts.status.as_u16(),
        bytes.clone(),
        started.elapsed(),
    );
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn plan(
    state: &AppState,
    caller: Option<Arc<str>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let err = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                TaskError::too_large(
                    "request_too_large",
                    format!("request body exceeds {} bytes", state.limits.max_body_bytes),
                )
            } else {
                TaskError::bad_request("unreadable_body", rejection.body_text())
            };
            return failed(state, None, None, err);
        }
    };
    if state.strategy == Strategy::Legacy {
        let (status, value) = legacy::answer(&body);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        metrics::counter!("planner_tasks_total", "action" => "legacy", "status" => status.as_str().to_owned())
            .increment(1);
        return (status, Json(value)).into_response();
    }
    let task = match Task::parse(&body, &state.rosters) {
        Ok(task) => task,
        Err(rejected) => {
            return failed(state, rejected.task_id, rejected.action, rejected.error);
        }
    };
    if let Some(journey) = &task.journey_id {
        tracing::Span::current().record("journey_id", journey.as_str());
    }
    let mut request = task.request;
    request.caller = caller.clone();
    let (task_id, action) = (request.task_id.clone(), request.action.name());
    match state.planner.plan(request).await {
        Ok(planned) => {
            let seconds = planned.timings.total_ms / 1000.0;
            state.task_metrics.completed(action, seconds);
            let result = TaskResult::new(planned, action, caller.as_deref());
            Json(TaskResponse::completed(
                Some(task_id),
                &state.agent_id,
                result,
            ))
            .into_response()
        }
        Err(err) => failed(state, Some(task_id), Some(action), err),
    }
}

/// The failure answer for `err`, counted and logged.
fn failed(
    state: &AppState,
    task_id: Option<String>,
    action: Option<&'static str>,
    err: TaskError,
) -> Response {
    let action = action.unwrap_or("other");
    metrics::counter!("planner_tasks_total", "action" => action, "status" => err.code).increment(1);
    tracing::info!(code = err.code, message = %err.message, "task failed");
    Failure::new(state.agent_id.clone(), task_id, err).into_response()
}

/// The metrics of completed tasks, by action, registered once: a labelled `metrics::counter!`
/// builds its key and looks it up in the registry on every call. Build after the recorder is
/// installed (handles taken before it record nothing).
#[derive(Clone)]
pub struct TaskMetrics {
    create_plan: Completed,
    optimize_plan: Completed,
}

impl TaskMetrics {
    pub fn new() -> Self {
        TaskMetrics {
            create_plan: Completed::new("create_plan"),
            optimize_plan: Completed::new("optimize_plan"),
        }
    }

    /// Counts a completed task of `action` (a [`crate::planner::Action`]'s name) and records
    /// how long it took.
    fn completed(&self, action: &str, seconds: f64) {
        let metrics = if action == "create_plan" {
            &self.create_plan
        } else {
            &self.optimize_plan
        };
        metrics.total.increment(1);
        metrics.seconds.record(seconds);
    }
}

impl Default for TaskMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskMetrics")
    }
}

/// `planner_tasks_total{status="completed"}` and `planner_task_duration_seconds` of one action.
#[derive(Clone)]
struct Completed {
    total: metrics::Counter,
    seconds: metrics::Histogram,
}

impl Completed {
    fn new(action: &'static str) -> Self {
        Completed {
            total: metrics::counter!("planner_tasks_total", "action" => action, "status" => "completed"),
            seconds: metrics::histogram!("planner_task_duration_seconds", "action" => action),
        }
    }
}
