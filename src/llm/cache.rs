//! The cache of model answers: a moka cache in front of the model, keyed by everything that can
//! change the answer. Concurrent loads of one key are coalesced into one model call, and
//! failures are never stored.

use std::future::Future;
use std::sync::Arc;

use moka::future::Cache;

use crate::config::CacheSettings;
use crate::domain::PlanningContext;

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

/// Answers of type `V` by key; a disabled cache runs every load.
pub struct AnswerCache<V> {
    local: Option<Cache<Key, Arc<V>>>,
}

impl<V> std::fmt::Debug for AnswerCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("enabled", &self.local.is_some())
            .finish()
    }
}

impl<V: Send + Sync + 'static> AnswerCache<V> {
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
        }
    }

    /// The cached answer for `key`, if there is one.
    pub async fn get(&self, key: &Key) -> Option<Arc<V>> {
        self.local.as_ref()?.get(key).await
    }

    /// The cached answer for `key`, or the result of `load` (stored only when it succeeds).
    /// Concurrent callers with the same key share one `load`.
    pub async fn get_or_load<E, F>(&self, key: Key, load: F) -> Result<Arc<V>, E>
    where
        E: Clone + Send + Sync + 'static,
        F: Future<Output = Result<Arc<V>, E>>,
    {
        match &self.local {
            Some(cache) => cache
                .try_get_with(key, load)
                .await
                .map_err(|e| (*e).clone()),
            None => load.await,
        }
    }
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
