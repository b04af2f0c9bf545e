//! The cache of model answers: a moka cache in front of the model, keyed by everything that can
//! change the answer. Concurrent loads of one key are coalesced into one model call, and
//! failures are never stored.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::CacheSettings;
use crate::domain::{AgentDescriptor, PlanningContext, Platform, SchemaHint};
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

/// What separates the parts of a cache key's text (U+001F, the unit separator).
const SEP: &[u8] = "\u{1f}".as_bytes();

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
/// words are joined by one space and lower-cased, `agents` is the sorted, distinct `d:{platform}`
/// of the offered data agents joined by `,`, and `hints` the sorted `{platform}:{name}` of every
/// hinted table and index (lower-cased) joined by `,`. Replicas share keys through Redis, so
/// these bytes are fixed (a test pins them).
pub fn key(scope: KeyScope<'_>, query: &str, ctx: &PlanningContext) -> Key {
    use sha2::{Digest, Sha256};
    // The bytes are gathered first and hashed in one call: fed word by word, the hasher copied
    // every word into its block buffer.
    let mut bytes: Vec<u8> = Vec::with_capacity(query.len() + 256);
    for part in [scope.provider, scope.model, scope.prompt_version] {
        bytes.extend_from_slice(part.as_bytes());
        bytes.extend_from_slice(SEP);
    }
    if query.is_ascii() {
        for (n, w) in query.split_ascii_whitespace().enumerate() {
            if n > 0 {
                bytes.push(b' ');
            }
            let start = bytes.len();
            bytes.extend_from_slice(w.as_bytes());
            bytes[start..].make_ascii_lowercase();
        }
    } else {
        let words: Vec<&str> = query.split_whitespace().collect();
        bytes.extend_from_slice(words.join(" ").to_lowercase().as_bytes());
    }
    bytes.extend_from_slice(SEP);
    roster_part(ctx, &mut bytes);
    let digest = Sha256::digest(&bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Key(out)
}

/// Writes the roster's part of a key (`agents ␟ hints`, as [`key`] documents) to `out`.
///
/// An orchestrator offers the same roster with every task, and the context of a roster read
/// lately shares its lists (see [`crate::wire`]): the part is derived once per roster and
/// remembered per thread with the lists it was derived from. Those are held, so they stay
/// unchanged and at their addresses while remembered (an `Arc` shared is never changed in
/// place), and the same addresses are the same lists. A context with lists of its own (a
/// policy gate's restricted one, a test's) is derived afresh.
fn roster_part(ctx: &PlanningContext, out: &mut Vec<u8>) {
    type Remembered = (
        Arc<Vec<AgentDescriptor>>,
        Arc<BTreeMap<Platform, SchemaHint>>,
        Box<[u8]>,
    );
    thread_local! {
        static LAST: std::cell::RefCell<Option<Remembered>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((agents, hints, part)) = last
            && Arc::ptr_eq(agents, &ctx.data_agents)
            && Arc::ptr_eq(hints, &ctx.schema_hints)
        {
            out.extend_from_slice(part);
            return;
        }
        let start = out.len();
        derive_roster_part(ctx, out);
        *last = Some((
            ctx.data_agents.clone(),
            ctx.schema_hints.clone(),
            out[start..].into(),
        ));
    });
}

