//! The training workload of the profile-guided build (`deploy/pgo-build.sh`): the requests the
//! planner answers in production, sent over real HTTP to an instrumented planner so that the
//! compiler learns which code is hot. Every answer is checked, so a training run that stops
//! exercising the paths it is meant to (a planner that fails, a changed route) fails the build
//! instead of quietly training on error pages.
//!
//! `pgo_train model PORT`: a stand-in model on 127.0.0.1:PORT (Ollama's `/api/tags` and
//!   `/api/generate`): valid answers that vary with the request, and now and then an unusable
//!   one, so that the model path, its validation and its fallback are all trained.
//! `pgo_train drive KEYWORD_URL MODEL_URL [ROUNDS]`: waits for both planners' `/health`, then
//!   sends ROUNDS (default 2000) rounds to each, 16 requests in flight: the representative
//!   request, the labelled queries of `tests/data` (other languages, pasted queries, typos …),
//!   `optimize_plan` on a 50-step plan, A2A JSON-RPC (`SendMessage` v1.0, `message/send` v0.3),
//!   probes, and malformed requests, which must get a 4xx. KEYWORD_URL is a planner whose model
//!   is unreachable (the keyword fallback), MODEL_URL one that reaches `pgo_train model` (model
//!   answers, then the answer cache). Exits non-zero when an answer is not what was expected.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use serde_json::{Value, json};

const REQUEST: &str = include_str!("../benches/request.json");
const DATASETS: [&str; 3] = [
    include_str!("../tests/data/blind.jsonl"),
    include_str!("../tests/data/hard.jsonl"),
    include_str!("../tests/data/heldout.jsonl"),
];
const IN_FLIGHT: usize = 16;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["model", port] => model(port).await,
        ["drive", keyword, model, ref rest @ ..] => {
            let rounds = rest.first().and_then(|r| r.parse().ok()).unwrap_or(2000);
            drive(&[keyword, model], rounds).await
        }
        _ => Err(
            "usage: pgo_train model PORT | pgo_train drive KEYWORD_URL MODEL_URL [ROUNDS]".into(),
        ),
    };
    if let Err(e) = outcome {
        eprintln!("pgo_train: {e}");
        std::process::exit(1);
    }
}

/// The stand-in model. Answers cycle through the platform sets, intents and error flags the
/// planner can be told; every 16th answer is unusable (cut off), every 32nd is not JSON at all.
async fn model(port: &str) -> Result<(), String> {
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    let served = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/api/tags",
            get(|| async {
                axum::Json(
                    json!({"models": [{"name": "llama3.1:8b", "model": "llama3.1:8b",
                    "modified_at": "2026-01-01T00:00:00Z", "size": 1, "digest": "d"}]}),
                )
            }),
        )
        .route(
            "/api/generate",
            post(move |_body: Bytes| {
                let n = served.fetch_add(1, Ordering::Relaxed);
                async move { axum::Json(model_answer(n)) }
            }),
        );
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("model server: {e}"))
}

fn model_answer(n: usize) -> Value {
    const PLATFORMS: [&[&str]; 6] = [
        &["kql"],
        &["spl"],
        &["sql"],
        &["kql", "sql"],
        &["spl", "kql"],
        &["kql", "spl", "sql"],
    ];
    const INTENTS: [&str; 3] = ["diagnostic", "security", "analytics"];
    let answer = match n % 32 {
        31 => "I think you want Splunk.".to_string(),
        15 => r#"{"p":["kql"],"i":"secu"#.to_string(),
        _ => json!({"p": PLATFORMS[n % PLATFORMS.len()], "i": INTENTS[n % INTENTS.len()],
                    "e": n.is_multiple_of(3)})
        .to_string(),
    };
    json!({"model": "llama3.1:8b", "created_at": "2026-01-01T00:00:00Z", "response": answer,
           "done": true, "prompt_eval_count": 200, "eval_count": 17})
}

/// What a request must get back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 200 and a completed plan (`/a2a/task`) or a completed A2A task (JSON-RPC).
    Plan,
    /// 200, whatever the body.
    Ok,
    /// A 4xx in the contract's error shape.
    Rejected,
}

#[derive(Debug, Clone)]
struct Job {
    path: &'static str,
    /// `None`: a GET.
    body: Option<String>,
    a2a_version: Option<&'static str>,
    expect: Expect,
}

