//! What every handler shares, and how it is made: [`AppState::load`] reads what the settings
//! name (the keys and policy files, the prompts) and makes the clients (nothing connects);
//! [`AppState::new`] only assembles; the work that runs beside the requests is handed back as
//! [`Background`], which `serve` starts.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use thiserror::Error;

use crate::a2a::store::{MemoryStore, RedisTaskStore, StoreLimits, TaskStore};
use crate::a2a::{A2a, AgentCard};
use crate::config::{ConfigError, Settings, Strategy};
use crate::llm::Advisor;
use crate::planner::Planner;
use crate::redis::Redis;
use crate::rollout::shadow::{Shadow, ShadowWorker};
use crate::security::auth::Auth;
use crate::security::limit::Limiter;
use crate::security::policy::Gate;
use crate::wire::RosterCache;

use super::task::TaskMetrics;

/// Rosters kept by their JSON (an orchestrator sends one; a few cover a planner that several
/// share).
const ROSTERS_KEPT: u64 = 64;

/// Why the planner cannot start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("configuration: {0}")]
    Setting(String),
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: String, error: std::io::Error },
}

impl StartError {
    /// The process's exit code: `EX_CONFIG` (78) for a setting or file that is wrong, 1 else.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) | StartError::Setting(_) => 78,
            StartError::Listen { .. } => 1,
        }
    }
}

/// The limits the edge enforces, from the server settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
}

/// What every handler shares, behind one `Arc` (axum clones the state for every request). Reads
/// go through `Deref` to [`AppShared`].
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppShared>);

impl std::ops::Deref for AppState {
    type Target = AppShared;
    fn deref(&self) -> &AppShared {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug)]
pub struct AppShared {
    pub planner: Arc<Planner>,
    pub metrics: Option<PrometheusHandle>,
    /// Answered as `agent_id` in every task response, failures included.
    pub agent_id: Arc<str>,
    pub limits: Limits,
    /// The rosters read lately, by their JSON.
    pub rosters: RosterCache,
    /// The standard A2A protocol's card and task store.
    pub a2a: A2a,
    /// How `/a2a/task` plans: the planner, or the old mock's answers.
    pub strategy: Strategy,
    /// Where copies of `/a2a/task` requests go for comparison, when configured.
    pub shadow: Option<Shadow>,
    /// The tier replicas share, when configured.
    pub redis: Option<Arc<Redis>>,
    /// Caller authentication, when a keys file is configured.
    pub auth: Option<Arc<Auth>>,
    /// Per-caller rate limits, when configured.
    pub limiter: Option<Arc<Limiter>>,
    /// The completed-task metrics, registered once.
    pub task_metrics: TaskMetrics,
}

/// The work that runs beside the requests, started by [`Background::spawn`]: the shadow sender,
/// the rate limiter's upkeep, the reload on SIGHUP, the model's warm-up.
#[derive(Debug, Default)]
pub struct Background {
    shadow: Option<ShadowWorker>,
    limiter: Option<Arc<Limiter>>,
    auth: Option<Arc<Auth>>,
    gate: Option<Arc<Gate>>,
    warm_up: Option<Arc<Advisor>>,
}

impl AppState {
    /// Everything `settings` describe: files read, clients made, nothing connected or started.
    pub fn load(
        settings: &Settings,
        metrics: Option<PrometheusHandle>,
    ) -> Result<(AppState, Background), StartError> {
        let redis = Redis::from_settings(&settings.redis).map_err(StartError::Setting)?;
        let planner =
            Planner::from_settings(settings, redis.clone()).map_err(StartError::Setting)?;
        let auth = match &settings.auth.keys_file {
            Some(path) => Some(Arc::new(
                Auth::load(path, settings.auth.protect_probes)
                    .map_err(|e| StartError::Setting(format!("PLANNER_API_KEYS_FILE: {e}")))?,
            )),
            None => None,
        };
        let shadow = Shadow::new(&settings.shadow).map_err(StartError::Setting)?;
        Ok(AppState::new(
            settings,
            Arc::new(planner),
            auth,
            redis,
            shadow,
            metrics,
        ))
    }

    /// The state made of these parts; no I/O, nothing started.
    pub fn new(
        settings: &Settings,
        planner: Arc<Planner>,
        auth: Option<Arc<Auth>>,
        redis: Option<Arc<Redis>>,
        shadow: Option<(Shadow, ShadowWorker)>,
        metrics: Option<PrometheusHandle>,
    ) -> (AppState, Background) {
        let a = &settings.a2a;
        let local = MemoryStore::new(StoreLimits {
            max_tasks: a.task_capacity.get(),
            max_bytes: a.task_max_bytes,
            ttl: a.task_ttl,
        });
        let store: Arc<dyn TaskStore> = match &redis {
            Some(r) => Arc::new(RedisTaskStore::new(
                r.clone(),
                local,
                a.task_ttl,
                a.task_capacity.get(),
            )),
            None => Arc::new(local),
        };
        let limiter = Limiter::new(settings.auth.rate_per_second, settings.auth.rate_burst);
        let (shadow, shadow_worker) = shadow.unzip();
        let background = Background {
            shadow: shadow_worker,
            limiter: limiter.clone(),
            auth: auth.clone(),
            gate: planner.gate().cloned(),
            warm_up: planner.advisor().filter(|_| settings.llm.warmup).cloned(),
        };
        let s = &settings.server;
        let state = AppState(Arc::new(AppShared {
            agent_id: settings.agent.id.as_str().into(),
            limits: Limits {
                max_body_bytes: s.max_body_bytes,
                max_in_flight: s.max_in_flight.get(),
                request_timeout: s.request_timeout,
            },
            rosters: RosterCache::new(ROSTERS_KEPT),
            a2a: A2a::new(AgentCard::new(settings, auth.is_some()), store),
            strategy: settings.planner.strategy,
            planner,
            metrics,
            shadow,
            redis,
            auth,
            limiter,
            task_metrics: TaskMetrics::new(),
        }));
        (state, background)
    }
}

impl Background {
    /// Starts the work on the current runtime.
    pub fn spawn(self) {
        if let Some(worker) = self.shadow {
            tokio::spawn(worker.run());
        }
        if let Some(limiter) = self.limiter {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    limiter.shrink();
                }
            });
        }
        if self.auth.is_some() || self.gate.is_some() {
            tokio::spawn(reload_on_hangup(self.auth, self.gate));
        }
        if let Some(advisor) = self.warm_up {
            tokio::spawn(async move { advisor.warm_up().await });
        }
    }
}

/// On SIGHUP, re-reads the policy file, then the keys file; a file that does not parse keeps
/// what is in force, and the log says why.
async fn reload_on_hangup(auth: Option<Arc<Auth>>, gate: Option<Arc<Gate>>) {
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
