//! One request as the loop hands it to a worker ([`Job`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cute_core::Emitter;
use hyper::Method;
use url::Url;

use crate::auth::cache::CredentialCache;
use crate::control::Control;
use crate::protocol::Origin;
use crate::protocol::{Answer, Event, Question, ReplyEvent};
use crate::request::{Http2, RedirectPolicy};
use crate::settings::Settings;
use crate::sync::lock;

use super::classify::Route;
use super::connections::Connections;
use super::cookies::Cookies;
use super::stop::{Outcome, Stop};

/// Everything a worker needs for one request, fixed when the request is made.
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) body: Option<Arc<Vec<u8>>>,
    pub(crate) policy: RedirectPolicy,
    pub(crate) http2: Http2,
    pub(crate) max_redirects: u32,
    pub(crate) limits: Limits,
    pub(crate) control: Arc<Control>,
    pub(crate) events: Emitter<Event>,
    /// The manager's connections and cookies.
    pub(crate) net: Arc<Net>,
    /// The manager's settings when the request was made.
    pub(crate) settings: Arc<Settings>,
    pub(crate) credentials: Arc<Mutex<CredentialCache>>,
}

/// What the requests of one manager share for its life.
#[derive(Default)]
pub(crate) struct Net {
    pub(crate) connections: Connections,
    pub(crate) cookies: Cookies,
}

/// A request's limits; `None` is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// No byte moved for this long fails the transfer.
    pub(crate) transfer_timeout: Option<Duration>,
    /// Decoded bytes past which the decompression ratio is checked.
    pub(crate) decompression_threshold: Option<u64>,
    /// The largest (decoded) body accepted.
    pub(crate) max_body: Option<u64>,
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
