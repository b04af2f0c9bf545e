//! A task as the store keeps it (version-neutral, serializable for a shared store) and its
//! renderings in the v1.0 and v0.3 wire shapes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::Version;

/// The states a planner task ends in (planning is synchronous: every stored task is terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Completed,
    Failed,
    Rejected,
    Canceled,
}

impl State {
    pub fn name(self, version: Version) -> &'static str {
        match (version, self) {
            (Version::V10, State::Completed) => "TASK_STATE_COMPLETED",
            (Version::V10, State::Failed) => "TASK_STATE_FAILED",
            (Version::V10, State::Rejected) => "TASK_STATE_REJECTED",
            (Version::V10, State::Canceled) => "TASK_STATE_CANCELED",
            (Version::V03, State::Completed) => "completed",
            (Version::V03, State::Failed) => "failed",
            (Version::V03, State::Rejected) => "rejected",
            (Version::V03, State::Canceled) => "canceled",
        }
    }

    /// Whether no further message or cancel applies.
    pub fn is_terminal(self) -> bool {
        true
    }

    /// A state filter as a client sends it: `Ok(None)` for a valid state no stored task is in
    /// (submitted, working, …), `Err` for a name that is no task state at all.
    pub fn parse_filter(name: &str) -> Result<Option<State>, UnknownState> {
        let short = name
            .strip_prefix("TASK_STATE_")
            .unwrap_or(name)
            .to_ascii_lowercase()
            .replace('_', "-");
        match short.as_str() {
            "completed" => Ok(Some(State::Completed)),
            "failed" => Ok(Some(State::Failed)),
            "rejected" => Ok(Some(State::Rejected)),
            "canceled" | "cancelled" => Ok(Some(State::Canceled)),
            "submitted" | "working" | "input-required" | "auth-required" | "unspecified"
            | "unknown" => Ok(None),
            _ => Err(UnknownState),
        }
    }
}

/// A name that is no A2A task state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownState;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    User,
    Agent,
}

/// One part of a message: text, or JSON data (kept as the caller's exact JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Part {
    Text(String),
    Data(Box<RawValue>),
}

/// A message of a task's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub message_id: String,
    pub role: Role,
    pub parts: Vec<Part>,
}

/// The plan artifact: the `/a2a/task` `result` object, serialized once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artifact {
    pub artifact_id: String,
    pub description: String,
    pub data: Box<RawValue>,
}

/// A task as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTask {
    pub id: String,
    pub context_id: String,
    pub state: State,
    /// When the status was set, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// A tie-breaker for tasks of the same millisecond (ordering and cursors).
    pub seq: u64,
    /// The status message: a plan summary, or why the task was rejected or failed.
    pub status_text: String,
    pub artifact: Option<Artifact>,
    pub history: Vec<Message>,
}

impl StoredTask {
    /// Roughly the bytes this task holds (what the store's byte bound counts).
    pub fn weight(&self) -> usize {
        let parts: usize = self
            .history
            .iter()
            .flat_map(|m| &m.parts)
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Data(d) => d.get().len(),
            })
            .sum();
        let artifact = self
            .artifact
            .as_ref()
            .map_or(0, |a| a.data.get().len() + 64);
        256 + self.id.len() + self.context_id.len() + self.status_text.len() + parts + artifact
    }

    /// The ordering key: newest status first is descending order of this.
    pub fn order_key(&self) -> (u64, u64) {
        (self.timestamp_ms, self.seq)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `ms` since the epoch as RFC 3339 UTC with millisecond precision (`2026-11-26T12:00:00.123Z`).
pub fn iso8601(ms: u64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

/// An RFC 3339 timestamp (`2026-11-26T12:00:00Z`, `…00.5Z`, `…+02:00`) as milliseconds since the
/// epoch (ListTasks' `statusTimestampAfter`); `None` when it is no such timestamp or before 1970.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// How much of a task to render.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub version: Version,
    /// The most recent messages of the history to include; `None` is all of them.
    pub history_length: Option<usize>,
    pub include_artifacts: bool,
}

/// A task rendered in `view`'s shape.
#[derive(Debug)]
pub struct TaskView<'a> {
    pub task: &'a StoredTask,
    pub view: View,
}