/// One round: what a minute of production traffic looks like, in miniature. Mostly
/// `create_plan`, the labelled queries in turn, some `optimize_plan`, JSON-RPC, probes and
/// malformed requests.
fn round(r: usize, base: &Value, cases: &[Value], optimize: &str) -> Vec<Job> {
    let task = |body: String| Job {
        path: "/a2a/task",
        body: Some(body),
        a2a_version: None,
        expect: Expect::Plan,
    };
    let mut jobs = Vec::new();
    let mut bench = base.clone();
    bench["task_id"] = json!(format!("pgo_bench_{r}"));
    jobs.push(task(bench.to_string()));
    for k in 0..3 {
        jobs.push(task(
            create_plan(base, &cases[(r * 3 + k) % cases.len()], r).to_string(),
        ));
    }
    if r.is_multiple_of(4) {
        jobs.push(task(optimize.to_string()));
    }
    if r % 4 == 1 {
        let case = &cases[r % cases.len()];
        let ctx = create_plan(base, case, r)["parameters"]["execution_context"].clone();
        let (method, version, role, parts) = if r % 8 == 1 {
            let parts = json!([{"text": case["query"]},
                               {"data": ctx, "mediaType": "application/json"}]);
            ("SendMessage", "1.0", "ROLE_USER", parts)
        } else {
            let parts = json!([{"kind": "text", "text": case["query"]},
                               {"kind": "data", "data": ctx}]);
            ("message/send", "0.3", "user", parts)
        };
        let body = json!({"jsonrpc": "2.0", "id": r, "method": method, "params": {"message":
            {"messageId": format!("pgo-{r}"), "role": role, "parts": parts}}});
        jobs.push(Job {
            path: "/",
            body: Some(body.to_string()),
            a2a_version: Some(version),
            expect: Expect::Plan,
        });
    }
    if r % 10 == 2 {
        let malformed = [
            "{\"task_id\": \"t\", \"action\": ".to_string(),
            json!({"task_id": "t", "agent_id": "workflow_planner", "action": "delete_plan",
                   "parameters": {}})
            .to_string(),
            json!({"task_id": "t", "agent_id": "workflow_planner", "action": "create_plan",
                   "parameters": {"execution_context": base["parameters"]["execution_context"]}})
            .to_string(),
            {
                let mut long = base.clone();
                long["parameters"]["natural_language"] = json!("failed logins ".repeat(400));
                long.to_string()
            },
        ];
        jobs.push(Job {
            expect: Expect::Rejected,
            ..task(malformed[(r / 10) % malformed.len()].clone())
        });
    }
    if r % 20 == 3 {
        for path in [
            "/health",
            "/ready",
            "/.well-known/agent-card.json",
            "/metrics",
        ] {
            jobs.push(Job {
                path,
                body: None,
                a2a_version: None,
                expect: Expect::Ok,
            });
        }
    }
    jobs
}

/// A labelled case as the scorer sends it: the representative request's context, with the
/// case's roster and schema hints where it has them.
fn create_plan(base: &Value, case: &Value, r: usize) -> Value {
    let mut req = base.clone();
    req["task_id"] = json!(format!("pgo_{}_{r}", case["id"].as_str().unwrap_or("case")));
    req["parameters"]["natural_language"] = case["query"].clone();
    let ctx = &mut req["parameters"]["execution_context"];
    if let Some(agents) = case.get("data_agents") {
        ctx["available_agents"]["data"] = agents.clone();
    } else if let Some(offered) = case.get("available").and_then(Value::as_array) {
        let data = ctx["available_agents"]["data"].as_array().cloned();
        let kept: Vec<Value> = data
            .unwrap_or_default()
            .into_iter()
            .filter(|a| offered.contains(&a["platform"]))
            .collect();
        ctx["available_agents"]["data"] = Value::Array(kept);
    }
    if let Some(hints) = case.get("schema_hints") {
        ctx["schema_hints"] = hints.clone();
    }
    req
}

