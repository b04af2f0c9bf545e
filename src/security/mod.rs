//! Who may ask for a plan and what a plan may use: caller authentication ([`auth`]), per-caller
//! rate limits ([`limit`]) and the policy gate ([`policy`]). All off by default; the edge
//! (`http::guard`) and the planner apply them.

pub mod auth;
pub mod limit;
pub mod policy;
