//! The HTTP API over a real socket: contract shapes, the malformed-request battery, probes.

use axum::routing::get;
use planner::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{assert_valid_plan, create_plan, roster, spawn_app, spawn_router, state};

fn keyword_settings() -> Settings {
    Settings::for_tests()
}

#[tokio::test]
async fn create_plan_answers_in_the_contract_shape() {
    let app = spawn_app(keyword_settings()).await;
    let (status, body) = app
        .post(&create_plan(
            "task_001",
            "Compare database user table with Azure AD signin logs",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task_id"], "task_001");
    assert_eq!(body["agent_id"], "workflow_planner");
    assert_valid_plan(&body);

    let plan = &body["result"]["plan"];
    assert_eq!(plan["plan_id"], "plan_task_001");
    let steps = plan["steps"].as_array().unwrap();
    let data: Vec<&Value> = steps.iter().filter(|s| s["agent_type"] == "data").collect();
    let platforms: Vec<&str> = data
        .iter()
        .map(|s| s["parameters"]["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["kql", "sql"]);
    for s in &data {
        assert_eq!(s["action"], "generate_query");
        assert_eq!(s["timeout_seconds"], 60);
        assert_eq!(s["depends_on"], json!(["knowledge_sop"]));
        assert_eq!(s["parameters"]["use_knowledge"], true);
    }
    assert_eq!(steps[0]["step_id"], "knowledge_sop");
    assert_eq!(steps[0]["parameters"]["top_k"], 5);
    assert_eq!(
        plan["parallel_execution_groups"],
        json!([["knowledge_sop"], ["data_kql", "data_sql"]])
    );
    assert_eq!(plan["estimated_duration_seconds"], 90);
    assert!(plan["estimated_cost"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(plan["warnings"], json!([]));

    let analysis = &body["result"]["analysis"];
    assert_eq!(analysis["source"], "fallback");
    assert_eq!(analysis["required_platforms"], json!(["kql", "sql"]));
    assert!(["investigation", "security"].contains(&analysis["intent"].as_str().unwrap()));
    assert!(analysis["confidence"].as_f64().unwrap() > 0.5);
    assert!(
        analysis["entities"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "SigninLogs")
    );
    assert_eq!(analysis["knowledge_requirements"]["requires_sop"], true);
    assert_eq!(analysis["query_characteristics"]["has_joins"], true);
}

#[tokio::test]
async fn a_platform_without_an_agent_is_left_out_with_a_warning() {
    let app = spawn_app(keyword_settings()).await;
    let mut req = create_plan("t2", "Search Splunk for ransomware file extensions");
    req["parameters"]["execution_context"]["available_agents"]["data"] =
        json!([{"agent_id": "sql_data", "capabilities": ["generate_query"], "platform": "sql"}]);
    let (status, body) = app.post(&req).await;
    assert_eq!(status, 200);
    assert_valid_plan(&body);
    let steps = body["result"]["plan"]["steps"].as_array().unwrap();
    assert!(
        steps.iter().all(|s| s["agent_type"] == "knowledge"),
        "{body}"
    );
    let warnings = body["result"]["plan"]["warnings"].to_string();
    assert!(warnings.contains("'spl'"), "{warnings}");
}

#[tokio::test]
async fn the_same_request_gives_the_same_plan() {
    let app = spawn_app(keyword_settings()).await;
    let req = create_plan(
        "t3",
        "Correlate Splunk firewall blocks with Azure sign-in failures by IP address",
    );
    let (status_a, a) = app.post(&req).await;
    let (status_b, b) = app.post(&req).await;
    assert_eq!((status_a, status_b), (200, 200), "{a}\n{b}");
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(b["status"], "completed", "{b}");
    assert_valid_plan(&a);
    assert!(!a["result"]["plan"]["steps"].as_array().unwrap().is_empty());
    assert_eq!(a["result"]["plan"]["steps"], b["result"]["plan"]["steps"]);
    assert_eq!(a["result"]["analysis"], b["result"]["analysis"]);
}

#[tokio::test]
async fn a_minimal_request_without_context_still_plans() {
    let app = spawn_app(keyword_settings()).await;
    let (status, body) = app
        .post(&json!({"task_id": "t4", "action": "create_plan", "parameters": {"natural_language": "show failed logins"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid_plan(&body);
    assert!(
        body["result"]["plan"]["steps"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !body["result"]["plan"]["warnings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn optimize_plan_layers_and_estimates_a_callers_plan() {
    let mut settings = keyword_settings();
    settings.planner.max_parallel_agents = std::num::NonZeroUsize::new(2).unwrap();
    let app = spawn_app(settings).await;
    let step = |id: &str, kind: &str, deps: &[&str], t: u64| json!({"step_id": id, "agent_type": kind, "agent_id": format!("{kind}_agent"), "depends_on": deps, "timeout_seconds": t, "color": "ignored"});
    let req = json!({
        "task_id": "opt1", "action": "optimize_plan",
        "parameters": {"plan": {"steps": [
            step("k1", "knowledge", &[], 30), step("k2", "knowledge", &[], 30), step("k3", "knowledge", &[], 20),
            step("d1", "data", &["k1", "k2"], 60), step("d2", "data", &["d1", "k3"], 45)
        ]}}
    });
    let (status, body) = app.post(&req).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_plan(&body);
    let plan = &body["result"]["plan"];
    assert_eq!(
        plan["parallel_execution_groups"],
        json!([["k1", "k2"], ["k3"], ["d1"], ["d2"]])
    );
    assert_eq!(plan["estimated_duration_seconds"], 135);
    assert_eq!(plan["critical_path"], json!(["k1", "d1", "d2"]));
    assert_eq!(
        plan["steps"][0]["action"], "retrieve_context",
        "defaults filled in"
    );
    assert!(body["result"].get("analysis").is_none());
}

#[tokio::test]
async fn optimize_plan_rejects_steps_on_agents_not_offered() {
    let app = spawn_app(keyword_settings()).await;
    let req = json!({
        "task_id": "opt2", "action": "optimize_plan",
        "parameters": {
            "plan": {"steps": [{"step_id": "d", "agent_type": "data", "agent_id": "ghost_agent"}]},
            "execution_context": {"available_agents": roster()}
        }
    });
    let (status, body) = app.post(&req).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unknown_agent");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ghost_agent")
    );
}

/// One malformed request: what is sent, and the status, code and message part expected.
struct Case {
    name: &'static str,
    body: String,
    status: u16,
    code: &'static str,
    message: &'static str,
    task_id: Option<&'static str>,
}

fn case(
    name: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    message: &'static str,
) -> Case {
    let task_id = body
        .get("task_id")
        .and_then(Value::as_str)
        .map(|s| Box::leak(s.to_string().into_boxed_str()) as &str);
    Case {
        name,
        body: body.to_string(),
        status,
        code,
        message,
        task_id,
    }
}

fn plan_with(steps: Value) -> Value {
    json!({"task_id": "bad_plan", "action": "optimize_plan", "parameters": {"plan": {"steps": steps}}})
}

fn kstep(id: &str, deps: &[&str]) -> Value {
    json!({"step_id": id, "agent_type": "knowledge", "agent_id": "sop_knowledge", "depends_on": deps})
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_in_the_contract_shape() {
    let app = spawn_app(keyword_settings()).await;
    let huge_query = "why ".repeat(2000);
    let cases = vec![
        Case {
            name: "not json",
            body: "{\"task_id\": ".into(),
            status: 400,
            code: "invalid_json",
            message: "not valid JSON",
            task_id: None,
        },
        Case {
            name: "empty body",
            body: String::new(),
            status: 400,
            code: "invalid_json",
            message: "not valid JSON",
            task_id: None,
        },
        case(
            "array body",
            json!([1, 2]),
            400,
            "invalid_request",
            "JSON object",
        ),
        case(
            "missing task_id",
            json!({"action": "create_plan", "parameters": {"natural_language": "x"}}),
            400,
            "invalid_request",
            "'task_id'",
        ),
        case(
            "task_id wrong type",
            json!({"task_id": 7, "action": "create_plan"}),
            400,
            "invalid_request",
            "'task_id'",
        ),
        case(
            "missing action",
            json!({"task_id": "t", "parameters": {}}),
            400,
            "invalid_request",
            "'action'",
        ),
        case(
            "action wrong type",
            json!({"task_id": "t", "action": ["create_plan"]}),
            400,
            "invalid_request",
            "'action'",
        ),
        case(
            "unknown action",
            json!({"task_id": "t", "action": "delete_everything"}),
            422,
            "unknown_action",
            "delete_everything",
        ),
        case(
            "parameters not an object",
            json!({"task_id": "t", "action": "create_plan", "parameters": "x"}),
            400,
            "invalid_request",
            "'parameters'",
        ),
        case(
            "missing query",
            json!({"task_id": "t", "action": "create_plan", "parameters": {}}),
            400,
            "invalid_request",
            "'parameters.natural_language'",
        ),
        case(
            "missing parameters",
            json!({"task_id": "t", "action": "create_plan"}),
            400,
            "invalid_request",
            "'parameters.natural_language'",
        ),
        case(
            "query wrong type",
            json!({"task_id": "t", "action": "create_plan", "parameters": {"natural_language": 42}}),
            400,
            "invalid_request",
            "'parameters.natural_language'",
        ),
        case(
            "empty query",
            json!({"task_id": "t", "action": "create_plan", "parameters": {"natural_language": "  \n "}}),
            422,
            "empty_query",
            "empty",
        ),
        case(
            "huge query",
            json!({"task_id": "t", "action": "create_plan", "parameters": {"natural_language": huge_query}}),
            413,
            "query_too_large",
            "limit is 4000",
        ),
        case(
            "agents wrong type",
            json!({"task_id": "t", "action": "create_plan", "parameters": {"natural_language": "x", "execution_context": {"available_agents": {"data": {"agent_id": "d"}}}}}),
            400,
            "invalid_request",
            "'parameters.execution_context.available_agents.data'",
        ),
        case(
            "agent without id",
            json!({"task_id": "t", "action": "create_plan", "parameters": {"natural_language": "x", "execution_context": {"available_agents": {"knowledge": [{"knowledge_domain": "sop"}]}}}}),
            400,
            "invalid_request",
            "agent_id",
        ),
        case(
            "plan missing",
            json!({"task_id": "t", "action": "optimize_plan", "parameters": {}}),
            400,
            "invalid_request",
            "'parameters.plan'",
        ),
        case(
            "plan steps wrong type",
            plan_with(json!("steps")),
            400,
            "invalid_request",
            "'parameters.plan.steps'",
        ),
        case(
            "step without id",
            plan_with(json!([{"agent_type": "data", "agent_id": "a"}])),
            400,
            "invalid_request",
            "step_id",
        ),
        case(
            "unknown agent type",
            plan_with(json!([{"step_id": "s", "agent_type": "robot", "agent_id": "a"}])),
            400,
            "invalid_request",
            "parameters.plan.steps[0].agent_type",
        ),
        case(
            "cycle",
            plan_with(json!([
                kstep("a", &["c"]),
                kstep("b", &["a"]),
                kstep("c", &["b"])
            ])),
            422,
            "dependency_cycle",
            "a -> c -> b -> a",
        ),
        case(
            "self dependency",
            plan_with(json!([kstep("a", &["a"])])),
            422,
            "dependency_cycle",
            "a -> a",
        ),
        case(
            "unknown dependency",
            plan_with(json!([kstep("a", &["ghost"])])),
            422,
            "unknown_dependency",
            "step 'a' depends on unknown step 'ghost'",
        ),
        case(
            "duplicate ids",
            plan_with(json!([kstep("a", &[]), kstep("a", &[])])),
            422,
            "duplicate_step_id",
            "'a'",
        ),
        case(
            "empty step id",
            plan_with(json!([kstep(" ", &[])])),
            422,
            "invalid_plan",
            "empty step_id",
        ),
        case(
            "zero timeout",
            plan_with(
                json!([{"step_id": "s", "agent_type": "data", "agent_id": "a", "timeout_seconds": 0}]),
            ),
            422,
            "invalid_plan",
            "timeout_seconds 0",
        ),
        case(
            "negative timeout",
            plan_with(
                json!([{"step_id": "s", "agent_type": "data", "agent_id": "a", "timeout_seconds": -5}]),
            ),
            400,
            "invalid_request",
            "timeout_seconds",
        ),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let (status, body) = app.post_raw(c.body.clone()).await;
        let problems = [
            (status != c.status).then(|| format!("status {status} != {}", c.status)),
            (body["status"] != "failed").then(|| "status field is not 'failed'".to_string()),
            (body["error"]["code"] != c.code)
                .then(|| format!("code {} != {}", body["error"]["code"], c.code)),
            (!body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(c.message))
            .then(|| {
                format!(
                    "message {:?} lacks {:?}",
                    body["error"]["message"], c.message
                )
            }),
            (body["task_id"].as_str() != c.task_id)
                .then(|| format!("task_id {} != {:?}", body["task_id"], c.task_id)),
            body.get("result")
                .map(|_| "a failed task carries a result".to_string()),
        ];
        for p in problems.into_iter().flatten() {
            failures.push(format!("{}: {p}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_the_contract_shape() {
    let mut settings = keyword_settings();
    settings.server.max_body_bytes = 4096;
    let app = spawn_app(settings).await;
    let padding = "x".repeat(8192);
    let req = json!({"task_id": "big", "action": "create_plan", "parameters": {"natural_language": "q", "pad": padding}});
    let (status, body) = app.post(&req).await;
    assert_eq!(status, 413);
    assert_eq!(body["status"], "failed");
    assert_eq!(body["error"]["code"], "request_too_large");
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app(keyword_settings()).await;
    let (status, body) = app.get("/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 200);
    assert_eq!(body["analysis"], "keyword_fallback");
    assert_eq!(body["llm"]["provider"], "none");
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app(keyword_settings()).await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert!(res.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn a_panic_is_a_contract_shaped_500_with_the_configured_agent_id() {
    let mut settings = keyword_settings();
    settings.agent.id = "planner_blue".into();
    let routes = axum::Router::new().route(
        "/boom",
        get(|| async {
            if true {
                panic!("a bug");
            }
            "unreachable"
        }),
    );
    let app = spawn_router(planner::http::with_edge_layers(routes, state(&settings))).await;
    let (status, body) = app.get("/boom").await;
    assert_eq!(status, 500);
    assert_eq!(body["status"], "failed");
    assert_eq!(body["agent_id"], "planner_blue");
    assert_eq!(body["error"]["code"], "internal_error");
    assert_eq!(
        body["error"]["message"], "internal error",
        "details stay in the log"
    );
}
