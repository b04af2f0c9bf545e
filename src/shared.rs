//! The tier several replicas share (`PLANNER_REDIS_URL`): a second level behind each replica's
//! moka cache for model answers, and the A2A task store, so a task created on one replica is
//! read on another.
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

use crate::a2a::store::{ListPage, ListQuery, MemoryStore, StoreError, StoreFuture, TaskStore};
use crate::a2a::task::{StoredTask, now_ms};

/// Keys are `PREFIX:answer:<hex>` and `PREFIX:task:<id>`, plus the ordered index `PREFIX:tasks`.
const PREFIX: &str = "planner";
/// Values larger than this are not shared (a model answer is ~200 bytes, a plan task ~10 KB).
const MAX_VALUE_BYTES: usize = 256 * 1024;
/// How long Redis is skipped after a failure before the next attempt.
const COOL_DOWN: Duration = Duration::from_secs(1);

/// A Redis connection with a deadline per operation and a cool-down after failures.
pub struct Redis {
    conn: ConnectionManager,
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
    /// The shared tier the settings ask for, if any.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Option<Arc<Redis>>, String> {
        match &settings.redis.url {
            Some(url) => Redis::new(url, settings.redis.deadline).map(Some),
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
    async fn run<T, F>(&self, op_name: &'static str, op: F) -> Result<T, StoreError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return Err(StoreError("redis is cooling down after a failure".into()));
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
                Err(StoreError(e))
            }
        }
    }

    /// Asks Redis whether it is there (updates the mode `/ready` reports).
    pub async fn ping(&self) -> Result<(), StoreError> {
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
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        self.run(
            "get",
            async move { conn.get::<_, Option<Vec<u8>>>(key).await },
        )
        .await
    }

    /// Stores `value` at `key` for `ttl`; values over the size bound are not shared.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
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

/// A2A tasks in Redis, so every replica reads every task; this replica's own store serves
/// (and keeps receiving every task) while Redis is unavailable.
#[derive(Debug)]
pub struct RedisTaskStore {
    redis: Arc<Redis>,
    local: MemoryStore,
    ttl: Duration,
    max_tasks: usize,
}

impl RedisTaskStore {
    pub fn new(redis: Arc<Redis>, local: MemoryStore, ttl: Duration, max_tasks: usize) -> Self {
        RedisTaskStore {
            redis,
            local,
            ttl,
            max_tasks,
        }
    }

    fn task_key(id: &str) -> String {
        format!("{PREFIX}:task:{id}")
    }

    fn index_key() -> String {
        format!("{PREFIX}:tasks")
    }

    async fn put_shared(&self, task: &StoredTask) -> Result<(), StoreError> {
        let body = serde_json::to_vec(task).map_err(|e| StoreError(e.to_string()))?;
        if body.len() > MAX_VALUE_BYTES {
            return Ok(());
        }
        let oldest = now_ms().saturating_sub(self.ttl.as_millis() as u64);
        let mut conn = self.redis.conn.clone();
        let (key, index, secs) = (
            Self::task_key(&task.id),
            Self::index_key(),
            self.ttl.as_secs().max(1),
        );
        let member = task.id.clone();
        let score = task.timestamp_ms as f64;
        let keep = self.max_tasks as isize;
        self.redis
            .run("put_task", async move {
                redis::pipe()
                    .atomic()
                    .set_ex(&key, body, secs)
                    .ignore()
                    .zadd(&index, member, score)
                    .ignore()
                    .zrembyscore(&index, "-inf", format!("({oldest}"))
                    .ignore()
                    .zremrangebyrank(&index, 0, -(keep + 1))
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await
    }

    async fn get_shared(&self, id: &str) -> Result<Option<StoredTask>, StoreError> {
        let bytes = self.redis.get(&Self::task_key(id)).await?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    async fn list_shared(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let oldest = now_ms().saturating_sub(self.ttl.as_millis() as u64);
        let mut conn = self.redis.conn.clone();
        let index = Self::index_key();
        let limit = self.max_tasks as isize;
        let ids: Vec<String> = self
            .redis
            .run("list_tasks", async move {
                conn.zrevrangebyscore_limit(&index, "+inf", oldest, 0, limit)
                    .await
            })
            .await?;
        // Fetch the tasks in chunks and page through them as the local store does.
        let local = MemoryStore::new(crate::a2a::store::StoreLimits {
            max_tasks: ids.len().max(1),
            max_bytes: usize::MAX / 2,
            ttl: self.ttl,
        });
        for chunk in ids.chunks(200) {
            let keys: Vec<String> = chunk.iter().map(|id| Self::task_key(id)).collect();
            let mut conn = self.redis.conn.clone();
            let values: Vec<Option<Vec<u8>>> = self
                .redis
                .run("list_tasks", async move { conn.mget(keys).await })
                .await?;
            for bytes in values.into_iter().flatten() {
                if let Ok(task) = serde_json::from_slice::<StoredTask>(&bytes) {
                    local.put(Arc::new(task)).await?;
                }
            }
        }
        local.list(query).await
    }
}

impl TaskStore for RedisTaskStore {
    fn put(&self, task: Arc<StoredTask>) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.local.put(task.clone()).await?;
            // Shared on a best-effort basis: the answer already carries the whole task.
            let _ = self.put_shared(&task).await;
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<StoredTask>>, StoreError>> {
        Box::pin(async move {
            match self.get_shared(id).await {
                Ok(Some(task)) => Ok(Some(Arc::new(task))),
                // Not in Redis (expired there, or written while Redis was down): ask locally.
                Ok(None) | Err(_) => self.local.get(id).await,
            }
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> StoreFuture<'a, Result<ListPage, StoreError>> {
        Box::pin(async move {
            match self.list_shared(query).await {
                Ok(page) => Ok(page),
                Err(_) => self.local.list(query).await,
            }
        })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
