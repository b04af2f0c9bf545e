//! `planner`: parse the command line, load the settings, run one command of [`planner::cli`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mimalloc::MiMalloc;
use planner::cli;
use planner::config::Settings;

/// A plan is many small allocations freed together; mimalloc's per-thread free lists keep them
/// off glibc's shared arenas.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

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
    /// Send each query of a labelled JSON-lines file to two deployments and compare the plans:
    /// accuracy where labelled, latency p50/p95, agreement, and where they differ.
    Compare {
        /// Base URL of deployment A (e.g. the old mock or the router).
        #[arg(long)]
        a: String,
        /// Base URL of deployment B (e.g. the new planner).
        #[arg(long)]
        b: String,
        /// The query file (the format of the eval sets: id, query, platforms, error_knowledge…).
        queries: PathBuf,
        /// Print the report as JSON (every case included).
        #[arg(long)]
        json: bool,
        /// Requests in flight at once (per side).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds to wait for one answer.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
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
    let mut overrides: Vec<(&str, String)> = Vec::new();
    if let Command::Serve { port, host } = &cli.command {
        overrides.extend(port.map(|p| ("server.port", p.to_string())));
        overrides.extend(host.clone().map(|h| ("server.host", h)));
    }
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("planner: {e}");
            return ExitCode::from(cli::EXIT_CONFIG);
        }
    };
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("planner: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => cli::serve(settings).await,
            Command::Plan { query, context } => {
                cli::plan(settings, &query, context.as_deref()).await
            }
            Command::Healthcheck { url } => cli::healthcheck(settings.server.port, url).await,
            Command::Compare {
                a,
                b,
                queries,
                json,
                concurrency,
                timeout,
            } => cli::compare(a, b, &queries, json, concurrency, timeout).await,
        }
    })
}
