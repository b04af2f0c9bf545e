//! `planner`: serve the A2A task API, plan one query from the command line, or check the health
//! of a running instance (for container health checks without curl).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use planner::config::Settings;
use planner::http::{self, AppState};
use planner::wire::{ExecutionContext, TaskResponse};
use tokio::net::TcpListener;

/// Exit code for an invalid configuration (sysexits EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "planner",
    version,
    about = "Planner agent: natural-language requests to execution plans"
)]
struct Cli {
    /// A TOML file of settings, applied over the defaults and under environment variables.
    #[arg(long, global = true, env = "PLANNER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve POST /a2a/task, /health, /ready and /metrics until SIGTERM or SIGINT.
    Serve {
        /// Port to listen on (overrides PLANNER_PORT).
        #[arg(long)]
        port: Option<u16>,
        /// Address to listen on (overrides PLANNER_HOST).
        #[arg(long)]
        host: Option<String>,
    },
    /// Plan one query and print the A2A response as JSON; no server needed.
    Plan {
        /// The natural-language request.
        query: String,
        /// A JSON file with the execution_context (available_agents, schema_hints, ...).
        /// Without it, the standard roster is offered: sop/errors/wiki knowledge, kql/spl/sql data.
        #[arg(long)]
        context: Option<PathBuf>,
    },
    /// Exit 0 if GET /health on a running instance answers 200, else 1.
    Healthcheck {
        /// Base URL of the instance (default: http://127.0.0.1:PLANNER_PORT).
        #[arg(long)]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides: Vec<(&str, String)> = match &cli.command {
        Command::Serve { port, host } => port
            .map(|p| ("server.port", p.to_string()))
            .into_iter()
            .chain(host.clone().map(|h| ("server.host", h)))
            .collect(),
        _ => Vec::new(),
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("planner: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("planner: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve(settings).await,
            Command::Plan { query, context } => plan(settings, &query, context).await,
            Command::Healthcheck { url } => healthcheck(&settings, url).await,
        }
    })
}

fn init_telemetry(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log.format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    } else {
        builder.init();
    }
}

fn install_metrics() -> Option<PrometheusHandle> {
    let buckets = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
    ];
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .ok()?;
    let handle = builder.install_recorder().ok()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            upkeep.run_upkeep();
        }
    });
    Some(handle)
}

async fn serve(settings: Settings) -> ExitCode {
    init_telemetry(&settings);
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    let grace = settings.shutdown_grace();
    let planner = match planner::build_planner(settings) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "invalid LLM configuration");
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Build the tokenizer now rather than on the first request.
    let _ = planner::pipeline::estimator::tokenizer();
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen");
            eprintln!("planner: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let llm = planner
        .llm()
        .map(|l| (l.clone(), planner.settings().llm.warmup));
    match &llm {
        Some((l, warm)) => {
            tracing::info!(model = l.prompt_version(), "model analysis enabled");
            if *warm {
                let l = l.clone();
                tokio::spawn(async move { l.warm_up().await });
            }
        }
        None => tracing::info!("no model configured; keyword analysis only"),
    }
    let app = http::router(AppState {
        planner,
        metrics: install_metrics(),
    });
    tracing::info!(addr = %local, version = planner::planner::VERSION, "planner listening");

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(http::serve(listener, app, async move {
        let _ = stop_rx.changed().await;
    }));
    shutdown_signal().await;
    tracing::info!(
        grace_s = grace.as_secs_f64(),
        "shutdown signal received; draining"
    );
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "server task failed");
            ExitCode::FAILURE
        }
        Err(_) => {
            tracing::warn!("grace period over; exiting with requests in flight");
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
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

const STANDARD_CONTEXT: &str = r#"{
  "available_agents": {
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
  }
}"#;

async fn plan(mut settings: Settings, query: &str, context: Option<PathBuf>) -> ExitCode {
    settings.llm.warmup = false;
    let text = match &context {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("planner: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => STANDARD_CONTEXT.to_string(),
    };
    let ctx: ExecutionContext = match serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| e.to_string())
        .and_then(|v| planner::wire::from_value(v, "execution_context").map_err(|e| e.message))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("planner: --context: {e}");
            return ExitCode::from(2);
        }
    };
    let agent_id = settings.agent.id.clone();
    let planner = match planner::build_planner(settings) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("planner: configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (ctx, warnings) = ctx.into_context();
    let task_id = "cli";
    let response = match planner.create_plan(task_id, query, &ctx, warnings).await {
        Ok(result) => TaskResponse {
            task_id: Some(task_id.into()),
            agent_id,
            status: "completed".into(),
            result: Some(result),
            error: None,
        },
        Err(e) => {
            eprintln!("planner: {}", e.message);
            return ExitCode::from(2);
        }
    };
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

async fn healthcheck(settings: &Settings, url: Option<String>) -> ExitCode {
    let base = url.unwrap_or_else(|| format!("http://127.0.0.1:{}", settings.server.port));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(_) => return ExitCode::FAILURE,
    };
    match client
        .get(format!("{}/health", base.trim_end_matches('/')))
        .send()
        .await
    {
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
