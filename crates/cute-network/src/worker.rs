//! What a worker thread does with one request (private): send it with ureq, follow
//! redirects, answer authentication challenges (asking the loop), and stream the body back
//! in chunks through a hand-off bounded in bytes.

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};
use cute_core::Emitter;
use ureq::Agent;
use ureq::http;
use url::Url;

use crate::auth::{self, Chosen, CredentialCache};
use crate::control::Control;
use crate::error::NetworkError;
use crate::request::RedirectPolicy;
use crate::transport::{RequestSettings, Running};

/// Body chunk size read from the connection.
pub(crate) const CHUNK: usize = 64 * 1024;

thread_local! {
    /// This worker thread's read buffer, reused from request to request: zeroing a fresh
    /// 64 KiB buffer costs more than a small request's whole exchange with the server.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The buffer between the connection and a gzip/deflate decoder.
const DECODER_BUFFER: usize = 32 * 1024;

/// A message from a worker to the manager's loop about reply `id`.
///
/// The kind sits in a `Cell` so the loop can take ownership of the payload (body chunks,
/// answer channels) out of the `&Event` a slot receives.
pub(crate) struct Event {
    pub(crate) id: u64,
    pub(crate) kind: Cell<Option<EventKind>>,
}

impl Event {
    pub(crate) fn new(id: u64, kind: EventKind) -> Self {
        Event { id, kind: Cell::new(Some(kind)) }
    }
}

pub(crate) enum EventKind {
    /// A redirect is being followed.
    Redirected(Url),
    /// User-verified policy: may this redirect be followed?
    AskRedirect {
        url: Url,
        answer: Sender<bool>,
    },
    /// Credentials for a 401 (or a 407 when `proxy`); `None` gives up.
    AskCredentials {
        realm: String,
        proxy: bool,
        answer: Sender<Option<(String, String)>>,
    },
    /// The final response's status and headers.
    MetaData(Box<MetaData>),
    /// A chunk of the (decoded) body; the loop releases its bytes from the hand-off budget.
    Data(Vec<u8>),
    UploadProgress {
        sent: u64,
        total: u64,
    },
    /// The worker is done with the request; `None` means success.
    Finished(Option<(NetworkError, String)>),
    /// A runner found its host's queue empty and stopped (the event's id is 0).
    RunnerIdle(crate::manager::HostKey),
}

pub(crate) struct MetaData {
    pub(crate) url: Url,
    pub(crate) status: Option<u16>,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) encrypted: bool,
    /// The decoded body length, when known in advance.
    pub(crate) total: Option<u64>,
    pub(crate) original_length: Option<u64>,
    /// A redirect that was not followed.
    pub(crate) redirect_target: Option<Url>,
}

/// One request, as the loop hands it to a worker.
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) verb: String,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) body: Option<Arc<Vec<u8>>>,
    pub(crate) policy: RedirectPolicy,
    pub(crate) max_redirects: u32,
    pub(crate) transfer_timeout: Option<Duration>,
    pub(crate) decompression_threshold: i64,
    pub(crate) max_body: Option<u64>,
    pub(crate) control: Arc<Control>,
    pub(crate) events: Emitter<Event>,
    pub(crate) agent: Agent,
    /// The manager's proxy, connect timeout and TLS settings when the request was made.
    pub(crate) agent_settings: Arc<RequestSettings>,
    pub(crate) credentials: Arc<Mutex<CredentialCache>>,
    /// The proxy in use, if any (for proxy errors and proxy authentication).
    pub(crate) proxy: Option<Url>,
}

/// Why a request stopped early.
pub(crate) enum Stop {
    Fail(NetworkError, String),
    /// Aborted: the loop has finished (or will finish) the reply itself.
    Canceled,
    /// The proxy refused the CONNECT tunnel with 407.
    ProxyAuthenticationRequired,
}

type Outcome<T> = Result<T, Stop>;

fn fail<T>(error: NetworkError, message: impl Into<String>) -> Outcome<T> {
    Err(Stop::Fail(error, message.into()))
}

