//! The standard A2A protocol over a real socket: the card (ETag, 304, both paths, both styles),
//! JSON-RPC v1.0 and v0.3 with every error code the spec asks for, and the task store through
//! GetTask / ListTasks / CancelTask.

use planner::config::{CardStyle, Settings};
use serde_json::{Value, json};

use crate::helpers::{TestApp, roster, spawn_app};

async fn rpc_with(
    app: &TestApp,
    version: Option<&str>,
    content_type: &str,
    body: String,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url("/"))
        .header("content-type", content_type)
        .body(body);
    if let Some(v) = version {
        req = req.header("A2A-Version", v);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn v1(app: &TestApp, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": "r1", "method": method, "params": params});
    let (status, v) = rpc_with(app, Some("1.0"), "application/json", body.to_string()).await;
    assert_eq!(status, 200, "JSON-RPC answers 200: {v}");
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["id"], "r1", "the id comes back as sent");
    v
}

fn v1_message(text: &str, data: Option<Value>) -> Value {
    let mut parts = vec![json!({"text": text})];
    if let Some(d) = data {
        parts.push(json!({"data": d, "mediaType": "application/json"}));
    }
    json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": parts}})
}

fn error_code(v: &Value) -> i64 {
    assert_eq!(
        v["error"]["data"][0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo",
        "every error carries ErrorInfo: {v}"
    );
    assert_eq!(v["error"]["data"][0]["domain"], "a2a-protocol.org");
    v["error"]["code"].as_i64().expect("error code")
}

#[tokio::test]
async fn the_card_is_served_on_both_paths_with_validators() {
    let app = spawn_app(Settings::for_tests()).await;
    let res = app
        .client
        .get(app.url("/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let card: Value = res.json().await.unwrap();
    let url = format!("http://{}/", "127.0.0.1:9000");
    assert_eq!(card["supportedInterfaces"][0]["url"], url);
    assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(card["url"], url, "the dual card carries the v0.3 url");
    assert_eq!(card["capabilities"]["streaming"], false);
    let skills: Vec<&str> = card["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(skills, ["create_plan", "optimize_plan"]);

    let again = app
        .client
        .get(app.url("/.well-known/agent-card.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    let (status, old) = app.get("/.well-known/agent.json").await;
    assert_eq!((status, &old), (200, &card));
}

#[tokio::test]
async fn the_public_url_and_the_strict_v1_card_are_configurable() {
    let mut s = Settings::for_tests();
    s.a2a.card = CardStyle::V1;
    s.a2a.public_url = Some(reqwest::Url::parse("https://planner.internal:8443/").unwrap());
    let app = spawn_app(s).await;
    let (_, card) = app.get("/.well-known/agent-card.json").await;
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        "https://planner.internal:8443/"
    );
    assert!(card.get("url").is_none() && card.get("preferredTransport").is_none());
}

#[tokio::test]
async fn send_message_v1_answers_a_completed_task_with_the_plan_artifact() {
    let app = spawn_app(Settings::for_tests()).await;
    let ctx = json!({"available_agents": roster(), "journey_id": "j-1"});
    let v = v1(
        &app,
        "SendMessage",
        v1_message(
            "Show failed sign-ins in Azure over the last 24 hours and the SOP for account lockout",
            Some(ctx),
        ),
    )
    .await;
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
    assert!(task["status"]["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(task.get("kind").is_none(), "v1.0 has no kind");
    let artifact = &task["artifacts"][0];
    assert_eq!(artifact["name"], "plan");
    assert_eq!(artifact["parts"][0]["mediaType"], "application/json");
    let result = &artifact["parts"][0]["data"];
    let agents: Vec<&str> = result["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agent_id"].as_str().unwrap())
        .collect();
    assert!(agents.contains(&"kql_data"), "{agents:?}");
    assert!(agents.contains(&"sop_knowledge"), "{agents:?}");
    assert_eq!(result["metadata"]["action"], "create_plan");
    assert_eq!(task["history"][0]["role"], "ROLE_USER");
    assert_eq!(task["history"][0]["taskId"], task["id"]);

    // The task is kept: GetTask returns it, historyLength trims the history.
    let id = task["id"].as_str().unwrap();
    let got = v1(&app, "GetTask", json!({"id": id, "historyLength": 0})).await;
    assert_eq!(got["result"]["id"], id);
    assert_eq!(got["result"]["artifacts"], task["artifacts"]);
    assert!(got["result"].get("history").is_none());

    // A completed task is not cancelable.
    let cancel = v1(&app, "CancelTask", json!({"id": id})).await;
    assert_eq!(error_code(&cancel), -32002);
    assert_eq!(cancel["error"]["data"][0]["reason"], "TASK_NOT_CANCELABLE");
}

#[tokio::test]
async fn context_ids_are_kept_and_messages_to_finished_tasks_refused() {
    let app = spawn_app(Settings::for_tests()).await;
    let mut msg = v1_message("errors in splunk for the checkout service", None);
    msg["message"]["contextId"] = json!("ctx-42");
    let first = v1(&app, "SendMessage", msg.clone()).await;
    let task = &first["result"]["task"];
    assert_eq!(task["contextId"], "ctx-42");
    let id = task["id"].as_str().unwrap();

    msg["message"]["taskId"] = json!(id);
    let again = v1(&app, "SendMessage", msg.clone()).await;
    assert_eq!(
        error_code(&again),
        -32004,
        "a terminal task takes no messages"
    );
    msg["message"]["contextId"] = json!("other");
    let mismatch = v1(&app, "SendMessage", msg.clone()).await;
    assert_eq!(error_code(&mismatch), -32602);
    msg["message"]["taskId"] = json!("no-such-task");
    let unknown = v1(&app, "SendMessage", msg).await;
    assert_eq!(error_code(&unknown), -32001);
}

#[tokio::test]
async fn requests_that_cannot_be_planned_are_rejected_tasks() {
    let app = spawn_app(Settings::for_tests()).await;
    let v = v1(&app, "SendMessage", v1_message("   ", None)).await;
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_REJECTED", "{v}");
    let why = task["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(why.contains("empty_query"), "{why}");
    assert!(task.get("artifacts").is_none());

    let bad_ctx = v1(
        &app,
        "SendMessage",
        v1_message(
            "errors in kql",
            Some(json!({"available_agents": {"data": 7}})),
        ),
    )
    .await;
    let task = &bad_ctx["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_REJECTED");
    let why = task["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("message.parts[1].data.available_agents.data"),
        "names the field: {why}"
    );
}

#[tokio::test]
async fn a_plan_in_the_data_part_is_optimized() {
    let app = spawn_app(Settings::for_tests()).await;
    let plan = json!({"plan": {"steps": [
        {"step_id": "a", "agent_type": "knowledge", "agent_id": "sop_kb"},
        {"step_id": "b", "agent_type": "data", "agent_id": "kql_data", "depends_on": ["a"]},
        {"step_id": "c", "agent_type": "data", "agent_id": "spl_data", "depends_on": ["a"]},
    ]}});
    let msg = json!({"message": {"messageId": "m", "role": "ROLE_USER",
        "parts": [{"data": plan, "mediaType": "application/json"}]}});
    let v = v1(&app, "SendMessage", msg).await;
    let result = &v["result"]["task"]["artifacts"][0]["parts"][0]["data"];
    assert_eq!(result["metadata"]["action"], "optimize_plan", "{v}");
    assert_eq!(
        result["plan"]["parallel_execution_groups"],
        json!([["a"], ["b", "c"]])
    );
}

#[tokio::test]
async fn list_tasks_pages_newest_first_and_shows_artifacts_only_when_asked() {
    let app = spawn_app(Settings::for_tests()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut msg = v1_message(&format!("errors in kql number {i}"), None);
        msg["message"]["contextId"] = json!(if i % 2 == 0 { "even" } else { "odd" });
        let v = v1(&app, "SendMessage", msg).await;
        ids.push(v["result"]["task"]["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let v = v1(
            &app,
            "ListTasks",
            json!({"pageSize": 2, "pageToken": token}),
        )
        .await;
        let r = &v["result"];
        assert_eq!(r["totalSize"], 5);
        assert_eq!(r["pageSize"], 2);
        for t in r["tasks"].as_array().unwrap() {
            assert!(t.get("artifacts").is_none(), "no artifacts unless asked");
            seen.push(t["id"].as_str().unwrap().to_string());
        }
        token = r["nextPageToken"]
            .as_str()
            .expect("always present")
            .to_string();
        if token.is_empty() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, every task once");

    let v = v1(
        &app,
        "ListTasks",
        json!({"contextId": "even", "includeArtifacts": true, "status": "TASK_STATE_COMPLETED"}),
    )
    .await;
    let tasks = v["result"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    assert!(tasks.iter().all(|t| t["artifacts"][0]["name"] == "plan"));
    assert_eq!(v["result"]["nextPageToken"], "");

    for bad in [
        json!({"pageSize": 0}),
        json!({"pageSize": 101}),
        json!({"pageToken": "garbage"}),
        json!({"status": "DONE"}),
        json!({"statusTimestampAfter": "yesterday"}),
        json!({"historyLength": -1}),
    ] {
        let v = v1(&app, "ListTasks", bad.clone()).await;
        assert_eq!(error_code(&v), -32602, "{bad}");
    }
}

#[tokio::test]
async fn json_rpc_edge_cases_answer_the_spec_codes() {
    let app = spawn_app(Settings::for_tests()).await;
    let call = |method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params}).to_string()
    };
    let cases: Vec<(&str, Option<&str>, &str, String, i64)> = vec![
        (
            "bad JSON",
            Some("1.0"),
            "application/json",
            "{nope".into(),
            -32700,
        ),
        (
            "no jsonrpc",
            Some("1.0"),
            "application/json",
            r#"{"id":1,"method":"GetTask"}"#.into(),
            -32600,
        ),
        (
            "unknown method",
            Some("1.0"),
            "application/json",
            call("DoThings", json!({})),
            -32601,
        ),
        (
            "wrong content type",
            Some("1.0"),
            "text/plain",
            call("GetTask", json!({"id": "x"})),
            -32005,
        ),
        (
            "missing params field",
            Some("1.0"),
            "application/json",
            call("GetTask", json!({})),
            -32602,
        ),
        (
            "message without parts",
            Some("1.0"),
            "application/json",
            call(
                "SendMessage",
                json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}),
            ),
            -32602,
        ),
        (
            "agent role",
            Some("1.0"),
            "application/json",
            call(
                "SendMessage",
                json!({"message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "x"}]}}),
            ),
            -32602,
        ),
        (
            "file part",
            Some("1.0"),
            "application/json",
            call(
                "SendMessage",
                json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"url": "https://x/y.png", "mediaType": "image/png"}]}}),
            ),
            -32005,
        ),
        (
            "output mode we cannot give",
            Some("1.0"),
            "application/json",
            call(
                "SendMessage",
                json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}, "configuration": {"acceptedOutputModes": ["image/png"]}}),
            ),
            -32005,
        ),
        (
            "unsupported version",
            Some("99.0"),
            "application/json",
            call("GetTask", json!({"id": "x"})),
            -32009,
        ),
        (
            "v1 method without the header",
            None,
            "application/json",
            call("GetTask", json!({"id": "x"})),
            -32009,
        ),
        (
            "unknown task",
            Some("1.0"),
            "application/json",
            call("GetTask", json!({"id": "nope"})),
            -32001,
        ),
        (
            "cancel unknown task",
            Some("1.0"),
            "application/json",
            call("CancelTask", json!({"id": "nope"})),
            -32001,
        ),
        (
            "streaming is off",
            Some("1.0"),
            "application/json",
            call("SendStreamingMessage", json!({})),
            -32004,
        ),
        (
            "resubscribe is off",
            Some("1.0"),
            "application/json",
            call("SubscribeToTask", json!({"id": "x"})),
            -32004,
        ),
        (
            "push notifications are off",
            Some("1.0"),
            "application/json",
            call("CreateTaskPushNotificationConfig", json!({})),
            -32003,
        ),
        (
            "no extended card",
            Some("1.0"),
            "application/json",
            call("GetExtendedAgentCard", json!({})),
            -32004,
        ),
        (
            "v0.3 push",
            None,
            "application/json",
            call("tasks/pushNotificationConfig/set", json!({})),
            -32003,
        ),
        (
            "v0.3 name under 1.0",
            Some("1.0"),
            "application/json",
            call("message/send", json!({})),
            -32601,
        ),
    ];
    for (name, version, content_type, body, code) in cases {
        let (status, v) = rpc_with(&app, version, content_type, body).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(error_code(&v), code, "{name}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().len() > 10,
            "{name}: a useful message"
        );
    }
    // The version can also come as a query parameter (spec §3.6.1).
    let res = app
        .client
        .post(app.url("/?A2A-Version=1.0"))
        .header("content-type", "application/json")
        .body(call("GetTask", json!({"id": "nope"})))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(error_code(&v), -32001);
    // A bad-JSON answer has a null id.
    let (_, v) = rpc_with(&app, Some("1.0"), "application/json", "{".into()).await;
    assert_eq!(v["id"], Value::Null);
}