/// `optimize_plan` on 50 steps: layers of 8, each step depending on up to 3 of the layer before
/// (the shape `benches/load.sh` loads).
fn optimize50() -> String {
    let steps: Vec<Value> = (0..50)
        .map(|i| {
            let layer = i / 8;
            let deps: Vec<String> = match layer {
                0 => Vec::new(),
                _ => (0..3)
                    .map(|k| (layer - 1) * 8 + (i + k) % 8)
                    .filter(|&d| d < 50)
                    .map(|d| format!("s{d}"))
                    .collect(),
            };
            json!({"step_id": format!("s{i}"), "agent_type": "data", "agent_id": "kql_data",
                   "depends_on": deps, "parameters": {"platform": "kql",
                   "query": "count failed sign-ins by country"}})
        })
        .collect();
    json!({"task_id": "opt50", "agent_id": "workflow_planner", "action": "optimize_plan",
           "parameters": {"plan": {"steps": steps}}})
    .to_string()
}

async fn drive(bases: &[&str], rounds: usize) -> Result<(), String> {
    let base: Value = serde_json::from_str(REQUEST).map_err(|e| format!("request.json: {e}"))?;
    let cases: Vec<Value> = DATASETS
        .iter()
        .flat_map(|d| d.lines())
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tests/data: {e}"))?;
    let optimize = optimize50();
    let jobs: Arc<Vec<(String, Job)>> = Arc::new(
        (0..rounds)
            .flat_map(|r| round(r, &base, &cases, &optimize))
            .flat_map(|job| {
                bases
                    .iter()
                    .map(move |b| (b.trim_end_matches('/').to_string(), job.clone()))
            })
            .collect(),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    for b in bases {
        wait_healthy(&client, b).await?;
    }
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, jobs, next) = (client.clone(), jobs.clone(), next.clone());
            tokio::spawn(async move {
                let (mut problems, mut sources) = (Vec::new(), BTreeMap::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((base, job)) = jobs.get(i) else {
                        return (problems, sources);
                    };
                    match send(&client, base, job).await {
                        Ok(Some(source)) => {
                            *sources.entry((base.clone(), source)).or_insert(0) += 1
                        }
                        Ok(None) => {}
                        Err(e) => {
                            problems.push(format!("{base}{} ({:?}): {e}", job.path, job.expect))
                        }
                    }
                }
            })
        })
        .collect();
    let (mut problems, mut sources) = (Vec::new(), BTreeMap::<_, usize>::new());
    for w in workers {
        let (p, s) = w.await.map_err(|e| e.to_string())?;
        problems.extend(p);
        for (k, n) in s {
            *sources.entry(k).or_insert(0) += n;
        }
    }
    // The point of the two planners: the keyword fallback on one, model answers and the
    // answer cache on the other. A profile without them would optimise the wrong code.
    let wanted = [
        (bases[0], "fallback"),
        (bases[1], "llm"),
        (bases[1], "cache"),
    ];
    for (base, source) in wanted {
        let base = base.trim_end_matches('/');
        if !sources.contains_key(&(base.to_string(), source.to_string())) {
            problems.push(format!("{base}: no plan with analysis source {source:?}"));
        }
    }
    eprintln!(
        "pgo_train: {} requests in {:.1} s, {} problems; plans by analysis source: {:?}",
        jobs.len(),
        started.elapsed().as_secs_f64(),
        problems.len(),
        sources
    );
    match problems.first() {
        None => Ok(()),
        Some(first) => Err(format!("{} problems, first: {first}", problems.len())),
    }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let url = format!("{}/health", base.trim_end_matches('/'));
    for _ in 0..300 {
        if let Ok(res) = client.get(&url).send().await
            && res.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{url} did not answer within 30 s"))
}

/// Sends one job and checks its answer; `Ok` carries the plan's analysis source, if any.
async fn send(client: &reqwest::Client, base: &str, job: &Job) -> Result<Option<String>, String> {
    let url = format!("{base}{}", job.path);
    let req = match &job.body {
        Some(body) => client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone()),
        None => client.get(&url),
    };
    let req = match job.a2a_version {
        Some(v) => req.header("A2A-Version", v),
        None => req,
    };
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let text = res.text().await.map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let ok = match job.expect {
        Expect::Ok => status.is_success(),
        Expect::Rejected => status.is_client_error() && v["error"].is_object(),
        Expect::Plan => {
            status.is_success()
                && (v["status"] == "completed"
                    || v["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
                    || v["result"]["status"]["state"] == "completed")
        }
    };
    match ok {
        true => Ok(v["result"]["analysis"]["source"]
            .as_str()
            .map(str::to_string)),
        false => Err(format!(
            "{status}: {}",
            text.chars().take(300).collect::<String>()
        )),
    }
}
