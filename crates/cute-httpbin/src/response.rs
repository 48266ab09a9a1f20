//! Small builders for hyper responses: every known-length body carries `Content-Length`.

use bytes::Bytes;
use hyper::ext::ReasonPhrase;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::body::Payload;

/// What an endpoint answers with.
pub(crate) type Reply = Response<Payload>;

/// A header, or `None` when the name or value is not a legal header (non-ASCII, control
/// characters such as CR/LF, an empty or malformed name).
pub(crate) fn header(name: &str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    let value_ok = value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if !(name_ok && value_ok) {
        return None;
    }
    Some((HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?))
}

/// Adds the header `name: value` to `reply` (after any of the same name), silently skipping
/// an illegal one.
pub(crate) fn with_header(mut reply: Reply, name: &str, value: &str) -> Reply {
    match header(name, value) {
        Some((name, value)) => {
            reply.headers_mut().append(name, value);
        }
        None => log::warn!("cute-httpbin: dropping illegal response header {name:?}"),
    }
    reply
}

/// The status `code`; 500 for a number outside `100..=999` (the endpoints never make one).
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with `payload`, announcing `len` as its `Content-Length` when known (hyper
/// frames the body chunked otherwise, or by closing the connection for HTTP/1.0 clients).
pub(crate) fn stream(code: u16, content_type: Option<&str>, payload: Payload, len: Option<u64>) -> Reply {
    let mut reply = Response::new(payload);
    *reply.status_mut() = status(code);
    if reply.status().canonical_reason().is_none() {
        // Rather than hyper's `<none>` for codes without a standard name (`/status/599`).
        reply.extensions_mut().insert(ReasonPhrase::from_static(b"Unknown"));
    }
    let headers = reply.headers_mut();
    if let Some(value) = content_type.and_then(|ct| HeaderValue::from_str(ct).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    reply
}

/// A response with a fully built body (hyper adds its `Content-Length`).
pub(crate) fn body(code: u16, content_type: &str, data: impl Into<Bytes>) -> Reply {
    stream(code, Some(content_type), Payload::full(data), None)
}

/// A response with no body (`Content-Length: 0`, except for the statuses that have no body).
pub(crate) fn empty(code: u16) -> Reply {
    stream(code, None, Payload::empty(), None)
}

/// A short `text/plain` response, for errors.
pub(crate) fn text(code: u16, message: &str) -> Reply {
    body(code, "text/plain; charset=utf-8", format!("{message}\n"))
}

/// An `application/json` response with `value` pretty-printed, as httpbin does.
pub(crate) fn json(code: u16, value: &Value) -> Reply {
    let mut data = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"null".to_vec());
    data.push(b'\n');
    body(code, "application/json", data)
}

/// 405 Method Not Allowed, empty body.
pub(crate) fn method_not_allowed(allow: &str) -> Reply {
    with_header(empty(405), "Allow", allow)
}

/// 404 Not Found, empty body.
pub(crate) fn not_found() -> Reply {
    empty(404)
}

#[cfg(test)]
mod tests {
    use super::{body, header, with_header};
    use hyper::body::Body;

    #[test]
    fn illegal_headers_are_refused() {
        assert!(header("X-Ok", "fine value").is_some());
        assert!(header("X-Bad", "a\r\nInjected: yes").is_none());
        assert!(header("X-Bad", "caf\u{e9}").is_none());
        assert!(header("Bad Name", "v").is_none());
        assert!(header("", "v").is_none());
    }

    #[test]
    fn repeated_headers_are_all_kept() {
        let reply = with_header(with_header(body(200, "text/plain", "x"), "X-A", "1"), "x-a", "2");
        let values: Vec<_> = reply.headers().get_all("X-A").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(reply.body().size_hint().exact(), Some(1));
    }
}
