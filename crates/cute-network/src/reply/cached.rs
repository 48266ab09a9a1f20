//! A reply and the manager's cache: answering from it, a 304 that confirms the cached
//! response, and storing the response as its body arrives. The rules are in
//! `http_cache.rs`.

use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use cute_core::Timer;

use super::{Body, ReplyInner};
use crate::disk_cache::NetworkDiskCache;
use crate::http_cache::{self, Hit, VALIDATORS};
use crate::protocol::MetaData;
use crate::request::Operation;

impl ReplyInner {
    /// The manager's cache, if it has one.
    fn cache(&self) -> Option<NetworkDiskCache> {
        self.replies.upgrade()?.cache.borrow().clone()
    }

    /// Answers the request from the cache, from the loop (never inside `get()`): the
    /// signals of a reply whose whole body came at once.
    pub(crate) fn serve_soon(self: &Rc<Self>, hit: Box<Hit>) {
        let reply = self.clone();
        Timer::single_shot(Duration::ZERO, move || {
            if reply.is_finished() {
                return;
            }
            let Hit { meta, body } = *hit;
            let served = http_cache::reply_meta(&meta, body.len());
            let Some(url) = served.url.clone().or_else(|| reply.request().url().cloned()) else { return };
            log::debug!("request {}: answered from the cache", reply.id());
            reply.apply(url, Box::new(served));
            if reply.is_finished() {
                return;
            }
            if !body.is_empty() {
                reply.receive(body);
            }
            reply.finish(Ok(()));
        });
    }

    /// Before the response's metadata is taken in: a 304 that confirms the cached entry
    /// becomes that entry (whose body is returned, to be delivered after
    /// `meta_data_changed`); a response to store gets its entry writer.
    pub(super) fn consult_cache(&self, meta: &mut Box<MetaData>) -> Option<Vec<u8>> {
        if meta.from_cache {
            return None;
        }
        let cache = self.cache()?;
        let url = meta.url.clone()?;
        let status = meta.status?;
        let request = self.request();
        let now = SystemTime::now();
        let revalidating = request
            .cache_headers()
            .iter()
            .any(|(name, _)| VALIDATORS.iter().any(|v| name.eq_ignore_ascii_case(v.as_bytes())));
        if status == 304 && revalidating && request.url() == Some(&url) {
            // Gone meanwhile (evicted, cleared), or replaced by another response: the 304 is
            // the answer.
            let stored =
                cache.entry(&url).filter(|stored| http_cache::validated_by(&stored.meta, request))?;
            let head = self.operation == Operation::HeadOperation;
            let body = if head { Vec::new() } else { stored.body()? };
            let entry = http_cache::revalidated(&stored.meta, &meta.headers, now);
            cache.update_meta_data(&entry);
            let mut served = http_cache::reply_meta(&entry, body.len());
            served.url = Some(url);
            // It came over this connection, after all.
            served.encrypted = meta.encrypted;
            served.peer_certificates = meta.peer_certificates.take();
            served.http2 = meta.http2;
            **meta = served;
            log::debug!("request {}: the server confirmed the cached response", self.id());
            return Some(body);
        }
        let entry =
            http_cache::storable(request, self.operation, &url, status, &meta.reason, &meta.headers, now)?;
        let writer = cache.prepare(&entry)?;
        self.state.borrow_mut().body_state_mut().cache = Some(Box::new(writer));
        None
    }
}

/// A chunk of the body for the cache entry being written, if any; an entry that cannot
/// be written is given up (the reply goes on).
pub(super) fn store_chunk(body: &mut Body, chunk: &[u8]) {
    if let Some(writer) = &mut body.cache
        && writer.write_all(chunk).is_err()
    {
        body.cache = None;
    }
}
