//! The commands of the `planner` binary: `serve` until a signal, `plan` one query without a
//! server, and `healthcheck` a running instance (for container health checks without curl).
//! Each returns the process exit code; `main` only parses arguments and dispatches here.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::http::{self, AppState, StartError};
use crate::pipeline::roster::Roster;
use crate::planner::{Action, Planner, Request, VERSION};
use crate::telemetry;
use crate::wire::{ExecutionContext, ReadRoster, RosterCache, TaskResponse, TaskResult};

/// Exit code for an invalid configuration (sysexits `EX_CONFIG`).
pub const EXIT_CONFIG: u8 = 78;
/// Exit code for bad command-line input (a context file that cannot be read or parsed).
pub const EXIT_USAGE: u8 = 2;

/// The roster `plan` offers when no context file is given: sop/errors/wiki knowledge and
/// kql/spl/sql data agents, as the orchestrator typically sends it.
pub fn standard_agents() -> Value {
    json!({
        "planner": [{"agent_id": "workflow_planner", "agent_name": "Workflow Planner Agent", "capabilities": ["create_plan", "optimize_plan"]}],
        "knowledge": [
            {"agent_id": "sop_knowledge", "agent_name": "SOP Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "sop"},
            {"agent_id": "error_knowledge", "agent_name": "Error Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "errors"},
            {"agent_id": "wiki_knowledge", "agent_name": "Wiki Knowledge", "capabilities": ["retrieve_context"], "knowledge_domain": "wiki"}
        ],
        "data": [
            {"agent_id": "kql_data", "agent_name": "KQL Data Agent", "capabilities": ["generate_query"], "platform": "kql"},
            {"agent_id": "spl_data", "agent_name": "SPL Data Agent", "capabilities": ["generate_query"], "platform": "spl"},
            {"agent_id": "sql_data", "agent_name": "SQL Data Agent", "capabilities": ["generate_query"], "platform": "sql"}
        ]
    })
}

/// `planner serve`: serve until SIGTERM or SIGINT, then drain for the grace period.
pub async fn serve(mut settings: Settings) -> ExitCode {
    telemetry::init_tracing(&settings.log);
    if settings.planner.strategy == crate::config::Strategy::Legacy {
        // The old mock never asked a model.
        settings.llm.provider = crate::config::Provider::None;
        tracing::info!("strategy legacy: answering as the old mock");
    }
    match run(settings).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("planner: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Builds the app, starts its background work and serves until a signal.
async fn run(settings: Settings) -> Result<(), StartError> {
    let (state, background) = AppState::load(&settings, telemetry::install_metrics())?;
    // Build the tokenizer, the vocabularies' automaton and the other lazy tables now, by
    // planning one request, rather than on the first caller's request.
    crate::tokens::warm();
    let keyword_only = Planner::new(&settings, None);
    let warm_up = Request::create_plan(
        "warm-up",
        "failed sign-ins in kql and the sop",
        standard_roster(),
    );
    let _ = keyword_only.plan(warm_up).await;
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|error| StartError::Listen {
            addr: addr.clone(),
            error,
        })?;
    match state.planner.advisor() {
        Some(advisor) => tracing::info!(
            model = advisor.model(),
            prompt_version = advisor.prompt_version(),
            "model analysis enabled"
        ),
        None => tracing::info!("no model configured; keyword analysis only"),
    }
    background.spawn();
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    tracing::info!(addr = %local, version = VERSION, "planner listening");
    let grace = settings.server.shutdown_grace;
    http::serve(listener, http::router(state), shutdown_signal(), grace)
        .await
        .map_err(|error| StartError::Listen { addr: local, error })
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `planner plan QUERY [--context FILE]`: print the A2A response for one query.
pub async fn plan(mut settings: Settings, query: &str, context: Option<&Path>) -> ExitCode {
    settings.llm.warmup = false;
    let read = match read_context(context) {
        Ok(read) => read,
        Err(e) => {
            eprintln!("planner: --context: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let redis = match crate::redis::Redis::from_settings(&settings.redis) {
        Ok(redis) => redis,
        Err(e) => {
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let planner = match Planner::from_settings(&settings, redis) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let task_id = "cli";
    let request = Request {
        task_id: task_id.to_string(),
        caller: None,
        action: Action::CreatePlan {
            query: query.to_string(),
            roster: read.roster,
            warnings: read.warnings.to_vec(),
        },
    };
    let planned = match planner.plan(request).await {
        Ok(planned) => planned,
        Err(e) => {
            eprintln!("planner: {}", e.message);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = TaskResult::new(planned, "create_plan", None);
    let response = TaskResponse::completed(Some(task_id.into()), &settings.agent.id, result);
    match serde_json::to_string_pretty(&response) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("planner: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The standard roster ([`standard_agents`]), read.
pub fn standard_roster() -> Arc<Roster> {
    read_context(None).map(|r| r.roster).unwrap_or_default()
}

/// The roster of the execution context in `path` (or the standard roster), and its warnings.
fn read_context(path: Option<&Path>) -> Result<ReadRoster, String> {
    let value = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())?
        }
        None => json!({"available_agents": standard_agents()}),
    };
    let ctx: ExecutionContext =
        crate::wire::from_value(value, "execution_context").map_err(|e| e.message)?;
    ctx.read("execution_context", &RosterCache::new(1))
        .map_err(|e| e.message)
}

/// `planner compare`: deployments `a` and `b` over a query file, `concurrency` requests in
/// flight per side, `timeout` seconds for one answer; the table (or JSON) on stdout.
pub async fn compare(
    a: String,
    b: String,
    queries: &Path,
    as_json: bool,
    concurrency: usize,
    timeout: f64,
) -> ExitCode {
    use crate::rollout::compare;
    let opts = &compare::Options {
        a,
        b,
        concurrency,
        timeout: Duration::from_secs_f64(timeout.max(0.1)),
        progress: !as_json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let cases = match compare::read_cases(queries) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            eprintln!("planner: {} has no queries", queries.display());
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("planner: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let report = match compare::run(cases, opts).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("planner: compare: {e}");
            return ExitCode::FAILURE;
        }
    };
    if as_json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("planner: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", compare::render(&report));
    }
    ExitCode::SUCCESS
}

/// `planner healthcheck`: exit 0 when `GET /health` answers 200 within 3 s.
pub async fn healthcheck(port: u16, url: Option<String>) -> ExitCode {
    let base = url.unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(_) => return ExitCode::FAILURE,
    };
    let url = format!("{}/health", base.trim_end_matches('/'));
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("unhealthy: /health answered {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}
