//! `GET /health` (the process serves), `GET /ready` (ready to plan, with the model's state),
//! `GET /metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::planner::VERSION;

/// The probes' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// `GET /health`.
async fn health() -> Response {
    Json(json!({"status": "healthy", "version": VERSION})).into_response()
}

/// Always ready while serving: plans never depend on the model or on Redis. The body says
/// whether the model is reachable and present, the breaker's state (so operators can tell `llm`
/// plans from `fallback` ones), and whether answers and tasks are shared through Redis
/// (`redis.mode`: `shared` or `degraded`).
async fn ready(State(state): State<AppState>) -> Response {
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
    Json(body).into_response()
}

/// `GET /metrics`: Prometheus text, when a recorder is installed.
async fn metrics(State(state): State<AppState>) -> Response {
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
