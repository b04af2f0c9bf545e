//! `GetTask` (`tasks/get` in v0.3): a stored task, its history cut to `historyLength`.

use serde::Deserialize;
use serde_json::Value;

use super::{Dispatcher, Outcome, RpcError, history_length, params_of};
use crate::a2a::Version;
use crate::a2a::task::View;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    id: String,
    #[serde(default)]
    history_length: Option<i64>,
}

impl Dispatcher<'_> {
    pub(super) async fn get_task(
        &self,
        params: Value,
        version: Version,
    ) -> Result<Outcome, RpcError> {
        let p: GetParams = params_of(params)?;
        let task = self.find(&p.id).await?;
        Ok(Outcome::Task {
            task,
            view: View {
                version,
                history_length: history_length(p.history_length)?,
                include_artifacts: true,
            },
            wrapped: false,
        })
    }
}
