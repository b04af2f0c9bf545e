//! `GET /health` (the process serves), `GET /ready` (ready to plan, with the model's state),
//! `GET /metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, json};
use crate::planner::VERSION;

/// `GET /health`.
pub async fn health() -> Response {
    json(
        StatusCode::OK,
        &json!({"status": "healthy", "version": VERSION}),
    )
}

/// Always ready while serving: plans never depend on the model or on Redis. The body says
/// whether the model is reachable and present, the breaker's state (so operators can tell `llm`
/// plans from `fallback` ones), and whether answers and tasks are shared through Redis
/// (`redis.mode`: `shared` or `degraded`).
pub async fn ready(State(state): State<AppState>) -> Response {
    let llm = match state.planner.advisor() {
        Some(advisor) => {
            let status = advisor.status().await;
            serde_json::to_value(status).unwrap_or_default()
        }
        None => json!({"provider": "none", "reachable": false, "model_present": null}),
    };
    let analysis = if llm["reachable"] == true && llm["model_present"] != false {
        "llm"
    } else {
        "keyword_fallback"
    };
    let mut body = json!({"status": "ready", "analysis": analysis, "llm": llm,
        "task_store": state.a2a.store.kind()});
    if let Some(redis) = &state.redis {
        let _ = redis.ping().await;
        body["redis"] = serde_json::to_value(redis.status()).unwrap_or_default();
    }
    json(StatusCode::OK, &body)
}

/// `GET /metrics`: Prometheus text, when a recorder is installed.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are not enabled in this process",
        )
            .into_response(),
    }
}
