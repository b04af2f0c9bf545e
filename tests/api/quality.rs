//! Plan quality on labelled requests, and what a model can add and break.
//!
//! The sets are `tests/data/*.jsonl` (`tests/data/README.md` says how each was made; all are
//! development sets now: written with the rules in view, or scored blind once and read by rules
//! since) and `../shared/eval/dev.jsonl`, which must be beside the repository under CI. The
//! model behind the planner is a fake *server* (our real client talks to it over HTTP): one
//! that always answers the labelled truth, and one that is confidently wrong in the same
//! rotation as `../shared/tools/fake_llm.py`'s adversarial mode.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use planner::config::{Provider, Settings};
use planner::pipeline::roster::Roster;
use planner::planner::{self as core, Planner};
use planner::wire::{ExecutionContext, ReadRoster, RosterCache, TaskResult};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One labelled request, in the format of `../shared/eval/dev.jsonl`.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub query: String,
    pub platforms: Vec<String>,
    pub error_knowledge: bool,
    pub intent: String,
    pub raw: Value,
}

/// The labelled requests of `file` (a JSON-lines file).
pub fn cases(file: &std::path::Path) -> Vec<Case> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Case {
                id: v["id"].as_str().unwrap().to_string(),
                query: v["query"].as_str().unwrap().to_string(),
                platforms: v["platforms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
                error_knowledge: v["error_knowledge"].as_bool().unwrap(),
                intent: v["intent"].as_str().unwrap_or("").to_string(),
                raw: v,
            }
        })
        .collect()
}

/// The labelled sets in the repository, and the shared dev set when it is there.
pub fn labelled_sets() -> Vec<(String, Vec<Case>)> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut sets: Vec<(String, Vec<Case>)> = [
        "ordinary",
        "hard",
        "hard_more",
        "context",
        "context_more",
        "fusion_blind",
        "fusion_more",
    ]
    .into_iter()
    .map(|name| (name.to_string(), cases(&data.join(format!("{name}.jsonl")))))
    .collect();
    if let Some(dev) = shared_dir()
        .map(|d| d.join("eval/dev.jsonl"))
        .filter(|p| p.exists())
    {
        sets.push(("dev".to_string(), cases(&dev)));
    }
    sets
}

/// `../shared` beside the repository (or `PLANNER_SHARED_DIR`), if present. Under CI
/// (`CI=true`) it must be: a check that silently passed for want of it would prove nothing.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PLANNER_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        dir.is_dir() || !ci,
        "CI=true and {} is missing: the shared dev set and fake model are part of CI",
        dir.display()
    );
    dir.is_dir().then_some(dir)
}

/// The execution context the scorer (`../shared/eval/score.py`) sends for `case`.
pub fn context_for(case: &Case) -> Value {
    let knowledge = json!([
        {"agent_id": "sop_knowledge", "agent_name": "SOP Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "sop"},
        {"agent_id": "error_knowledge", "agent_name": "Error Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "errors"},
        {"agent_id": "wiki_knowledge", "agent_name": "Wiki Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "wiki"}
    ]);
    let standard = json!([
        {"agent_id": "kql_data", "agent_name": "KQL Data Agent (Azure Log Analytics)", "capabilities": ["generate_query"], "platform": "kql"},
        {"agent_id": "spl_data", "agent_name": "SPL Data Agent (Splunk)", "capabilities": ["generate_query"], "platform": "spl"},
        {"agent_id": "sql_data", "agent_name": "SQL Data Agent (relational database)", "capabilities": ["generate_query"], "platform": "sql"}
    ]);
    let data = match (&case.raw["data_agents"], case.raw["available"].as_array()) {
        (Value::Array(agents), _) => Value::Array(agents.clone()),
        (_, Some(available)) => Value::Array(
            standard
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| available.contains(&a["platform"]))
                .cloned()
                .collect(),
        ),
        _ => standard,
    };
    json!({
        "journey_id": format!("eval_{}", case.id),
        "available_agents": {"knowledge": knowledge, "data": data},
        "schema_hints": case.raw.get("schema_hints").cloned().unwrap_or(json!({})),
    })
}

/// The roster the scorer offers for `case`, read as the edge reads it.
pub fn roster_for(case: &Case) -> ReadRoster {
    let ctx: ExecutionContext =
        planner::wire::from_value(context_for(case), "execution_context").unwrap();
    ctx.read("parameters.execution_context", &RosterCache::new(1))
        .expect("the roster reads")
}

/// `create_plan` of `case` with `planner`, as the edge would ask for it.
pub async fn plan_case(planner: &Planner, case: &Case, roster: &ReadRoster) -> TaskResult {
    let request = core::Request {
        task_id: case.id.clone(),
        caller: None,
        action: core::Action::CreatePlan {
            query: case.query.clone(),
            roster: roster.roster.clone(),
            warnings: roster.warnings.to_vec(),
        },
    };
    let planned = planner
        .plan(request)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.id));
    TaskResult::new(planned, "create_plan", None)
}

