//! The `planner` binary as a user runs it: `plan`, `serve` stopped by a real SIGTERM,
//! `healthcheck`, and a clear exit on invalid configuration.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BIN, TempFile, TestApp, create_plan, free_port, serve_binary};

#[test]
fn plan_prints_a_completed_plan_without_a_server() {
    let out = Command::new(BIN)
        .args([
            "plan",
            "Correlate Splunk firewall blocks with Azure sign-in failures",
        ])
        .env("LLM_PROVIDER", "none")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["result"]["analysis"]["required_platforms"],
        serde_json::json!(["kql", "spl"])
    );
}

#[test]
fn plan_reads_the_execution_context_from_a_file() {
    let file = TempFile::new(
        "planner-cli",
        "ctx.json",
        r#"{"available_agents": {"data": [{"agent_id": "pg", "capabilities": ["generate_query"], "platform": "sql"}]}}"#,
    );
    let out = Command::new(BIN)
        .args(["plan", "orders in the database", "--context"])
        .arg(&file)
        .env("LLM_PROVIDER", "none")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(body["result"]["plan"]["steps"][0]["agent_id"], "pg");
}

#[test]
fn invalid_configuration_exits_78_with_a_message() {
    let out = Command::new(BIN)
        .args(["plan", "x"])
        .env("PLANNER_MAX_PARALLEL_AGENTS", "0")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PLANNER_MAX_PARALLEL_AGENTS"), "{err}");
}

#[test]
fn serve_answers_health_checks_and_stops_cleanly_on_sigterm() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", &port.to_string(), "--host", "127.0.0.1"])
        .env("LLM_PROVIDER", "none")
        .env("LOG_FORMAT", "text")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let healthy = loop {
        let status = Command::new(BIN)
            .args(["healthcheck", "--url", &url])
            .stderr(Stdio::null())
            .status()
            .expect("runs");
        if status.success() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(healthy, "healthcheck never passed");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    let down = Command::new(BIN)
        .args(["healthcheck", "--url", &url])
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(!down.success(), "healthcheck fails once the server is gone");
}

/// The exposition text of `app`'s `/metrics`.
async fn scrape_metrics(app: &TestApp) -> String {
    app.client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// The value of the Prometheus sample `series` (name and labels exactly as exported).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn serve_exports_task_counts_and_durations_on_metrics() {
    let mut serve = Command::new(BIN);
    serve.arg("serve").env("LLM_PROVIDER", "none");
    let (_server, app) = serve_binary(serve).await;
    let app = &app;
    let post = |body: serde_json::Value| async move { app.post(&body).await.0 };
    for i in 0..3 {
        let body = create_plan(&format!("m{i}"), "failed sign-ins in Azure");
        assert_eq!(post(body).await, 200);
    }
    let optimize = serde_json::json!({"task_id": "o1", "agent_id": "workflow_planner",
        "action": "optimize_plan", "parameters": {"plan": {"steps": [
            {"step_id": "a", "agent_type": "data", "agent_id": "kql_data"}]}}});
    assert_eq!(post(optimize).await, 200);
    let unknown = serde_json::json!({"task_id": "u1", "action": "dance", "parameters": {}});
    assert_eq!(post(unknown).await, 422);

    let text = scrape_metrics(app).await;
    let count =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
    assert_eq!(
        count(r#"planner_tasks_total{action="create_plan",status="completed"}"#),
        3.0
    );
    assert_eq!(
        count(r#"planner_tasks_total{action="optimize_plan",status="completed"}"#),
        1.0
    );
    assert_eq!(
        count(r#"planner_tasks_total{action="other",status="unknown_action"}"#),
        1.0
    );
    assert_eq!(
        count(r#"planner_task_duration_seconds_count{action="create_plan"}"#),
        3.0
    );
    assert_eq!(
        count(r#"planner_task_duration_seconds_count{action="optimize_plan"}"#),
        1.0
    );
}

#[tokio::test]
async fn serve_counts_analysis_outcomes_on_metrics() {
    // A model is configured but nothing listens: every analysis falls back, and the metrics say
    // why for each request (unreachable, then breaker_open once the breaker opens).
    let mut serve = Command::new(BIN);
    serve
        .arg("serve")
        .env("LLM_PROVIDER", "ollama")
        .env("OLLAMA_HOST", "http://127.0.0.1:9");
    let (_server, app) = serve_binary(serve).await;
    for i in 0..4 {
        let body = create_plan(&format!("a{i}"), &format!("what happened to bob, case {i}"));
        assert_eq!(app.post(&body).await.0, 200);
    }
    let text = scrape_metrics(&app).await;
    let outcome = |o: &str| {
        sample(
            &text,
            &format!(r#"planner_analysis_total{{outcome="{o}"}}"#),
        )
    };
    let unreachable = outcome("unreachable").expect("unreachable counted");
    let skipped = outcome("breaker_open").expect("breaker_open exported");
    assert!(unreachable >= 1.0, "{text}");
    assert_eq!(unreachable + skipped, 4.0, "{text}");
    // Every outcome is exported from the first analysis on, at zero until it happens.
    assert_eq!(outcome("llm"), Some(0.0), "{text}");
    assert_eq!(outcome("cache"), Some(0.0), "{text}");
    assert_eq!(outcome("not_needed"), Some(0.0), "{text}");
}
