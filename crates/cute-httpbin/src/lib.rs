//! A local, loopback-only [httpbin](https://httpbin.org)-compatible HTTP server (HTTP/1.1 and
//! HTTP/2; https with a certificate it makes at start-up), built on
//! [hyper](https://docs.rs/hyper) and [tokio](https://docs.rs/tokio), for cute's tests, demos
//! and benchmarks.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! let server = cute_httpbin::Httpbin::start()?;
//! let mut stream = TcpStream::connect(server.addr())?;
//! stream.set_read_timeout(Some(Duration::from_secs(10)))?;
//! write!(stream, "GET /get?hello=world HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr())?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains(r#""hello": "world""#));
//! drop(server); // stops the server and joins its threads
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Endpoints
//!
//! The JSON bodies use httpbin's field names and shapes; header names in them are
//! Title-Cased (`User-Agent`), `origin` is the client's IP and `url` is rebuilt from the
//! `Host` header and the request target.
//!
//! | Path | Answer |
//! | --- | --- |
//! | `/get` | `args`, `headers`, `origin`, `url` |
//! | `/post`, `/put`, `/patch`, `/delete` | also `data`, `files`, `form` (urlencoded or `multipart/form-data`, parsed with multer), `json`; 405 for other methods |
//! | `/upload` (any method) | `{"bytes": n, "sum": s}`: the body's length and the wrapping sum of its bytes, read as it comes and not kept (not httpbin's) |
//! | `/anything`, `/anything/...` | the same plus `method`, for any method |
//! | `/status/{codes}` | one of the comma-separated codes (`code:weight` to weight them), empty body |
//! | `/basic-auth/{user}/{passwd}` | 200 with the right `Authorization: Basic`, else 401 and a challenge |
//! | `/hidden-basic-auth/{user}/{passwd}` | the same with 404 instead of 401 |
//! | `/digest-auth/{qop}/{user}/{passwd}[/{algorithm}]` | 200 with a correct `Authorization: Digest`, else 401 and a challenge[^digest] |
//! | `/redirect/{n}`, `/relative-redirect/{n}`, `/absolute-redirect/{n}` | 302 chains ending at `/get` |
//! | `/redirect-to?url=&status_code=` | a redirect to `url` |
//! | `/delay/{s}` | the request echoed after `s` seconds (at most 10) |
//! | `/bytes/{n}`, `/stream-bytes/{n}` | `n` pseudo-random bytes (`?seed=`), the second chunked[^chunks] |
//! | `/drip?duration=&numbytes=&code=&delay=` | `numbytes` `*` bytes spread over `duration` seconds |
//! | `/gzip`, `/deflate`, `/brotli`, `/zstd` | compressed JSON with `Content-Encoding` (`/zstd` is not httpbin's) |
//! | `/headers`, `/user-agent`, `/ip` | the request headers, its `User-Agent`, the client IP |
//! | `/response-headers?k=v` | the query pairs as response headers |
//! | `/cookies`, `/cookies/set?k=v`, `/cookies/delete?k` | cookies echoed, set, expired |
//! | `/cache` | `/get`'s answer with a new `ETag` and `Last-Modified`; 304 to any conditional request |
//! | `/cache/{n}` | `/get`'s answer with `Cache-Control: public, max-age=n` |
//! | `/etag/{etag}` | `/get`'s answer with `ETag: "etag"`; 304 on a matching `If-None-Match`, 412 on a failed `If-Match` |
//! | `/`, `/index.html`, `/html` | a fixed 347-byte HTML page |
//! | `/favicon.ico` | a 16x16 icon |
//! | `/tiny.txt`, `/1m.bin`, `/big.bin` | 1 byte, 1 MiB and 1 GiB bodies for benchmarks |
//!
//! [^digest]: realm `me@kennethreitz.com`, a fresh random `nonce` and `opaque` per challenge;
//!     `qop` is `auth` or `auth-int` (anything else offers both and also accepts the RFC 2069
//!     form without qop), `algorithm` `MD5` (the default), `SHA-256` or `SHA-512`. The
//!     response is recomputed and compared, and `username`, `realm`, `algorithm` and `uri`
//!     (the request-target) are checked; as in httpbin, nonces are not tracked.
//!
//! [^chunks]: one chunk per `?chunk_size=` bytes (default 10240, at most 65536), the same
//!     bytes as `/bytes/{n}` with the same seed. HTTP/1.0 clients get a `Content-Length`.
//!
//! Unknown paths get 404 and wrong methods 405, both with an empty body. Known-length bodies
//! always carry `Content-Length`; only `/stream-bytes` is chunked. Generated bodies
//! (`/bytes`, `/stream-bytes`, `/1m.bin`, `/big.bin`) are produced in 64 KiB frames as they
//! are written, never whole (1 GiB goes out at well over 1 GB/s in release builds). `/drip`
//! writes its bytes as they fall due, each batch a write of its own, with a
//! `Content-Length` of `numbytes`. `HEAD` works everywhere `GET` does. Request bodies are
//! always read to the end before the endpoint runs, except `/upload`'s.
//!
//! # Threads
//!
//! Each server owns a multi-threaded tokio runtime with two worker threads named
//! `cute-httpbin`. Every connection is a task serving, through hyper, HTTP/1.1 with
//! keep-alive and pipelining, or HTTP/2: on the clear-text port by prior knowledge (h2c),
//! on the TLS port ([`HttpbinBuilder::tls`]) as the client picks by ALPN. HTTP/2
//! announces [`DEFAULT_MAX_CONCURRENT_STREAMS`] streams unless
//! [`HttpbinBuilder::max_concurrent_streams`] says otherwise. Over HTTP/2 the `url` field
//! is rebuilt from `:authority` (there is no `Host` header); no endpoint blocks a thread, so slow ones (`/delay`, `/drip`,
//! huge downloads) never hold up the others. All of them notice shutdown at once. The
//! library logs through [`log`] and never prints.

mod assets;
mod body;
mod caching;
mod connection;
mod context;
mod digest;
mod endpoints;
mod json;
mod redirect;
mod response;
mod router;
mod server;
mod shutdown;
mod stream;
mod tls;
mod tracker;

pub use server::{DEFAULT_MAX_CONCURRENT_STREAMS, Httpbin, HttpbinBuilder};
