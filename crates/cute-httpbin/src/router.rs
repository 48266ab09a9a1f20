//! Maps a request to its endpoint, and decides what must leave the handler pool.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiny_http::Method;

use crate::context::Ctx;
use crate::endpoints::{self, decode_segment};
use crate::json::body_fields;
use crate::redirect;
use crate::response::{self, Reply};
use crate::shutdown::Shutdown;
use crate::stream::{DEFAULT_SEED, Drip, PrngReader, seconds};

/// Bodies larger than this are streamed from a worker thread rather than from the pool.
const INLINE_LIMIT: u64 = 256 * 1024;

/// The longest `/delay`, in seconds.
const MAX_DELAY: f64 = 10.0;

/// Cap for `/drip` durations, in seconds (only to keep the arithmetic sane).
const MAX_DRIP: f64 = 3600.0;

/// How a request is answered.
pub(crate) enum Action {
    /// Send this reply now, from the pool thread.
    Now(Reply),
    /// On a worker thread: wait (unless the server stops first), then send this reply.
    Later {
        /// How long to wait before responding.
        wait: Duration,
        /// The reply.
        reply: Reply,
    },
    /// On a worker thread: the `/drip` response.
    Drip(Drip),
}

/// Only `GET` (and `HEAD`) reach `f`; other methods get 405.
fn get_only(ctx: &Ctx, f: impl FnOnce() -> Reply) -> Reply {
    if ctx.is_get() { f() } else { response::method_not_allowed("GET, HEAD") }
}

/// Routes the request in `ctx`.
pub(crate) fn route(ctx: &Ctx, shutdown: &Arc<Shutdown>) -> Action {
    let segments: Vec<&str> = match ctx.path.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Action::Now(response::not_found()),
    };
    let reply = match segments.as_slice() {
        ["tiny.txt"] => get_only(ctx, endpoints::tiny),
        ["get"] => get_only(ctx, || endpoints::get(ctx)),
        ["post"] => endpoints::with_body(ctx, &Method::Post),
        ["put"] => endpoints::with_body(ctx, &Method::Put),
        ["patch"] => endpoints::with_body(ctx, &Method::Patch),
        ["delete"] => endpoints::with_body(ctx, &Method::Delete),
        ["anything", ..] => endpoints::anything(ctx),
        [""] | ["index.html"] | ["html"] => get_only(ctx, endpoints::html),
        ["favicon.ico"] => get_only(ctx, endpoints::favicon),
        ["headers"] => get_only(ctx, || endpoints::headers_only(ctx)),
        ["user-agent"] => get_only(ctx, || endpoints::user_agent(ctx)),
        ["ip"] => get_only(ctx, || endpoints::ip(ctx)),
        ["gzip"] => get_only(ctx, || endpoints::compressed(ctx, false)),
        ["deflate"] => get_only(ctx, || endpoints::compressed(ctx, true)),
        ["status", codes] => redirect::status(codes),
        ["basic-auth", user, passwd] => get_only(ctx, || endpoints::basic_auth(ctx, user, passwd, false)),
        ["hidden-basic-auth", user, passwd] => {
            get_only(ctx, || endpoints::basic_auth(ctx, user, passwd, true))
        }
        ["redirect", n] => get_only(ctx, || redirect::redirect(ctx, n)),
        ["relative-redirect", n] => get_only(ctx, || redirect::relative_redirect(n)),
        ["absolute-redirect", n] => get_only(ctx, || redirect::absolute_redirect(ctx, n)),
        ["redirect-to"] => redirect::redirect_to(ctx),
        ["response-headers"] => match ctx.method {
            Method::Get | Method::Head | Method::Post => endpoints::response_headers(ctx),
            _ => response::method_not_allowed("GET, HEAD, POST"),
        },
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
            Action::Drip(Drip { code, delay, duration, numbytes, head: ctx.is_head(), http10: ctx.http10 })
        }
        _ => Action::Now(response::text(400, "invalid drip parameters")),
    }
}

/// `/bytes/{n}`, `/stream-bytes/{n}` (`chunked`), `/1m.bin`, `/big.bin`.
fn bytes(ctx: &Ctx, n: u64, chunked: bool, shutdown: &Arc<Shutdown>) -> Action {
    let seed = match ctx.query_value("seed").map(|s| s.trim().parse::<u64>()) {
        None => DEFAULT_SEED,
        Some(Ok(seed)) => seed,
        Some(Err(_)) => return Action::Now(response::text(400, "invalid seed")),
    };
    let Ok(len) = usize::try_from(n) else {
        return Action::Now(response::text(400, "too many bytes for this platform"));
    };
    let reader = Box::new(PrngReader::new(seed, n, Arc::clone(shutdown)));
    // HTTP/1.0 has no chunked encoding: tiny_http would buffer the whole body to measure it.
    let known = if chunked && !ctx.http10 { None } else { Some(len) };
    let reply = response::stream(200, Some("application/octet-stream"), reader, known);
    if n > INLINE_LIMIT && !ctx.is_head() {
        Action::Later { wait: Duration::ZERO, reply }
    } else {
        Action::Now(reply)
    }
}
