//! The endpoints that answer at once with a small body: request inspection, auth, cookies,
//! response headers, compression and the fixed assets.

use std::io::Write;

use base64::Engine as _;
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use hyper::Method;
use serde_json::{Map, Value, json};

use crate::assets;
use crate::context::Ctx;
use crate::json::{anything_fields, body_fields, get_fields, headers, multi_dict};
use crate::response::{self, Reply, with_header};

/// The challenge sent with 401 (and, as `Proxy-Authenticate`, with 407).
pub(crate) const FAKE_REALM: &str = "Basic realm=\"Fake Realm\"";

/// `/get`: args, headers, origin and url.
pub(crate) fn get(ctx: &Ctx) -> Reply {
    response::json(200, &Value::Object(get_fields(ctx)))
}

/// `/post`, `/put`, `/patch`, `/delete`: only their own method, else 405.
pub(crate) fn with_body(ctx: &Ctx, method: &Method) -> Reply {
    if ctx.method != *method {
        return response::method_not_allowed(method.as_str());
    }
    response::json(200, &Value::Object(body_fields(ctx)))
}

/// `/anything` and `/anything/...`: any method; the fields of `/post` plus `method`.
pub(crate) fn anything(ctx: &Ctx) -> Reply {
    response::json(200, &Value::Object(anything_fields(ctx)))
}

/// `/headers`.
pub(crate) fn headers_only(ctx: &Ctx) -> Reply {
    response::json(200, &json!({ "headers": headers(ctx) }))
}

/// `/user-agent`.
pub(crate) fn user_agent(ctx: &Ctx) -> Reply {
    response::json(200, &json!({ "user-agent": ctx.header("User-Agent") }))
}

/// `/ip`.
pub(crate) fn ip(ctx: &Ctx) -> Reply {
    response::json(200, &json!({ "origin": ctx.origin }))
}

/// A content coding `/gzip`, `/deflate`, `/brotli` and `/zstd` answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Brotli,
    /// Not in httpbin: cute-httpbin's own, for clients that decode zstd.
    Zstd,
}

impl Coding {
    /// The `Content-Encoding` token.
    fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The flag httpbin puts in the JSON.
    fn flag(self) -> &'static str {
        match self {
            Coding::Gzip => "gzipped",
            Coding::Deflate => "deflated",
            Coding::Brotli => "brotli",
            Coding::Zstd => "zstd",
        }
    }

    /// `plain`, encoded.
    pub(crate) fn encode(self, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Coding::Gzip => {
                let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
                encoder.write_all(plain).and_then(|()| encoder.finish())
            }
            Coding::Deflate => {
                let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
                encoder.write_all(plain).and_then(|()| encoder.finish())
            }
            Coding::Brotli => {
                let mut out = Vec::new();
                let params = brotli::enc::BrotliEncoderParams::default();
                brotli::BrotliCompress(&mut &plain[..], &mut out, &params)?;
                Ok(out)
            }
            Coding::Zstd => {
                Ok(ruzstd::encoding::compress_to_vec(plain, ruzstd::encoding::CompressionLevel::Fastest))
            }
        }
    }
}

/// `/gzip`, `/deflate`, `/brotli` and `/zstd`: a compressed JSON body with its
/// `Content-Encoding`.
pub(crate) fn compressed(ctx: &Ctx, coding: Coding) -> Reply {
    let value = json!({
        coding.flag(): true,
        "headers": headers(ctx),
        "method": ctx.method.as_str(),
        "origin": ctx.origin,
    });
    let plain = serde_json::to_vec_pretty(&value).unwrap_or_default();
    match coding.encode(&plain) {
        Ok(packed) => {
            with_header(response::body(200, "application/json", packed), "Content-Encoding", coding.token())
        }
        Err(e) => response::text(500, &format!("compression failed: {e}")),
    }
}

/// `/basic-auth/{user}/{passwd}` and, with `hidden`, `/hidden-basic-auth/{user}/{passwd}`.
pub(crate) fn basic_auth(ctx: &Ctx, user: &str, passwd: &str, hidden: bool) -> Reply {
    let user = decode_segment(user);
    let passwd = decode_segment(passwd);
    let expected = format!("{user}:{passwd}");
    let authorized = ctx
        .header("Authorization")
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(token.trim())
        })
        .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token).ok())
        .is_some_and(|credentials| credentials == expected.as_bytes());
    if authorized {
        response::json(200, &json!({ "authenticated": true, "user": user }))
    } else if hidden {
        response::not_found()
    } else {
        with_header(response::empty(401), "WWW-Authenticate", FAKE_REALM)
    }
}

/// `/cookies`: the cookies the client sent.
pub(crate) fn cookies(ctx: &Ctx) -> Reply {
    let mut map = Map::new();
    for (name, value) in &ctx.headers {
        if !name.eq_ignore_ascii_case("Cookie") {
            continue;
        }
        for pair in value.split(';') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !k.trim().is_empty() {
                map.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()));
            }
        }
    }
    response::json(200, &json!({ "cookies": map }))
}

/// `/cookies/set?name=value` and `/cookies/set/{name}/{value}`: sets them, then 302 to
/// `/cookies`.
pub(crate) fn cookies_set(pairs: &[(String, String)]) -> Reply {
    let mut reply = with_header(response::empty(302), "Location", "/cookies");
    for (name, value) in pairs {
        reply = with_header(reply, "Set-Cookie", &format!("{name}={value}; Path=/"));
    }
    reply
}

/// `/cookies/delete?name`: expires them, then 302 to `/cookies`.
pub(crate) fn cookies_delete(ctx: &Ctx) -> Reply {
    let mut reply = with_header(response::empty(302), "Location", "/cookies");
    for (name, _) in &ctx.query {
        let expired = format!("{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/");
        reply = with_header(reply, "Set-Cookie", &expired);
    }
    reply
}

/// `/response-headers?k=v&...`: each pair becomes a response header and the body echoes them
/// with `Content-Type` and (approximately) `Content-Length`.
pub(crate) fn response_headers(ctx: &Ctx) -> Reply {
    let mut echoed = multi_dict(&ctx.query);
    echoed.entry("Content-Type").or_insert_with(|| Value::String("application/json".into()));
    // The length appears in the body it measures: settle it by iterating.
    let mut length = 0;
    let mut body = Vec::new();
    for _ in 0..4 {
        echoed.insert("Content-Length".into(), Value::String(length.to_string()));
        body = serde_json::to_vec_pretty(&echoed).unwrap_or_default();
        body.push(b'\n');
        if body.len() == length {
            break;
        }
        length = body.len();
    }
    let mut reply = response::body(200, "application/json", body);
    // Framing headers are hyper's business; the rest go out as asked.
    let framing = ["Content-Length", "Transfer-Encoding", "Connection", "Trailer", "Upgrade"];
    for (name, value) in &ctx.query {
        if !framing.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            reply = with_header(reply, name, value);
        }
    }
    reply
}

/// `/`, `/index.html`, `/html`: the fixed HTML page.
pub(crate) fn html() -> Reply {
    response::body(200, "text/html; charset=utf-8", assets::PAGE_HTML)
}

/// `/favicon.ico`.
pub(crate) fn favicon() -> Reply {
    response::body(200, "image/x-icon", assets::favicon())
}

/// `/tiny.txt`: the single byte `a`.
pub(crate) fn tiny() -> Reply {
    response::body(200, "text/plain", &b"a"[..])
}

/// A percent-decoded path segment.
pub(crate) fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}
