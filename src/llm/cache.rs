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
use crate::pipeline::roster::Roster;
use crate::redis::Redis;

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

    /// The answer for `key` in this replica's cache, if it has one (the shared tier is not
    /// asked: that is part of [`AnswerCache::get_or_load`]'s load).
    pub async fn local(&self, key: &Key) -> Option<Arc<V>> {
        self.local.as_ref()?.get(key).await
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
///
/// The key is the first 128 bits of the SHA-256 of
/// `provider ␟ model ␟ prompt_version ␟ query ␟ agents ␟ hints` (␟ = U+001F), where the query's
/// words are joined by one space and lower-cased, and `agents ␟ hints` is the roster's
/// [`Roster::key_part`]: the sorted, distinct `d:{platform}` of the offered data agents joined
/// by `,`, and the sorted `{platform}:{name}` of every hinted table and index (lower-cased)
/// joined by `,`. Replicas share keys through Redis, so these bytes are fixed (a test pins
/// them).
pub fn key(scope: KeyScope<'_>, query: &str, roster: &Roster) -> Key {
    use sha2::{Digest, Sha256};
    let query = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let text = [
        scope.provider,
        scope.model,
        scope.prompt_version,
        &query,
        roster.key_part(),
    ]
    .join("\u{1f}");
    let digest = Sha256::digest(text.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Key(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Platform, SchemaHint};
    use crate::pipeline::roster::Roster;
    use crate::pipeline::testing::{ctx, offered};

    const SCOPE: KeyScope<'static> = KeyScope {
        provider: "ollama",
        model: "m",
        prompt_version: "v1",
    };

    #[test]
    fn keys_are_stable_across_processes() {
        // Fixed keys: a replica computing them anywhere, of any version, gets the same 32 hex
        // characters (the hash of the text `key` documents, pinned when it was first written).
        let scope = KeyScope {
            provider: "ollama",
            model: "llama3.1:8b",
            prompt_version: "abc123",
        };
        let mut o = offered(&["sql", "kql", "promql", "kql"]);
        o.schema_hints.insert(
            Platform::Kql,
            SchemaHint {
                tables: vec!["SigninLogs".into(), "AuditLogs".into()],
                indexes: vec![],
            },
        );
        o.schema_hints.insert(
            Platform::Spl,
            SchemaHint {
                tables: vec![],
                indexes: vec!["Proxy".into(), "fw".into()],
            },
        );
        let c = Roster::new(o);
        for (query, hex) in [
            ("show risky sign-ins", "b264bfcf56342700e9dd1139e27cfdf9"),
            (
                "  Donn\u{e9}es  \u{3a3}\u{391}\u{3a3}  de Splunk\t\u{c9}RREURS ",
                "37cfa802c165e56354854f07ed3ed4f2",
            ),
            ("x", "cb5ea6de3d5f2e52bbcb15011c54d89a"),
        ] {
            assert_eq!(key(scope, query, &c).hex(), hex, "{query}");
        }
        // A long request, with a word of 300 letters.
        let long_query = format!(
            "{} {}  Tail",
            "Sign-In failures from Entra ".repeat(12),
            "X".repeat(300)
        );
        assert_eq!(
            key(scope, &long_query, &c).hex(),
            "7a22193d0ede53c29856fb7d33a5f6c2"
        );
        assert_eq!(
            key(scope, "q", &Roster::default()).hex(),
            "0bf8e4398bb8e4d70ecf8a99a126a25c"
        );
        let k = key(SCOPE, "show risky sign-ins", &ctx(&["kql"]));
        assert_eq!(k, key(SCOPE, "Show  risky sign-ins ", &ctx(&["kql"])));
        let long = "W".repeat(200);
        assert_eq!(
            key(SCOPE, &long, &ctx(&["kql"])),
            key(SCOPE, &long.to_lowercase(), &ctx(&["kql"])),
            "a word of 200 letters"
        );
    }

    #[test]
    fn keys_hash_the_documented_bytes_lower_casing_hint_names_only() {
        use sha2::{Digest, Sha256};
        let mut o = offered(&[]);
        o.schema_hints.insert(
            Platform::Other("PromQL".into()),
            SchemaHint {
                tables: vec!["Up".into()],
                indexes: vec!["\u{c9}v\u{e9}nements".into()],
            },
        );
        let c = Roster::new(o);
        let text = "ollama\u{1f}m\u{1f}v1\u{1f}q\u{1f}\u{1f}PromQL:up,PromQL:\u{e9}v\u{e9}nements";
        assert_eq!(key(SCOPE, "Q", &c).0, Sha256::digest(text)[..16]);
    }

    #[test]
    fn keys_follow_every_change_of_the_roster_that_can_change_an_answer() {
        let mut o = offered(&["sql", "kql"]);
        o.schema_hints.insert(
            Platform::Sql,
            SchemaHint {
                tables: vec!["Users".into()],
                indexes: vec![],
            },
        );
        let first = key(SCOPE, "q", &Roster::new(o.clone()));
        assert_eq!(key(SCOPE, "q", &Roster::new(o.clone())), first);
        let mut hinted = o.clone();
        hinted
            .schema_hints
            .get_mut(&Platform::Sql)
            .unwrap()
            .tables
            .push("Orders".into());
        assert_ne!(key(SCOPE, "q", &Roster::new(hinted)), first);
        let mut fewer = o.clone();
        fewer.data_agents.pop();
        assert_ne!(key(SCOPE, "q", &Roster::new(fewer)), first);
        // An agent's name cannot change the answer; its platform can.
        let mut renamed = o;
        renamed.data_agents[0].agent_name = "Another name".into();
        assert_eq!(key(SCOPE, "q", &Roster::new(renamed)), first);
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