/// The roster's part of a key, derived: the sorted, distinct `d:{platform}` of the offered data
/// agents, `␟`, the sorted `{platform}:{name}` of the hinted tables and indexes.
fn derive_roster_part(ctx: &PlanningContext, bytes: &mut Vec<u8>) {
    let mut agents: smallvec::SmallVec<[&str; 8]> = ctx
        .data_agents
        .iter()
        .filter_map(|a| a.platform.as_ref().map(|p| p.as_str()))
        .collect();
    agents.sort_unstable();
    agents.dedup();
    for (n, p) in agents.iter().enumerate() {
        bytes.extend_from_slice(if n > 0 { b",d:" } else { b"d:" });
        bytes.extend_from_slice(p.as_bytes());
    }
    bytes.extend_from_slice(SEP);
    let mut hints: smallvec::SmallVec<[String; 8]> = ctx
        .schema_hints
        .iter()
        .flat_map(|(p, hint)| {
            hint.tables.iter().chain(&hint.indexes).map(move |t| {
                let p = p.as_str();
                let mut hint = String::with_capacity(p.len() + 1 + t.len());
                hint.push_str(p);
                hint.push(':');
                // Only the name is lower-cased; the platform is written as it is.
                if t.is_ascii() {
                    let start = hint.len();
                    hint.push_str(t);
                    hint[start..].make_ascii_lowercase();
                } else {
                    hint.push_str(&t.to_lowercase());
                }
                hint
            })
        })
        .collect();
    hints.sort_unstable();
    for (n, hint) in hints.iter().enumerate() {
        if n > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(hint.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::ctx;

    const SCOPE: KeyScope<'static> = KeyScope {
        provider: "ollama",
        model: "m",
        prompt_version: "v1",
    };

    #[test]
    fn keys_are_stable_across_processes() {
        // Fixed keys: a replica computing them anywhere, of any version, gets the same 32 hex
        // characters (the hash of the text `key` documents, pinned when it was first written).
        use crate::domain::{Platform, SchemaHint};
        let scope = KeyScope {
            provider: "ollama",
            model: "llama3.1:8b",
            prompt_version: "abc123",
        };
        let mut c = ctx(&["sql", "kql", "promql", "kql"]);
        std::sync::Arc::make_mut(&mut c.schema_hints).insert(
            Platform::Kql,
            SchemaHint {
                tables: vec!["SigninLogs".into(), "AuditLogs".into()],
                indexes: vec![],
            },
        );
        std::sync::Arc::make_mut(&mut c.schema_hints).insert(
            Platform::Spl,
            SchemaHint {
                tables: vec![],
                indexes: vec!["Proxy".into(), "fw".into()],
            },
        );
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
            key(scope, "q", &PlanningContext::default()).hex(),
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
        use crate::domain::{Platform, SchemaHint};
        use sha2::{Digest, Sha256};
        let mut c = PlanningContext::default();
        std::sync::Arc::make_mut(&mut c.schema_hints).insert(
            Platform::Other("PromQL".into()),
            SchemaHint {
                tables: vec!["Up".into()],
                indexes: vec!["\u{c9}v\u{e9}nements".into()],
            },
        );
        let text = "ollama\u{1f}m\u{1f}v1\u{1f}q\u{1f}\u{1f}PromQL:up,PromQL:\u{e9}v\u{e9}nements";
        assert_eq!(key(SCOPE, "Q", &c).0, Sha256::digest(text)[..16]);
    }

    #[test]
    fn a_remembered_roster_part_is_the_part_derived() {
        use crate::domain::{Platform, SchemaHint};
        let mut a = ctx(&["sql", "kql"]);
        Arc::make_mut(&mut a.schema_hints).insert(
            Platform::Sql,
            SchemaHint {
                tables: vec!["Users".into()],
                indexes: vec![],
            },
        );
        // The same lists again, as a roster read lately shares them.
        let first = key(SCOPE, "q", &a);
        assert_eq!(key(SCOPE, "q", &a), first);
        // Either list changed from a remembered one (a copy of its own, the other list still
        // shared) keys apart.
        let mut hinted = a.clone();
        Arc::make_mut(&mut hinted.schema_hints)
            .get_mut(&Platform::Sql)
            .expect("a sql hint")
            .tables
            .push("Orders".into());
        assert!(Arc::ptr_eq(&hinted.data_agents, &a.data_agents));
        assert_ne!(key(SCOPE, "q", &hinted), first);
        assert_eq!(key(SCOPE, "q", &a), first);
        let mut fewer = a.clone();
        Arc::make_mut(&mut fewer.data_agents).pop();
        assert!(Arc::ptr_eq(&fewer.schema_hints, &a.schema_hints));
        assert_ne!(key(SCOPE, "q", &fewer), first);
        // Equal lists of their own key as the remembered ones do.
        assert_eq!(key(SCOPE, "q", &a), first);
        let mut copy = a.clone();
        copy.data_agents = Arc::new((*a.data_agents).clone());
        copy.schema_hints = Arc::new((*a.schema_hints).clone());
        assert_eq!(key(SCOPE, "q", &copy), first);
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
