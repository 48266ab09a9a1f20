//! The manager's connections, per origin (private): HTTP/1.1 connections idle between two
//! requests, and the one multiplexed HTTP/2 connection of an origin whose server chose
//! HTTP/2.
//!
//! Written here over hyper's connection API rather than taken from hyper-util's pooled
//! client, which cannot hold Qt's model: at most as many HTTP/1.1 exchanges per origin as
//! requests may run there, one HTTP/2 connection per origin (requests made while it is
//! being negotiated wait for it instead of racing to open their own), connection timeouts
//! apart from transfer timeouts. See docs/ARCHITECTURE.md.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hyper::client::conn::{http1, http2};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::connect::{Established, Sender};
use super::upload::UploadBody;
use crate::protocol::Origin;
use crate::protocol::Wire;
use crate::sync::lock;

/// Idle HTTP/1.1 connections kept per origin.
const IDLE_PER_ORIGIN: usize = 32;

/// What a connection serves: an origin, through a proxy (or not), with one TLS
/// configuration and one way on the wire; connections made otherwise are not reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    pub(crate) origin: Origin,
    /// The proxy's URL, if one is used.
    pub(crate) proxy: Option<String>,
    /// The identity of the TLS configuration.
    pub(crate) tls: usize,
    pub(crate) wire: Wire,
}

/// An idle HTTP/1.1 connection.
struct Idle {
    sender: http1::SendRequest<UploadBody>,
    encrypted: super::connect::Encrypted,
    forward_proxy: bool,
}

/// The shared HTTP/2 connection of a key.
struct Shared {
    sender: http2::SendRequest<UploadBody>,
    encrypted: super::connect::Encrypted,
    id: u64,
}

/// What the pool knows of one key.
struct Entry {
    http1: Vec<Idle>,
    http2: Option<Shared>,
    /// A request is opening the connection that will tell whether the server speaks
    /// HTTP/2; others wait for it (they hold a receiver: it reports when it is done).
    negotiating: Option<watch::Receiver<()>>,
    /// The server picked HTTP/1.1 the last time: open HTTP/1.1 connections at once.
    http1_only: bool,
    /// The last negotiation failed: do not make others wait for the next one.
    failed: bool,
    /// Permits for HTTP/1.1 exchanges running at once, and how many there are.
    exchanges: (Arc<Semaphore>, usize),
}

impl Entry {
    fn new(per_host: usize) -> Self {
        Entry {
            http1: Vec::new(),
            http2: None,
            negotiating: None,
            http1_only: false,
            failed: false,
            exchanges: (Arc::new(Semaphore::new(per_host)), per_host),
        }
    }

    /// The HTTP/2 connection, if it is still open.
    fn live_http2(&mut self) -> Option<Established> {
        let shared = self.http2.as_ref()?;
        if shared.sender.is_closed() {
            self.http2 = None;
            return None;
        }
        Some(Established {
            sender: Sender::Http2(shared.sender.clone()),
            encrypted: shared.encrypted.clone(),
            forward_proxy: false,
            shared_id: Some(shared.id),
            permit: None,
        })
    }

    /// An idle HTTP/1.1 connection with `permit`, or the go-ahead to open one.
    fn idle_or_open(&mut self, permit: OwnedSemaphorePermit) -> Lease {
        while let Some(idle) = self.http1.pop() {
            if !idle.sender.is_closed() {
                return Lease::Ready(Established {
                    sender: Sender::Http1(idle.sender),
                    encrypted: idle.encrypted,
                    forward_proxy: idle.forward_proxy,
                    shared_id: None,
                    permit: Some(permit),
                });
            }
        }
        Lease::Open { permit: Some(permit), negotiator: None }
    }

    /// The permits for HTTP/1.1 exchanges, remade when the per-host limit changed.
    fn exchanges(&mut self, per_host: usize) -> Arc<Semaphore> {
        if self.exchanges.1 != per_host {
            self.exchanges = (Arc::new(Semaphore::new(per_host)), per_host);
        }
        self.exchanges.0.clone()
    }
}

/// How a request gets its connection.
pub(crate) enum Lease {
    /// A connection to use now: the shared HTTP/2 one, or an idle HTTP/1.1 one.
    Ready(Established),
    /// Open a new one. With a negotiator, this request is the one finding out whether the
    /// server speaks HTTP/2; others wait until it is dropped.
    Open { permit: Option<OwnedSemaphorePermit>, negotiator: Option<Negotiator> },
}

type Map = Arc<Mutex<HashMap<PoolKey, Entry>>>;

/// The connections of one manager.
#[derive(Default)]
pub(crate) struct Connections {
    entries: Map,
    /// Numbers shared connections, so that a request forgets only the one that failed it.
    next_id: AtomicU64,
}

