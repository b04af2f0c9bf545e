//! The HTTP edge: router, shared state, middleware, and [`serve`] with a bounded graceful drain.
//!
//! Layers, outermost first: request id (set or propagated `x-request-id`), tracing span with
//! that id, panic catcher (a contract-shaped 500), whole-request timeout. The task route also
//! sheds load past `max_in_flight` concurrent tasks with a contract-shaped 503.

mod a2a;
mod probes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::error::{ErrorKind, TaskError};
use crate::planner::Planner;
use crate::wire::TaskResponse;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The limits the edge enforces, from the server settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
}

/// What every handler shares: the planner, the metrics handle, and the edge's own settings.
#[derive(Debug, Clone)]
pub struct AppState {
    pub planner: Arc<Planner>,
    pub metrics: Option<PrometheusHandle>,
    /// Answered as `agent_id` in every task response, failures included.
    pub agent_id: Arc<str>,
    pub limits: Limits,
}

impl AppState {
    /// The state for `planner` under `settings`.
    pub fn new(
        planner: Arc<Planner>,
        metrics: Option<PrometheusHandle>,
        settings: &Settings,
    ) -> Self {
        let s = &settings.server;
        AppState {
            planner,
            metrics,
            agent_id: settings.agent.id.as_str().into(),
            limits: Limits {
                max_body_bytes: s.max_body_bytes,
                max_in_flight: s.max_in_flight,
                request_timeout: s.request_timeout,
            },
        }
    }
}

/// The application's routes and middleware.
pub fn router(state: AppState) -> Router {
    let overloaded_id = state.agent_id.clone();
    let task_route = post(a2a::task).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |_: tower::BoxError| {
                let agent_id = overloaded_id.clone();
                async move {
                    let err = TaskError::new(
                        ErrorKind::Overloaded,
                        "overloaded",
                        "too many tasks in flight; retry shortly",
                    );
                    error_response(None, &agent_id, &err)
                }
            }))
            .load_shed()
            .concurrency_limit(state.limits.max_in_flight),
    );
    let routes = Router::new()
        .route("/a2a/task", task_route)
        .route("/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .route("/metrics", get(probes::metrics));
    with_edge_layers(routes, state)
}

/// `routes` behind the edge's middleware: body limit, request timeout, panic catcher (a
/// contract-shaped 500), tracing span with the request id, request id set and propagated.
pub fn with_edge_layers(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.limits;
    let panic_id = state.agent_id.clone();
    routes
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(move |_| {
            let err = TaskError::new(ErrorKind::Internal, "internal_error", "internal error");
            error_response(None, &panic_id, &err)
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    request_id = %id,
                    journey_id = tracing::field::Empty,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains in-flight requests for at
/// most `grace`. Returns when the drain is done or the grace period is over.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!(grace_s = grace.as_secs_f64(), "shutting down; draining");
        let _ = stopping_tx.send(());
    });
    let grace_over = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = grace_over => {
            tracing::warn!("grace period over; stopping with requests in flight");
            Ok(())
        }
    }
}

/// The contract's failure body for `err`, with a fitting status code.
pub fn error_response(task_id: Option<String>, agent_id: &str, err: &TaskError) -> Response {
    let status = match err.kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json(status, &TaskResponse::failed(task_id, agent_id, err))
}

/// A JSON response with `status`.
fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}
