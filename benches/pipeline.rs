//! Criterion benches: the whole keyword pipeline per request (no LLM), its stages, and the
//! optimizer on growing DAGs. Run: `cargo bench --bench pipeline`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use planner::config::Settings;
use planner::domain::{AgentType, Step};
use planner::pipeline::analyzer::{AnalyzerOptions, analyze};
use planner::pipeline::optimizer::layer;
use planner::planner::Planner;
use planner::wire::{CreatePlanParams, from_value};

const REQUEST: &str = include_str!("../tests/data/bench_request.json");

fn context() -> (String, planner::domain::PlanningContext) {
    let v: serde_json::Value = serde_json::from_str(REQUEST).expect("bench request is JSON");
    let p: CreatePlanParams =
        from_value(v["parameters"].clone(), "parameters").expect("valid parameters");
    let (ctx, _) = p.execution_context.unwrap_or_default().into_context();
    (p.natural_language, ctx)
}

fn pipeline(c: &mut Criterion) {
    let (query, ctx) = context();
    let settings = Settings::for_tests();
    let planner = Planner::new(&settings, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("pipeline");
    g.bench_function("create_plan_keyword", |b| {
        b.iter(|| {
            rt.block_on(planner.create_plan("bench", black_box(&query), &ctx, Vec::new()))
                .expect("plan")
        })
    });
    g.bench_function("parse_and_create_plan_keyword", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(REQUEST)).expect("json");
            let p: CreatePlanParams =
                from_value(v["parameters"].clone(), "parameters").expect("params");
            let (ctx, w) = p.execution_context.unwrap_or_default().into_context();
            let result = rt
                .block_on(planner.create_plan("bench", &p.natural_language, &ctx, w))
                .expect("plan");
            serde_json::to_vec(&result).expect("serialise")
        })
    });
    g.bench_function("keyword_analysis", |b| {
        let opts = AnalyzerOptions::from(&settings.planner);
        b.iter(|| analyze(black_box(&query), &ctx, &opts))
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
                parameters: Default::default(),
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
