//! `POST /a2a/task`: read the body, parse the task, dispatch on the action, answer in the
//! contract's shape. Every failure is a `status: "failed"` body with `{code, message}`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;

use super::guard::Caller;
use super::{AppState, error_response, json};
use crate::config::Strategy;
use crate::error::TaskError;
use crate::legacy;
use crate::wire::{self, CreatePlanParams, OptimizePlanParams, TaskRequest, TaskResponse};

/// `POST /a2a/task`.
pub async fn task(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = caller.map(|Extension(Caller(name))| name);
    let caller = caller.as_deref();
    let Some(shadow) = state.shadow.clone() else {
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
    caller: Option<&str>,
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
            return respond(state, None, "", Err(err));
        }
    };
    if state.strategy == Strategy::Legacy {
        let (status, value) = legacy::answer(&body);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        metrics::counter!("planner_tasks_total", "action" => "legacy", "status" => status.as_str().to_owned())
            .increment(1);
        return json(status, &value);
    }
    let mut req = match TaskRequest::parse(&body) {
        Ok(r) => r,
        Err((task_id, e)) => return respond(state, task_id, "", Err(e)),
    };
    let result = run(state, caller, &mut req).await;
    respond(state, Some(req.task_id.clone()), &req.action, result)
}

/// Where the execution context sits in a task's body, to name its fields.
const CONTEXT: &str = "parameters.execution_context";

async fn run(
    state: &AppState,
    caller: Option<&str>,
    req: &mut TaskRequest,
) -> Result<wire::TaskResult, TaskError> {
    let planner = &state.planner;
    match req.action.as_str() {
        "create_plan" => {
            let p: CreatePlanParams = req.create_plan()?;
            let (ctx, warnings) = p
                .execution_context
                .unwrap_or_default()
                .into_context(CONTEXT)?;
            if let Some(journey) = &ctx.journey_id {
                tracing::Span::current().record("journey_id", journey.as_str());
            }
            planner
                .create_plan_as(caller, &req.task_id, &p.natural_language, &ctx, warnings)
                .await
        }
        "optimize_plan" => {
            let p: OptimizePlanParams = req.optimize_plan()?;
            let ctx = match p.execution_context {
                Some(c) => Some(c.into_context(CONTEXT)?.0),
                None => None,
            };
            planner.optimize_plan_as(caller, &req.task_id, p.plan, ctx.as_ref())
        }
        other => Err(TaskError::unprocessable(
            "unknown_action",
            format!("action '{other}' is not supported; use create_plan or optimize_plan"),
        )),
    }
}

fn respond(
    state: &AppState,
    task_id: Option<String>,
    action: &str,
    result: Result<wire::TaskResult, TaskError>,
) -> Response {
    match result {
        Ok(result) => {
            let seconds = result.metadata.timings_ms.total_ms / 1000.0;
            state.task_metrics.completed(action, seconds);
            json(
                StatusCode::OK,
                &TaskResponse::completed(task_id, &state.agent_id, result),
            )
        }
        Err(err) => {
            let action = TaskMetrics::label(action);
            metrics::counter!("planner_tasks_total", "action" => action, "status" => err.code)
                .increment(1);
            tracing::info!(code = err.code, message = %err.message, "task failed");
            error_response(task_id, &state.agent_id, &err)
        }
    }
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

    /// The metrics label of `action`: the two actions by name, anything else `other`.
    fn label(action: &str) -> &'static str {
        match action {
            "create_plan" => "create_plan",
            "optimize_plan" => "optimize_plan",
            _ => "other",
        }
    }

    /// Counts a completed task of `action` and records how long it took.
    fn completed(&self, action: &str, seconds: f64) {
        match action {
            "create_plan" => self.create_plan.record(seconds),
            "optimize_plan" => self.optimize_plan.record(seconds),
            other => Completed::new(Self::label(other)).record(seconds),
        }
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

    fn record(&self, seconds: f64) {
        self.total.increment(1);
        self.seconds.record(seconds);
    }
}
