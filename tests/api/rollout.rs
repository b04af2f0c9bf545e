//! Rollout against the old mock: the legacy strategy answers as the mock, shadow traffic compares
//! two live deployments without touching the real answer, and `planner compare` reviews a query
//! file against both.

use std::time::{Duration, Instant};

use planner::config::{Settings, Strategy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TempFile, create_plan, spawn_app, spawn_router, state};

fn legacy_settings() -> Settings {
    let mut s = Settings::for_tests();
    s.planner.strategy = Strategy::Legacy;
    s
}

#[tokio::test]
async fn the_legacy_strategy_answers_as_the_old_mock() {
    let app = spawn_app(legacy_settings()).await;
    let mut req = create_plan("t7", "Payment API errors in the last hour");
    req["parameters"]["platform"] = json!("spl");
    let (status, body) = app.post(&req).await;
    assert_eq!(status, 200);
    let steps = body["result"]["plan"]["steps"].as_array().unwrap();
    let ids: Vec<&str> = steps
        .iter()
        .map(|s| s["step_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["knowledge_sop", "knowledge_errors", "data_spl"]);
    assert_eq!(body["result"]["plan"]["plan_id"], "plan_t7");
    assert!(
        body["result"].get("analysis").is_none(),
        "the mock has no analysis"
    );
    assert!(body.get("agent_id").is_none(), "nor an agent_id");

    let (status, body) = app
        .post(&json!({"task_id": "t8", "action": "optimize_plan", "parameters": {}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["error"], "unknown action optimize_plan");
    let (status, body) = app.post_raw("{not json").await;
    assert_eq!(status, 422);
    assert!(body["detail"].is_array());
}

#[tokio::test]
async fn shadow_traffic_counts_agreement_and_disagreement() {
    let legacy = spawn_app(legacy_settings()).await;
    let twin = spawn_app(Settings::for_tests()).await;
    for (shadow, agrees) in [(&twin, true), (&legacy, false)] {
        let mut s = Settings::for_tests();
        s.shadow.url = Some(reqwest::Url::parse(&shadow.url("/")).unwrap());
        let st = state(&s);
        let handle = st.clone();
        assert!(handle.shadow.is_some(), "shadow on");
        let app = spawn_router(planner::http::router(st)).await;
        let (status, body) = app
            .post(&create_plan(
                "s1",
                "Why do payments fail with 502 in Splunk?",
            ))
            .await;
        assert_eq!((status, body["status"].as_str()), (200, Some("completed")));
        let deadline = Instant::now() + Duration::from_secs(5);
        while handle.shadow.as_ref().unwrap().stats().compared < 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stats = handle.shadow.as_ref().unwrap().stats();
        assert_eq!(stats.compared, 1, "{stats:?}");
        assert_eq!(stats.agreed == 1, agrees, "{stats:?}");
    }
}

#[tokio::test]
async fn a_slow_shadow_never_delays_the_answer_and_overflow_is_dropped() {
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/a2a/task"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "completed"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&slow)
        .await;
    let mut s = Settings::for_tests();
    s.shadow.url = Some(reqwest::Url::parse(&slow.uri()).unwrap());
    s.shadow.queue = std::num::NonZeroUsize::new(2).unwrap();
    s.shadow.concurrency = std::num::NonZeroUsize::MIN;
    let st = state(&s);
    let handle = st.clone();
    let app = spawn_router(planner::http::router(st)).await;
    let started = Instant::now();
    for i in 0..10 {
        let (status, _) = app
            .post(&create_plan(&format!("q{i}"), "errors in kql"))
            .await;
        assert_eq!(status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "ten answers took {:?}: the shadow was awaited",
        started.elapsed()
    );
    let stats = handle.shadow.as_ref().unwrap().stats();
    assert!(stats.dropped >= 6, "queue 2 + 1 in flight: {stats:?}");
}

#[tokio::test]
async fn shadow_failures_are_counted_not_felt() {
    let mut s = Settings::for_tests();
    s.shadow.url = Some(reqwest::Url::parse("http://127.0.0.1:9/").unwrap());
    let st = state(&s);
    let handle = st.clone();
    let app = spawn_router(planner::http::router(st)).await;
    let (status, body) = app.post(&create_plan("e1", "errors in kql")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")));
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.shadow.as_ref().unwrap().stats().errors < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handle.shadow.as_ref().unwrap().stats().errors, 1);
}

#[tokio::test]
async fn compare_reports_accuracy_agreement_and_differences() {
    use planner::rollout::compare::{Options, read_cases, render, run};
    let legacy = spawn_app(legacy_settings()).await;
    let ours = spawn_app(Settings::for_tests()).await;
    let file = TempFile::new(
        "planner-compare",
        "q.jsonl",
        &[
            json!({"id": "c1", "query": "Show failed sign-ins in Azure AD", "platforms": ["kql"], "error_knowledge": false}),
            json!({"id": "c2", "query": "Checkout 502 errors in Splunk", "platforms": ["spl"], "error_knowledge": true}),
            json!({"id": "c3", "query": "slowest queries in the orders database", "platforms": ["sql"], "error_knowledge": false}),
        ]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n"),
    );
    let opts = Options {
        a: legacy.url(""),
        b: ours.url(""),
        concurrency: 2,
        timeout: Duration::from_secs(10),
        progress: false,
    };
    let report = run(read_cases(&file).unwrap(), &opts).await.unwrap();
    assert_eq!(report.cases, 3);
    assert_eq!((report.a.completed, report.b.completed), (3, 3));
    assert_eq!(report.b.platform_accuracy, Some(1.0));
    // The mock always plans kql (no platform parameter): right on c1 only.
    let a_acc = report.a.platform_accuracy.unwrap();
    assert!((a_acc - 1.0 / 3.0).abs() < 1e-9, "{a_acc}");
    assert!(report.agreement.platforms < 1.0);
    assert_eq!(report.rows[1].id, "c2", "rows keep the file's order");
    assert!(!report.rows[1].differences.is_empty());
    let table = render(&report);
    assert!(table.contains("platform accuracy"), "{table}");
    assert!(table.contains("where they differ"), "{table}");
}
