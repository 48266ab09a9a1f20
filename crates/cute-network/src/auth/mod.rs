//! HTTP authentication plumbing (private): challenges, the Basic and Digest schemes, the
//! manager's credential cache, and the per-request state that decides what to send next.
//!
//! `state` (one request's retries) stands on the other three: `challenge` (parsing, choosing
//! a scheme, which names `digest`'s challenge type), `digest` (the Digest scheme) and
//! `cache` (accepted credentials).

pub(crate) mod cache;
pub(crate) mod challenge;
pub(crate) mod digest;
pub(crate) mod state;

#[cfg(test)]
mod tests;
