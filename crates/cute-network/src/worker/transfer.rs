//! Delivering a response to the loop: its metadata, then its body (decoded: zstd, brotli,
//! gzip, deflate, within the safety limits) in chunks through the hand-off bounded in bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;
use url::Url;

use super::classify::{self, TransportError};
use super::job::Job;
use super::stop::{Outcome, Stop, fail};
use crate::error::{Failure, NetworkError};
use crate::protocol::{MetaData, ReplyEvent};
use crate::request::redact;

/// Chunks handed to the loop are gathered up to about this size when the data is there.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The decompression-bomb guard: past the threshold, a body may decode to at most this
/// many times its compressed size (Qt's ratio).
const DECOMPRESSION_RATIO: u64 = 40;

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
    /// The coding a `Content-Encoding` value names (case-insensitive).
    fn of(content_encoding: &str) -> Coding {
        let is = |name: &str| content_encoding.eq_ignore_ascii_case(name);
        if is("gzip") || is("x-gzip") {
            Coding::Gzip
        } else if is("deflate") {
            Coding::Deflate
        } else if is("br") {
            Coding::Brotli
        } else if is("zstd") {
            Coding::Zstd
        } else {
            Coding::Identity
        }
    }
}

/// What [`announce`] learned about a response's body.
pub(crate) struct Announced {
    coding: Coding,
    /// The body's length, if announced and delivered as it comes.
    total: Option<u64>,
    /// The reason phrase, for an error's message.
    reason: String,
}

/// The reason phrase of a response: the server's (hyper keeps one that is not the
/// standard phrase of the code), else the standard one, else the code itself.
fn reason_of(response: &Response<Incoming>) -> String {
    let status = response.status();
    let sent = response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
    sent.filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or(status.as_str()).to_owned())
}

