//! The manager's idle connections, per origin (private): HTTP/1.1 connections between two
//! requests, and the one multiplexed HTTP/2 connection of an origin that chose HTTP/2.
//!
//! Written here over hyper's connection API rather than taken from hyper-util's pooled
//! client, which cannot hold Qt's model: at most as many HTTP/1.1 connections per origin as
//! requests may run there (the scheduler's per-host limit), one HTTP/2 connection per
//! origin, connection timeouts apart from transfer timeouts. See docs/ARCHITECTURE.md.

use std::collections::HashMap;
use std::sync::Mutex;

use hyper::client::conn::{http1, http2};

use super::connect::{Established, Sender};
use super::upload::UploadBody;
use crate::protocol::Origin;
use crate::sync::lock;

/// Idle HTTP/1.1 connections kept per origin.
const IDLE_PER_ORIGIN: usize = 32;

/// What a connection serves: an origin, through a proxy (or not), with one TLS
/// configuration; connections made under other settings are not reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    pub(crate) origin: Origin,
    /// The proxy's URL, if one is used.
    pub(crate) proxy: Option<String>,
    /// The identity of the TLS configuration.
    pub(crate) tls: usize,
}

#[derive(Default)]
struct Idle {
    http1: Vec<(http1::SendRequest<UploadBody>, bool, bool)>,
    http2: Option<(http2::SendRequest<UploadBody>, bool)>,
}

/// The idle connections of one manager.
#[derive(Default)]
pub(crate) struct Connections {
    idle: Mutex<HashMap<PoolKey, Idle>>,
}

impl Connections {
    /// A connection for `key`: its HTTP/2 connection (shared), or an idle HTTP/1.1 one.
    pub(crate) fn checkout(&self, key: &PoolKey) -> Option<Established> {
        let mut idle = lock(&self.idle);
        let entry = idle.get_mut(key)?;
        if let Some((sender, encrypted)) = &entry.http2 {
            if !sender.is_closed() {
                return Some(Established {
                    sender: Sender::Http2(sender.clone()),
                    encrypted: *encrypted,
                    forward_proxy: false,
                });
            }
            entry.http2 = None;
        }
        while let Some((sender, encrypted, forward_proxy)) = entry.http1.pop() {
            if !sender.is_closed() {
                return Some(Established { sender: Sender::Http1(sender), encrypted, forward_proxy });
            }
        }
        None
    }

    /// Keeps a connection for later requests to `key` (an HTTP/1.1 one once its exchange
    /// is over; an HTTP/2 one as soon as it is open).
    pub(crate) fn checkin(&self, key: &PoolKey, connection: Established) {
        let Established { sender, encrypted, forward_proxy } = connection;
        let mut idle = lock(&self.idle);
        let entry = idle.entry(key.clone()).or_default();
        match sender {
            Sender::Http1(sender) => {
                if !sender.is_closed() && entry.http1.len() < IDLE_PER_ORIGIN {
                    entry.http1.push((sender, encrypted, forward_proxy));
                }
            }
            Sender::Http2(sender) => {
                if !sender.is_closed() {
                    entry.http2 = Some((sender, encrypted));
                }
            }
        }
    }

    /// Forgets every connection (`clear_access_cache`): they close when their last
    /// request is done.
    pub(crate) fn clear(&self) {
        lock(&self.idle).clear();
    }
}