/// Runs a job to the end; returns the `Finished` event for the caller to send (exactly
/// once) and the emitter to send it with.
pub(crate) fn run(job: Job) -> (Emitter<Event>, Event) {
    let _running = Running::enter(job.control.clone());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.execute()));
    let result = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(Stop::Fail(e, s))) => Some((e, s)),
        Ok(Err(Stop::Canceled)) => Some((NetworkError::OperationCanceledError, "Operation canceled".into())),
        Ok(Err(Stop::ProxyAuthenticationRequired)) => {
            Some((NetworkError::ProxyAuthenticationRequiredError, "Proxy requires authentication".into()))
        }
        Err(_) => Some((NetworkError::UnknownNetworkError, "internal error in the network worker".into())),
    };
    if let Some((e, s)) = &result {
        log::debug!("request {} failed: {e:?}: {s}", job.id);
    }
    (job.events.clone(), Event::new(job.id, EventKind::Finished(result)))
}

impl Job {
    fn emit(&self, kind: EventKind) -> Outcome<()> {
        self.events.emit(Event::new(self.id, kind)).map_err(|_| Stop::Canceled)
    }

    fn check_aborted(&self) -> Outcome<()> {
        if self.control.is_aborted() { Err(Stop::Canceled) } else { Ok(()) }
    }

    fn execute(&self) -> Outcome<()> {
        // A job aborted while queued is not started, whatever its scheme (a `file:` open
        // can block, on a FIFO say).
        self.check_aborted()?;
        match self.url.scheme() {
            "http" | "https" => self.http(),
            "file" => crate::local::file(self),
            "data" => crate::local::data(self),
            other => fail(NetworkError::ProtocolUnknownError, format!("Protocol \"{other}\" is unknown")),
        }
    }

    /// Streams `reader` to the loop as `Data` events, enforcing the safety limits.
    pub(crate) fn stream(&self, reader: impl Read, compressed: Option<&Cell<u64>>) -> Outcome<()> {
        let mut buf = READ_BUFFER.with(|b| b.take());
        let result = self.stream_through(reader, compressed, &mut buf);
        READ_BUFFER.with(|b| *b.borrow_mut() = buf);
        result
    }

    fn stream_through(
        &self,
        mut reader: impl Read,
        compressed: Option<&Cell<u64>>,
        buf: &mut Vec<u8>,
    ) -> Outcome<()> {
        let mut decoded: u64 = 0;
        loop {
            self.check_aborted()?;
            buf.resize(CHUNK, 0);
            let n = loop {
                match reader.read(buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted && !self.control.is_aborted() => {
                        continue;
                    }
                    Err(e) => return Err(self.body_failure(&e, compressed.is_some())),
                }
            };
            if n == 0 {
                return Ok(());
            }
            // A large read hands the buffer itself over (no copy; the next read zeroes a
            // fresh one, which costs half a copy): at least half full, so a chunk never
            // occupies more than twice the bytes the hand-off budget counts for it. A small
            // one is copied out at its exact size.
            let chunk = if n >= CHUNK / 2 {
                buf.truncate(n);
                std::mem::take(buf)
            } else {
                buf[..n].to_vec()
            };
            decoded += n as u64;
            if let Some(compressed) = compressed {
                let threshold = self.decompression_threshold;
                if threshold >= 0
                    && decoded > threshold as u64
                    && decoded > compressed.get().saturating_mul(40)
                {
                    return fail(
                        NetworkError::ProtocolFailure,
                        format!(
                            "Decompression stopped: {decoded} bytes from {} compressed bytes exceeds the safety \
                             ratio of 40:1 (see set_decompressed_safety_check_threshold)",
                            compressed.get()
                        ),
                    );
                }
            }
            if self.max_body.is_some_and(|max| decoded > max) {
                return fail(
                    NetworkError::ProtocolFailure,
                    format!("Body exceeds the maximum size of {} bytes", self.max_body.unwrap_or(0)),
                );
            }
            if !self.control.acquire(n as u64) {
                return Err(Stop::Canceled);
            }
            self.emit(EventKind::Data(chunk))?;
        }
    }

