//! Criterion benches of the planning hot path: every stage alone; the whole `create_plan` with
//! and without JSON in and out, and served from a cached model answer; keyword analysis at three
//! request lengths (it should grow linearly); `optimize_plan` on a 50-step plan; the optimizer on
//! growing DAGs; and the token counter against tiktoken. Run: `cargo bench --bench pipeline`.

use std::hint::black_box;
use std::sync::Arc;

use mimalloc::MiMalloc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use planner::config::Settings;
use planner::domain::{AgentType, AnalysisSource, Parameters, Step};
use planner::pipeline::analyzer::lexicon::lexicon;
use planner::pipeline::analyzer::{AnalyzerOptions, analyze_text};
use planner::pipeline::estimator::{EstimatorOptions, estimate};
use planner::pipeline::generator::{GeneratorOptions, generate};
use planner::pipeline::optimizer::layer;
use planner::pipeline::roster::Roster;
use planner::pipeline::selector::select;
use planner::pipeline::text::Text;
use planner::planner::{Action, Planner, Request};
use planner::wire::{RosterCache, Task, TaskResponse, TaskResult};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The allocator the server runs with (`src/main.rs`), so allocation costs what it costs there.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// The representative request (the same as `../shared/bench/request.json`).
const REQUEST: &str = include_str!("request.json");

/// The representative request's query and roster, read as the edge reads them.
fn context() -> (String, Arc<Roster>) {
    let task = Task::parse(REQUEST.as_bytes(), &RosterCache::new(1)).expect("bench request parses");
    match task.request.action {
        Action::CreatePlan { query, roster, .. } => (query, roster),
        Action::OptimizePlan { .. } => panic!("the representative request is create_plan"),
    }
}

/// The plan the representative request gets: SOP and error knowledge, then KQL (Azure sign-ins)
/// and SQL (the Users table).
const EXPECTED_STEPS: [&str; 4] = ["knowledge_sop", "knowledge_errors", "data_kql", "data_sql"];

fn step_ids(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.step_id.as_str()).collect()
}

/// `optimize_plan` of a plan of `n` steps in layers of 8, each depending on up to 3 steps of
/// the layer before (the shape of [`dag`]).
pub fn optimize_body(n: usize) -> String {
    let steps: Vec<serde_json::Value> = dag(n)
        .iter()
        .map(|s| {
            serde_json::json!({"step_id": s.step_id, "agent_type": "data", "agent_id": "kql_data",
                "depends_on": s.depends_on, "parameters": {"platform": "kql", "query": "count sign-ins"}})
        })
        .collect();
    serde_json::json!({"task_id": "opt", "action": "optimize_plan", "parameters": {"plan": {"steps": steps}}})
        .to_string()
}

/// Parse → plan → serialize, as the HTTP handler does.
async fn handle(planner: &Planner, rosters: &RosterCache, body: &[u8]) -> Vec<u8> {
    let task = Task::parse(body, rosters).expect("task");
    let (task_id, action) = (task.request.task_id.clone(), task.request.action.name());
    let planned = planner.plan(task.request).await.expect("plan");
    let result = TaskResult::new(planned, action, None);
    serde_json::to_vec(&TaskResponse::completed(
        Some(task_id),
        "workflow_planner",
        result,
    ))
    .expect("serialize")
}