/// Sends a response's status and headers to the loop (the reply's metadata); the headers
/// are handed over, not copied. `redirect_target` is a redirect that was not followed.
pub(crate) fn announce(
    job: &Job,
    response: &mut Response<Incoming>,
    url: &Url,
    encrypted: super::connect::Encrypted,
    redirect_target: Option<Url>,
) -> Outcome<Announced> {
    let status = response.status();
    let headers = response.headers();
    let header =
        |name: hyper::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    // A caller that set `Accept-Encoding` itself gets the body as it came (as in Qt).
    let coding = if super::headers::has(job.headers(), "accept-encoding") {
        Coding::Identity
    } else {
        header(hyper::header::CONTENT_ENCODING).map_or(Coding::Identity, Coding::of)
    };
    let length = header(hyper::header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    // A HEAD's, a 204's or a 304's `Content-Length` describes a body that is not sent.
    let bodiless = job.method == hyper::Method::HEAD || matches!(status.as_u16(), 204 | 304);
    let reason = reason_of(response);
    let total = if coding == Coding::Identity && !bodiless { length } else { None };
    job.emit(ReplyEvent::MetaData(
        url.clone(),
        Box::new(MetaData {
            status: Some(status.as_u16()),
            reason: reason.clone(),
            headers: detached(std::mem::take(response.headers_mut())),
            encrypted: encrypted.is_some(),
            peer_certificates: encrypted,
            http2: response.version() == hyper::Version::HTTP_2,
            total,
            original_length: length,
            redirect_target,
            url: None,
            from_cache: false,
        }),
    ))?;
    Ok(Announced { coding, total, reason })
}

/// `headers` with their values moved into one buffer of their own. hyper hands values out
/// as slices of the connection's read buffer, so a response's headers kept by its reply
/// would keep that whole buffer (8 KiB or more) alive, and the connection would allocate
/// another for its next response. Copied, the values cost their own length once, and the
/// connection reuses its buffer.
fn detached(mut headers: hyper::HeaderMap) -> hyper::HeaderMap {
    let len = headers.values().map(|value| value.len()).sum();
    let mut values = BytesMut::with_capacity(len);
    for value in headers.values() {
        values.extend_from_slice(value.as_bytes());
    }
    let values = values.freeze();
    let mut at = 0;
    for value in headers.values_mut() {
        let end = at + value.len();
        // The bytes were a valid value a moment ago; should they not be, the original stays.
        if let Ok(mut copy) = hyper::header::HeaderValue::from_maybe_shared(values.slice(at..end)) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
        at = end;
    }
    headers
}

/// Streams a response's body to the loop, as [`announce`] found it coded.
pub(crate) async fn body(job: &Job, body: Incoming, announced: &Announced) -> Outcome<()> {
    match announced.coding {
        Coding::Identity => stream_raw(job, body, Whole::new(job, announced.total)).await,
        coding => stream_decoded(job, body, coding, Whole::new(job, None)).await,
    }
}

/// The error for an HTTP error status, once its body was delivered.
pub(crate) fn http_error(status: StatusCode, url: &Url, announced: &Announced) -> Outcome<()> {
    let reason = &announced.reason;
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

/// Waits for `future` at most the job's transfer (inactivity) timeout.
pub(crate) async fn in_time<T>(job: &Job, future: impl Future<Output = T>) -> Outcome<T> {
    match job.limits().transfer_timeout {
        Some(limit) => tokio::time::timeout(limit, future).await.map_err(|_| timed_out(limit)),
        None => Ok(future.await),
    }
}

fn timed_out(limit: Duration) -> Stop {
    Stop::Failed(Failure::timed_out(limit))
}

/// A body gathered whole on the runtime while the application cannot see it partially (no
/// `ready_read` slot, no read buffer limit, nothing read yet: [`Control::watch`] was not
/// called), handed to the loop in one piece at its end. The reply takes that vector as its
/// buffer, so each byte is copied once on its way (out of the connection's buffer) instead
/// of twice (into a chunk, then into the reply's buffer). `download_progress` is fed from
/// here meanwhile. Once the application watches, what was gathered is handed over and the
/// rest comes in chunks.
///
/// [`Control::watch`]: crate::control::Control::watch
struct Whole {
    /// `None` once the body comes in chunks.
    body: Option<Vec<u8>>,
    /// Bytes gathered or handed over.
    received: u64,
    reported_at: Instant,
}

/// How often a gathered body's progress is reported (the reply throttles it the same way).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

impl Whole {
    fn new(job: &Job, total: Option<u64>) -> Self {
        let body = (!job.control.is_watched()).then(|| {
            let mut body = Vec::new();
            // A lying length cannot make us reserve more than the limit before the bytes come.
            let wanted = total.map_or(0, |t| t.min(RESERVE_LIMIT));
            if body.try_reserve_exact(usize::try_from(wanted).unwrap_or(0)).is_err() {
                log::debug!("cannot reserve {wanted} bytes for the announced body: growing as it arrives");
            }
            body
        });
        Whole { body, received: 0, reported_at: Instant::now() }
    }

    /// The buffer to gather into, unless the body comes in chunks (what was gathered is
    /// handed over when the application starts watching).
    async fn buffer(&mut self, job: &Job) -> Outcome<Option<&mut Vec<u8>>> {
        if self.body.is_some() && job.control.is_watched() {
            self.hand_over(job).await?;
        }
        Ok(self.body.as_mut())
    }

    /// Counts `n` more bytes and checks the size limit (before they are delivered or
    /// gathered: bytes past the limit never reach the reply).
    fn count(&mut self, job: &Job, n: usize) -> Outcome<()> {
        self.received += n as u64;
        if let Some(max) = job.limits().max_body
            && self.received > max
        {
            return fail(
                NetworkError::ProtocolFailure,
                format!("Body exceeds the maximum size of {max} bytes"),
            );
        }
        Ok(())
    }

    /// Removes the last `n` bytes gathered (decoded past the size limit).
    fn take_back(&mut self, n: usize) {
        if let Some(body) = &mut self.body {
            body.truncate(body.len().saturating_sub(n));
        }
    }

    /// Reports progress while gathering (at most every [`PROGRESS_INTERVAL`]), once the
    /// counted bytes are in the gathered body: a hand-over holds at least what progress
    /// said had come.
    fn report(&mut self, job: &Job) -> Outcome<()> {
        if self.body.is_some() && self.reported_at.elapsed() >= PROGRESS_INTERVAL {
            self.reported_at = Instant::now();
            job.emit(ReplyEvent::Progress(self.received))?;
        }
        Ok(())
    }

    /// Hands what was gathered to the loop; the rest comes in chunks.
    async fn hand_over(&mut self, job: &Job) -> Outcome<()> {
        match self.body.take() {
            Some(body) if !body.is_empty() => hand_over(job, body).await,
            _ => Ok(()),
        }
    }

    /// The body ended with `result`: what was gathered goes to the loop first, as it would
    /// have in chunks (an error decides whether the reply keeps it).
    async fn end(mut self, job: &Job, result: Outcome<()>) -> Outcome<()> {
        if !matches!(result, Err(Stop::Canceled)) {
            self.hand_over(job).await?;
        }
        result
    }
}

/// The most reserved up front from a `Content-Length`.
const RESERVE_LIMIT: u64 = 256 * 1024 * 1024;

/// The body as it comes: whole while nobody watches, else its frames gathered into chunks.
async fn stream_raw(job: &Job, mut body: Incoming, mut whole: Whole) -> Outcome<()> {
    let result = async {
        loop {
            job.check_aborted()?;
            let first = match in_time(job, next_data(&mut body)).await? {
                Ok(Some(data)) => data,
                Ok(None) => return Ok(()),
                Err(e) => return Err(classify::hyper_error(&e, &job.route())),
            };
            whole.count(job, first.len())?;
            if let Some(gathered) = whole.buffer(job).await? {
                gathered.extend_from_slice(&first);
                whole.report(job)?;
                continue;
            }
            // Gather what else is there already, up to a chunk, without waiting.
            let mut chunk = BytesMut::from(first);
            while chunk.len() < CHUNK {
                match ready_data(&mut body) {
                    Some(Ok(data)) => {
                        whole.count(job, data.len())?;
                        chunk.extend_from_slice(&data);
                    }
                    Some(Err(e)) => return Err(classify::hyper_error(&e, &job.route())),
                    None => break,
                }
            }
            hand_over(job, Vec::from(chunk.freeze())).await?;
        }
    }
    .await;
    whole.end(job, result).await
}

/// The next data frame of `body` (trailers are skipped), `None` at its end.
async fn next_data(body: &mut Incoming) -> Result<Option<Bytes>, hyper::Error> {
    std::future::poll_fn(|cx| poll_data(body, cx)).await
}

/// The next data frame if it is there now.
fn ready_data(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    let mut cx = Context::from_waker(Waker::noop());
    match poll_data(body, &mut cx) {
        Poll::Ready(Ok(Some(data))) => Some(Ok(data)),
        Poll::Ready(Err(e)) => Some(Err(e)),
        Poll::Ready(Ok(None)) | Poll::Pending => None,
    }
}

fn poll_data(body: &mut Incoming, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, hyper::Error>> {
    loop {
        match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => return Poll::Ready(Ok(Some(data))),
                Err(_trailers) => continue,
            },
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
            Poll::Ready(None) => return Poll::Ready(Ok(None)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Streams a local source (a file, a `data:` URL's bytes) to the loop in chunks.
pub(crate) async fn stream_local(job: &Job, mut reader: impl AsyncRead + Unpin) -> Outcome<()> {
    let mut read: u64 = 0;
    loop {
        job.check_aborted()?;
        let mut chunk = Vec::with_capacity(CHUNK);
        let n = match (&mut reader).take(CHUNK as u64).read_to_end(&mut chunk).await {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) => return fail(NetworkError::ProtocolFailure, format!("Read error: {e}")),
        };
        read += n as u64;
        if let Some(max) = job.limits().max_body
            && read > max
        {
            return fail(
                NetworkError::ProtocolFailure,
                format!("Body exceeds the maximum size of {max} bytes"),
            );
        }
        hand_over(job, chunk).await?;
    }
}

/// Hands a chunk to the loop within the hand-off budget.
async fn hand_over(job: &Job, chunk: Vec<u8>) -> Outcome<()> {
    if !job.control.acquire(chunk.len()).await {
        return Err(Stop::Canceled);
    }
    job.emit(ReplyEvent::Data(chunk))
}

/// The body's frames as a byte stream for a decoder, counting the compressed bytes (for the
/// bomb guard) and tagging the connection's errors, so that a broken connection under a
/// compressed body is not taken for corrupt data.
struct Frames {
    /// The first frame, read before the decoder was built.
    first: Option<Bytes>,
    body: Incoming,
    compressed: Arc<AtomicU64>,
}

impl futures_core::Stream for Frames {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if let Some(first) = self.first.take() {
            self.compressed.fetch_add(first.len() as u64, Ordering::Relaxed);
            return Poll::Ready(Some(Ok(first)));
        }
        match poll_data(&mut self.body, cx) {
            Poll::Ready(Ok(Some(data))) => {
                self.compressed.fetch_add(data.len() as u64, Ordering::Relaxed);
                Poll::Ready(Some(Ok(data)))
            }
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => {
                let kind = if e.is_incomplete_message() {
                    io::ErrorKind::UnexpectedEof
                } else {
                    io::ErrorKind::Other
                };
                Poll::Ready(Some(Err(io::Error::new(kind, TransportError(io::Error::other(e))))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The body decoded, read in chunks; the bomb guard and the size limit apply to what comes
/// out.
async fn stream_decoded(job: &Job, mut body: Incoming, coding: Coding, mut whole: Whole) -> Outcome<()> {
    // An empty body (HEAD, 204, 304, `Content-Length: 0`) is empty, whatever its
    // `Content-Encoding` says: a decoder would call it a truncated stream.
    let first = match in_time(job, next_data(&mut body)).await? {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(()),
        Err(e) => return Err(classify::hyper_error(&e, &job.route())),
    };
    let compressed = Arc::new(AtomicU64::new(0));
    let reader = StreamReader::new(Frames { first: Some(first), body, compressed: compressed.clone() });
    let mut decoder: Pin<Box<dyn AsyncRead + Send>> = match coding {
        Coding::Gzip => {
            let mut gzip = GzipDecoder::new(reader);
            gzip.multiple_members(true);
            Box::pin(gzip)
        }
        Coding::Deflate => Box::pin(ZlibDecoder::new(reader)),
        Coding::Brotli => Box::pin(BrotliDecoder::new(reader)),
        Coding::Zstd => Box::pin(ZstdDecoder::new(reader)),
        Coding::Identity => unreachable!("identity bodies are streamed raw"),
    };
    let result = async {
        loop {
            job.check_aborted()?;
            let mut chunk = None;
            let read = match whole.buffer(job).await? {
                Some(gathered) => {
                    if gathered.capacity() - gathered.len() < CHUNK {
                        gathered.reserve(CHUNK);
                    }
                    in_time(job, decoder.read_buf(gathered)).await?
                }
                None => in_time(job, decoder.read_buf(chunk.insert(Vec::with_capacity(CHUNK)))).await?,
            };
            let n = match read {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) => return Err(job.stopped(|| classify::decoded_body_error(&e, &job.route()))),
            };
            let decoded = whole.received + n as u64;
            if let Some(threshold) = job.limits().decompression_threshold
                && decoded > threshold
                && decoded > compressed.load(Ordering::Relaxed).saturating_mul(DECOMPRESSION_RATIO)
            {
                // Qt's error for it, and what was decoded so far is thrown away.
                return Err(Stop::Failed(Failure::discarding(
                    NetworkError::UnknownContentError,
                    format!(
                        "Decompression stopped: {decoded} bytes from {} compressed bytes exceeds the \
                         safety ratio of {DECOMPRESSION_RATIO}:1 (see \
                         set_decompressed_safety_check_threshold)",
                        compressed.load(Ordering::Relaxed)
                    ),
                )));
            }
            if let Err(stop) = whole.count(job, n) {
                // Decoded straight into the gathered body: what went past the limit leaves.
                whole.take_back(n);
                return Err(stop);
            }
            whole.report(job)?;
            if let Some(chunk) = chunk {
                hand_over(job, chunk).await?;
            }
        }
    }
    .await;
    whole.end(job, result).await
}

/// Reads and discards a body we do not deliver (a redirect, a retried 401), up to 1 MiB,
/// so that its connection can serve the next request; a larger body closes it.
pub(crate) async fn drain(job: &Job, mut body: Incoming) -> bool {
    let mut left: usize = 1024 * 1024;
    loop {
        match in_time(job, next_data(&mut body)).await {
            Ok(Ok(Some(data))) if data.len() <= left => left -= data.len(),
            Ok(Ok(None)) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use hyper::HeaderMap;
    use hyper::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn detached_headers_keep_their_values_but_not_the_connection_buffer() {
        // Values sliced out of one large buffer, as hyper's parser hands them out.
        let read_buffer = Bytes::from(b"text/plain; charset=utf-8|a=1|b=2|secret|".repeat(200));
        let range = read_buffer.as_ptr_range();
        let slice =
            |from: usize, to: usize| HeaderValue::from_maybe_shared(read_buffer.slice(from..to)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(hyper::header::CONTENT_TYPE, slice(0, 25));
        headers.append(hyper::header::SET_COOKIE, slice(26, 29));
        headers.append(hyper::header::SET_COOKIE, slice(30, 33));
        let mut secret = slice(34, 40);
        secret.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-token"), secret);

        let detached = detached(headers.clone());
        assert_eq!(detached, headers, "same names, values and order");
        let cookies: Vec<_> = detached.get_all(hyper::header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(detached["x-token"].is_sensitive());
        for value in detached.values() {
            assert!(
                !range.contains(&value.as_bytes().as_ptr()),
                "{value:?} still points into the read buffer"
            );
        }
    }
}
