//! The planning stages, each a pure function over typed input: no I/O, no async, so each can be
//! tested and benchmarked alone.
//!
//! analysis ([`analyzer`]) → selection ([`selector`]) → draft steps ([`generator`]) → layers
//! ([`optimizer`]) → estimates ([`estimator`]); [`text`] tokenizes the query once for all, and
//! [`roster`] is what the caller offered, read once.

pub mod analyzer;
pub mod estimator;
pub mod generator;
pub mod optimizer;
pub mod roster;
pub mod selector;
pub mod text;

#[cfg(test)]
pub(crate) mod testing;