impl Connections {
    /// A connection for `key`, or the go-ahead to open one. Waits while another request
    /// negotiates a connection that may be HTTP/2, and while `per_host` HTTP/1.1
    /// exchanges run.
    pub(crate) async fn lease(&self, key: &PoolKey, per_host: usize) -> Lease {
        let exchanges = loop {
            let mut waiting = {
                let mut entries = lock(&self.entries);
                let Some(entry) = entries.get_mut(key) else {
                    entries.insert(key.clone(), Entry::new(per_host));
                    continue;
                };
                if let Some(shared) = entry.live_http2() {
                    return Lease::Ready(shared);
                }
                match &entry.negotiating {
                    Some(negotiation) => negotiation.clone(),
                    None if key.wire != Wire::Http1 && !entry.http1_only && !entry.failed => {
                        let (done, negotiation) = watch::channel(());
                        entry.negotiating = Some(negotiation);
                        let permit = entry.exchanges(per_host).try_acquire_owned().ok();
                        let negotiator =
                            Negotiator { entries: self.entries.clone(), key: key.clone(), _done: done };
                        return Lease::Open { permit, negotiator: Some(negotiator) };
                    }
                    None => {
                        // HTTP/1.1: an idle connection, or a new one, within the limit.
                        let exchanges = entry.exchanges(per_host);
                        match exchanges.clone().try_acquire_owned() {
                            Ok(permit) => return entry.idle_or_open(permit),
                            Err(_) => break exchanges,
                        }
                    }
                }
            };
            // Ends when the negotiator is dropped (its sender with it).
            let _ = waiting.changed().await;
        };
        // As many HTTP/1.1 exchanges run as the limit allows: wait for one to end. (The
        // semaphore is never closed.)
        let Ok(permit) = exchanges.acquire_owned().await else {
            return Lease::Open { permit: None, negotiator: None };
        };
        let mut entries = lock(&self.entries);
        match entries.get_mut(key) {
            Some(entry) => entry.idle_or_open(permit),
            None => Lease::Open { permit: Some(permit), negotiator: None },
        }
    }

    /// Records a connection just opened for `key`: an HTTP/2 one becomes the key's shared
    /// connection (returned with its id); an HTTP/1.1 one where HTTP/2 was offered tells
    /// that the server does not speak it.
    pub(crate) fn opened(&self, key: &PoolKey, connection: Established) -> Established {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(key) else { return connection };
        entry.failed = false;
        match connection.sender {
            Sender::Http2(sender) => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                entry.http2 =
                    Some(Shared { sender: sender.clone(), encrypted: connection.encrypted.clone(), id });
                Established { sender: Sender::Http2(sender), shared_id: Some(id), permit: None, ..connection }
            }
            Sender::Http1(_) => {
                entry.http1_only = key.wire == Wire::Negotiated;
                connection
            }
        }
    }

    /// Keeps an HTTP/1.1 connection for later requests to `key`, its exchange over.
    pub(crate) fn checkin(&self, key: &PoolKey, connection: Established) {
        let Established { sender, encrypted, forward_proxy, .. } = connection;
        let Sender::Http1(sender) = sender else { return };
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(key) else { return };
        if !sender.is_closed() && entry.http1.len() < IDLE_PER_ORIGIN {
            entry.http1.push(Idle { sender, encrypted, forward_proxy });
        }
    }

    /// Stops handing out the shared connection `id` of `key` (it refused a request, or
    /// its server is going away): the next request opens a new one.
    pub(crate) fn forget_shared(&self, key: &PoolKey, id: u64) {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get_mut(key)
            && entry.http2.as_ref().is_some_and(|s| s.id == id)
        {
            entry.http2 = None;
        }
    }

    /// Forgets every connection (`clear_access_cache`): they close when their last
    /// request is done.
    pub(crate) fn clear(&self) {
        let mut entries = lock(&self.entries);
        for entry in entries.values_mut() {
            entry.http1.clear();
            entry.http2 = None;
            entry.http1_only = false;
        }
    }
}

/// The request negotiating a key's connection. Dropping it (done, failed or aborted)
/// lets the requests waiting for it go on.
pub(crate) struct Negotiator {
    entries: Map,
    key: PoolKey,
    _done: watch::Sender<()>,
}

impl Negotiator {
    /// The negotiation failed (the connection could not be opened): others stop waiting
    /// for a negotiator and open their own.
    pub(crate) fn failed(self) {
        if let Some(entry) = lock(&self.entries).get_mut(&self.key) {
            entry.failed = true;
        }
    }
}

impl Drop for Negotiator {
    fn drop(&mut self) {
        // Cleared before the sender drops, so the woken waiters find no negotiation.
        if let Some(entry) = lock(&self.entries).get_mut(&self.key) {
            entry.negotiating = None;
        }
    }
}
