//! The JSON-RPC envelope: a request parsed, and a response written (a result or an error).

use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::RpcError;
use crate::a2a::store::{Cursor, ListPage};
use crate::a2a::task::{StoredTask, TaskView, View};

/// A parsed JSON-RPC request.
#[derive(Debug)]
pub struct Envelope {
    pub id: Value,
    pub method: String,
    pub params: Value,
}

impl Envelope {
    /// The request in `body`; `Err` carries the id to answer with (null when unreadable).
    pub fn parse(body: &[u8]) -> Result<Envelope, Box<(Value, RpcError)>> {
        let fail = |id: Value, e: RpcError| Box::new((id, e));
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            fail(
                Value::Null,
                RpcError::parse_error(format!("Invalid JSON payload: {e}")),
            )
        })?;
        let Value::Object(mut obj) = value else {
            let what = if value.is_array() {
                "batch requests are not supported; send one request object"
            } else {
                "the request must be a JSON object"
            };
            return Err(fail(Value::Null, RpcError::invalid_request(what)));
        };
        let id = match obj.remove("id") {
            None => Value::Null,
            Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id,
            Some(_) => {
                return Err(fail(
                    Value::Null,
                    RpcError::invalid_request("'id' must be a string, a number or null"),
                ));
            }
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(fail(
                id,
                RpcError::invalid_request("'jsonrpc' must be \"2.0\""),
            ));
        }
        let method = match obj.remove("method") {
            Some(Value::String(m)) => m,
            _ => {
                return Err(fail(
                    id,
                    RpcError::invalid_request("'method' must be a string"),
                ));
            }
        };
        let params = match obj.remove("params") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(p @ Value::Object(_)) => p,
            Some(_) => {
                return Err(fail(
                    id,
                    RpcError::invalid_params("'params' must be an object"),
                ));
            }
        };
        Ok(Envelope { id, method, params })
    }
}

/// What a method answers.
#[derive(Debug)]
pub enum Outcome {
    /// A task; `wrapped` puts it under `{"task": …}` (v1.0 `SendMessage`).
    Task {
        task: Arc<StoredTask>,
        view: View,
        wrapped: bool,
    },
    List {
        page: ListPage,
        view: View,
        page_size: usize,
    },
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Outcome::Task {
                task,
                view,
                wrapped,
            } => {
                let tv = TaskView { task, view: *view };
                if *wrapped {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("task", &tv)?;
                    map.end()
                } else {
                    tv.serialize(s)
                }
            }
            Outcome::List {
                page,
                view,
                page_size,
            } => {
                let tasks: Vec<TaskView> = page
                    .tasks
                    .iter()
                    .map(|task| TaskView { task, view: *view })
                    .collect();
                let mut map = s.serialize_map(Some(4))?;
                map.serialize_entry("tasks", &tasks)?;
                map.serialize_entry(
                    "nextPageToken",
                    &page.next.map(Cursor::token).unwrap_or_default(),
                )?;
                map.serialize_entry("pageSize", page_size)?;
                map.serialize_entry("totalSize", &page.total)?;
                map.end()
            }
        }
    }
}

/// The JSON-RPC response body for `id` and `result`.
pub fn response_body(id: &Value, result: Result<&Outcome, &RpcError>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a Outcome>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a RpcError>,
    }
    let (result, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let mut buf = Vec::with_capacity(8 * 1024);
    if serde_json::to_writer(
        &mut buf,
        &Body {
            jsonrpc: "2.0",
            id,
            result,
            error,
        },
    )
    .is_err()
    {
        buf = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#
            .to_vec();
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_errors_keep_the_id_when_it_is_readable() {
        let (id, e) = *Envelope::parse(b"{nope").expect_err("bad json");
        assert_eq!((id, e.code), (Value::Null, -32700));
        let (id, e) = *Envelope::parse(br#"{"id":7,"method":"GetTask"}"#).expect_err("no jsonrpc");
        assert_eq!((id, e.code), (json!(7), -32600));
        let (_, e) = *Envelope::parse(br#"[{"jsonrpc":"2.0"}]"#).expect_err("batch");
        assert_eq!(e.code, -32600);
        let (id, e) =
            *Envelope::parse(br#"{"jsonrpc":"2.0","id":"a","method":"GetTask","params":[1]}"#)
                .expect_err("params");
        assert_eq!((id, e.code), (json!("a"), -32602));
        let ok =
            Envelope::parse(br#"{"jsonrpc":"2.0","id":null,"method":"GetTask"}"#).expect("valid");
        assert_eq!(ok.method, "GetTask");
    }
}