impl Serialize for TaskView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, v) = (self.task, self.view.version);
        let mut map = s.serialize_map(None)?;
        if v == Version::V03 {
            map.serialize_entry("kind", "task")?;
        }
        map.serialize_entry("id", &t.id)?;
        map.serialize_entry("contextId", &t.context_id)?;
        map.serialize_entry(
            "status",
            &StatusView {
                task: t,
                version: v,
            },
        )?;
        if self.view.include_artifacts
            && let Some(artifact) = &t.artifact
        {
            map.serialize_entry(
                "artifacts",
                &[ArtifactView {
                    artifact,
                    version: v,
                }],
            )?;
        }
        let keep = self.view.history_length.unwrap_or(usize::MAX);
        let history = &t.history[t.history.len().saturating_sub(keep)..];
        if !history.is_empty() {
            let messages: Vec<MessageView> = history
                .iter()
                .map(|message| MessageView {
                    message,
                    task: t,
                    version: v,
                })
                .collect();
            map.serialize_entry("history", &messages)?;
        }
        map.end()
    }
}

struct StatusView<'a> {
    task: &'a StoredTask,
    version: Version,
}

impl Serialize for StatusView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.task;
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("state", t.state.name(self.version))?;
        let message = Message {
            message_id: format!("{}-status", t.id),
            role: Role::Agent,
            parts: vec![Part::Text(t.status_text.clone())],
        };
        map.serialize_entry(
            "message",
            &MessageView {
                message: &message,
                task: t,
                version: self.version,
            },
        )?;
        map.serialize_entry("timestamp", &iso8601(t.timestamp_ms))?;
        map.end()
    }
}

struct ArtifactView<'a> {
    artifact: &'a Artifact,
    version: Version,
}

impl Serialize for ArtifactView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.artifact;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("artifactId", &a.artifact_id)?;
        map.serialize_entry("name", "plan")?;
        map.serialize_entry("description", &a.description)?;
        map.serialize_entry(
            "parts",
            &[PartView {
                part: &Part::Data(a.data.clone()),
                version: self.version,
            }],
        )?;
        map.end()
    }
}

struct MessageView<'a> {
    message: &'a Message,
    task: &'a StoredTask,
    version: Version,
}

impl Serialize for MessageView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (m, v) = (self.message, self.version);
        let mut map = s.serialize_map(None)?;
        if v == Version::V03 {
            map.serialize_entry("kind", "message")?;
        }
        map.serialize_entry("messageId", &m.message_id)?;
        map.serialize_entry("contextId", &self.task.context_id)?;
        map.serialize_entry("taskId", &self.task.id)?;
        let role = match (v, m.role) {
            (Version::V10, Role::User) => "ROLE_USER",
            (Version::V10, Role::Agent) => "ROLE_AGENT",
            (Version::V03, Role::User) => "user",
            (Version::V03, Role::Agent) => "agent",
        };
        map.serialize_entry("role", role)?;
        map.serialize_entry(
            "parts",
            &PartsView {
                parts: &m.parts,
                version: v,
            },
        )?;
        map.end()
    }
}

struct PartsView<'a> {
    parts: &'a [Part],
    version: Version,
}

impl Serialize for PartsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.parts.len()))?;
        for part in self.parts {
            seq.serialize_element(&PartView {
                part,
                version: self.version,
            })?;
        }
        seq.end()
    }
}

struct PartView<'a> {
    part: &'a Part,
    version: Version,
}

impl Serialize for PartView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        match (self.version, self.part) {
            (Version::V10, Part::Text(t)) => map.serialize_entry("text", t)?,
            (Version::V10, Part::Data(d)) => {
                map.serialize_entry("data", d)?;
                map.serialize_entry("mediaType", "application/json")?;
            }
            (Version::V03, Part::Text(t)) => {
                map.serialize_entry("kind", "text")?;
                map.serialize_entry("text", t)?;
            }
            (Version::V03, Part::Data(d)) => {
                map.serialize_entry("kind", "data")?;
                map.serialize_entry("data", d)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_795_262_400_123), "2026-11-21T12:00:00.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        for ms in [0, 951_782_400_000, 1_795_262_400_123, 4_102_444_799_999] {
            assert_eq!(parse_iso8601(&iso8601(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso8601("2026-11-21T12:00:00Z"),
            Some(1_795_262_400_000)
        );
        assert_eq!(
            parse_iso8601("2026-11-21T12:00:00.5+00:00"),
            Some(1_795_262_400_500)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn state_filters_accept_both_spellings() {
        assert_eq!(
            State::parse_filter("TASK_STATE_COMPLETED"),
            Ok(Some(State::Completed))
        );
        assert_eq!(State::parse_filter("rejected"), Ok(Some(State::Rejected)));
        assert_eq!(State::parse_filter("TASK_STATE_WORKING"), Ok(None));
        assert_eq!(State::parse_filter("input-required"), Ok(None));
        assert!(State::parse_filter("DONE").is_err());
    }
}
