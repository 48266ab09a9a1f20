//! Delivering a response to the loop: its metadata, then its body (decoded: gzip, deflate,
//! brotli, zstd, within the safety limits) in chunks through the hand-off bounded in bytes.

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use ureq::http;
use url::Url;

use super::classify::{self, Body, TransportError};
use super::job::Job;
use super::stop::{Outcome, Stop, fail};
use crate::error::{Failure, NetworkError};
use crate::protocol::{MetaData, ReplyEvent};
use crate::request::redact;

/// Body chunk size read from the connection.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The buffer between the connection and a gzip/deflate decoder.
const DECODER_BUFFER: usize = 32 * 1024;

/// The decompression-bomb guard: past the threshold, a body may decode to at most this
/// many times its compressed size (Qt's ratio).
const DECOMPRESSION_RATIO: u64 = 40;

thread_local! {
    /// This worker thread's read buffer, reused from request to request: zeroing a fresh
    /// 64 KiB buffer per request costs more than a small request's whole exchange.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The content codings we decode: exactly those the default `Accept-Encoding` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    fn of(content_encoding: &str) -> Coding {
        match content_encoding {
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Brotli,
            "zstd" => Coding::Zstd,
            _ => Coding::Identity,
        }
    }
}

/// What [`announce`] learned about a response's body.
pub(crate) struct Announced {
    coding: Coding,
    /// The `Content-Encoding`, for the log.
    encoding: String,
    /// The reason phrase, for an error's message.
    reason: String,
}

/// Sends a response's status and headers to the loop (the reply's metadata).
/// `redirect_target` is a redirect that was not followed.
pub(crate) fn announce(
    job: &Job,
    response: &http::Response<ureq::Body>,
    url: &Url,
    redirect_target: Option<Url>,
) -> Outcome<Announced> {
    let status = response.status();
    let header = |name: http::header::HeaderName| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_ascii_lowercase())
    };
    let encoding = header(http::header::CONTENT_ENCODING).unwrap_or_default();
    // A caller that set `Accept-Encoding` itself gets the body as it came (as in Qt).
    let coding = if super::headers::has(&job.headers, "accept-encoding") {
        Coding::Identity
    } else {
        Coding::of(&encoding)
    };
    let length = header(http::header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    // A HEAD's, a 204's or a 304's `Content-Length` describes a body that is not sent.
    let bodiless = job.method == http::Method::HEAD || matches!(status.as_u16(), 204 | 304);
    let headers: Vec<(Vec<u8>, Vec<u8>)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    // The reason phrase the server sent (noted by the transport: ureq does not keep it);
    // failing that, the standard one, or the code itself (never an empty "server replied: ").
    let reason = job
        .control
        .reason_for(status.as_u16())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or(status.as_str()).to_owned());
    job.emit(ReplyEvent::MetaData(
        url.clone(),
        Box::new(MetaData {
            status: Some(status.as_u16()),
            reason: reason.clone(),
            headers,
            encrypted: url.scheme() == "https",
            total: if coding == Coding::Identity && !bodiless { length } else { None },
            original_length: length,
            redirect_target,
        }),
    ))?;
    Ok(Announced { coding, encoding, reason })
}

/// Sends the final response's metadata, then its body, then reports an HTTP error status.
/// `redirect_target` is a redirect that was not followed.
pub(crate) fn deliver(
    job: &Job,
    response: http::Response<ureq::Body>,
    url: &Url,
    redirect_target: Option<Url>,
) -> Outcome<()> {
    let status = response.status();
    let Announced { coding, encoding, reason } = announce(job, &response, url, redirect_target)?;
    let reader = response.into_body().into_reader();
    if coding == Coding::Identity {
        stream(job, url, reader, None)?;
    } else {
        let count = Rc::new(Cell::new(0u64));
        let counted = Counting { inner: reader, count: count.clone() };
        let mut raw = io::BufReader::with_capacity(DECODER_BUFFER, counted);
        // An empty body (HEAD, 204, 304, `Content-Length: 0`) is empty, whatever its
        // `Content-Encoding` says: the decoders would call it a truncated stream.
        let peeked = raw.fill_buf().map(|b| b.is_empty());
        match peeked {
            Err(e) => return Err(job.stopped(|| classify::body_error(&e, Body::Decoded, &job.route(url)))),
            Ok(true) => log::trace!("request {}: empty {encoding} body, nothing to decode", job.id),
            Ok(false) => match coding {
                Coding::Deflate => stream(job, url, flate2::bufread::ZlibDecoder::new(raw), Some(&count))?,
                Coding::Brotli => {
                    stream(
                        job,
                        url,
                        brotli_decompressor::Decompressor::new(raw, DECODER_BUFFER),
                        Some(&count),
                    )?;
                }
                Coding::Zstd => {
                    // The constructor reads the frame header.
                    let decoder = ruzstd::decoding::StreamingDecoder::new(raw)
                        .map_err(|e| job.stopped(|| classify::corrupt(e)))?;
                    stream(job, url, decoder, Some(&count))?;
                }
                Coding::Gzip | Coding::Identity => {
                    stream(job, url, flate2::bufread::MultiGzDecoder::new(raw), Some(&count))?;
                }
            },
        }
    }
    match NetworkError::from_http_status(status.as_u16()) {
        None => Ok(()),
        Some(NetworkError::AuthenticationRequiredError) => {
            fail(NetworkError::AuthenticationRequiredError, "Host requires authentication")
        }
        Some(NetworkError::ProxyAuthenticationRequiredError) => {
            fail(NetworkError::ProxyAuthenticationRequiredError, "Proxy requires authentication")
        }
        Some(error) => fail(error, format!("Error transferring {} - server replied: {reason}", redact(url))),
    }
}

