//! The HTTP edge: router, shared state, middleware, and `serve` with graceful shutdown.
//!
//! Layers, outermost first: request id (set or propagated `x-request-id`), tracing span with
//! that id, panic catcher (a contract-shaped 500), whole-request timeout. The task route also
//! sheds load past `max_in_flight` concurrent tasks with a contract-shaped 503.

mod a2a;
mod probes;

use std::future::Future;
use std::sync::Arc;

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

use crate::error::{ErrorKind, TaskError};
use crate::planner::Planner;

pub use a2a::error_response;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, Clone)]
pub struct AppState {
    pub planner: Arc<Planner>,
    pub metrics: Option<PrometheusHandle>,
}

/// The application's routes and middleware.
pub fn router(state: AppState) -> Router {
    let settings = state.planner.settings();
    let task_route = post(a2a::task).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                error_response(
                    None,
                    "",
                    &TaskError::new(
                        ErrorKind::Overloaded,
                        "overloaded",
                        "too many tasks in flight; retry shortly",
                    ),
                )
            }))
            .load_shed()
            .concurrency_limit(settings.server.max_in_flight),
    );
    Router::new()
        .route("/a2a/task", task_route)
        .route("/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .route("/metrics", get(probes::metrics))
        .layer(DefaultBodyLimit::max(settings.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout()))
        .layer(CatchPanicLayer::custom(|_| {
            error_response(None, "", &TaskError::new(ErrorKind::Internal, "internal_error", "internal error"))
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A JSON response with `status`.
fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}
