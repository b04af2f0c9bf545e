//! The one error type of the task boundary: what went wrong with a task, in the contract's
//! `{code, message}` terms, and which HTTP status fits it.

use thiserror::Error;

use crate::pipeline::optimizer::PlanError;

/// The kinds of failure, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Unreadable JSON, a missing field, a field of the wrong type (400).
    BadRequest,
    /// A body, query or plan over the configured limits (413).
    TooLarge,
    /// Well-formed but cannot be planned: unknown action, empty query, broken plan (422).
    Unprocessable,
    /// No or a wrong bearer token, when authentication is on (401).
    Unauthorized,
    /// The caller's rate limit is reached (429).
    RateLimited,
    /// Too many tasks in flight (503).
    Overloaded,
    /// A bug of ours (500); the message stays generic, details go to the log.
    Internal,
}

/// What went wrong with a task: its kind, a machine-readable code, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct TaskError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl TaskError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        TaskError {
            kind,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, code, message)
    }
}

impl From<PlanError> for TaskError {
    fn from(e: PlanError) -> Self {
        TaskError::unprocessable(e.code(), e.to_string())
    }
}