/// Platform, error-knowledge and intent accuracy of a set of plans, as the scorer counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub platform: f64,
    pub error: f64,
    pub intent: f64,
    pub cases: usize,
}

/// Whether the plan for `case` has the right data platforms and the right error knowledge.
pub fn judge(case: &Case, ctx: &Roster, result: &TaskResult) -> (bool, bool) {
    let mut got: Vec<String> = result
        .plan
        .steps
        .iter()
        .filter_map(|s| {
            ctx.data_agents()
                .iter()
                .find(|a| a.agent_id == s.agent_id)
                .and_then(|a| a.platform.as_ref().map(|p| p.to_string()))
        })
        .collect();
    got.sort();
    got.dedup();
    let mut want = case.platforms.clone();
    want.sort();
    let errors = result
        .plan
        .steps
        .iter()
        .any(|s| s.agent_id == "error_knowledge");
    (got == want, errors == case.error_knowledge)
}

/// Plans every case with `planner` and scores the plans; misses are listed for the message.
pub async fn score(planner: &Planner, cases: &[Case]) -> (Score, Vec<String>) {
    let (mut platform, mut error, mut intent) = (0, 0, 0);
    let mut misses = Vec::new();
    for case in cases {
        let roster = roster_for(case);
        let result = plan_case(planner, case, &roster).await;
        let (p, e) = judge(case, &roster.roster, &result);
        let a = result.analysis.as_ref().unwrap();
        platform += usize::from(p);
        error += usize::from(e);
        intent += usize::from(a.intent.as_str() == case.intent);
        if !(p && e) {
            misses.push(format!("{} {:?}: {}", case.id, case.query, a.reasoning));
        }
    }
    let n = cases.len() as f64;
    let score = Score {
        platform: platform as f64 / n,
        error: error as f64 / n,
        intent: intent as f64 / n,
        cases: cases.len(),
    };
    (score, misses)
}

/// A fake model server that answers every analysis for a labelled case: always right, or
/// confidently wrong.
#[derive(Clone)]
pub struct LabelledModel {
    cases: Arc<Vec<Case>>,
    right: bool,
}

impl LabelledModel {
    /// The labelled case whose query the prompt carries (the longest, if several).
    fn case_in(&self, prompt: &str) -> Option<&Case> {
        self.cases
            .iter()
            .filter(|c| prompt.contains(&c.query))
            .max_by_key(|c| c.query.len())
    }

    /// The answer for `prompt` under `schema`, in the shape the schema asks for.
    fn answer(&self, prompt: &str, schema: &Value) -> Value {
        let offered: Vec<String> = schema["properties"]["p"]["items"]["enum"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let intents: Vec<String> = schema["properties"]["i"]["enum"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let Some(case) = self.case_in(prompt) else {
            return json!({"data": true, "p": [], "i": "investigation", "error": false});
        };
        let wants_data = !case.platforms.is_empty();
        if self.right {
            return json!({
                "data": wants_data, "p": case.platforms, "i": case.intent, "error": case.error_knowledge
            });
        }
        // The rotation of fake_llm.py's adversarial mode: every offered platform but the right
        // ones, none, or all of them; the other intent; the error flag flipped.
        let turn = case.id.bytes().map(u32::from).sum::<u32>() % 3;
        let wrong: Vec<String> = offered
            .iter()
            .filter(|p| !case.platforms.contains(p))
            .cloned()
            .collect();
        let platforms = match (wrong.is_empty(), turn) {
            (false, 0) => wrong,
            (false, 1) | (true, 0) | (true, 2) => Vec::new(),
            _ => offered.clone(),
        };
        let intent = intents
            .iter()
            .find(|i| **i != case.intent)
            .cloned()
            .unwrap_or_default();
        json!({"data": !wants_data, "p": platforms, "i": intent, "error": !case.error_knowledge})
    }
}

impl Respond for LabelledModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let text = self
            .answer(body["prompt"].as_str().unwrap_or(""), &body["format"])
            .to_string();
        ResponseTemplate::new(200).set_body_json(json!({
            "model": "llama3.1:8b", "created_at": "2026-11-26T00:00:00Z", "response": text,
            "done": true, "done_reason": "stop", "prompt_eval_count": 200, "eval_count": 20
        }))
    }
}

