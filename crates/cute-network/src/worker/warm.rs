//! Opening a connection before any request needs it (Qt's `connectToHost` and
//! `connectToHostEncrypted`): it goes to the pool, idle, for the first request to its
//! origin.

use std::sync::Arc;

use url::Url;

use super::connect::{self, Established};
use super::connections::{Lease, PoolKey};
use super::job::Shared;
use crate::protocol::{Event, Origin};
use crate::request::Http2;
use crate::settings::Settings;

/// Opens a connection to `url`'s origin as a request with default attributes would, and
/// leaves it idle in the pool; failures are only logged (Qt reports none either).
pub(crate) async fn warm(shared: Shared, settings: Arc<Settings>, url: Url) {
    let wire = Http2 { allowed: true, direct: false }.wire(&url);
    let key = PoolKey {
        origin: Origin::of(&url),
        proxy: settings.proxy.as_ref().map(|p| p.url().to_string()),
        tls: settings.tls.identity(),
        wire,
    };
    let connections = &shared.net.connections;
    let (permit, negotiator) = match connections.lease(&key, settings.per_host).await {
        // One is there already (idle, or the origin's shared HTTP/2 connection).
        Lease::Ready(connection) => return connections.checkin(&key, connection),
        Lease::Open { permit, negotiator } => (permit, negotiator),
    };
    let opened = connect::connect(connect::Route {
        url: &url,
        proxy: settings.proxy.as_ref(),
        proxy_credentials: settings.proxy.as_ref().and_then(|p| p.credentials()).as_ref(),
        tls: settings.tls.config(wire),
        wire,
        connect_timeout: settings.connect_timeout,
    })
    .await;
    match opened {
        Ok(opened) => {
            let opened = connections.opened(&key, Established { permit, ..opened });
            if negotiator.is_some() {
                let multiplexed = matches!(opened.sender, connect::Sender::Http2(_));
                // A vanished loop has no scheduler to tell.
                let _ = shared.events.emit(Event::Multiplexed(Origin::of(&url), multiplexed));
            }
            drop(negotiator);
            connections.checkin(&key, opened);
        }
        Err(e) => {
            if let Some(negotiator) = negotiator {
                negotiator.failed();
            }
            log::debug!("connecting ahead to {}: {e}", url.as_str());
        }
    }
}
