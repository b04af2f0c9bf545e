//! A2A tasks in Redis, so every replica reads every task; this replica's own store serves
//! (and keeps receiving every task) while Redis is unavailable.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;

use super::{ListPage, ListQuery, MemoryStore, StoreError, StoreFuture, StoreLimits, TaskStore};
use crate::a2a::task::{StoredTask, now_ms};
use crate::redis::{MAX_VALUE_BYTES, PREFIX, Redis, RedisError};

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> Self {
        StoreError(e.0)
    }
}

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
            .map_err(StoreError::from)
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
        let local = MemoryStore::new(StoreLimits {
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