#[tokio::test]
async fn v03_clients_get_v03_shapes_without_a_header() {
    let app = spawn_app(Settings::for_tests()).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {
        "message": {"kind": "message", "messageId": "m1", "role": "user", "parts": [
            {"kind": "text", "text": "5xx errors from the payments API in splunk"},
            {"kind": "data", "data": {"available_agents": roster()}}]},
        "configuration": {"acceptedOutputModes": [], "blocking": true}}});
    let (status, v) = rpc_with(&app, None, "application/json", body.to_string()).await;
    assert_eq!(status, 200);
    let task = &v["result"];
    assert_eq!(task["kind"], "task", "v0.3 results are not wrapped: {v}");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["artifacts"][0]["parts"][0]["kind"], "data");
    let plan = &task["artifacts"][0]["parts"][0]["data"]["plan"];
    assert!(
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["agent_id"] == "spl_data"),
        "{plan}"
    );
    assert_eq!(task["history"][0]["role"], "user");

    let id = task["id"].as_str().unwrap();
    let get = json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"id": id}});
    let (_, v) = rpc_with(&app, Some("0.3"), "application/json", get.to_string()).await;
    assert_eq!(v["result"]["id"], id);
    assert_eq!(v["result"]["kind"], "task");
    let cancel = json!({"jsonrpc": "2.0", "id": 3, "method": "tasks/cancel", "params": {"id": id}});
    let (_, v) = rpc_with(&app, None, "application/json", cancel.to_string()).await;
    assert_eq!(error_code(&v), -32002);
    // The same task through v1.0, in v1.0 shapes.
    let get = json!({"jsonrpc": "2.0", "id": 4, "method": "GetTask", "params": {"id": id}});
    let (_, v) = rpc_with(&app, Some("1.0"), "application/json", get.to_string()).await;
    assert_eq!(v["result"]["status"]["state"], "TASK_STATE_COMPLETED");
}

#[tokio::test]
async fn the_task_store_stays_bounded() {
    let mut s = Settings::for_tests();
    s.a2a.task_capacity = std::num::NonZeroUsize::new(3).unwrap();
    let app = spawn_app(s).await;
    let mut first = None;
    for i in 0..6 {
        let v = v1(
            &app,
            "SendMessage",
            v1_message(&format!("errors in kql {i}"), None),
        )
        .await;
        first.get_or_insert_with(|| v["result"]["task"]["id"].as_str().unwrap().to_string());
    }
    let v = v1(&app, "ListTasks", json!({})).await;
    assert_eq!(v["result"]["totalSize"], 3);
    let v = v1(&app, "GetTask", json!({"id": first.unwrap()})).await;
    assert_eq!(error_code(&v), -32001, "the oldest was evicted");
}
