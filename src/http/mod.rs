//! The HTTP edge: the application state, the router (each module owns its routes), the edge's
//! middleware, the contract-shaped failure answer, and [`serve`] with a bounded graceful drain.
//!
//! - [`task`]: `POST /a2a/task`, the orchestrator's contract.
//! - [`a2a`]: the standard A2A protocol's routes (agent card, JSON-RPC).
//! - [`probes`]: `/health`, `/ready`, `/metrics`.
//! - [`guard`]: authentication and rate limits, in front of every route.
//! - [`state`]: what every handler shares, built from the settings without I/O.
//!
//! Layers, outermost first: request id (set or propagated `x-request-id`), tracing span with
//! that id, panic catcher (a contract-shaped 500), whole-request timeout, body limit. The
//! planning routes also shed load past `max_in_flight` concurrent requests with a
//! contract-shaped 503.

mod a2a;
pub mod guard;
mod probes;
mod state;
mod task;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ErrorKind, TaskError};
use crate::wire::TaskResponse;

pub use state::{AppShared, AppState, Background, Limits, StartError};
pub use task::TaskMetrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application's routes and middleware.
pub fn router(state: AppState) -> Router {
    // One pool of in-flight requests shared by every planning route.
    let in_flight = tower::limit::GlobalConcurrencyLimitLayer::new(state.limits.max_in_flight);
    let routes = Router::new()
        .merge(task::router(&state, &in_flight))
        .merge(a2a::router(&state, &in_flight))
        .merge(probes::router());
    // The guard only where it has work to do: an open planner pays nothing for it.
    let routes = if state.auth.is_some() || state.limiter.is_some() {
        routes.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
    } else {
        routes
    };
    with_edge_layers(routes, state)
}

/// `routes` behind the edge's middleware: request id set and propagated, tracing span with the
/// request id, panic catcher (a contract-shaped 500), request timeout, body limit.
pub fn with_edge_layers(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.limits;
    let panic_id = state.agent_id.clone();
    routes.with_state(state).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, SequentialIds::new()))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
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
                        path = req.uri().path(),
                        request_id = id,
                        journey_id = tracing::field::Empty,
                        caller = tracing::field::Empty,
                    )
                }),
            )
            .layer(CatchPanicLayer::custom(move |_| {
                let error = TaskError::new(ErrorKind::Internal, "internal_error", "internal error");
                Failure::new(panic_id.clone(), None, error).into_response()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                limits.request_timeout,
            ))
            .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
    )
}

/// `route` behind the in-flight limit `limit` (one pool shared by every planning route): past
/// `max_in_flight` concurrent requests, a contract-shaped 503 at once.
fn shed(
    route: axum::routing::MethodRouter<AppState>,
    state: &AppState,
    limit: &tower::limit::GlobalConcurrencyLimitLayer,
) -> axum::routing::MethodRouter<AppState> {
    let agent_id = state.agent_id.clone();
    route.layer(
        ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                move |_: tower::BoxError| {
                    let error = TaskError::new(
                        ErrorKind::Overloaded,
                        "overloaded",
                        "too many tasks in flight; retry shortly",
                    );
                    std::future::ready(Failure::new(agent_id.clone(), None, error))
                },
            ))
            .load_shed()
            .layer(limit.clone()),
    )
}

/// A task that failed, answered in the contract's shape (`status: "failed"`, `error: {code,
/// message}`) with the HTTP status of its kind and the configured agent id.
#[derive(Debug)]
pub struct Failure {
    agent_id: Arc<str>,
    task_id: Option<String>,
    error: TaskError,
}

impl Failure {
    pub fn new(agent_id: Arc<str>, task_id: Option<String>, error: TaskError) -> Failure {
        Failure {
            agent_id,
            task_id,
            error,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = match self.error.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = TaskResponse::failed(self.task_id, &self.agent_id, &self.error);
        (status, Json(body)).into_response()
    }
}

/// Request ids for requests that arrive without one: a per-process random prefix and a counter
/// (`3f9a1c2e-42`), unique without drawing a random number per request.
#[derive(Debug, Clone)]
struct SequentialIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl SequentialIds {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4().as_u128() as u32;
        SequentialIds {
            prefix: format!("{random:08x}").into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    fn next_id(&self) -> Option<HeaderValue> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok()
    }
}

impl MakeRequestId for SequentialIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        self.next_id().map(RequestId::new)
    }
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
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_process_prefix_and_a_shared_counter() {
        let ids = SequentialIds::new();
        let prefix = ids.prefix.to_string();
        assert_eq!(prefix.len(), 8);
        assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()), "{prefix}");
        let id = |ids: &SequentialIds| ids.next_id().expect("an id").to_str().unwrap().to_owned();
        assert_eq!(id(&ids), format!("{prefix}-1"));
        // Clones (one per connection) count on from the same counter.
        assert_eq!(id(&ids.clone()), format!("{prefix}-2"));
        assert_eq!(id(&ids), format!("{prefix}-3"));
    }
}
