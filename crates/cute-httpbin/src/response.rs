//! Small builders for tiny_http responses: every known-length body carries `Content-Length`.

use std::io::{Cursor, Read};

use serde_json::Value;
use tiny_http::{Header, Response, ResponseBox, StatusCode};

/// What an endpoint answers with.
pub(crate) type Reply = ResponseBox;

/// A header, or `None` when the name or value is not a legal header (non-ASCII, control
/// characters such as CR/LF, an empty or malformed name).
pub(crate) fn header(name: &str, value: &str) -> Option<Header> {
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    let value_ok = value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if name_ok && value_ok { Header::from_bytes(name.as_bytes(), value.as_bytes()).ok() } else { None }
}

/// Adds the header `name: value` to `reply`, silently skipping an illegal one.
pub(crate) fn with_header(mut reply: Reply, name: &str, value: &str) -> Reply {
    match header(name, value) {
        Some(h) => reply.add_header(h),
        None => log::warn!("cute-httpbin: dropping illegal response header {name:?}"),
    }
    reply
}

/// A response streaming `reader`: with `Content-Length` when `len` is known, chunked otherwise.
pub(crate) fn stream(
    status: u16,
    content_type: Option<&str>,
    reader: Box<dyn Read + Send>,
    len: Option<usize>,
) -> Reply {
    let headers = content_type.and_then(|ct| header("Content-Type", ct)).into_iter().collect();
    // tiny_http switches to chunked encoding from 32 KiB on by default: never for known lengths.
    Response::new(StatusCode(status), headers, reader, len, None).with_chunked_threshold(usize::MAX)
}

/// A response with a fully built body.
pub(crate) fn body(status: u16, content_type: &str, data: Vec<u8>) -> Reply {
    let len = data.len();
    stream(status, Some(content_type), Box::new(Cursor::new(data)), Some(len))
}

/// A response with no body (`Content-Length: 0`).
pub(crate) fn empty(status: u16) -> Reply {
    stream(status, None, Box::new(std::io::empty()), Some(0))
}

/// A short `text/plain` response, for errors.
pub(crate) fn text(status: u16, message: &str) -> Reply {
    body(status, "text/plain; charset=utf-8", format!("{message}\n").into_bytes())
}

/// An `application/json` response with `value` pretty-printed, as httpbin does.
pub(crate) fn json(status: u16, value: &Value) -> Reply {
    let mut data = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"null".to_vec());
    data.push(b'\n');
    body(status, "application/json", data)
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
    use super::header;

    #[test]
    fn illegal_headers_are_refused() {
        assert!(header("X-Ok", "fine value").is_some());
        assert!(header("X-Bad", "a\r\nInjected: yes").is_none());
        assert!(header("X-Bad", "caf\u{e9}").is_none());
        assert!(header("Bad Name", "v").is_none());
        assert!(header("", "v").is_none());
    }
}
