//! The ceiling of this stack on this machine, for the load test: a bare axum server that parses
//! each request body into JSON and answers a fixed plan of the same size as the planner's answer
//! (to `benches/request.json`, and to `optimize_plan` of the 50-step plan in FILE when given;
//! both computed once at start-up with the real planner). No planning, no middleware.
//! `cargo run --release --example ceiling -- PORT [OPTIMIZE_REQUEST_FILE]`; stops on SIGTERM.

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use planner::config::Settings;
use planner::planner::Planner;
use planner::wire::{RosterCache, Task, TaskResponse, TaskResult};

const REQUEST: &str = include_str!("../benches/request.json");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9300);
    let planner = Planner::new(&Settings::for_tests(), None);
    let plan = answer(&planner, REQUEST.as_bytes()).await;
    let optimized = match std::env::args().nth(2) {
        Some(file) => answer(&planner, &std::fs::read(file)?).await,
        None => plan.clone(),
    };
    eprintln!(
        "ceiling: fixed answers of {} and {} bytes on :{port}",
        plan.len(),
        optimized.len()
    );
    let app = Router::new().route(
        "/a2a/task",
        post(move |body: Bytes| {
            let (plan, optimized) = (plan.clone(), optimized.clone());
            async move {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(v) => {
                        let fixed = if v["action"] == "optimize_plan" {
                            optimized
                        } else {
                            plan
                        };
                        ([(header::CONTENT_TYPE, "application/json")], fixed).into_response()
                    }
                    Err(_) => StatusCode::BAD_REQUEST.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    // A clean exit on SIGTERM or Ctrl-C.
    axum::serve(listener, app)
        .with_graceful_shutdown(planner::cli::shutdown_signal())
        .await
}

/// The planner's answer to one request body, as bytes.
async fn answer(planner: &Planner, body: &[u8]) -> Bytes {
    let task = Task::parse(body, &RosterCache::new(1)).expect("the request parses");
    let (task_id, action) = (task.request.task_id.clone(), task.request.action.name());
    let planned = planner.plan(task.request).await.expect("a plan");
    let result = TaskResult::new(planned, action, None);
    let response = TaskResponse::completed(Some(task_id), "workflow_planner", result);
    Bytes::from(serde_json::to_vec(&response).expect("serializes"))
}
