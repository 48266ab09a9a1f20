//! The worker side (private): what the manager's runtime does with one request.
//!
//! [`run`] takes a [`Job`], serves it by scheme (`http` over hyper, `file:` and `data:`
//! locally) and reports `Finished` to the loop, once. Everything a request tells the loop
//! goes through the job's emitter as [`ReplyEvent`](crate::protocol::ReplyEvent)s; what it
//! asks, it asks through [`Job::ask`].
//!
//! Inside, bottom-up: `stop` (how a request ends early), `classify` (what a failure
//! means), `headers` (Qt's request headers and response limits), `upload`,
//! `connect` (opening a connection), `connections` (the idle ones), `cookies`, `job`,
//! `transfer` (delivering a response), `redirect` (the policy), then `http` and `local`,
//! which serve a scheme each.

mod classify;
mod connect;
mod connections;
mod cookies;
mod headers;
mod http;
mod job;
mod local;
mod redirect;
mod stop;
mod transfer;
mod upload;
mod warm;

pub(crate) use job::{BACKLOG, Job, Net, Shared};
pub(crate) use warm::warm;

use crate::error::{Failure, NetworkError};
use crate::protocol::{ReplyEvent, Scheme};
use stop::{Outcome, Stop};

/// Runs `job` to the end and reports `Finished` for it. (If the job's task is cancelled by
/// an abort, nothing is reported: the loop has finished the reply itself.)
pub(crate) async fn run(job: Job) {
    let result = execute(&job).await.map_err(Stop::into_failure);
    if let Err(failure) = &result {
        log::debug!("request {} failed: {:?}: {}", job.id, failure.error, failure.message);
    }
    // The loop being gone is the only way this fails, and then nobody waits for it.
    let _ = job.emit(ReplyEvent::Finished(result));
}

/// What the loop reports for a request whose task panicked.
pub(crate) fn panicked() -> Failure {
    Failure::new(NetworkError::UnknownNetworkError, "internal error in the network worker")
}

async fn execute(job: &Job) -> Outcome<()> {
    // A job aborted while queued is not started, whatever its scheme (a `file:` open can
    // block, on a FIFO say).
    job.check_aborted()?;
    match Scheme::of(job.url()) {
        Some(Scheme::Http | Scheme::Https) => http::run(job).await,
        Some(Scheme::File) => local::file(job).await,
        Some(Scheme::Data) => local::data(job).await,
        // The loop refuses other schemes before making a job.
        None => Err(Stop::Failed(Failure::new(
            NetworkError::ProtocolUnknownError,
            format!("Protocol \"{}\" is unknown", job.url().scheme()),
        ))),
    }
}
