//! `POST /a2a/task`: read the body, parse the task, dispatch on the action, answer in the
//! contract's shape. Every failure is a `status: "failed"` body with `{code, message}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{AppState, error_response, json};
use crate::error::TaskError;
use crate::wire::{self, CreatePlanParams, OptimizePlanParams, TaskRequest, TaskResponse};

pub async fn task(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
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
            return respond(&state, None, "", Err(err));
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return respond(
                &state,
                None,
                "",
                Err(TaskError::bad_request(
                    "invalid_json",
                    format!("request body is not valid JSON: {e}"),
                )),
            );
        }
    };
    // The task id is echoed even when the rest of the request is wrong.
    let task_id = value
        .get("task_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    if !value.is_object() {
        return respond(
            &state,
            task_id,
            "",
            Err(TaskError::bad_request(
                "invalid_request",
                "request body must be a JSON object",
            )),
        );
    }
    let req: TaskRequest = match wire::from_value(value, "") {
        Ok(r) => r,
        Err(e) => return respond(&state, task_id, "", Err(e)),
    };
    let action = req.action.clone();
    let result = run(&state, req).await;
    respond(&state, task_id, &action, result)
}

async fn run(state: &AppState, req: TaskRequest) -> Result<wire::TaskResult, TaskError> {
    let params = req.parameters.unwrap_or(Value::Null);
    let planner = &state.planner;
    match req.action.as_str() {
        "create_plan" => {
            let p: CreatePlanParams = wire::from_value(object_or_missing(params)?, "parameters")?;
            let (ctx, warnings) = p.execution_context.unwrap_or_default().into_context();
            if let Some(journey) = &ctx.journey_id {
                tracing::Span::current().record("journey_id", journey.as_str());
            }
            planner
                .create_plan(&req.task_id, &p.natural_language, &ctx, warnings)
                .await
        }
        "optimize_plan" => {
            let p: OptimizePlanParams = wire::from_value(object_or_missing(params)?, "parameters")?;
            let ctx = p.execution_context.map(|c| c.into_context().0);
            planner.optimize_plan(&req.task_id, p.plan, ctx.as_ref())
        }
        other => Err(TaskError::unprocessable(
            "unknown_action",
            format!("action '{other}' is not supported; use create_plan or optimize_plan"),
        )),
    }
}

/// `parameters` must be an object; absent parameters read as an empty one so the missing
/// field inside is what gets named.
fn object_or_missing(params: Value) -> Result<Value, TaskError> {
    match params {
        Value::Null => Ok(Value::Object(Default::default())),
        v @ Value::Object(_) => Ok(v),
        _ => Err(TaskError::bad_request(
            "invalid_request",
            "field 'parameters': expected an object",
        )),
    }
}

fn respond(
    state: &AppState,
    task_id: Option<String>,
    action: &str,
    result: Result<wire::TaskResult, TaskError>,
) -> Response {
    let action = if matches!(action, "create_plan" | "optimize_plan") {
        action.to_string()
    } else {
        "other".to_string()
    };
    match result {
        Ok(result) => {
            metrics::counter!("planner_tasks_total", "action" => action.clone(), "status" => "completed").increment(1);
            metrics::histogram!("planner_task_duration_seconds", "action" => action)
                .record(result.metadata.timings_ms.total_ms / 1000.0);
            json(
                StatusCode::OK,
                &TaskResponse::completed(task_id, &state.agent_id, result),
            )
        }
        Err(err) => {
            metrics::counter!("planner_tasks_total", "action" => action, "status" => err.code)
                .increment(1);
            tracing::info!(code = err.code, message = %err.message, "task failed");
            error_response(task_id, &state.agent_id, &err)
        }
    }
}