    /// A failed body read: transport errors (tagged by [`Counting`] when decoding) map as
    /// usual; anything else while decoding is a corrupt body.
    fn body_failure(&self, e: &io::Error, decoding: bool) -> Stop {
        if let Some(transport) = e.get_ref().and_then(|i| i.downcast_ref::<TransportError>()) {
            return self.io_failure(&transport.0);
        }
        if decoding && !self.control.is_aborted() {
            return Stop::Fail(NetworkError::ProtocolFailure, format!("Data corrupted: {e}"));
        }
        self.io_failure(e)
    }

    fn io_failure(&self, e: &io::Error) -> Stop {
        if self.control.is_aborted() {
            return Stop::Canceled;
        }
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
            return self.ureq_failure(inner);
        }
        if is_resolution_failure(&e.to_string()) {
            return self.ureq_failure(&ureq::Error::HostNotFound);
        }
        let (error, message) = classify_io(e);
        Stop::Fail(self.proxied(error), message)
    }

    /// Maps an error from the connection to a proxy error when a proxy is in use.
    fn proxied(&self, error: NetworkError) -> NetworkError {
        if self.proxy.is_none() {
            return error;
        }
        match error {
            NetworkError::ConnectionRefusedError => NetworkError::ProxyConnectionRefusedError,
            NetworkError::HostNotFoundError => NetworkError::ProxyNotFoundError,
            other => other,
        }
    }

    fn ureq_failure(&self, e: &ureq::Error) -> Stop {
        use NetworkError::*;
        if self.control.is_aborted() {
            return Stop::Canceled;
        }
        let (error, message) = match e {
            ureq::Error::Io(io) => return self.io_failure(io),
            ureq::Error::HostNotFound => {
                let host = match &self.proxy {
                    Some(p) => p.host_str().unwrap_or("").to_owned(),
                    None => self.url.host_str().unwrap_or("").to_owned(),
                };
                (HostNotFoundError, format!("Host {host} not found"))
            }
            ureq::Error::Timeout(t) => (TimeoutError, format!("Socket operation timed out ({t})")),
            ureq::Error::ConnectionFailed => (ConnectionRefusedError, "Connection refused".to_owned()),
            ureq::Error::Protocol(p) => (ProtocolFailure, format!("Protocol error: {p}")),
            ureq::Error::LargeResponseHeader(size, limit) => {
                (ProtocolFailure, format!("Protocol error: response header of {size} bytes exceeds {limit}"))
            }
            ureq::Error::BadUri(u) => (ProtocolUnknownError, format!("Invalid URL: {u}")),
            ureq::Error::Http(h) => (ProtocolInvalidOperationError, format!("Invalid request: {h}")),
            ureq::Error::Tls(t) => (SslHandshakeFailedError, format!("SSL handshake failed: {t}")),
            ureq::Error::Pem(p) => (SslHandshakeFailedError, format!("SSL handshake failed: {p}")),
            ureq::Error::Rustls(r) => (SslHandshakeFailedError, format!("SSL handshake failed: {r}")),
            ureq::Error::InvalidProxyUrl => (UnknownProxyError, "Invalid proxy URL".to_owned()),
            ureq::Error::ConnectProxyFailed(s) if s.contains("407") => {
                return Stop::ProxyAuthenticationRequired;
            }
            ureq::Error::ConnectProxyFailed(s) => (UnknownProxyError, format!("Proxy CONNECT failed: {s}")),
            ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
                (TooManyRedirectsError, "Too many redirects".to_owned())
            }
            ureq::Error::BodyExceedsLimit(n) => {
                (ProtocolFailure, format!("Body exceeds the limit of {n} bytes"))
            }
            ureq::Error::BodyStalled => {
                (TimeoutError, "Socket operation timed out (body stalled)".to_owned())
            }
            other if is_resolution_failure(&other.to_string()) => {
                return self.ureq_failure(&ureq::Error::HostNotFound);
            }
            other => (UnknownNetworkError, format!("Network error: {other}")),
        };
        Stop::Fail(self.proxied(error), message)
    }

    fn http(&self) -> Outcome<()> {
        let mut url = self.url.clone();
        let mut verb = self.verb.clone();
        let mut body = self.body.clone();
        let mut headers = self.headers.clone();
        let mut hops = 0u32;
        let mut auth = AuthState::new(&url);
        // Proxy credentials: the cache's first (sent pre-emptively), then asked for.
        let mut proxy_credentials = self.cached_proxy_credentials().map(|c| (c, Source::Cache));
        loop {
            self.check_aborted()?;
            let authorization = auth.header(&verb, &url, &self.credentials);
            let sent = self.send(
                &verb,
                &url,
                &headers,
                body.as_ref(),
                authorization,
                proxy_credentials.as_ref().map(|(c, _)| c),
            );
            let response = match sent {
                Err(Stop::ProxyAuthenticationRequired) => {
                    if let Some((_, Source::Cache)) = proxy_credentials.take()
                        && let Some(proxy) = self.proxy_key()
                    {
                        self.cache().proxy_forget(&proxy);
                    }
                    // The proxy refused the tunnel: ask, every time (as Qt does). Its realm is
                    // unknown: ureq reports a refused CONNECT without its headers.
                    let (tx, rx) = bounded(1);
                    self.emit(EventKind::AskCredentials { realm: String::new(), proxy: true, answer: tx })?;
                    match self.wait_answer(&rx)? {
                        Some(credentials) => {
                            proxy_credentials = Some((credentials, Source::Asked));
                            continue;
                        }
                        None => return Err(Stop::ProxyAuthenticationRequired),
                    }
                }
                other => other?,
            };
            if let Some((credentials, source @ Source::Asked)) = &mut proxy_credentials {
                // The tunnel was opened: the proxy accepted them.
                if let Some(proxy) = self.proxy_key() {
                    self.cache().proxy_insert(proxy, credentials.clone());
                }
                *source = Source::Cache;
            }
            let status = response.status().as_u16();

            if status == 401 {
                match auth.on_challenge(self, &url, &response)? {
                    Next::Retry => {
                        drain(response);
                        continue;
                    }
                    Next::Deliver => return self.deliver(response, &url, None),
                }
            }
            auth.accepted(&url, &self.credentials);

            let location = response.headers().get(http::header::LOCATION).map(|v| v.as_bytes().to_vec());
            let redirect = matches!(status, 301 | 302 | 303 | 305 | 307 | 308) && location.is_some();
            if !redirect {
                return self.deliver(response, &url, None);
            }
            let location = String::from_utf8_lossy(&location.unwrap_or_default()).into_owned();
            let Ok(target) = url.join(location.trim()) else {
                return fail(
                    NetworkError::ProtocolFailure,
                    format!("Invalid redirect location \"{location}\""),
                );
            };
            if self.policy == RedirectPolicy::ManualRedirectPolicy {
                return self.deliver(response, &url, Some(target));
            }
            if !matches!(target.scheme(), "http" | "https") {
                return fail(
                    NetworkError::ProtocolUnknownError,
                    format!("Unsupported redirect protocol \"{}\"", target.scheme()),
                );
            }
            let same_origin = url.origin() == target.origin();
            match self.policy {
                RedirectPolicy::NoLessSafeRedirectPolicy
                    if url.scheme() == "https" && target.scheme() == "http" =>
                {
                    return fail(NetworkError::InsecureRedirectError, "Insecure redirect");
                }
                RedirectPolicy::SameOriginRedirectPolicy if !same_origin => {
                    return fail(NetworkError::InsecureRedirectError, "Insecure redirect");
                }
                _ => {}
            }
            hops += 1;
            if hops > self.max_redirects {
                return fail(NetworkError::TooManyRedirectsError, "Too many redirects");
            }
            if self.policy == RedirectPolicy::UserVerifiedRedirectPolicy {
                let (tx, rx) = bounded(1);
                self.emit(EventKind::AskRedirect { url: target.clone(), answer: tx })?;
                if !self.wait_answer(&rx)? {
                    return self.deliver(response, &url, Some(target));
                }
            } else {
                self.emit(EventKind::Redirected(target.clone()))?;
            }
            drain(response);
            // Qt's rule: 301, 302 and 303 continue as GET without a body, whatever the verb,
            // except HEAD, which stays HEAD; 307 and 308 keep the verb and the body.
            let to_get = (301..=303).contains(&status) && verb != "HEAD";
            if to_get {
                verb = "GET".to_owned();
                body = None;
                headers.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case(b"content-type") && !n.eq_ignore_ascii_case(b"content-length")
                });
            }
            if !same_origin {
                // Never hand credentials to another origin: neither the caller's headers nor
                // the credentials of the first origin.
                headers.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case(b"authorization") && !n.eq_ignore_ascii_case(b"cookie")
                });
                auth = AuthState::new(&target);
            }
            url = target;
        }
    }

    /// Accepted credentials for the proxy in use, from the manager's cache.
    fn cached_proxy_credentials(&self) -> Option<(String, String)> {
        self.proxy_key().and_then(|proxy| self.cache().proxy_get(&proxy))
    }

    /// The credential cache's key for the proxy in use, if any.
    fn proxy_key(&self) -> Option<auth::Origin> {
        self.proxy.as_ref().map(auth::origin_of)
    }

    /// The manager's credential cache.
    fn cache(&self) -> std::sync::MutexGuard<'_, CredentialCache> {
        self.credentials.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the loop's answer; aborts and a vanished loop end the request.
    pub(crate) fn wait_answer<T>(&self, rx: &crossbeam_channel::Receiver<T>) -> Outcome<T> {
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(answer) => return Ok(answer),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => self.check_aborted()?,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Err(Stop::Canceled),
            }
        }
    }

    fn send(
        &self,
        verb: &str,
        url: &Url,
        headers: &[(Vec<u8>, Vec<u8>)],
        body: Option<&Arc<Vec<u8>>>,
        authorization: Option<String>,
        proxy_credentials: Option<&(String, String)>,
    ) -> Outcome<http::Response<ureq::Body>> {
        use ureq::RequestExt as _;
        let target = wire_url(url);
        let mut builder = http::Request::builder().method(verb).uri(target.as_str());
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
        for (name, value) in headers {
            builder = builder.header(name.as_slice(), value.as_slice());
        }
        if !has("accept-encoding") {
            builder = builder.header("accept-encoding", "gzip, deflate");
        }
        if let Some(value) = authorization.filter(|_| !has("authorization")) {
            builder = builder.header("authorization", value);
        }
        let send_body = match body {
            Some(data) => {
                if !has("content-length") {
                    builder = builder.header("content-length", data.len());
                }
                if matches!(verb, "POST" | "PUT" | "PATCH") && !has("content-type") {
                    // Qt does the same, with a warning.
                    log::warn!(
                        "content-type missing in HTTP {verb}, defaulting to application/x-www-form-urlencoded"
                    );
                    builder = builder.header("content-type", "application/x-www-form-urlencoded");
                }
                ureq::SendBody::from_owned_reader(Upload::new(self, data.clone()))
            }
            None => {
                if matches!(verb, "POST" | "PUT" | "PATCH") && !has("content-length") {
                    builder = builder.header("content-length", 0);
                }
                ureq::SendBody::none()
            }
        };
        let request = builder.body(send_body).map_err(|e| {
            Stop::Fail(NetworkError::ProtocolInvalidOperationError, format!("Invalid request: {e}"))
        })?;
        let timeout = self.transfer_timeout;
        let settings = &self.agent_settings;
        let mut config = request
            .with_agent(&self.agent)
            .configure()
            .timeout_per_read(timeout)
            .timeout_per_write(timeout)
            .timeout_connect(settings.connect_timeout)
            .proxy(settings.proxy.clone())
            .tls_config(settings.tls.clone());
        if let (Some((user, password)), Some(proxy)) = (proxy_credentials, &self.proxy) {
            // Credentials given for the proxy travel on the CONNECT only, never to the origin.
            let mut with_credentials = proxy.clone();
            let _ = with_credentials.set_username(user);
            let _ = with_credentials.set_password(Some(password));
            let proxy = ureq::Proxy::new(with_credentials.as_str()).map_err(|e| self.ureq_failure(&e))?;
            config = config.proxy(Some(proxy));
        }
        config.run().map_err(|e| self.ureq_failure(&e))
    }

    fn deliver(
        &self,
        response: http::Response<ureq::Body>,
        url: &Url,
        redirect_target: Option<Url>,
    ) -> Outcome<()> {
        let status = response.status();
        let header = |name: http::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_ascii_lowercase())
        };
        let encoding = header(http::header::CONTENT_ENCODING).unwrap_or_default();
        let length = header(http::header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
        let compressed = matches!(encoding.as_str(), "gzip" | "x-gzip" | "deflate");
        let headers: Vec<(Vec<u8>, Vec<u8>)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        // ureq does not keep the reason phrase the server sent: use the standard one, or
        // the code itself for a code without one (never an empty "server replied: ").
        let reason = status.canonical_reason().unwrap_or(status.as_str()).to_owned();
        self.emit(EventKind::MetaData(Box::new(MetaData {
            url: url.clone(),
            status: Some(status.as_u16()),
            reason: reason.clone(),
            headers,
            encrypted: url.scheme() == "https",
            total: if compressed { None } else { length },
            original_length: length,
            redirect_target,
        })))?;
        let reader = response.into_body().into_reader();
        if compressed {
            let count = Rc::new(Cell::new(0u64));
            let counted = Counting { inner: reader, count: count.clone() };
            let mut raw = io::BufReader::with_capacity(DECODER_BUFFER, counted);
            // An empty body (HEAD, 204, 304, `Content-Length: 0`) is empty, whatever its
            // `Content-Encoding` says: the decoders would call it a truncated stream.
            let empty = raw.fill_buf().map_err(|e| self.body_failure(&e, true))?.is_empty();
            if empty {
                log::trace!("request {}: empty {encoding} body, nothing to decode", self.id);
            } else if encoding == "deflate" {
                self.stream(flate2::bufread::ZlibDecoder::new(raw), Some(&count))?;
            } else {
                self.stream(flate2::bufread::MultiGzDecoder::new(raw), Some(&count))?;
            }
        } else {
            self.stream(reader, None)?;
        }
        match NetworkError::from_http_status(status.as_u16()) {
            None => Ok(()),
            Some(NetworkError::AuthenticationRequiredError) => {
                fail(NetworkError::AuthenticationRequiredError, "Host requires authentication")
            }
            Some(NetworkError::ProxyAuthenticationRequiredError) => {
                fail(NetworkError::ProxyAuthenticationRequiredError, "Proxy requires authentication")
            }
            Some(error) => {
                let shown = crate::request::redact(url);
                fail(error, format!("Error transferring {shown} - server replied: {reason}"))
            }
        }
    }
}

