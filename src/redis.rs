//! The Redis client of the tier several replicas share (`PLANNER_REDIS_URL`): the answer cache
//! (`llm::cache`) and the A2A task store (`a2a::store::redis`) use it, so a model answer and a
//! task made on one replica are found on another.
//!
//! Redis is never on the critical path for long: every operation has a short deadline
//! (`PLANNER_REDIS_DEADLINE`, default 100 ms), and after a failure Redis is skipped for a
//! cool-down (one probe per second) while each replica keeps working alone: its moka cache, its
//! own task store. `/ready` and `planner_redis_up` say which mode a replica is in.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;

use crate::config::RedisSettings;

/// Keys are `PREFIX:answer:<hex>` and `PREFIX:task:<id>`, plus the ordered index `PREFIX:tasks`.
pub const PREFIX: &str = "planner";
/// Values larger than this are not shared (a model answer is ~200 bytes, a plan task ~10 KB).
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
/// How long Redis is skipped after a failure before the next attempt.
const COOL_DOWN: Duration = Duration::from_secs(1);

/// A Redis connection with a deadline per operation and a cool-down after failures.
pub struct Redis {
    pub(crate) conn: ConnectionManager,
    deadline: Duration,
    url: String,
    up: AtomicBool,
    /// Until when (ms since the epoch) operations are skipped.
    skip_until_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    started: Instant,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.url)
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish()
    }
}

/// Why Redis did not answer (down, slow, cooling down): the caller goes on without it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("redis unavailable: {0}")]
pub struct RedisError(pub String);

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What `/ready` reports about Redis.
#[derive(Debug, Clone, Serialize)]
pub struct RedisStatus {
    /// `shared` (answers and tasks shared through Redis) or `degraded` (this replica alone).
    pub mode: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Redis {
    /// The shared tier the settings ask for, if any (connected on first use).
    pub fn from_settings(settings: &RedisSettings) -> Result<Option<Arc<Redis>>, String> {
        match &settings.url {
            Some(url) => Redis::new(url, settings.deadline).map(Some),
            None => Ok(None),
        }
    }

    /// A client for `url` (connected lazily: the planner starts when Redis is down).
    pub fn new(url: &str, deadline: Duration) -> Result<Arc<Redis>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("PLANNER_REDIS_URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(deadline.max(Duration::from_millis(200))))
            .set_response_timeout(Some(deadline))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = client
            .get_connection_manager_lazy(config)
            .map_err(|e| format!("PLANNER_REDIS_URL: {e}"))?;
        metrics::gauge!("planner_redis_up").set(1.0);
        Ok(Arc::new(Redis {
            conn,
            deadline,
            url: redact(url),
            up: AtomicBool::new(true),
            skip_until_ms: AtomicU64::new(0),
            last_error: Mutex::new(None),
            started: Instant::now(),
        }))
    }

    /// Whether operations reach Redis now.
    pub fn status(&self) -> RedisStatus {
        let up = self.up.load(Ordering::Relaxed);
        RedisStatus {
            mode: if up { "shared" } else { "degraded" },
            url: self.url.clone(),
            last_error: if up {
                None
            } else {
                self.last_error.lock().ok().and_then(|e| e.clone())
            },
        }
    }

    /// Runs `op` within the deadline, unless Redis is cooling down after a failure.
    pub(crate) async fn run<T, F>(&self, op_name: &'static str, op: F) -> Result<T, RedisError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return Err(RedisError("redis is cooling down after a failure".into()));
        }
        let result = match tokio::time::timeout(self.deadline, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.deadline.as_millis())),
        };
        match result {
            Ok(v) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    tracing::info!("redis reachable again: sharing answers and tasks");
                    metrics::gauge!("planner_redis_up").set(1.0);
                }
                Ok(v)
            }
            Err(e) => {
                metrics::counter!("planner_redis_errors_total", "op" => op_name).increment(1);
                self.skip_until_ms
                    .store(now_ms() + COOL_DOWN.as_millis() as u64, Ordering::Relaxed);
                if self.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %e, op = op_name, uptime_s = self.started.elapsed().as_secs(),
                        "redis unavailable: this replica continues alone");
                    metrics::gauge!("planner_redis_up").set(0.0);
                }
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.clone());
                }
                Err(RedisError(e))
            }
        }
    }

    /// Asks Redis whether it is there (updates the mode `/ready` reports).
    pub async fn ping(&self) -> Result<(), RedisError> {
        // A probe goes through even while cooling down: it is how recovery is noticed.
        self.skip_until_ms.store(0, Ordering::Relaxed);
        let mut conn = self.conn.clone();
        self.run("ping", async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await
        .map(|_| ())
    }

    /// The bytes at `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RedisError> {
        let mut conn = self.conn.clone();
        self.run(
            "get",
            async move { conn.get::<_, Option<Vec<u8>>>(key).await },
        )
        .await
    }

    /// Stores `value` at `key` for `ttl`; values over the size bound are not shared.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), RedisError> {
        if value.len() > MAX_VALUE_BYTES {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let secs = ttl.as_secs().max(1);
        self.run("set", async move {
            conn.set_ex::<_, _, ()>(key, value, secs).await
        })
        .await
    }

    /// The key of a shared model answer.
    pub fn answer_key(hex: &str) -> String {
        format!("{PREFIX}:answer:{hex}")
    }
}

/// `redis://user:secret@host` → `redis://user:***@host` for logs and `/ready`.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
