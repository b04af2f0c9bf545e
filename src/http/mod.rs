//! The HTTP edge: router, shared state, middleware, and [`serve`] with a bounded graceful drain.
//!
//! Layers, outermost first: request id (set or propagated `x-request-id`), tracing span with
//! that id, panic catcher (a contract-shaped 500), whole-request timeout. The task route also
//! sheds load past `max_in_flight` concurrent tasks with a contract-shaped 503.

mod a2a;
mod agent;
pub mod guard;
mod probes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::a2a::{A2a, AgentCard, MemoryStore, TaskStore, store::StoreLimits};
use crate::config::{Settings, Strategy};
use crate::error::{ErrorKind, TaskError};
use crate::planner::Planner;
use crate::rollout::shadow::Shadow;
use crate::security::auth::Auth;
use crate::security::limit::Limiter;
use crate::shared::{Redis, RedisTaskStore};
use crate::wire::TaskResponse;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids for requests that arrive without one: a per-process random prefix and a counter
/// (`3f9a1c2e-42`): unique, and no random number drawn per request.
#[derive(Debug, Clone)]
struct SequentialIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl SequentialIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = nanos ^ u128::from(std::process::id()) << 64;
        SequentialIds {
            prefix: format!("{:08x}", (seed ^ (seed >> 37)) as u32).into(),
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// The next id: the prefix, `-`, the counter. Written into a buffer on the stack (the
    /// formatting machinery of `format!` was ~800 instructions a request).
    fn next_id(&self) -> Option<HeaderValue> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        let mut id = [0u8; 64];
        let prefix = self.prefix.as_bytes();
        let len = prefix.len() + 1 + digits.len();
        let id = id.get_mut(..len)?;
        id[..prefix.len()].copy_from_slice(prefix);
        id[prefix.len()] = b'-';
        id[prefix.len() + 1..].copy_from_slice(digits);
        HeaderValue::from_bytes(id).ok()
    }
}

impl MakeRequestId for SequentialIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        self.next_id().map(RequestId::new)
    }
}

/// The limits the edge enforces, from the server settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
}

/// What every handler shares: the planner, the metrics handle, and the edge's own settings,
/// behind one `Arc` (axum clones the state for every request: one reference count, not one per
/// field). Reads go through `Deref` to [`AppShared`].
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppShared>);

impl std::ops::Deref for AppState {
    type Target = AppShared;
    fn deref(&self) -> &AppShared {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug, Clone)]
pub struct AppShared {
    pub planner: Arc<Planner>,
    pub metrics: Option<PrometheusHandle>,
    /// Answered as `agent_id` in every task response, failures included.
    pub agent_id: Arc<str>,
    pub limits: Limits,
    /// The standard A2A protocol's card and task store.
    pub a2a: A2a,
    /// How `/a2a/task` plans: the planner, or the old mock's answers.
    pub strategy: Strategy,
    /// Where copies of `/a2a/task` requests go for comparison, when configured.
    pub shadow: Option<Arc<Shadow>>,
    /// The tier replicas share, when configured.
    pub redis: Option<Arc<Redis>>,
    /// Caller authentication, when a keys file is configured.
    pub auth: Option<Arc<Auth>>,
    /// Per-caller rate limits, when configured.
    pub limiter: Option<Arc<Limiter>>,
    /// The completed-task metrics, registered once.
    pub task_metrics: a2a::TaskMetrics,
}