/// Name resolution failed (the system resolver reports it as a plain I/O error).
fn is_resolution_failure(text: &str) -> bool {
    [
        "failed to lookup address",
        "Name or service not known",
        "nodename nor servname",
        "No address associated",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Classifies an I/O error that carries no ureq error.
pub(crate) fn classify_io(e: &io::Error) -> (NetworkError, String) {
    use NetworkError::*;
    let text = e.to_string();
    if text.contains("certificate")
        || text.contains("handshake")
        || text.contains("TLS")
        || text.contains("tls")
    {
        return (SslHandshakeFailedError, format!("SSL handshake failed: {text}"));
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => (ConnectionRefusedError, "Connection refused".into()),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => (RemoteHostClosedError, format!("Connection closed: {text}")),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            (TimeoutError, "Socket operation timed out".into())
        }
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
            (ProtocolFailure, format!("Data corrupted: {text}"))
        }
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable | io::ErrorKind::NetworkDown => {
            (UnknownNetworkError, format!("Network unreachable: {text}"))
        }
        _ if text.contains("disconnected") || text.contains("closed") => {
            (RemoteHostClosedError, format!("Connection closed: {text}"))
        }
        _ => (UnknownNetworkError, format!("Network error: {text}")),
    }
}

/// Reads and discards a body we do not deliver (a redirect, a retried 401), up to 1 MiB;
/// a larger body is dropped with its connection.
fn drain(response: http::Response<ureq::Body>) {
    let mut reader = response.into_body().into_reader().take(1024 * 1024);
    let _ = io::copy(&mut reader, &mut io::sink());
}

