//! Several replicas, one Redis: two planner processes (the real binary) on one real
//! `redis-server`, a fake model counting its calls. Ignored unless asked for (`cargo test --
//! --ignored`, which `.ci/run` runs after installing redis-server); run without redis-server
//! installed, they fail.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{BIN, Proc, create_plan, free_port, serve_binary};

/// A fresh redis-server on a free port.
fn start_redis() -> (Proc, u16) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = child.expect("redis-server runs (apt-get install redis-server)");
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (proc, port)
}

struct Replica {
    _proc: Proc,
    base: String,
}

async fn start_replica(redis_port: u16, model: &str) -> Replica {
    let mut serve = Command::new(BIN);
    serve
        .arg("serve")
        .env("OLLAMA_HOST", model)
        .env("PLANNER_LLM_WARMUP", "false")
        .env(
            "PLANNER_REDIS_URL",
            format!("redis://127.0.0.1:{redis_port}/0"),
        )
        .env("LOG_LEVEL", "warn");
    let (proc, app) = serve_binary(serve).await;
    Replica {
        _proc: proc,
        base: format!("http://{}", app.addr),
    }
}

async fn fake_model(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "model": "llama3.1:8b", "created_at": "2026-11-26T10:00:00Z",
                    "response": r#"{"data":true,"p":["kql"],"i":"security","error":false}"#,
                    "done": true, "done_reason": "stop", "total_duration": 300000000u64,
                    "prompt_eval_count": 200, "eval_count": 17
                }))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

async fn model_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

async fn plan(client: &reqwest::Client, base: &str, id: &str, query: &str) -> Value {
    let res = client
        .post(format!("{base}/a2a/task"))
        .json(&create_plan(id, query))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs redis-server"]
async fn replicas_share_model_answers_and_tasks_through_redis() {
    let (_redis, redis_port) = start_redis();
    let model = fake_model(Duration::from_millis(300)).await;
    let a = start_replica(redis_port, &model.uri()).await;
    let b = start_replica(redis_port, &model.uri()).await;
    let client = reqwest::Client::new();

    // One replica asks the model; the other finds the answer in Redis.
    let q1 = "what happened to bob yesterday";
    let first = plan(&client, &a.base, "a1", q1).await;
    assert_eq!(first["result"]["analysis"]["source"], "llm", "{first}");
    assert_eq!(model_calls(&model).await, 1);
    tokio::time::sleep(Duration::from_millis(200)).await; // the write to Redis is not awaited
    let second = plan(&client, &b.base, "b1", q1).await;
    assert_eq!(second["result"]["analysis"]["source"], "cache", "{second}");
    let again = plan(&client, &a.base, "a2", q1).await;
    assert_eq!(again["result"]["analysis"]["source"], "cache");
    assert_eq!(
        model_calls(&model).await,
        1,
        "no further model call on either replica"
    );

    // Concurrent identical requests: at most one model call per replica.
    let q2 = "anything odd with carol's account this morning";
    let mut handles = Vec::new();
    for i in 0..16 {
        let (client, base) = (
            client.clone(),
            if i % 2 == 0 { &a.base } else { &b.base }.clone(),
        );
        handles.push(tokio::spawn(async move {
            plan(&client, &base, &format!("c{i}"), q2).await
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let calls = model_calls(&model).await - 1;
    assert!(
        (1..=2).contains(&calls),
        "{calls} model calls for 16 concurrent requests on 2 replicas"
    );

    // A task created on one replica is read (and listed) on the other.
    let rpc = |base: &str, body: Value| {
        client
            .post(format!("{base}/"))
            .header("A2A-Version", "1.0")
            .json(&body)
            .send()
    };
    let sent: Value = rpc(
        &a.base,
        json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "contextId": "shared-ctx",
                               "parts": [{"text": "errors in kql for the login API"}]}}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = sent["result"]["task"]["id"]
        .as_str()
        .expect("task id")
        .to_string();
    let got: Value = rpc(
        &b.base,
        json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": id}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(got["result"]["id"], id.as_str(), "{got}");
    assert_eq!(got["result"]["status"]["state"], "TASK_STATE_COMPLETED");
    let listed: Value = rpc(
        &b.base,
        json!({"jsonrpc": "2.0", "id": 3, "method": "ListTasks",
        "params": {"contextId": "shared-ctx"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(listed["result"]["totalSize"], 1, "{listed}");

    let ready: Value = client
        .get(format!("{}/ready", b.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["redis"]["mode"], "shared");
    assert_eq!(ready["task_store"], "redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs redis-server"]
async fn redis_killed_mid_run_fails_nothing_and_slows_nothing_past_two_seconds() {
    let (redis, redis_port) = start_redis();
    let model = fake_model(Duration::from_millis(20)).await;
    let a = start_replica(redis_port, &model.uri()).await;
    let b = start_replica(redis_port, &model.uri()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, base) = (
            client.clone(),
            if w % 2 == 0 { &a.base } else { &b.base }.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut failed, mut slowest, mut n) = (0, Duration::ZERO, 0);
            while started.elapsed() < Duration::from_secs(3) {
                let t = Instant::now();
                let body = if n % 3 == 0 {
                    json!({"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": {"message": {
                        "messageId": format!("m{w}-{n}"), "role": "ROLE_USER",
                        "parts": [{"text": format!("errors in kql for service {w}-{n}")}]}}})
                } else {
                    create_plan(&format!("k{w}-{n}"), &format!("what happened to host {}", n % 7))
                };
                let url = if n % 3 == 0 { format!("{base}/") } else { format!("{base}/a2a/task") };
                let ok = match client.post(url).header("A2A-Version", "1.0").json(&body).send().await {
                    Ok(res) if res.status() == 200 => {
                        let v: Value = res.json().await.unwrap_or_default();
                        v["status"] == "completed"
                            || v["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
                    }
                    _ => false,
                };
                failed += usize::from(!ok);
                slowest = slowest.max(t.elapsed());
                n += 1;
            }
            (failed, slowest, n)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    drop(redis); // SIGKILL
    let (mut failed, mut slowest, mut total) = (0, Duration::ZERO, 0);
    for w in workers {
        let (f, s, n) = w.await.unwrap();
        failed += f;
        slowest = slowest.max(s);
        total += n;
    }
    assert!(total > 50, "only {total} requests");
    assert_eq!(
        failed, 0,
        "{failed} of {total} requests failed with Redis killed"
    );
    assert!(
        slowest < Duration::from_secs(2),
        "slowest request {slowest:?}"
    );
    let ready: Value = client
        .get(format!("{}/ready", a.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["redis"]["mode"], "degraded", "{ready}");
    assert_eq!(ready["status"], "ready");
}