/// A planner whose model (an Ollama API faked by wiremock, reached by the real client over
/// HTTP) has answered `query` once, so that every plan of it after is a cache hit: the load
/// test's cache-hit path without the network stack. Keep the server alive while planning.
fn cached_planner(
    query: &str,
    ctx: &Arc<Roster>,
) -> (Planner, MockServer, tokio::runtime::Runtime) {
    // Its own runtime, with the I/O and timer drivers the HTTP client needs; the other benches
    // keep their bare one.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (planner, server) = rt.block_on(async {
        let server = MockServer::start().await;
        let answer = serde_json::json!({"data": true, "p": ["kql", "sql"], "i": "investigation", "error": true});
        Mock::given(method("POST"))
            .and(path("/api/generate"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "model": "llama3.1:8b", "created_at": "2026-11-27T10:00:00Z",
                "response": answer.to_string(), "done": true, "done_reason": "stop",
                "total_duration": 900000000u64, "prompt_eval_count": 210, "eval_count": 30
            })))
            .expect(1)
            .mount(&server)
            .await;
        let mut settings = Settings::for_tests();
        settings.llm.provider = planner::config::Provider::Ollama;
        settings.llm.ollama_host = format!("{}/", server.uri()).parse().expect("url");
        settings.cache.enabled = true;
        let advisor = planner::llm::advisor::Advisor::from_settings(&settings.llm, &settings.cache)
            .expect("model settings")
            .expect("a model is configured");
        (
            Planner::new(&settings, Some(std::sync::Arc::new(advisor))),
            server,
        )
    });
    let source = |planner: &Planner| {
        let planned = rt
            .block_on(planner.plan(Request::create_plan("warm", query, ctx.clone())))
            .expect("plan");
        assert_eq!(step_ids(&planned.plan.steps), EXPECTED_STEPS);
        planned.analysis.expect("analysis").source
    };
    assert_eq!(source(&planner), AnalysisSource::Llm, "the model answered");
    assert_eq!(
        source(&planner),
        AnalysisSource::Cache,
        "and its answer is cached"
    );
    (planner, server, rt)
}