/// Counts the compressed bytes a decoder pulls, for the decompression-ratio guard.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

/// An error from the connection, as opposed to one from the decoder reading it.
#[derive(Debug)]
struct TransportError(io::Error);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| io::Error::new(e.kind(), TransportError(e)))?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The request body, reporting upload progress to the loop.
struct Upload {
    data: Arc<Vec<u8>>,
    position: usize,
    reported: usize,
    id: u64,
    events: Emitter<Event>,
}

impl Upload {
    fn new(job: &Job, data: Arc<Vec<u8>>) -> Self {
        Upload { data, position: 0, reported: 0, id: job.id, events: job.events.clone() }
    }
}

impl Read for Upload {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        let total = self.data.len();
        if self.position == total && self.reported < total || self.position - self.reported >= CHUNK {
            self.reported = self.position;
            let kind = EventKind::UploadProgress { sent: self.position as u64, total: total as u64 };
            let _ = self.events.emit(Event::new(self.id, kind));
        }
        Ok(n)
    }
}

enum Next {
    Retry,
    Deliver,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Url,
    Cache,
    Asked,
}

/// The credentials in use for an origin, and how they are presented.
struct Attempt {
    /// The challenge answered (its scheme and realm).
    challenge: Chosen,
    credentials: (String, String),
    source: Source,
}

