//! The cache of model answers: a moka cache in front of the model, keyed by everything that can
//! change the answer. Concurrent loads of one key are coalesced into one model call, and
//! failures are never stored.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::CacheSettings;
use crate::domain::PlanningContext;
use crate::shared::Redis;

/// A cache key: the first 128 bits of a SHA-256 of everything that can change the answer. The
/// same on every replica (no per-process seed), so a shared second level can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub [u8; 16]);

impl Key {
    /// The key as 32 hexadecimal characters.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Answers of type `V` by key; a disabled cache runs every load. With a shared tier, a miss
/// here asks Redis before loading, and a loaded answer is written there for other replicas.
pub struct AnswerCache<V> {
    local: Option<Cache<Key, Arc<V>>>,
    shared: Option<(Arc<Redis>, Duration)>,
}

impl<V> std::fmt::Debug for AnswerCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("enabled", &self.local.is_some())
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl<V: Serialize + DeserializeOwned + Send + Sync + 'static> AnswerCache<V> {
    /// The cache the settings describe (none when caching is switched off).
    pub fn new(settings: &CacheSettings) -> Self {
        AnswerCache {
            local: settings.enabled.then(|| {
                Cache::builder()
                    .max_capacity(settings.capacity)
                    .time_to_live(settings.ttl)
                    .name("llm_analysis")
                    .build()
            }),
            shared: None,
        }
    }

    /// Shares answers through `redis` for `ttl` (when caching is on).
    pub fn share(&mut self, redis: Arc<Redis>, ttl: Duration) {
        if self.local.is_some() {
            self.shared = Some((redis, ttl));
        }
    }

    /// The cached answer for `key`, here or in the shared tier.
    pub async fn get(&self, key: &Key) -> Option<Arc<V>> {
        let local = self.local.as_ref()?;
        if let Some(v) = local.get(key).await {
            return Some(v);
        }
        let v = shared_get::<V>(self.shared.as_ref(), key).await?;
        local.insert(*key, v.clone()).await;
        Some(v)
    }

    /// The cached answer for `key`, or the result of `load` (stored only when it succeeds).
    /// Concurrent callers with the same key share one `load`.
    pub async fn get_or_load<E, F>(&self, key: Key, load: F) -> Result<Arc<V>, E>
    where
        E: Clone + Send + Sync + 'static,
        F: Future<Output = Result<Arc<V>, E>>,
    {
        let Some(cache) = &self.local else {
            return load.await;
        };
        let shared = self.shared.clone();
        // One load per key per replica (moka coalesces); the shared tier is asked inside it.
        let load = async move {
            if let Some(v) = shared_get::<V>(shared.as_ref(), &key).await {
                return Ok(v);
            }
            let v = load.await?;
            if let Some((redis, ttl)) = shared
                && let Ok(bytes) = serde_json::to_vec(&*v)
            {
                tokio::spawn(async move {
                    let _ = redis.set(&Redis::answer_key(&key.hex()), &bytes, ttl).await;
                });
            }
            Ok(v)
        };
        cache
            .try_get_with(key, load)
            .await
            .map_err(|e: Arc<E>| (*e).clone())
    }
}

/// The answer for `key` in the shared tier, if it is up and has one.
async fn shared_get<V: DeserializeOwned>(
    shared: Option<&(Arc<Redis>, Duration)>,
    key: &Key,
) -> Option<Arc<V>> {
    let (redis, _) = shared?;
    let bytes = redis.get(&Redis::answer_key(&key.hex())).await.ok()??;
    let v = serde_json::from_slice::<V>(&bytes).ok()?;
    metrics::counter!("planner_redis_answer_hits_total").increment(1);
    Some(Arc::new(v))
}

/// The parts of a cache key that name the model and the prompts.
#[derive(Debug, Clone, Copy)]
pub struct KeyScope<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    pub prompt_version: &'a str,
}

/// Everything that can change the model's answer: the query (case and spacing folded), the
/// offered platforms, the schema hints, the model and the prompt version.
pub fn key(scope: KeyScope<'_>, query: &str, ctx: &PlanningContext) -> Key {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key_material(scope, query, ctx).as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Key(out)
}

/// The text a key is the hash of.
fn key_material(scope: KeyScope<'_>, query: &str, ctx: &PlanningContext) -> String {
    let query: String = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let mut agents: Vec<String> = ctx
        .data_agents
        .iter()
        .filter_map(|a| a.platform.as_ref().map(|p| format!("d:{p}")))
        .collect();
    agents.sort();
    agents.dedup();
    let mut hints: Vec<String> = ctx
        .schema_hints
        .iter()
        .flat_map(|(p, h)| {
            h.tables
                .iter()
                .chain(&h.indexes)
                .map(move |t| format!("{p}:{}", t.to_lowercase()))
        })
        .collect();
    hints.sort();
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{query}\u{1f}{}\u{1f}{}",
        scope.provider,
        scope.model,
        scope.prompt_version,
        agents.join(","),
        hints.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::ctx;
    use sha2::Digest;

    const SCOPE: KeyScope<'static> = KeyScope {
        provider: "ollama",
        model: "m",
        prompt_version: "v1",
    };

    #[test]
    fn keys_are_stable_across_processes() {
        // A fixed key: a replica computing it anywhere gets the same 32 hex characters.
        let k = key(SCOPE, "show risky sign-ins", &ctx(&["kql"]));
        assert_eq!(k.hex().len(), 32);
        assert_eq!(k, key(SCOPE, "Show  risky sign-ins ", &ctx(&["kql"])));
        assert_eq!(
            k.hex(),
            format!(
                "{:x}",
                sha2::Sha256::digest(
                    key_material(SCOPE, "show risky sign-ins", &ctx(&["kql"])).as_bytes()
                )
            )[..32]
        );
    }

    #[test]
    fn keys_fold_case_and_spacing_but_not_the_offered_platforms() {
        let a = key(SCOPE, "Show  risky sign-ins", &ctx(&["kql", "sql"]));
        let b = key(SCOPE, " show risky SIGN-INS ", &ctx(&["sql", "kql"]));
        assert_eq!(a, b);
        let c = key(SCOPE, "show risky sign-ins", &ctx(&["kql"]));
        assert_ne!(a, c);
    }
}
