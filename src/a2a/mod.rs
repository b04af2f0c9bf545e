//! The standard Agent2Agent protocol beside the orchestrator's `POST /a2a/task`: the agent card,
//! JSON-RPC 2.0 in A2A v1.0 (`SendMessage`, `GetTask`, `ListTasks`, `CancelTask`) and the v0.3
//! method names and shapes (`message/send`, `tasks/get`, `tasks/cancel`) for older clients,
//! negotiated by the `A2A-Version` header (missing means 0.3, as the spec says).
//!
//! - [`card`]: the card, built once at start-up with its `ETag`.
//! - [`task`]: a task as stored (version-neutral) and its v1.0 / v0.3 renderings.
//! - [`store`]: the [`store::TaskStore`] trait and the bounded, expiring in-memory store.
//! - [`rpc`]: the JSON-RPC envelope, version negotiation, method dispatch and A2A errors.
//!
//! Mapping: a message's text parts are the request; an optional data part carries the same
//! `execution_context` object as `/a2a/task` (or `{"plan": …}` to optimize a plan). The answer
//! is a completed task whose artifact `plan` holds the `/a2a/task` `result` as one JSON data
//! part. A request that cannot be planned ends as a rejected (or failed) task with the reason in
//! its status message, never as a transport error.

pub mod card;
pub mod rpc;
pub mod store;
pub mod task;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use card::AgentCard;
pub use store::{MemoryStore, TaskStore};

/// A protocol version this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// A2A v0.3: slash method names, `kind` discriminators, lower-case states.
    V03,
    /// A2A v1.0: PascalCase methods, `TASK_STATE_*`, wrapped `SendMessage` results.
    V10,
}

impl Version {
    /// The version named by an `A2A-Version` value (`1.0`, `0.3`, a patch level is tolerated);
    /// a missing or empty value is 0.3 (spec §3.6.2). `Err` carries the unsupported value.
    pub fn negotiate(header: Option<&str>) -> Result<Version, String> {
        let value = header.map(str::trim).unwrap_or("");
        if value.is_empty() {
            return Ok(Version::V03);
        }
        let mut parts = value.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next().unwrap_or("0");
        match (major, minor) {
            ("1", "0") => Ok(Version::V10),
            ("0", "3") => Ok(Version::V03),
            _ => Err(value.to_string()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V03 => "0.3",
            Version::V10 => "1.0",
        }
    }
}

/// What the A2A routes share: the card, the task store, and the counter that orders tasks of
/// the same millisecond.
#[derive(Debug, Clone)]
pub struct A2a {
    pub card: Arc<AgentCard>,
    pub store: Arc<dyn TaskStore>,
    seq: Arc<AtomicU64>,
}

impl A2a {
    pub fn new(card: AgentCard, store: Arc<dyn TaskStore>) -> A2a {
        // A random start per process, so tasks written by several replicas into one shared
        // store keep distinct ordering keys.
        let start = uuid::Uuid::new_v4().as_u128() as u64 & 0xffff_ffff_0000_0000;
        A2a {
            card: Arc::new(card),
            store,
            seq: Arc::new(AtomicU64::new(start)),
        }
    }

    /// The next task's tie-breaker.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation_follows_the_spec() {
        assert_eq!(Version::negotiate(None), Ok(Version::V03));
        assert_eq!(Version::negotiate(Some("")), Ok(Version::V03));
        assert_eq!(Version::negotiate(Some(" 1.0 ")), Ok(Version::V10));
        assert_eq!(Version::negotiate(Some("1")), Ok(Version::V10));
        assert_eq!(Version::negotiate(Some("0.3")), Ok(Version::V03));
        assert_eq!(Version::negotiate(Some("0.3.0")), Ok(Version::V03));
        assert_eq!(Version::negotiate(Some("99.0")), Err("99.0".into()));
        assert_eq!(Version::negotiate(Some("0.2")), Err("0.2".into()));
    }
}