/// The state of server authentication across the retries of one request (Qt's order: URL
/// credentials, then the cache, never the cache twice in a row, then the signal). Holds
/// passwords: no `Debug`, and nothing here is logged but realms and schemes.
struct AuthState {
    url_credentials: Option<(String, String)>,
    tried_url: bool,
    current: Option<Attempt>,
    /// Realms whose cached credentials this request looked up after a challenge (a
    /// pre-emptive send does not count).
    cache_tried: Vec<String>,
    /// The Digest nonce last used and how many times (the `nc` sent with it).
    nonce_count: Option<(String, u32)>,
    /// The current credentials were already retried once after a `stale=true` 401.
    stale_retried: bool,
}

impl AuthState {
    fn new(url: &Url) -> Self {
        AuthState {
            url_credentials: auth::url_credentials(url),
            tried_url: false,
            current: None,
            cache_tried: Vec::new(),
            nonce_count: None,
            stale_retried: false,
        }
    }

    /// The Authorization header for the next attempt (`verb` on `url`): current
    /// credentials, else cached Basic credentials for the origin (pre-emptive, as Qt does on
    /// a known host; Digest waits for the server's nonce).
    fn header(&mut self, verb: &str, url: &Url, cache: &Mutex<CredentialCache>) -> Option<String> {
        if self.current.is_none() {
            let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((realm, credentials)) = cache.preemptive(&auth::origin_of(url)) {
                let challenge = Chosen::Basic { realm };
                self.current = Some(Attempt { challenge, credentials, source: Source::Cache });
            }
        }
        let attempt = self.current.as_ref()?;
        let (user, password) = &attempt.credentials;
        let Chosen::Digest(digest) = &attempt.challenge else {
            return Some(auth::basic_header(user, password));
        };
        let nc = match &mut self.nonce_count {
            Some((nonce, count)) if *nonce == digest.nonce => {
                *count += 1;
                *count
            }
            other => {
                *other = Some((digest.nonce.clone(), 1));
                1
            }
        };
        Some(digest.authorization(user, password, verb, request_target(url), nc, &auth::cnonce()))
    }

