//! The planner as its users meet it: the HTTP API over real sockets, the model side against
//! fake servers (wiremock fakes the server, our real client talks to it), and the binary with
//! real signals. One test binary, one compile.

// Helpers outside #[test] functions unwrap too: a broken fixture should stop the test loudly.
#![allow(clippy::unwrap_used)]

mod a2a;
mod cli;
mod helpers;
mod k8s;
mod llm;
mod properties;
mod quality;
mod redis;
mod rollout;
mod security;
mod task;
