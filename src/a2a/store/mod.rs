//! Where A2A tasks live between `SendMessage` and `GetTask` / `ListTasks`: a small trait, so a
//! shared backend can serve several replicas, and [`MemoryStore`], bounded in count and bytes
//! and expiring, so memory stays flat under load. A restart forgets the in-memory tasks.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::task::{State, StoredTask, now_ms};

mod redis;

pub use redis::RedisTaskStore;

/// A boxed future, so the trait stays object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a page of `ListTasks` continues: the ordering key of the last task returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub timestamp_ms: u64,
    pub seq: u64,
}

impl Cursor {
    /// The opaque `nextPageToken`.
    pub fn token(self) -> String {
        format!("{:x}.{:x}", self.timestamp_ms, self.seq)
    }

    /// A token back into a cursor; `None` when it is not one of ours.
    pub fn parse(token: &str) -> Option<Cursor> {
        let (ts, seq) = token.split_once('.')?;
        Some(Cursor {
            timestamp_ms: u64::from_str_radix(ts, 16).ok()?,
            seq: u64::from_str_radix(seq, 16).ok()?,
        })
    }
}

/// What `ListTasks` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub context_id: Option<String>,
    /// `Some(None)`: a state no stored task can be in (the page is empty).
    pub state: Option<Option<State>>,
    /// Only tasks whose status changed after this instant (ms since the epoch).
    pub after_ms: Option<u64>,
    pub page_size: usize,
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    fn matches(&self, t: &StoredTask) -> bool {
        self.context_id.as_ref().is_none_or(|c| *c == t.context_id)
            && self.state.is_none_or(|s| s == Some(t.state))
            && self.after_ms.is_none_or(|after| t.timestamp_ms > after)
    }
}

/// One page of tasks, newest status first.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub tasks: Vec<Arc<StoredTask>>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
    /// Tasks matching the filters, over all pages.
    pub total: usize,
}

/// Why the store could not answer (a shared backend that is down); the caller degrades.
#[derive(Debug, Clone, thiserror::Error)]
#[error("task store unavailable: {0}")]
pub struct StoreError(pub String);

/// A place for A2A tasks.
pub trait TaskStore: Send + Sync + std::fmt::Debug {
    /// Keeps `task`, replacing one with the same id.
    fn put(&self, task: Arc<StoredTask>) -> StoreFuture<'_, Result<(), StoreError>>;
    /// The task `id`, unless unknown or expired.
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<StoredTask>>, StoreError>>;
    /// A page of the tasks matching `query`, newest status first.
    fn list<'a>(&'a self, query: &'a ListQuery) -> StoreFuture<'a, Result<ListPage, StoreError>>;
    /// A short name for logs and metrics (`memory`, `redis`).
    fn kind(&self) -> &'static str;
}

/// The bounds of a [`MemoryStore`].
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    pub max_tasks: usize,
    pub max_bytes: usize,
    pub ttl: Duration,
}

/// Tasks in this process: at most `max_tasks` and `max_bytes`, each for `ttl`; the oldest go
/// first when a bound is reached.
#[derive(Debug)]
pub struct MemoryStore {
    limits: StoreLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<StoredTask>>,
    /// Ordering key → id, oldest first.
    order: BTreeMap<(u64, u64), String>,
    bytes: usize,
}

impl Inner {
    fn remove_key(&mut self, key: (u64, u64)) {
        if let Some(id) = self.order.remove(&key)
            && let Some(task) = self.by_id.remove(&id)
        {
            self.bytes -= task.weight();
        }
    }

    fn remove_id(&mut self, id: &str) {
        if let Some(task) = self.by_id.remove(id) {
            self.order.remove(&task.order_key());
            self.bytes -= task.weight();
        }
    }

    fn expire(&mut self, oldest_kept_ms: u64) {
        while let Some((&key, _)) = self.order.first_key_value() {
            if key.0 >= oldest_kept_ms {
                break;
            }
            self.remove_key(key);
        }
    }
}