fn pipeline(c: &mut Criterion) {
    let settings = Settings::for_tests();
    let planner = Planner::new(&settings, None);
    planner::tokens::warm();
    let (query, ctx) = context();
    let rosters = RosterCache::new(16);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let opts = AnalyzerOptions::from(&settings.planner);
    let gen_opts = GeneratorOptions::from(&settings.planner);
    let est_opts = EstimatorOptions::from(&settings.planner);
    // One plan before any is timed (the vocabularies are compiled on first use), and it must be
    // the plan this request gets: a bench of a broken planner measures nothing.
    let planned = rt
        .block_on(planner.plan(Request::create_plan("warm", &query, ctx.clone())))
        .expect("plan");
    assert_eq!(step_ids(&planned.plan.steps), EXPECTED_STEPS);
    assert_eq!(planned.plan.parallel_execution_groups.len(), 2);
    let optimized: serde_json::Value = serde_json::from_slice(&rt.block_on(handle(
        &planner,
        &rosters,
        optimize_body(50).as_bytes(),
    )))
    .expect("json");
    assert_eq!(optimized["status"], "completed", "{optimized}");
    assert_eq!(
        optimized["result"]["plan"]["steps"]
            .as_array()
            .map(Vec::len),
        Some(50),
        "{optimized}"
    );

    let mut g = c.benchmark_group("pipeline");
    g.bench_function("create_plan_keyword", |b| {
        b.iter(|| {
            rt.block_on(planner.plan(Request::create_plan(
                "bench",
                black_box(&query),
                ctx.clone(),
            )))
            .expect("plan")
        })
    });
    let (cached, _model, cached_rt) = cached_planner(&query, &ctx);
    g.bench_function("create_plan_cache_hit", |b| {
        b.iter(|| {
            cached_rt
                .block_on(cached.plan(Request::create_plan(
                    "bench",
                    black_box(&query),
                    ctx.clone(),
                )))
                .expect("plan")
        })
    });
    g.bench_function("json_in_create_plan_json_out", |b| {
        b.iter(|| rt.block_on(handle(&planner, &rosters, black_box(REQUEST.as_bytes()))))
    });
    let opt50 = optimize_body(50);
    g.bench_function("json_in_optimize_plan_50_steps_json_out", |b| {
        b.iter(|| rt.block_on(handle(&planner, &rosters, black_box(opt50.as_bytes()))))
    });
    g.finish();

    let mut g = c.benchmark_group("stage");
    g.bench_function("parse_request", |b| {
        b.iter(|| Task::parse(black_box(REQUEST.as_bytes()), &rosters).expect("task"))
    });
    g.bench_function("tokenize", |b| b.iter(|| Text::new(black_box(&query))));
    g.bench_function("lexicon_scan", |b| {
        b.iter(|| {
            let mut text = Text::new(black_box(&query));
            lexicon().correct(&mut text);
            lexicon().scan(&text, &text.forms())
        })
    });
    g.bench_function("keyword_analysis", |b| {
        b.iter(|| analyze_text(&mut Text::new(black_box(&query)), &ctx, &opts))
    });
    let mut text = Text::new(&query);
    let analysis = analyze_text(&mut text, &ctx, &opts).analysis;
    g.bench_function("select", |b| {
        b.iter(|| select(&text, black_box(&analysis), &ctx))
    });
    let selection = select(&text, &analysis, &ctx);
    g.bench_function("generate", |b| {
        b.iter(|| generate(&query, black_box(&analysis), &selection, &gen_opts))
    });
    let steps = generate(&query, &analysis, &selection, &gen_opts);
    assert_eq!(step_ids(&steps), EXPECTED_STEPS);
    g.bench_function("layer", |b| {
        b.iter(|| layer(black_box(&steps), 5).expect("acyclic"))
    });
    let groups = layer(&steps, 5).expect("acyclic");
    // Fresh steps for every run: a plan's analysis JSON keeps its token count once counted
    // (what a cache hit reuses), and the estimate of a new plan counts it.
    g.bench_function("estimate", |b| {
        b.iter_batched(
            || generate(&query, &analysis, &selection, &gen_opts),
            |steps| estimate(black_box(&steps), &groups, 0, &est_opts),
            BatchSize::SmallInput,
        )
    });
    let scope = planner::llm::cache::KeyScope {
        provider: "ollama",
        model: "llama3.1:8b",
        prompt_version: "v1",
    };
    g.bench_function("answer_cache_key", |b| {
        b.iter(|| planner::llm::cache::key(scope, black_box(&query), &ctx))
    });
    let planned = rt
        .block_on(planner.plan(Request::create_plan("bench", &query, ctx.clone())))
        .expect("plan");
    let result = TaskResult::new(planned, "create_plan", None);
    let response = TaskResponse::completed(Some("bench".into()), "workflow_planner", result);
    g.bench_function("serialize_response", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8 * 1024);
            serde_json::to_writer(&mut out, black_box(&response)).expect("serialize");
            out
        })
    });
    g.finish();

    // Keyword analysis should grow linearly with the request: 100 characters, 1 KB, the 4 KB limit.
    let mut g = c.benchmark_group("keyword_analysis_by_length");
    let sentence = "Show failed sign-ins from Azure AD in the last day and correlate them with firewall blocks in Splunk. ";
    for len in [100usize, 1000, 4000] {
        let text: String = sentence
            .repeat(len / sentence.len() + 1)
            .chars()
            .take(len)
            .collect();
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::from_parameter(len), &text, |b, text| {
            b.iter(|| analyze_text(&mut Text::new(black_box(text)), &ctx, &opts))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tokens");
    let json = serde_json::to_string(&response).expect("json");
    g.bench_function("fast_count_response_json", |b| {
        b.iter(|| planner::tokens::count(black_box(&json)))
    });
    g.bench_function("tiktoken_count_response_json", |b| {
        b.iter(|| {
            planner::tokens::encoder()
                .encode_ordinary(black_box(&json))
                .len()
        })
    });
    g.finish();
}

/// A layered DAG of `n` steps: width 8 per layer, each step depending on up to 3 steps of the
/// previous layer (so E is about 3V).
fn dag(n: usize) -> Vec<Step> {
    const WIDTH: usize = 8;
    (0..n)
        .map(|i| {
            let layer = i / WIDTH;
            let depends_on = if layer == 0 {
                Vec::new()
            } else {
                let prev = (layer - 1) * WIDTH;
                (0..3)
                    .map(|k| format!("s{}", prev + (i + k) % WIDTH))
                    .collect()
            };
            Step {
                step_id: format!("s{i}"),
                agent_type: AgentType::Data,
                agent_id: "agent".into(),
                action: "generate_query".into(),
                depends_on,
                parameters: Parameters::default(),
                timeout_seconds: 60,
            }
        })
        .collect()
}

fn optimizer(c: &mut Criterion) {
    let mut g = c.benchmark_group("optimizer_layer");
    for n in [10usize, 100, 1_000, 10_000] {
        let steps = dag(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &steps, |b, steps| {
            b.iter(|| layer(black_box(steps), 5).expect("acyclic"))
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline, optimizer);
criterion_main!(benches);
