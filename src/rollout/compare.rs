//! `planner compare --a URL --b URL QUERIES.jsonl`: the rollout review in one command. Sends each
//! query of a labelled file (the format of the eval sets: `id`, `query`, optional `platforms`,
//! `error_knowledge`, `available`, `schema_hints`, `data_agents`) as a `create_plan` task to two
//! deployments, and reports per side: completed tasks, accuracy where labels exist, latency
//! p50/p95, mean steps; between them: agreement on status, platforms, domains and step count, and
//! the requests where they differ.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{Difference, PlanSummary, differences};

/// One line of a query file.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub query: String,
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    #[serde(default)]
    pub error_knowledge: Option<bool>,
    #[serde(default)]
    pub available: Option<Vec<String>>,
    #[serde(default)]
    pub schema_hints: Option<Value>,
    #[serde(default)]
    pub data_agents: Option<Vec<Value>>,
}

/// How to run a comparison.
#[derive(Debug, Clone)]
pub struct Options {
    pub a: String,
    pub b: String,
    pub concurrency: usize,
    pub timeout: Duration,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
}

/// One side's answer to one case.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    #[serde(flatten)]
    pub summary: PlanSummary,
    pub latency_ms: f64,
    /// Whether the plan's data platforms equal the labelled ones (when labelled).
    pub platforms_correct: Option<bool>,
    /// Whether the plan has an errors knowledge step exactly when labelled so.
    pub error_knowledge_correct: Option<bool>,
}

/// One case on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub query: String,
    pub a: Answer,
    pub b: Answer,
    pub differences: Vec<Difference>,
}

/// One side's totals.
#[derive(Debug, Clone, Serialize)]
pub struct SideReport {
    pub url: String,
    pub completed: usize,
    pub platform_accuracy: Option<f64>,
    pub error_knowledge_accuracy: Option<f64>,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub mean_steps: f64,
}

/// Agreement rates between the sides, over all cases.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub status: f64,
    pub platforms: f64,
    pub domains: f64,
    pub step_count: f64,
    pub all: f64,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cases: usize,
    pub a: SideReport,
    pub b: SideReport,
    pub agreement: Agreement,
    pub rows: Vec<Row>,
}

/// Reads a query file: one JSON object per non-empty line.
pub fn read_cases(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))
        })
        .collect()
}