impl MemoryStore {
    pub fn new(limits: StoreLimits) -> Self {
        MemoryStore {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn oldest_kept_ms(&self) -> u64 {
        now_ms().saturating_sub(self.limits.ttl.as_millis() as u64)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent maps (every update is one step).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many tasks and bytes are held now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.by_id.len(), inner.bytes)
    }

    fn put_now(&self, task: Arc<StoredTask>) {
        let weight = task.weight();
        let oldest = self.oldest_kept_ms();
        let mut inner = self.lock();
        inner.remove_id(&task.id);
        inner.expire(oldest);
        if weight > self.limits.max_bytes {
            tracing::warn!(task_id = %task.id, bytes = weight, "task larger than the store; not kept");
            return;
        }
        while inner.by_id.len() >= self.limits.max_tasks
            || inner.bytes + weight > self.limits.max_bytes
        {
            let Some((&key, _)) = inner.order.first_key_value() else {
                break;
            };
            inner.remove_key(key);
        }
        inner.bytes += weight;
        inner.order.insert(task.order_key(), task.id.clone());
        inner.by_id.insert(task.id.clone(), task);
        metrics::gauge!("planner_a2a_tasks_stored").set(inner.by_id.len() as f64);
    }

    fn get_now(&self, id: &str) -> Option<Arc<StoredTask>> {
        let oldest = self.oldest_kept_ms();
        let inner = self.lock();
        inner
            .by_id
            .get(id)
            .filter(|t| t.timestamp_ms >= oldest)
            .cloned()
    }

    fn list_now(&self, query: &ListQuery) -> ListPage {
        let oldest = self.oldest_kept_ms();
        let inner = self.lock();
        let mut page = ListPage::default();
        let start = query.cursor.map(|c| (c.timestamp_ms, c.seq));
        for (key, id) in inner.order.iter().rev() {
            if key.0 < oldest {
                break;
            }
            let Some(task) = inner.by_id.get(id) else {
                continue;
            };
            if !query.matches(task) {
                continue;
            }
            page.total += 1;
            if start.is_some_and(|s| *key >= s) {
                continue;
            }
            if page.tasks.len() < query.page_size {
                page.tasks.push(task.clone());
            } else if page.next.is_none() {
                let last = page.tasks.last().map(|t| t.order_key()).unwrap_or(*key);
                page.next = Some(Cursor {
                    timestamp_ms: last.0,
                    seq: last.1,
                });
            }
        }
        page
    }
}

impl TaskStore for MemoryStore {
    fn put(&self, task: Arc<StoredTask>) -> StoreFuture<'_, Result<(), StoreError>> {
        self.put_now(task);
        Box::pin(std::future::ready(Ok(())))
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<StoredTask>>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.get_now(id))))
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> StoreFuture<'a, Result<ListPage, StoreError>> {
        Box::pin(std::future::ready(Ok(self.list_now(query))))
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::a2a::task::{Message, Part, Role};

    fn task(id: &str, ctx: &str, ts: u64, seq: u64, text: &str) -> Arc<StoredTask> {
        Arc::new(StoredTask {
            id: id.into(),
            context_id: ctx.into(),
            state: State::Completed,
            timestamp_ms: ts,
            seq,
            status_text: "done".into(),
            artifact: None,
            history: vec![Message {
                message_id: format!("m-{id}"),
                role: Role::User,
                parts: vec![Part::Text(text.into())],
            }],
        })
    }

    fn store(max_tasks: usize, max_bytes: usize) -> MemoryStore {
        MemoryStore::new(StoreLimits {
            max_tasks,
            max_bytes,
            ttl: Duration::from_secs(3600),
        })
    }

    #[test]
    fn pages_run_newest_first_and_end_with_no_cursor() {
        let s = store(100, 1 << 20);
        let now = now_ms();
        for i in 0..7u64 {
            s.put_now(task(
                &format!("t{i}"),
                if i % 2 == 0 { "a" } else { "b" },
                now + i / 2,
                i,
                "x",
            ));
        }
        let mut q = ListQuery {
            page_size: 3,
            ..ListQuery::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = s.list_now(&q);
            assert_eq!(page.total, 7);
            seen.extend(page.tasks.iter().map(|t| t.id.clone()));
            match page.next {
                Some(c) => q.cursor = Some(Cursor::parse(&c.token()).expect("own token")),
                None => break,
            }
        }
        assert_eq!(seen, ["t6", "t5", "t4", "t3", "t2", "t1", "t0"]);

        let only_a = s.list_now(&ListQuery {
            context_id: Some("a".into()),
            page_size: 50,
            ..ListQuery::default()
        });
        assert_eq!(only_a.total, 4);
        assert!(only_a.tasks.iter().all(|t| t.context_id == "a"));
        assert!(only_a.next.is_none());
    }

    #[test]
    fn bounds_evict_the_oldest_and_bytes_stay_counted() {
        let s = store(3, 1 << 20);
        let now = now_ms();
        for i in 0..5u64 {
            s.put_now(task(&format!("t{i}"), "c", now + i, i, "x"));
        }
        assert_eq!(s.usage().0, 3);
        assert!(s.get_now("t0").is_none() && s.get_now("t1").is_none());
        assert!(s.get_now("t4").is_some());

        let one = task("b0", "c", now, 0, &"y".repeat(1000)).weight();
        let s = store(100, one * 2 + one / 2);
        for i in 0..6u64 {
            s.put_now(task(&format!("b{i}"), "c", now + i, i, &"y".repeat(1000)));
        }
        let (count, bytes) = s.usage();
        assert_eq!(count, 2);
        assert_eq!(bytes, 2 * one);
        // Replacing a task keeps the byte count exact.
        s.put_now(task("b5", "c", now + 9, 9, &"y".repeat(1000)));
        assert_eq!(s.usage(), (2, 2 * one));
    }

    #[test]
    fn expired_tasks_are_neither_found_nor_listed() {
        let s = MemoryStore::new(StoreLimits {
            max_tasks: 10,
            max_bytes: 1 << 20,
            ttl: Duration::from_secs(60),
        });
        let now = now_ms();
        s.put_now(task("old", "c", now - 61_000, 0, "x"));
        s.put_now(task("new", "c", now, 1, "x"));
        assert!(s.get_now("old").is_none());
        let page = s.list_now(&ListQuery {
            page_size: 10,
            ..ListQuery::default()
        });
        assert_eq!(page.total, 1);
        assert_eq!(s.usage().0, 1, "expired on the next put");
    }
}