/// Streams `reader` (the body of `url`) to the loop as `Data` events, enforcing the safety
/// limits. `compressed` counts the bytes a decoder pulled off the connection, when the
/// body is being decoded.
pub(crate) fn stream(job: &Job, url: &Url, reader: impl Read, compressed: Option<&Cell<u64>>) -> Outcome<()> {
    let mut buf = READ_BUFFER.with(|b| b.take());
    let result = stream_through(job, url, reader, compressed, &mut buf);
    READ_BUFFER.with(|b| *b.borrow_mut() = buf);
    result
}

fn stream_through(
    job: &Job,
    url: &Url,
    mut reader: impl Read,
    compressed: Option<&Cell<u64>>,
    buf: &mut Vec<u8>,
) -> Outcome<()> {
    let body = if compressed.is_some() { Body::Decoded } else { Body::Raw };
    let mut decoded: u64 = 0;
    loop {
        job.check_aborted()?;
        buf.resize(CHUNK, 0);
        let n = loop {
            match reader.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !job.control.is_aborted() => continue,
                Err(e) => return Err(job.stopped(|| classify::body_error(&e, body, &job.route(url)))),
            }
        };
        if n == 0 {
            return Ok(());
        }
        // A large read hands the buffer itself over (no copy; the next read zeroes a fresh
        // one, which costs half a copy): at least half full, so a chunk never occupies more
        // than twice the bytes the hand-off budget counts for it. A small one is copied out
        // at its exact size.
        let chunk = if n >= CHUNK / 2 {
            buf.truncate(n);
            std::mem::take(buf)
        } else {
            buf[..n].to_vec()
        };
        decoded += n as u64;
        if let (Some(compressed), Some(threshold)) = (compressed, job.limits.decompression_threshold)
            && decoded > threshold
            && decoded > compressed.get().saturating_mul(DECOMPRESSION_RATIO)
        {
            // Qt's error for it, and what was decoded so far is thrown away.
            return Err(Stop::Failed(Failure::discarding(
                NetworkError::UnknownContentError,
                format!(
                    "Decompression stopped: {decoded} bytes from {} compressed bytes exceeds the safety \
                     ratio of {DECOMPRESSION_RATIO}:1 (see set_decompressed_safety_check_threshold)",
                    compressed.get()
                ),
            )));
        }
        if let Some(max) = job.limits.max_body
            && decoded > max
        {
            return fail(
                NetworkError::ProtocolFailure,
                format!("Body exceeds the maximum size of {max} bytes"),
            );
        }
        if !job.control.acquire(n as u64) {
            return Err(Stop::Canceled);
        }
        job.emit(ReplyEvent::Data(chunk))?;
    }
}

/// Reads and discards a body we do not deliver (a redirect, a retried 401), up to 1 MiB;
/// a larger body is dropped with its connection.
pub(crate) fn drain(response: http::Response<ureq::Body>) {
    let mut reader = response.into_body().into_reader().take(1024 * 1024);
    let _ = io::copy(&mut reader, &mut io::sink());
}

/// Counts the compressed bytes a decoder pulls, for the decompression-ratio guard, and
/// tags the connection's errors so that they are not taken for corrupt data.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| io::Error::new(e.kind(), TransportError(e)))?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
