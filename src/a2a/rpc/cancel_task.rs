//! `CancelTask` (`tasks/cancel` in v0.3): planning finishes within the request, so every
//! stored task is already terminal and the answer is the spec's "not cancelable".

use serde::Deserialize;
use serde_json::Value;

use super::{Dispatcher, Outcome, RpcError, params_of};
use crate::a2a::Version;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelParams {
    id: String,
}

impl Dispatcher<'_> {
    pub(super) async fn cancel_task(
        &self,
        params: Value,
        version: Version,
    ) -> Result<Outcome, RpcError> {
        let p: CancelParams = params_of(params)?;
        let task = self.find(&p.id).await?;
        // Planning finishes within the request: every stored task is already terminal.
        debug_assert!(task.state.is_terminal());
        Err(RpcError::not_cancelable(&task, version))
    }
}
