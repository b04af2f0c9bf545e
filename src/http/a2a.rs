//! The standard A2A protocol's routes: the agent card (`/.well-known/agent-card.json`, and the
//! older `/.well-known/agent.json`) with `ETag`/`Cache-Control`, and the JSON-RPC endpoint
//! (`POST /`). The protocol itself is [`crate::a2a`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::limit::GlobalConcurrencyLimitLayer;

use super::{AppState, shed};
use crate::a2a::Version;
use crate::a2a::rpc::{Dispatcher, Envelope, Method, RpcError, response_body};

/// The card's routes, and the JSON-RPC endpoint behind the shared in-flight limit.
pub fn router(state: &AppState, in_flight: &GlobalConcurrencyLimitLayer) -> Router<AppState> {
    Router::new()
        .route("/", shed(post(rpc), state, in_flight))
        .route("/.well-known/agent-card.json", get(card))
        .route("/.well-known/agent.json", get(card))
}

/// `GET /.well-known/agent-card.json`: the card, or 304 when the caller's copy is current.
async fn card(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let card = &state.a2a.card;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| card.matches(v));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            card.body.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&card.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&card.cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    response
}

/// The `A2A-Version` the request asks for: the header, else the query parameter (§3.6.1).
fn requested_version<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    headers
        .get("a2a-version")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            uri.query()?.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                k.eq_ignore_ascii_case("A2A-Version").then_some(v)
            })
        })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// `POST /`: one JSON-RPC request.
async fn rpc(
    State(state): State<AppState>,
    caller: Option<axum::Extension<super::guard::Caller>>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (id, method, result) = match prepare(&state, &headers, &uri, body) {
        Err(rejected) => {
            let (id, method, e) = *rejected;
            (id, method, Err(e))
        }
        Ok((envelope, method, version)) => {
            let caller = caller.map(|axum::Extension(super::guard::Caller(name))| name);
            let dispatcher = Dispatcher {
                planner: &state.planner,
                a2a: &state.a2a,
                rosters: &state.rosters,
                caller,
            };
            let result = dispatcher.call(method, envelope.params, version).await;
            (envelope.id, Some(method), result)
        }
    };
    let label = method.map_or("invalid", Method::label);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.reason,
    };
    metrics::counter!("planner_a2a_requests_total", "method" => label, "outcome" => outcome)
        .increment(1);
    if let Err(e) = &result {
        tracing::info!(code = e.code, message = %e.message, "A2A request answered an error");
    }
    let body = response_body(&id, result.as_ref());
    // A streaming method answers over SSE even when all it has to say is an error.
    let sse = method.is_some_and(Method::is_streaming)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/event-stream"));
    if sse {
        let mut event = Vec::with_capacity(body.len() + 8);
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(&body);
        event.extend_from_slice(b"\n\n");
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            )],
            event,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()
    }
}

type Prepared = (Envelope, Method, Version);
type Rejected = Box<(serde_json::Value, Option<Method>, RpcError)>;

/// The checks before a method runs, in the order a client can fix them.
fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Prepared, Rejected> {
    let null = serde_json::Value::Null;
    let body = body.map_err(|rejection| {
        let e = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            RpcError::invalid_request(format!(
                "request body exceeds {} bytes",
                state.limits.max_body_bytes
            ))
        } else {
            RpcError::invalid_request(rejection.body_text())
        };
        Box::new((null.clone(), None, e))
    })?;
    if !is_json(headers) {
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        // Read the id when the body is JSON anyway, so the client can match the answer.
        let id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .unwrap_or_default();
        return Err(Box::new((
            id,
            None,
            RpcError::content_type(format!(
                "Incompatible content types: send Content-Type: application/json (got {got})"
            )),
        )));
    }
    let envelope = Envelope::parse(&body).map_err(|b| {
        let (id, e) = *b;
        Box::new((id, None, e))
    })?;
    let version = Version::negotiate(requested_version(headers, uri)).map_err(|v| {
        Box::new((
            envelope.id.clone(),
            None,
            RpcError::version_not_supported(&v),
        ))
    })?;
    let method = Method::resolve(&envelope.method, version)
        .map_err(|e| Box::new((envelope.id.clone(), None, e)))?;
    Ok((envelope, method, version))
}