/// A planner whose model is `model` behind a fake Ollama server.
pub async fn planner_with(model: impl Respond + 'static) -> (Arc<Planner>, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(model)
        .mount(&server)
        .await;
    let mut s = Settings::for_tests();
    s.llm.provider = Provider::Ollama;
    s.llm.ollama_host = format!("{}/", server.uri()).parse().unwrap();
    s.llm.timeout = Duration::from_secs(5);
    s.llm.deadline = Duration::from_secs(5);
    s.cache.enabled = false;
    (crate::helpers::planner_for(&s), server)
}

fn keyword_planner() -> Arc<Planner> {
    crate::helpers::planner_for(&Settings::for_tests())
}

/// What the keyword analysis alone must reach on a set (platform, error knowledge, intent).
/// The intent of the requests nobody wrote intent rules for stays lower.
fn keyword_target(set: &str) -> (f64, f64, f64) {
    match set {
        "ordinary" => (0.98, 1.0, 0.80),
        "fusion_blind" | "fusion_more" => (0.95, 0.92, 0.70),
        _ => (0.95, 0.95, 0.80),
    }
}

#[tokio::test]
async fn keyword_plans_meet_the_targets_on_ordinary_and_hard_requests() {
    let planner = keyword_planner();
    let mut problems = Vec::new();
    for (name, set) in labelled_sets() {
        let (score, misses) = score(&planner, &set).await;
        let (platform, error, intent) = keyword_target(&name);
        if score.platform < platform || score.error < error || score.intent < intent {
            problems.push(format!(
                "{name}: {score:?} below {platform}/{error}/{intent}; misses:\n  {}",
                misses.join("\n  ")
            ));
        }
        eprintln!("keyword {name}: {score:?}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a model that always answers the truth must lift a set to: 0.97 platform and error
/// knowledge, 0.90 intent; on `fusion_blind` error knowledge stays where the text decides it
/// (a failed payment, a definition), short of that.
fn oracle_target(set: &str) -> (f64, f64, f64) {
    match set {
        "fusion_blind" => (0.97, 0.92, 0.90),
        _ => (0.97, 0.97, 0.90),
    }
}

#[tokio::test]
async fn a_model_that_is_always_right_lifts_every_set_to_its_target() {
    let mut problems = Vec::new();
    for (name, set) in labelled_sets() {
        let (planner, _server) = planner_with(LabelledModel {
            cases: Arc::new(set.clone()),
            right: true,
        })
        .await;
        let (score, misses) = score(&planner, &set).await;
        eprintln!("oracle {name}: {score:?}");
        let (platform, error, intent) = oracle_target(&name);
        if score.platform < platform || score.error < error || score.intent < intent {
            problems.push(format!(
                "{name}: {score:?}; misses:\n  {}",
                misses.join("\n  ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn a_confidently_wrong_model_costs_at_most_six_points() {
    let keyword = keyword_planner();
    let mut problems = Vec::new();
    for (name, set) in labelled_sets() {
        let (planner, _server) = planner_with(LabelledModel {
            cases: Arc::new(set.clone()),
            right: false,
        })
        .await;
        let (alone, _) = score(&keyword, &set).await;
        let (with_model, misses) = score(&planner, &set).await;
        eprintln!("adversarial {name}: {with_model:?} (keywords alone {alone:?})");
        if with_model.platform < alone.platform - 0.06 || with_model.error < alone.error - 0.06 {
            problems.push(format!(
                "{name}: {with_model:?} vs keywords {alone:?}; misses:\n  {}",
                misses.join("\n  ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same two directions with the shared fake model itself (`../shared/tools/fake_llm.py`),
/// over the shared dev set, when the shared material is beside the repository.
#[tokio::test]
async fn the_shared_fake_model_agrees_in_both_directions() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared (or PLANNER_SHARED_DIR) is not here");
        return;
    };
    let dev = shared.join("eval/dev.jsonl");
    let set = cases(&dev);
    let keyword = score(&keyword_planner(), &set).await.0;
    for (mode, check) in [("oracle", true), ("adversarial", false)] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = tokio::process::Command::new("python3")
            .arg(shared.join("tools/fake_llm.py"))
            .args([&port.to_string(), mode, "/dev/null", "--labels"])
            .arg(&dev)
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs fake_llm.py");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{url}/api/tags")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut s = Settings::for_tests();
        s.llm.provider = Provider::Ollama;
        s.llm.ollama_host = format!("{url}/").parse().unwrap();
        s.cache.enabled = false;
        let planner = crate::helpers::planner_for(&s);
        let (got, misses) = score(&planner, &set).await;
        let _ = child.kill().await;
        eprintln!("fake_llm.py {mode}: {got:?} (keywords alone {keyword:?})");
        if check {
            let (platform, error, intent) = oracle_target("dev");
            assert!(
                got.platform >= platform && got.error >= error && got.intent >= intent,
                "{got:?}: {misses:?}"
            );
        } else {
            assert!(
                got.platform >= keyword.platform - 0.06 && got.error >= keyword.error - 0.06,
                "{got:?} vs {keyword:?}: {misses:?}"
            );
        }
    }
}

/// What is wrong with the plan for a multi-part case (`tests/data/multipart.jsonl`, judged as
/// `tests/multipart_score.py` does): each data step's text has its clause's words and none of
/// another platform's, the data steps wait exactly as labelled, a time range where there is
/// one, the error codes as the error step's query.
fn multipart_problems(case: &Case, result: &TaskResult) -> Vec<String> {
    let steps = serde_json::to_value(&result.plan.steps).unwrap();
    let steps = steps.as_array().unwrap();
    let data: Vec<(&str, &Value)> = steps
        .iter()
        .filter(|s| s["agent_type"] == "data")
        .map(|s| (s["parameters"]["platform"].as_str().unwrap_or(""), s))
        .collect();
    let step = |p: &str| data.iter().find(|(q, _)| *q == p).map(|(_, s)| *s);
    let clauses = case.raw["clauses"].as_object().unwrap();
    let words = |p: &str| -> Vec<String> {
        clauses[p]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_lowercase())
            .collect()
    };
    let mut problems = Vec::new();
    for platform in clauses.keys() {
        let Some(s) = step(platform) else {
            problems.push(format!("no {platform} step"));
            continue;
        };
        let text = s["parameters"]["natural_language"]
            .as_str()
            .unwrap()
            .to_lowercase();
        let own = words(platform);
        for w in &own {
            if !text.contains(w.as_str()) {
                problems.push(format!("{platform} lacks {w:?}"));
            }
        }
        for other in clauses.keys().filter(|q| *q != platform) {
            for w in words(other).iter().filter(|w| !own.contains(w)) {
                if text.contains(w.as_str()) {
                    problems.push(format!("{platform} has {other}'s {w:?}"));
                }
            }
        }
        if case.raw["time_range"] == true && s["parameters"]["entities"]["time_range"].is_null() {
            problems.push(format!("{platform} has no time range"));
        }
    }
    let mut want: Vec<(String, String)> = case.raw["depends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d[0].as_str().unwrap().into(), d[1].as_str().unwrap().into()))
        .collect();
    let mut got: Vec<(String, String)> = Vec::new();
    for (a, s) in &data {
        for (b, other) in &data {
            let waits = s["depends_on"]
                .as_array()
                .unwrap()
                .contains(&other["step_id"]);
            if a != b && waits {
                got.push((a.to_string(), b.to_string()));
            }
        }
    }
    want.sort();
    got.sort();
    if got != want {
        problems.push(format!("waits {got:?}, want {want:?}"));
    }
    if let Some(code) = case.raw["error_query"].as_str() {
        let query = steps
            .iter()
            .find(|s| s["agent_id"] == "error_knowledge")
            .and_then(|s| s["parameters"]["query"].as_str())
            .unwrap_or("");
        if query != code {
            problems.push(format!("error query {query:?}, want {code:?}"));
        }
    }
    problems
}

/// Each agent gets its part of a multi-part request (issue 35). The set was scored before its
/// rules (1 of 12, `tests/data/README.md`); now a development set, its floor is 11 of 12.
#[tokio::test]
async fn each_agent_gets_its_part_of_a_multi_part_request() {
    let planner = keyword_planner();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/multipart.jsonl");
    let mut wrong = Vec::new();
    let all = cases(&file);
    for case in &all {
        let roster = roster_for(case);
        let result = plan_case(&planner, case, &roster).await;
        let problems = multipart_problems(case, &result);
        if !problems.is_empty() {
            wrong.push(format!("{}: {}", case.id, problems.join("; ")));
        }
    }
    eprintln!(
        "multipart: {} of {} right",
        all.len() - wrong.len(),
        all.len()
    );
    assert!(wrong.len() <= 1, "{}", wrong.join("\n"));
}
