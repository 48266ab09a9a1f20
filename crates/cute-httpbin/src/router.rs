//! Maps a request to its endpoint, and decides which answers take time.

use std::time::Duration;

use hyper::Method;
use serde_json::Value;

use crate::body::Payload;
use crate::caching;
use crate::context::Ctx;
use crate::digest;
use crate::endpoints::{self, Coding, decode_segment};
use crate::json::body_fields;
use crate::redirect;
use crate::response::{self, Reply};
use crate::shutdown::Shutdown;
use crate::stream::{DEFAULT_SEED, Drip, Prng, seconds};

/// The frame size of `/stream-bytes` without `?chunk_size=` (httpbin's default).
const DEFAULT_CHUNK: usize = 10 * 1024;

/// The longest `/delay`, in seconds.
const MAX_DELAY: f64 = 10.0;

/// Cap for `/drip` durations, in seconds (only to keep the arithmetic sane).
const MAX_DRIP: f64 = 3600.0;

/// How a request is answered.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send this reply now (its body may still be generated as it is written).
    Now(Reply),
    /// Wait (unless the server stops first, which makes the answer a 503), then send this reply.
    Later {
        /// How long to wait before responding.
        wait: Duration,
        /// The reply.
        reply: Reply,
    },
    /// The `/drip` response.
    Drip(Drip),
}

/// Only `GET` (and `HEAD`) reach `f`; other methods get 405.
fn get_only(ctx: &Ctx, f: impl FnOnce() -> Reply) -> Reply {
    if ctx.is_get() { f() } else { response::method_not_allowed("GET, HEAD") }
}

/// Routes the request in `ctx`.
pub(crate) fn route(ctx: &Ctx, shutdown: &Shutdown) -> Action {
    let segments: Vec<&str> = match ctx.path.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Action::Now(response::not_found()),
    };
    let reply = match segments.as_slice() {
        ["tiny.txt"] => get_only(ctx, endpoints::tiny),
        ["get"] => get_only(ctx, || endpoints::get(ctx)),
        ["post"] => endpoints::with_body(ctx, &Method::POST),
        ["put"] => endpoints::with_body(ctx, &Method::PUT),
        ["patch"] => endpoints::with_body(ctx, &Method::PATCH),
        ["delete"] => endpoints::with_body(ctx, &Method::DELETE),
        ["anything", ..] => endpoints::anything(ctx),
        [""] | ["index.html"] | ["html"] => get_only(ctx, endpoints::html),
        ["favicon.ico"] => get_only(ctx, endpoints::favicon),
        ["headers"] => get_only(ctx, || endpoints::headers_only(ctx)),
        ["user-agent"] => get_only(ctx, || endpoints::user_agent(ctx)),
        ["ip"] => get_only(ctx, || endpoints::ip(ctx)),
        ["gzip"] => get_only(ctx, || endpoints::compressed(ctx, Coding::Gzip)),
        ["deflate"] => get_only(ctx, || endpoints::compressed(ctx, Coding::Deflate)),
        ["brotli"] => get_only(ctx, || endpoints::compressed(ctx, Coding::Brotli)),
        ["zstd"] => get_only(ctx, || endpoints::compressed(ctx, Coding::Zstd)),
        ["status", codes] => redirect::status(codes),
        ["basic-auth", user, passwd] => get_only(ctx, || endpoints::basic_auth(ctx, user, passwd, false)),
        ["hidden-basic-auth", user, passwd] => {
            get_only(ctx, || endpoints::basic_auth(ctx, user, passwd, true))
        }
        ["digest-auth", qop, user, passwd] => {
            get_only(ctx, || digest::digest_auth(ctx, qop, user, passwd, None))
        }
        ["digest-auth", qop, user, passwd, algorithm] => {
            get_only(ctx, || digest::digest_auth(ctx, qop, user, passwd, Some(algorithm)))
        }
        ["redirect", n] => get_only(ctx, || redirect::redirect(ctx, n)),
        ["relative-redirect", n] => get_only(ctx, || redirect::relative_redirect(n)),
        ["absolute-redirect", n] => get_only(ctx, || redirect::absolute_redirect(ctx, n)),
        ["redirect-to"] => redirect::redirect_to(ctx),
        ["response-headers"] if ctx.is_get() || ctx.method == Method::POST => {
            endpoints::response_headers(ctx)
        }
        ["response-headers"] => response::method_not_allowed("GET, HEAD, POST"),
        ["cache"] => get_only(ctx, || caching::cache(ctx)),
        ["cache", seconds] => get_only(ctx, || caching::cache_for(ctx, seconds)),
        ["etag", etag] => get_only(ctx, || caching::etag(ctx, &decode_segment(etag))),
        ["cookies"] => get_only(ctx, || endpoints::cookies(ctx)),
        ["cookies", "set"] => get_only(ctx, || endpoints::cookies_set(&ctx.query)),
        ["cookies", "set", name, value] => {
            get_only(ctx, || endpoints::cookies_set(&[(decode_segment(name), decode_segment(value))]))
        }
        ["cookies", "delete"] => get_only(ctx, || endpoints::cookies_delete(ctx)),
        ["delay", secs] => return delay(ctx, secs),
        ["drip"] if ctx.is_get() => return drip(ctx),
        ["drip"] => response::method_not_allowed("GET, HEAD"),
        ["bytes", n] | ["stream-bytes", n] if ctx.is_get() => {
            return match n.parse::<u64>() {
                Ok(n) => bytes(ctx, n, segments[0] == "stream-bytes", shutdown),
                Err(_) => Action::Now(response::not_found()),
            };
        }
        ["bytes" | "stream-bytes", _] => response::method_not_allowed("GET, HEAD"),
        ["1m.bin"] if ctx.is_get() => return bytes(ctx, 1 << 20, false, shutdown),
        ["big.bin"] if ctx.is_get() => return bytes(ctx, 1 << 30, false, shutdown),
        ["1m.bin" | "big.bin"] => response::method_not_allowed("GET, HEAD"),
        _ => response::not_found(),
    };
    Action::Now(reply)
}