/// The eval sets' standard roster (sop/errors/wiki knowledge, kql/spl/sql data), narrowed by
/// `available`, or the case's own data agents.
fn request_for(case: &Case, n: usize) -> Value {
    let knowledge = json!([
        {"agent_id": "sop_knowledge", "agent_name": "SOP Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "sop"},
        {"agent_id": "error_knowledge", "agent_name": "Error Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "errors"},
        {"agent_id": "wiki_knowledge", "agent_name": "Wiki Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "wiki"},
    ]);
    let all_data = [
        json!({"agent_id": "kql_data", "agent_name": "KQL Data Agent (Azure Log Analytics)", "capabilities": ["generate_query"], "platform": "kql"}),
        json!({"agent_id": "spl_data", "agent_name": "SPL Data Agent (Splunk)", "capabilities": ["generate_query"], "platform": "spl"}),
        json!({"agent_id": "sql_data", "agent_name": "SQL Data Agent (relational database)", "capabilities": ["generate_query"], "platform": "sql"}),
    ];
    let data: Vec<Value> = match &case.data_agents {
        Some(agents) => agents.clone(),
        None => {
            let offered = case
                .available
                .clone()
                .unwrap_or_else(|| vec!["kql".into(), "spl".into(), "sql".into()]);
            all_data
                .into_iter()
                .filter(|a| offered.iter().any(|p| a["platform"] == p.as_str()))
                .collect()
        }
    };
    json!({
        "task_id": format!("compare_{}_{n}", case.id),
        "agent_id": "workflow_planner",
        "action": "create_plan",
        "parameters": {
            "natural_language": case.query,
            "execution_context": {
                "journey_id": format!("compare_{}", case.id),
                "current_state": "planning",
                "state_history_count": 0,
                "available_agents": {"knowledge": knowledge, "data": data},
                "user_context": {},
                "schema_hints": case.schema_hints.clone().unwrap_or_else(|| json!({})),
            }
        }
    })
}

async fn ask(client: &reqwest::Client, base: &str, body: &Value, case: &Case) -> Answer {
    let url = format!("{}/a2a/task", base.trim_end_matches('/'));
    let started = Instant::now();
    let (status, value) = match client.post(&url).json(body).send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
        Err(e) => (
            0,
            json!({"status": format!("unreachable: {}", short(&e.to_string()))}),
        ),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let summary = PlanSummary::of(status, &value);
    let completed = summary.status == "completed";
    let platforms_correct = case.platforms.as_ref().map(|labels| {
        completed && summary.platforms == labels.iter().cloned().collect::<BTreeSet<_>>()
    });
    let error_knowledge_correct = case
        .error_knowledge
        .map(|label| completed && summary.domains.contains("errors") == label);
    Answer {
        summary,
        latency_ms,
        platforms_correct,
        error_knowledge_correct,
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Runs every case against both sides.
pub async fn run(cases: Vec<Case>, opts: &Options) -> Result<Report, String> {
    let client = reqwest::Client::builder()
        .timeout(opts.timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let bar = if opts.progress {
        let bar = indicatif::ProgressBar::new(cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (n, case) in cases.into_iter().enumerate() {
        let (client, slots, a, b) = (
            client.clone(),
            slots.clone(),
            opts.a.clone(),
            opts.b.clone(),
        );
        let bar = bar.clone();
        set.spawn(async move {
            let _permit = slots.acquire_owned().await;
            let body = request_for(&case, n);
            let (ra, rb) = tokio::join!(
                ask(&client, &a, &body, &case),
                ask(&client, &b, &body, &case)
            );
            bar.inc(1);
            let differences = differences(&ra.summary, &rb.summary);
            (
                n,
                Row {
                    id: case.id,
                    query: case.query,
                    a: ra,
                    b: rb,
                    differences,
                },
            )
        });
    }
    let mut rows = Vec::new();
    while let Some(joined) = set.join_next().await {
        rows.push(joined.map_err(|e| e.to_string())?);
    }
    bar.finish_and_clear();
    rows.sort_by_key(|(n, _)| *n);
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    Ok(report(rows, opts))
}

fn report(rows: Vec<Row>, opts: &Options) -> Report {
    let n = rows.len().max(1) as f64;
    let rate = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
    let agreement = Agreement {
        status: rate(&|r| !r.differences.contains(&Difference::Status)),
        platforms: rate(&|r| !r.differences.contains(&Difference::Platforms)),
        domains: rate(&|r| !r.differences.contains(&Difference::Domains)),
        step_count: rate(&|r| !r.differences.contains(&Difference::StepCount)),
        all: rate(&|r| r.differences.is_empty()),
    };
    let side = |url: &str, pick: &dyn Fn(&Row) -> &Answer| {
        let answers: Vec<&Answer> = rows.iter().map(pick).collect();
        let accuracy = |f: &dyn Fn(&Answer) -> Option<bool>| {
            let labelled: Vec<bool> = answers.iter().filter_map(|a| f(a)).collect();
            (!labelled.is_empty())
                .then(|| labelled.iter().filter(|c| **c).count() as f64 / labelled.len() as f64)
        };
        let mut latencies: Vec<f64> = answers.iter().map(|a| a.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        SideReport {
            url: url.to_string(),
            completed: answers
                .iter()
                .filter(|a| a.summary.status == "completed")
                .count(),
            platform_accuracy: accuracy(&|a| a.platforms_correct),
            error_knowledge_accuracy: accuracy(&|a| a.error_knowledge_correct),
            latency_p50_ms: percentile(&latencies, 0.50),
            latency_p95_ms: percentile(&latencies, 0.95),
            mean_steps: answers.iter().map(|a| a.summary.steps as f64).sum::<f64>()
                / answers.len().max(1) as f64,
        }
    };
    Report {
        cases: rows.len(),
        a: side(&opts.a, &|r| &r.a),
        b: side(&opts.b, &|r| &r.b),
        agreement,
        rows,
    }
}

/// The `q` quantile of sorted `values` (nearest rank); 0 when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The report as a table for people.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
    let _ = writeln!(out, "{:<28} {:<34} {:<34}", "", "A", "B");
    let _ = writeln!(out, "{:<28} {:<34} {:<34}", "deployment", r.a.url, r.b.url);
    let rows: [(&str, String, String); 6] = [
        (
            "completed",
            format!("{}/{}", r.a.completed, r.cases),
            format!("{}/{}", r.b.completed, r.cases),
        ),
        (
            "platform accuracy",
            opt(r.a.platform_accuracy),
            opt(r.b.platform_accuracy),
        ),
        (
            "error-knowledge accuracy",
            opt(r.a.error_knowledge_accuracy),
            opt(r.b.error_knowledge_accuracy),
        ),
        (
            "latency p50 (ms)",
            format!("{:.1}", r.a.latency_p50_ms),
            format!("{:.1}", r.b.latency_p50_ms),
        ),
        (
            "latency p95 (ms)",
            format!("{:.1}", r.a.latency_p95_ms),
            format!("{:.1}", r.b.latency_p95_ms),
        ),
        (
            "mean steps",
            format!("{:.2}", r.a.mean_steps),
            format!("{:.2}", r.b.mean_steps),
        ),
    ];
    for (name, a, b) in rows {
        let _ = writeln!(out, "{name:<28} {a:<34} {b:<34}");
    }
    let g = &r.agreement;
    let _ = writeln!(
        out,
        "\nagreement over {} requests: status {:.3}, platforms {:.3}, domains {:.3}, step count {:.3}, all {:.3}",
        r.cases, g.status, g.platforms, g.domains, g.step_count, g.all
    );
    let differing: Vec<&Row> = r
        .rows
        .iter()
        .filter(|row| !row.differences.is_empty())
        .collect();
    if !differing.is_empty() {
        let _ = writeln!(out, "\nwhere they differ ({}):", differing.len());
        for row in differing {
            let kinds: Vec<&str> = row.differences.iter().map(|d| d.as_str()).collect();
            let mark = |c: Option<bool>| match c {
                Some(true) => " ✓",
                Some(false) => " ✗",
                None => "",
            };
            let _ = writeln!(
                out,
                "  {:<6} {:<22} A: {}{}  B: {}{}  \"{}\"",
                row.id,
                kinds.join(","),
                row.a.summary.line(),
                mark(row.a.platforms_correct),
                row.b.summary.line(),
                mark(row.b.platforms_correct),
                row.query.chars().take(60).collect::<String>()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[3.0], 0.95), 3.0);
    }

    #[test]
    fn requests_follow_the_eval_roster() {
        let case: Case = serde_json::from_str(
            r#"{"id": "x1", "query": "q", "platforms": ["spl"], "available": ["spl", "sql"]}"#,
        )
        .unwrap();
        let body = request_for(&case, 3);
        let data = body["parameters"]["execution_context"]["available_agents"]["data"]
            .as_array()
            .unwrap();
        let platforms: Vec<&str> = data
            .iter()
            .map(|a| a["platform"].as_str().unwrap())
            .collect();
        assert_eq!(platforms, ["spl", "sql"]);
        assert_eq!(body["task_id"], "compare_x1_3");
    }
}
