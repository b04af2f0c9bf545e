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
use crate::domain::PlanningContext;
use crate::http::{self, AppState};
use crate::planner::{Planner, VERSION};
use crate::security::auth::Auth;
use crate::telemetry;
use crate::wire::{ExecutionContext, TaskResponse};

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

/// The planner the settings describe, with its model advisor when one is configured (sharing
/// answers through Redis when `PLANNER_REDIS_URL` is set).
pub fn build_planner(settings: &Settings) -> Result<Arc<Planner>, String> {
    build_planner_with(settings, crate::shared::Redis::from_settings(settings)?)
}

/// As [`build_planner`], sharing answers through `redis`.
pub fn build_planner_with(
    settings: &Settings,
    redis: Option<Arc<crate::shared::Redis>>,
) -> Result<Arc<Planner>, String> {
    let mut advisor = crate::llm::Advisor::from_settings(&settings.llm, &settings.cache)?;
    if let (Some(advisor), Some(redis)) = (advisor.as_mut(), redis) {
        advisor.share_answers(redis, settings.cache.ttl);
    }
    let gate = if settings.policy.enabled {
        let p = &settings.policy;
        let gate = crate::security::policy::Gate::load(&p.config_path, &p.mode)
            .map_err(|e| format!("policy (POLICY_CONFIG_PATH): {e}"))?;
        Some(Arc::new(gate))
    } else {
        None
    };
    Ok(Arc::new(
        Planner::new(settings, advisor.map(Arc::new)).with_gate(gate),
    ))
}

/// `planner serve`: serve until SIGTERM or SIGINT, then drain for the grace period.
pub async fn serve(mut settings: Settings) -> ExitCode {
    telemetry::init_tracing(&settings.log);
    if settings.planner.strategy == crate::config::Strategy::Legacy {
        // The old mock never asked a model.
        settings.llm.provider = crate::config::Provider::None;
        tracing::info!("strategy legacy: answering as the old mock");
    }
    let redis = match crate::shared::Redis::from_settings(&settings) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "invalid redis configuration");
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let planner = match build_planner_with(&settings, redis.clone()) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Build the tokenizer, the vocabularies' automaton and the other lazy tables now, by
    // planning one request, rather than on the first caller's request.
    crate::tokens::warm();
    if let Ok((ctx, _)) = read_context(None) {
        let keyword_only = Planner::new(&settings, None);
        let _ = keyword_only
            .create_plan(
                "warm-up",
                "failed sign-ins in kql and the sop",
                &ctx,
                Vec::new(),
            )
            .await;
    }
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen");
            eprintln!("planner: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match planner.advisor() {
        Some(advisor) => {
            tracing::info!(
                model = advisor.model(),
                prompt_version = advisor.prompt_version(),
                "model analysis enabled"
            );
            if settings.llm.warmup {
                let advisor = advisor.clone();
                tokio::spawn(async move { advisor.warm_up().await });
            }
        }
        None => tracing::info!("no model configured; keyword analysis only"),
    }
    let auth = match &settings.auth.keys_file {
        Some(path) => match Auth::load(path, settings.auth.protect_probes) {
            Ok(a) => Some(Arc::new(a)),
            Err(e) => {
                tracing::error!(error = %e, "invalid keys file");
                eprintln!("planner: configuration: PLANNER_API_KEYS_FILE: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        None => None,
    };
    tokio::spawn(reload_on_hangup(auth.clone(), planner.gate().cloned()));
    let state = AppState::with_redis(planner, telemetry::install_metrics(), &settings, redis)
        .with_auth(auth, &settings);
    if let Some(limiter) = state.limiter.clone() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.shrink();
            }
        });
    }
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    tracing::info!(addr = %local, version = VERSION, "planner listening");
    let grace = settings.server.shutdown_grace;
    match http::serve(listener, http::router(state), shutdown_signal(), grace).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}

/// On SIGHUP, re-reads the policy file, then the keys file; a file that does not parse keeps
/// what is in force, and the log says why.
async fn reload_on_hangup(
    auth: Option<Arc<Auth>>,
    gate: Option<Arc<crate::security::policy::Gate>>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangup.recv().await.is_some() {
        // The policy first: a caller whose new key already works is planned for under the new
        // policy, never under the one the same reload replaces.
        if let Some(gate) = &gate {
            match gate.reload() {
                Ok(()) => tracing::info!(mode = gate.mode(), "policy reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "policy not reloaded; keeping the policy in force")
                }
            }
        }
        if let Some(auth) = &auth {
            match auth.reload() {
                Ok(n) => tracing::info!(callers = n, "keys file reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "keys file not reloaded; keeping the keys in use")
                }
            }
        }
    }
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
    let ctx = match read_context(context) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("planner: --context: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let planner = match build_planner(&settings) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (ctx, warnings) = ctx;
    let task_id = "cli";
    let result = match planner.create_plan(task_id, query, &ctx, warnings).await {
        Ok(result) => result,
        Err(e) => {
            eprintln!("planner: {}", e.message);
            return ExitCode::from(EXIT_USAGE);
        }
    };
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

/// The planning context of the execution context in `path` (or the standard roster), and its
/// warnings.
fn read_context(path: Option<&Path>) -> Result<(PlanningContext, Vec<String>), String> {
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
    ctx.into_context("execution_context").map_err(|e| e.message)
}

/// `planner compare`: both deployments over a query file; the table (or JSON) on stdout.
pub async fn compare(
    queries: &Path,
    opts: &crate::rollout::compare::Options,
    as_json: bool,
) -> ExitCode {
    use crate::rollout::compare;
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