/// `/delay/{secs}`: any method; answers like `/anything` after the wait.
fn delay(ctx: &Ctx, secs: &str) -> Action {
    let Some(wait) = seconds(secs, MAX_DELAY) else {
        return Action::Now(response::text(400, "invalid delay"));
    };
    let mut fields = body_fields(ctx);
    fields.remove("json");
    Action::Later { wait, reply: response::json(200, &Value::Object(fields)) }
}

/// `/drip?duration=2&numbytes=10&code=200&delay=0`.
fn drip(ctx: &Ctx) -> Action {
    let param = |name: &str, default: &str| ctx.query_value(name).unwrap_or(default).to_owned();
    let duration = seconds(&param("duration", "2"), MAX_DRIP);
    let delay = seconds(&param("delay", "0"), MAX_DRIP);
    let numbytes = param("numbytes", "10").trim().parse::<u64>().ok();
    let code = param("code", "200").trim().parse::<u16>().ok().filter(|c| (200..=599).contains(c));
    match (duration, delay, numbytes, code) {
        (Some(duration), Some(delay), Some(numbytes), Some(code)) => {
            Action::Drip(Drip { code, delay, duration, numbytes, head: ctx.is_head() })
        }
        _ => Action::Now(response::text(400, "invalid drip parameters")),
    }
}

/// `/bytes/{n}`, `/stream-bytes/{n}` (`chunked`, `?chunk_size=`), `/1m.bin`, `/big.bin`: the
/// body is generated while it is written, never held whole.
fn bytes(ctx: &Ctx, n: u64, chunked: bool, shutdown: &Shutdown) -> Action {
    let seed = match ctx.query_value("seed").map(|s| s.trim().parse::<u64>()) {
        None => DEFAULT_SEED,
        Some(Ok(seed)) => seed,
        Some(Err(_)) => return Action::Now(response::text(400, "invalid seed")),
    };
    let chunk = if !chunked {
        Prng::BLOCK
    } else {
        // Like httpbin, 0 counts as 1; above one block, frames are one block.
        match ctx.query_value("chunk_size").map(|s| s.trim().parse::<usize>()) {
            None => DEFAULT_CHUNK,
            Some(Ok(size)) => size.clamp(1, Prng::BLOCK),
            Some(Err(_)) => return Action::Now(response::text(400, "invalid chunk_size")),
        }
    };
    // HTTP/1.0 has no chunked encoding: announce the length rather than close-delimit.
    let known = !chunked || ctx.http10;
    let payload = Payload::generated(Prng::new(seed, n), chunk, known, shutdown.clone());
    Action::Now(response::stream(200, Some("application/octet-stream"), payload, known.then_some(n)))
}
