//! httpbin's caching endpoints, for clients' HTTP caches: `/cache` (validators, and a 304
//! for any conditional request), `/cache/{n}` (fresh for `n` seconds) and `/etag/{etag}`
//! (a resource with that entity tag).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::context::Ctx;
use crate::endpoints;
use crate::response::{self, Reply, with_header};

/// `/cache`: a 304 when the request has `If-Modified-Since` or `If-None-Match` (whatever
/// their values, as httpbin), else `/get`'s answer with a `Last-Modified` of now and a new
/// `ETag`.
pub(crate) fn cache(ctx: &Ctx) -> Reply {
    if ctx.header("If-Modified-Since").is_some() || ctx.header("If-None-Match").is_some() {
        return response::empty(304);
    }
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = SystemTime::now();
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let tag = format!("\"{:016x}{:016x}\"", nanos, NEXT.fetch_add(1, Ordering::Relaxed));
    let reply = with_header(endpoints::get(ctx), "Last-Modified", &httpdate::fmt_http_date(now));
    with_header(reply, "ETag", &tag)
}

/// `/cache/{seconds}`: `/get`'s answer, fresh for that long (`Cache-Control: public,
/// max-age=…`).
pub(crate) fn cache_for(ctx: &Ctx, seconds: &str) -> Reply {
    match seconds.parse::<u64>() {
        Ok(seconds) => {
            with_header(endpoints::get(ctx), "Cache-Control", &format!("public, max-age={seconds}"))
        }
        Err(_) => response::not_found(),
    }
}

/// `/etag/{etag}`: a resource whose entity tag is `etag` (sent quoted): a 304 when
/// `If-None-Match` lists it (or `*`), a 412 when `If-Match` does not, else `/get`'s answer.
pub(crate) fn etag(ctx: &Ctx, etag: &str) -> Reply {
    let quoted = format!("\"{etag}\"");
    let lists = |header: &str| {
        ctx.header(header).map(|value| {
            value
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
                .any(|tag| tag == etag || tag == "*")
        })
    };
    if let Some(matched) = lists("If-None-Match") {
        if matched {
            return with_header(response::empty(304), "ETag", &quoted);
        }
    } else if lists("If-Match") == Some(false) {
        return response::empty(412);
    }
    with_header(endpoints::get(ctx), "ETag", &quoted)
}
