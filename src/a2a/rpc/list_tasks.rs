//! `ListTasks` (v1.0 only): a page of stored tasks, newest first, filtered by context, state
//! and status time.

use serde::Deserialize;
use serde_json::Value;

use super::{Dispatcher, Outcome, RpcError, history_length, params_of};
use crate::a2a::Version;
use crate::a2a::store::{Cursor, ListQuery};
use crate::a2a::task::{State, View, parse_iso8601};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    history_length: Option<i64>,
    #[serde(default)]
    status_timestamp_after: Option<String>,
    #[serde(default)]
    include_artifacts: Option<bool>,
}

impl Dispatcher<'_> {
    pub(super) async fn list_tasks(
        &self,
        params: Value,
        version: Version,
    ) -> Result<Outcome, RpcError> {
        let p: ListParams = params_of(params)?;
        let page_size = match p.page_size {
            None => 50,
            Some(n @ 1..=100) => n as usize,
            Some(n) => {
                return Err(RpcError::invalid_params(format!(
                    "pageSize must be within 1..100, got {n}"
                )));
            }
        };
        let cursor = match p.page_token.as_deref() {
            None | Some("") => None,
            Some(t) => Some(Cursor::parse(t).ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "pageToken '{t}' is not a token this server issued"
                ))
            })?),
        };
        let state = match p.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(State::parse_filter(s).map_err(|_| {
                RpcError::invalid_params(format!("status '{s}' is not a task state"))
            })?),
        };
        let after_ms = match p.status_timestamp_after.as_deref() {
            None | Some("") => None,
            Some(t) => Some(parse_iso8601(t).ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "statusTimestampAfter '{t}' is not an ISO-8601 UTC timestamp"
                ))
            })?),
        };
        let query = ListQuery {
            context_id: p.context_id.filter(|c| !c.is_empty()),
            state,
            after_ms,
            page_size,
            cursor,
        };
        let page = self.a2a.store.list(&query).await.map_err(|e| {
            tracing::warn!(error = %e, "task store failed on list");
            RpcError::internal("the task store is unavailable; retry shortly")
        })?;
        Ok(Outcome::List {
            page,
            view: View {
                version,
                history_length: history_length(p.history_length)?,
                include_artifacts: p.include_artifacts.unwrap_or(false),
            },
            page_size,
        })
    }
}
