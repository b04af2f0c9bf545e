//! Who is calling, before any route runs: bearer authentication (when `PLANNER_API_KEYS_FILE`
//! is set) and per-caller rate limits (when `PLANNER_RATE_LIMIT_PER_SECOND` is set). `/health`
//! and the agent card are always open; `/ready` and `/metrics` unless `PLANNER_AUTH_PROBES`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, Failure};
use crate::error::{ErrorKind, TaskError};

/// The authenticated caller of a request (a request extension).
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<str>);

fn is_open(path: &str, protect_probes: bool) -> bool {
    path == "/health"
        || path.starts_with("/.well-known/")
        || (!protect_probes && (path == "/ready" || path == "/metrics"))
}

/// The planning routes, the ones rate limits apply to.
fn is_planning(path: &str) -> bool {
    path == "/a2a/task" || path == "/"
}

/// Authenticates, then rate-limits, then runs the route.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if state.auth.is_none() && state.limiter.is_none() {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let mut caller: Option<Arc<str>> = None;
    if let Some(auth) = &state.auth
        && !is_open(&path, auth.protect_probes)
    {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        match auth.authenticate(header) {
            Ok(name) => caller = Some(name),
            Err(refusal) => {
                metrics::counter!("planner_auth_refusals_total", "reason" => refusal.label())
                    .increment(1);
                tracing::info!(reason = refusal.label(), path = %path, "request not authenticated");
                let err =
                    TaskError::new(ErrorKind::Unauthorized, "unauthorized", refusal.message());
                let mut res = Failure::new(state.agent_id.clone(), None, err).into_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"planner\""),
                );
                return res;
            }
        }
    }
    if let Some(name) = &caller {
        tracing::Span::current().record("caller", &**name);
        // Callers come from the keys file: a bounded set of label values.
        metrics::counter!("planner_caller_requests_total", "caller" => name.to_string())
            .increment(1);
    }
    if is_planning(&path)
        && let Some(limiter) = &state.limiter
    {
        let key: Arc<str> = match &caller {
            Some(name) => name.clone(),
            None => req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "anonymous".into(),
                    |c| format!("addr:{}", c.0.ip()).into(),
                ),
        };
        if let Err(wait) = limiter.check(&key) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            metrics::counter!("planner_rate_limited_total").increment(1);
            let err = TaskError::new(
                ErrorKind::RateLimited,
                "rate_limited",
                format!("too many requests from '{key}'; retry in {secs} s"),
            );
            let mut res = Failure::new(state.agent_id.clone(), None, err).into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
    }
    if let Some(name) = caller {
        req.extensions_mut().insert(Caller(name));
    }
    next.run(req).await
}
