//! The worker side (private): what a pool thread does with one request.
//!
//! [`run`] takes a [`Job`], serves it by scheme (`http` over ureq, `file:` and `data:`
//! locally) and reports `Finished` to the loop exactly once, whatever happens, a panic
//! included. Everything a worker tells the loop goes through the job's emitter as
//! [`ReplyEvent`](crate::protocol::ReplyEvent)s; what it asks, it asks through
//! [`Job::ask`].
//!
//! Inside, bottom-up: `stop` (how a request ends early), `classify` (what a failure
//! means), `job`, `transport` (the ureq agent and its abortable connections), `upload`,
//! `transfer` (delivering a response), `redirect` (the policy), then `http` and `local`,
//! which serve a scheme each.

mod classify;
mod headers;
mod http;
mod job;
mod local;
mod redirect;
mod stop;
mod transfer;
mod transport;
mod upload;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub(crate) use job::{Job, Limits};
pub(crate) use transport::{Generation, build_agent, tls_trusting};

use crate::error::{Failure, NetworkError};
use crate::protocol::{ReplyEvent, Scheme};
use stop::{Outcome, Stop};
use transport::Running;

/// Runs `job` to the end and reports `Finished` for it (once).
pub(crate) fn run(job: Job) {
    let _running = Running::enter(job.control.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| execute(&job)));
    let result = match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(stop)) => Err(stop.into_failure()),
        Err(_) => {
            Err(Failure::new(NetworkError::UnknownNetworkError, "internal error in the network worker"))
        }
    };
    if let Err(failure) = &result {
        log::debug!("request {} failed: {:?}: {}", job.id, failure.error, failure.message);
    }
    // The loop being gone is the only way this fails, and then nobody waits for it.
    let _ = job.emit(ReplyEvent::Finished(result));
}

fn execute(job: &Job) -> Outcome<()> {
    // A job aborted while queued is not started, whatever its scheme (a `file:` open can
    // block, on a FIFO say).
    job.check_aborted()?;
    match Scheme::of(&job.url) {
        Some(Scheme::Http | Scheme::Https) => http::run(job),
        Some(Scheme::File) => local::file(job),
        Some(Scheme::Data) => local::data(job),
        // The loop refuses other schemes before making a job.
        None => Err(Stop::Failed(Failure::new(
            NetworkError::ProtocolUnknownError,
            format!("Protocol \"{}\" is unknown", job.url.scheme()),
        ))),
    }
}