impl AppState {
    /// The state for `planner` under `settings`: the A2A task store in memory, or in Redis
    /// (with memory as the fallback) when `PLANNER_REDIS_URL` is set.
    pub fn new(
        planner: Arc<Planner>,
        metrics: Option<PrometheusHandle>,
        settings: &Settings,
    ) -> Self {
        let redis = Redis::from_settings(settings).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "redis not used");
            None
        });
        Self::with_redis(planner, metrics, settings, redis)
    }

    /// As [`AppState::new`], with the given shared tier.
    pub fn with_redis(
        planner: Arc<Planner>,
        metrics: Option<PrometheusHandle>,
        settings: &Settings,
        redis: Option<Arc<Redis>>,
    ) -> Self {
        let a = &settings.a2a;
        let local = MemoryStore::new(StoreLimits {
            max_tasks: a.task_capacity,
            max_bytes: a.task_max_bytes,
            ttl: a.task_ttl,
        });
        let store: Arc<dyn TaskStore> = match &redis {
            Some(r) => Arc::new(RedisTaskStore::new(
                r.clone(),
                local,
                a.task_ttl,
                a.task_capacity,
            )),
            None => Arc::new(local),
        };
        let mut state = Self::with_store(planner, metrics, settings, store);
        Arc::make_mut(&mut state.0).redis = redis;
        state
    }

    /// As [`AppState::new`], with the given A2A task store (a shared one for several replicas).
    pub fn with_store(
        planner: Arc<Planner>,
        metrics: Option<PrometheusHandle>,
        settings: &Settings,
        store: Arc<dyn TaskStore>,
    ) -> Self {
        let s = &settings.server;
        AppState(Arc::new(AppShared {
            planner,
            metrics,
            agent_id: settings.agent.id.as_str().into(),
            limits: Limits {
                max_body_bytes: s.max_body_bytes,
                max_in_flight: s.max_in_flight,
                request_timeout: s.request_timeout,
            },
            a2a: A2a {
                card: Arc::new(AgentCard::new(settings, false)),
                store,
            },
            strategy: settings.planner.strategy,
            shadow: Shadow::start(&settings.shadow),
            redis: None,
            auth: None,
            limiter: Limiter::new(settings.auth.rate_per_second, settings.auth.rate_burst),
            task_metrics: a2a::TaskMetrics::new(),
        }))
    }
}

impl AppState {
    /// This state with caller authentication `auth` (the agent card then declares the bearer
    /// scheme).
    pub fn with_auth(mut self, auth: Option<Arc<Auth>>, settings: &Settings) -> Self {
        let shared = Arc::make_mut(&mut self.0);
        shared.a2a.card = Arc::new(AgentCard::new(settings, auth.is_some()));
        shared.auth = auth;
        self
    }
}

/// The application's routes and middleware.
pub fn router(state: AppState) -> Router {
    let in_flight = tower::limit::GlobalConcurrencyLimitLayer::new(state.limits.max_in_flight);
    let routes = Router::new()
        .route("/a2a/task", shed(post(a2a::task), &state, &in_flight))
        .route("/", shed(post(agent::rpc), &state, &in_flight))
        .route("/.well-known/agent-card.json", get(agent::card))
        .route("/.well-known/agent.json", get(agent::card))
        .route("/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .route("/metrics", get(probes::metrics));
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

/// `route` behind the in-flight limit `limit` (one pool shared by every planning route): past
/// `max_in_flight` concurrent requests, a contract-shaped 503 at once.
fn shed(
    route: axum::routing::MethodRouter<AppState>,
    state: &AppState,
    limit: &tower::limit::GlobalConcurrencyLimitLayer,
) -> axum::routing::MethodRouter<AppState> {
    let overloaded_id = state.agent_id.clone();
    route.layer(
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
            .layer(limit.clone()),
    )
}

/// `routes` behind the edge's middleware: request id set and propagated, tracing span with the
/// request id, panic catcher (a contract-shaped 500), request timeout, body limit.
///
/// The edge wraps the routed application once, as one service, and the result is the router's
/// only (fallback) service: `Router::layer` would wrap every route's endpoint in each layer
/// instead, one boxed service per layer, and every request clones each of those boxes (an
/// allocation apiece) and boxes each layer's future (BENCHMARKS.md, seventeenth pass).
pub fn with_edge_layers(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.limits;
    let panic_id = state.agent_id.clone();
    let app: Router = routes.with_state(state);
    let edge = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, SequentialIds::new()))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // Strings, not `%` (Display): recorded as they are, with no formatting pass.
                tracing::info_span!(
                    "request",
                    method = req.method().as_str(),
                    path = req.uri().path(),
                    request_id = id,
                    journey_id = tracing::field::Empty,
                    caller = tracing::field::Empty,
                )
            }),
        )
        .layer(CatchPanicLayer::custom(move |_| {
            let err = TaskError::new(ErrorKind::Internal, "internal_error", "internal error");
            error_response(None, &panic_id, &err)
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .service(app);
    Router::new().fallback_service(edge)
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

/// The contract's failure body for `err`, with a fitting status code.
pub fn error_response(task_id: Option<String>, agent_id: &str, err: &TaskError) -> Response {
    let status = match err.kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json(status, &TaskResponse::failed(task_id, agent_id, err))
}

/// A JSON response with `status`, serialized straight into one buffer sized for a plan.
fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let mut buf = Vec::with_capacity(8 * 1024);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response did not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
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
        ids.next
            .store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(id(&ids), format!("{prefix}-{}", u64::MAX));
    }
}
