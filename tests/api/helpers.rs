//! Test helpers: the real app on a real socket (port 0), and request builders.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;

use planner::config::Settings;
use planner::http::{self, AppState};
use planner::planner::Planner;
use serde_json::{Value, json};

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let res = self
            .client
            .post(self.url("/a2a/task"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, body: &Value) -> (u16, Value) {
        self.post_raw(body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent");
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap_or(Value::Null))
    }
}

/// The app state for `settings`, without a metrics recorder, its background work started.
pub fn state(settings: &Settings) -> AppState {
    let (state, background) = AppState::load(settings, None).expect("the app loads");
    background.spawn();
    state
}

/// The planner `settings` describe.
pub fn planner_for(settings: &Settings) -> Arc<Planner> {
    Arc::new(Planner::from_settings(settings, None).expect("the planner builds"))
}

/// Starts the app with `settings` on 127.0.0.1:0; it stops with the test's runtime.
pub async fn spawn_app(settings: Settings) -> TestApp {
    spawn_router(http::router(state(&settings))).await
}

/// Serves `app` on 127.0.0.1:0 until the test's runtime stops.
pub async fn spawn_router(app: axum::Router) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(http::serve(
        listener,
        app,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    TestApp {
        addr,
        client: reqwest::Client::new(),
    }
}

/// The `planner` binary these tests were built with.
pub const BIN: &str = env!("CARGO_BIN_EXE_planner");

/// A port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A child process, killed when dropped: a failing test leaves nothing running.
pub struct Proc(pub Child);

impl Proc {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A file in a directory of its own under the system's temporary directory, removed with
/// the directory when dropped: tests leave nothing behind, passing or failing.
pub struct TempFile {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl TempFile {
    /// Writes `text` to `name` in a new directory named after `prefix`, this process and a
    /// counter (tests of one binary run in parallel).
    pub fn new(prefix: &str, name: &str, text: &str) -> TempFile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("temporary file");
        TempFile { dir, path }
    }
}

impl std::ops::Deref for TempFile {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl AsRef<std::path::Path> for TempFile {
    fn as_ref(&self) -> &std::path::Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for TempFile {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `serve` (the binary's command, with the test's environment) on a free port of
/// 127.0.0.1, output discarded, and waits until `/health` answers.
pub async fn serve_binary(mut serve: Command) -> (Proc, TestApp) {
    let port = free_port();
    let child = serve
        .env("PLANNER_HOST", "127.0.0.1")
        .env("PLANNER_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("planner starts");
    let proc = Proc(child);
    let app = TestApp {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        client: reqwest::Client::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.client.get(app.url("/health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start on {port}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    (proc, app)
}

/// The roster the orchestrator typically offers (the one `planner plan` uses by default).
pub fn roster() -> Value {
    planner::cli::standard_agents()
}

/// A create_plan task for `query` with the standard roster and a kql schema hint.
pub fn create_plan(task_id: &str, query: &str) -> Value {
    json!({
        "task_id": task_id,
        "agent_id": "workflow_planner",
        "action": "create_plan",
        "parameters": {
            "natural_language": query,
            "execution_context": {
                "journey_id": "journey_1",
                "current_state": "planning",
                "state_history_count": 1,
                "available_agents": roster(),
                "user_context": {},
                "schema_hints": {"kql": {"tables": ["SigninLogs"]}}
            }
        }
    })
}

/// Checks the contract's invariants on a completed plan.
pub fn assert_valid_plan(body: &Value) {
    assert_eq!(body["status"], "completed", "{body}");
    let plan = &body["result"]["plan"];
    let steps = plan["steps"].as_array().expect("steps");
    let ids: Vec<&str> = steps
        .iter()
        .map(|s| s["step_id"].as_str().expect("step_id"))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for group in plan["parallel_execution_groups"]
        .as_array()
        .expect("groups")
    {
        let group: Vec<&str> = group
            .as_array()
            .expect("group")
            .iter()
            .map(|g| g.as_str().expect("id"))
            .collect();
        for id in &group {
            let step = steps
                .iter()
                .find(|s| s["step_id"] == *id)
                .expect("grouped step exists");
            for dep in step["depends_on"].as_array().expect("depends_on") {
                assert!(
                    seen.contains(&dep.as_str().expect("dep")),
                    "{id} grouped before its dependency {dep}"
                );
            }
        }
        seen.extend(group);
    }
    let mut a = seen.clone();
    let mut b = ids.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "groups list every step exactly once");
}
