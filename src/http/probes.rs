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

/// Always ready while serving: plans never depend on the model. The body says whether the
/// model is reachable and present, and the breaker's state, so operators can tell
/// `llm` plans from `fallback` ones.
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
    json(
        StatusCode::OK,
        &json!({"status": "ready", "analysis": analysis, "llm": llm}),
    )
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
