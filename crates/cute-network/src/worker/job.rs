//! One request as the loop hands it to a worker ([`Job`]).

use std::sync::{Arc, Mutex, MutexGuard};

use cute_core::Emitter;
use url::Url;

use crate::auth::cache::CredentialCache;
use crate::exchange::Exchange;
use crate::protocol::Origin;
use crate::protocol::{Answer, Event, Question, ReplyEvent};
use crate::sync::lock;

use super::classify::Route;
use super::connections::Connections;
use super::cookies::Cookies;
use super::stop::{Outcome, Stop};

/// A request as its runner runs it: the request as made, and what the requests of its
/// manager share.
pub(crate) struct Job {
    exchange: Arc<Exchange>,
    pub(crate) events: Emitter<Event>,
    /// The manager's connections and cookies.
    pub(crate) net: Arc<Net>,
    pub(crate) credentials: Arc<Mutex<CredentialCache>>,
}

/// What a manager's requests share for its life, which its runners hand to each request.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) events: Emitter<Event>,
    pub(crate) net: Arc<Net>,
    pub(crate) credentials: Arc<Mutex<CredentialCache>>,
    /// Requests running or finished and not yet taken in by the loop (see
    /// [`BACKLOG`]): a request takes a permit to start; the loop gives it back when it
    /// handles the request's `Finished`, the runner when the request was aborted.
    pub(crate) backlog: Arc<tokio::sync::Semaphore>,
}

/// How many requests of one manager may run, or have finished without the loop having
/// taken in their result, at once. A loop busy elsewhere (making 100,000 requests, say)
/// then holds the runners back instead of their results piling up in memory.
pub(crate) const BACKLOG: usize = 2048;

impl Shared {
    /// The job for `exchange`.
    pub(crate) fn job(&self, exchange: Arc<Exchange>) -> Job {
        Job {
            exchange,
            events: self.events.clone(),
            net: self.net.clone(),
            credentials: self.credentials.clone(),
        }
    }
}

impl std::ops::Deref for Job {
    type Target = Exchange;

    fn deref(&self) -> &Exchange {
        &self.exchange
    }
}

/// What the requests of one manager share for its life.
#[derive(Default)]
pub(crate) struct Net {
    pub(crate) connections: Connections,
    pub(crate) cookies: Cookies,
    pub(crate) hsts: crate::hsts::Hsts,
}

impl Job {
    /// Sends `event` about this request to the loop; a vanished loop cancels the request.
    pub(crate) fn emit(&self, event: ReplyEvent) -> Outcome<()> {
        self.events.emit(Event::reply(self.id, event)).map_err(|_| Stop::Canceled)
    }

    /// Tells the loop whether `origin`'s server multiplexes requests (HTTP/2).
    pub(crate) fn protocol_learned(&self, origin: Origin, multiplexed: bool) {
        // A vanished loop has no scheduler to tell.
        let _ = self.events.emit(Event::Multiplexed(origin, multiplexed));
    }

    pub(crate) fn check_aborted(&self) -> Outcome<()> {
        if self.control.is_aborted() { Err(Stop::Canceled) } else { Ok(()) }
    }

    /// Asks the loop and waits for its answer; an abort ends the wait (and the request).
    pub(crate) async fn ask(&self, question: Question) -> Outcome<Answer> {
        let answer = self.control.ask();
        self.emit(ReplyEvent::Question(question))?;
        answer.await.map_err(|_| Stop::Canceled)
    }

    /// The manager's credential cache.
    pub(crate) fn cache(&self) -> MutexGuard<'_, CredentialCache> {
        lock(&self.credentials)
    }

    /// The proxy in use, if any.
    pub(crate) fn proxy_url(&self) -> Option<&Url> {
        self.settings.proxy.as_ref().map(|p| p.url())
    }

    /// How requests go, for error classification.
    pub(crate) fn route(&self) -> Route<'_> {
        Route { proxy: self.proxy_url() }
    }

    /// The stop for a failed operation: canceled if the request was aborted (an abort cuts
    /// the connection, which fails whatever was using it), else `classify`'s verdict.
    pub(crate) fn stopped(&self, classify: impl FnOnce() -> Stop) -> Stop {
        if self.control.is_aborted() { Stop::Canceled } else { classify() }
    }
}