    /// Answers a 401: picks the challenge (Digest before Basic) and the credentials to
    /// retry with, or says to deliver the 401.
    fn on_challenge(&mut self, job: &Job, url: &Url, response: &http::Response<ureq::Body>) -> Outcome<Next> {
        let values = response.headers().get_all(http::header::WWW_AUTHENTICATE);
        let challenges = auth::parse_challenges(values.iter().filter_map(|v| v.to_str().ok()));
        let Some(chosen) = auth::choose(&challenges) else {
            log::debug!("401 without a supported challenge: finishing without asking");
            return Ok(Next::Deliver);
        };
        let realm = chosen.realm().to_owned();
        let scheme = if matches!(chosen, Chosen::Digest(_)) { "Digest" } else { "Basic" };
        log::debug!("request {}: 401 for realm {realm:?}, answering with {scheme}", job.id);
        let origin = auth::origin_of(url);
        let mut previous = self.current.take();
        // The nonce expired, not the credentials just sent: once, retry them with the new
        // nonce without asking.
        let stale = matches!(&chosen, Chosen::Digest(new) if new.stale)
            && matches!(&previous, Some(p) if matches!(p.challenge, Chosen::Digest(_)) && p.challenge.realm() == realm)
            && !self.stale_retried;
        if stale && let Some(previous) = previous.take() {
            log::debug!("request {}: stale nonce, retrying with the new one", job.id);
            self.stale_retried = true;
            let Attempt { credentials, source, .. } = previous;
            self.current = Some(Attempt { challenge: chosen, credentials, source });
            return Ok(Next::Retry);
        }
        // Cached credentials for this very realm were rejected: forget them. Credentials
        // sent pre-emptively for another realm of the origin say nothing about this one:
        // they stay cached, and this realm's cache entry is still worth a try.
        if matches!(&previous, Some(p) if p.source == Source::Cache && p.challenge.realm() == realm) {
            job.cache().forget(&origin, &realm);
        }
        if !self.tried_url {
            self.tried_url = true;
            if let Some(credentials) = self.url_credentials.clone() {
                self.retry_with(chosen, credentials, Source::Url);
                return Ok(Next::Retry);
            }
        }
        // Each realm's cache entry is tried once per request (Qt: never the cache twice in
        // a row), so a server alternating its realms cannot make us loop.
        if !self.cache_tried.contains(&realm) {
            let cached = job.cache().get(&origin, &realm);
            if let Some(credentials) = cached {
                self.cache_tried.push(realm.clone());
                self.retry_with(chosen, credentials, Source::Cache);
                return Ok(Next::Retry);
            }
        }
        let (tx, rx) = bounded(1);
        job.emit(EventKind::AskCredentials { realm: realm.clone(), proxy: false, answer: tx })?;
        match job.wait_answer(&rx)? {
            Some(credentials) => {
                self.retry_with(chosen, credentials, Source::Asked);
                Ok(Next::Retry)
            }
            None => Ok(Next::Deliver),
        }
    }

    fn retry_with(&mut self, challenge: Chosen, credentials: (String, String), source: Source) {
        self.stale_retried = false;
        self.current = Some(Attempt { challenge, credentials, source });
    }

    /// The server accepted the current credentials: cache them (Basic ones to be sent
    /// pre-emptively next time).
    fn accepted(&mut self, url: &Url, cache: &Mutex<CredentialCache>) {
        if let Some(attempt) = &self.current
            && attempt.source != Source::Cache
        {
            cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
                auth::origin_of(url),
                attempt.challenge.realm().to_owned(),
                attempt.credentials.clone(),
                matches!(attempt.challenge, Chosen::Basic { .. }),
            );
        }
    }
}

/// The URL as it goes on the wire: no user info, no fragment.
fn wire_url(url: &Url) -> Url {
    let mut target = url.clone();
    let _ = target.set_username("");
    let _ = target.set_password(None);
    target.set_fragment(None);
    target
}

/// The request-target ureq writes for `url` (path and query, origin-form), which a Digest
/// response covers.
fn request_target(url: &Url) -> &str {
    match &url[url::Position::BeforePath..url::Position::AfterQuery] {
        "" => "/",
        target => target,
    }
}
