//! Replies ([`NetworkReply`], Qt's `QNetworkReply`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use cute_core::{Signal, Timer};
use url::Url;

use crate::control::Control;
use crate::error::NetworkError;
use crate::manager::ManagerInner;
use crate::request::{Attribute, AttributeValue, KnownHeaders, NetworkRequest, Operation, RedirectPolicy};

/// Where a reply is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Queued for its host or in progress on a worker.
    Running,
    Finished,
}

pub(crate) struct State {
    pub(crate) phase: Phase,
    pub(crate) url: Option<Url>,
    pub(crate) status: Option<u16>,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) encrypted: bool,
    pub(crate) original_length: Option<u64>,
    pub(crate) redirect_target: Option<Url>,
    pub(crate) error: NetworkError,
    pub(crate) error_string: String,
    /// Bytes the application can read: `buffer[offset..]`. One contiguous vector, so
    /// `read_all` of a body read whole hands the vector over without copying, and growing
    /// it (by `realloc`, which moves large blocks without copying) never holds the body
    /// twice.
    buffer: Vec<u8>,
    offset: usize,
    available: u64,
    /// Bytes received while the read buffer was full: not yet acknowledged to the worker.
    /// The front chunk may be partly admitted already, up to `held_offset`.
    held: VecDeque<Vec<u8>>,
    held_offset: usize,
    pub(crate) read_buffer_size: u64,
    pub(crate) received: u64,
    pub(crate) total: Option<u64>,
    /// The last `download_progress` emitted, so the final one is not a repeat. Stored, not
    /// derived from `received` and `total`: a nested loop in a `ready_read` slot can finish
    /// the reply before the progress of its last chunk goes out.
    pub(crate) last_progress: Option<(u64, Option<u64>)>,
    /// The answer channel of a question a worker is waiting on (credentials, a redirect);
    /// dropping it answers "cancel".
    pub(crate) pending: Option<Box<dyn std::any::Any>>,
}

/// The most reserved up front from a `Content-Length` (a lying server cannot make us
/// allocate more than this before sending it).
const RESERVE_LIMIT: u64 = 256 * 1024 * 1024;

impl State {
    fn append(&mut self, chunk: Vec<u8>) {
        if !self.buffer.is_empty() {
            return self.append_slice(&chunk);
        }
        let n = chunk.len();
        self.offset = 0;
        let first = self.received == n as u64;
        let announced = self.total.filter(|&t| first && self.read_buffer_size == 0 && t > 2 * n as u64);
        // The start of a body of known size: reserve for all of it (bounded), so
        // buffering it whole needs no reallocation. If that much memory is not to be
        // had, the buffer grows as the data arrives instead.
        let wanted = announced.map(|t| usize::try_from(t.min(RESERVE_LIMIT)).unwrap_or(0).max(n));
        if let Some(wanted) = wanted
            && self.buffer.try_reserve_exact(wanted).is_ok()
        {
            self.buffer.extend_from_slice(&chunk);
        } else {
            if let Some(wanted) = wanted {
                log::debug!("cannot reserve {wanted} bytes for the announced body: growing as it arrives");
            }
            // Take the chunk as it is (also the case of a streaming reader keeping up:
            // nothing unread).
            self.buffer = chunk;
        }
        self.available += n as u64;
    }

    /// Appends a copy of `bytes` to the buffer.
    fn append_slice(&mut self, bytes: &[u8]) {
        if self.buffer.is_empty() {
            self.offset = 0;
        }
        self.buffer.extend_from_slice(bytes);
        self.available += bytes.len() as u64;
    }

    /// How many more bytes the read buffer takes now (unlimited when its size is 0).
    fn room(&self) -> u64 {
        match self.read_buffer_size {
            0 => u64::MAX,
            limit => limit.saturating_sub(self.available),
        }
    }

    /// Moves held bytes into the buffer as far as the read buffer size allows (all of them
    /// when `all`); a chunk that does not fit whole is split. Returns the bytes moved.
    fn admit(&mut self, all: bool) -> u64 {
        let mut admitted = 0u64;
        while let Some(chunk) = self.held.pop_front() {
            let start = self.held_offset;
            let rest = (chunk.len() - start) as u64;
            let take = if all { rest } else { rest.min(self.room()) };
            if take == 0 {
                self.held.push_front(chunk);
                break;
            }
            admitted += take;
            if start == 0 && take == rest {
                self.append(chunk);
                continue;
            }
            // `take` is at most `rest`, a length in memory.
            let end = start + take as usize;
            self.append_slice(&chunk[start..end]);
            if end < chunk.len() {
                self.held_offset = end;
                self.held.push_front(chunk);
                break;
            }
            self.held_offset = 0;
        }
        admitted
    }

    /// Drops consumed bytes once they dominate the buffer.
    fn compact(&mut self) {
        if self.offset == self.buffer.len() {
            self.buffer.clear();
            self.offset = 0;
            if self.buffer.capacity() > 1024 * 1024 {
                self.buffer = Vec::new();
            }
        } else if self.offset > 64 * 1024 && self.offset * 2 > self.buffer.len() {
            self.buffer.drain(..self.offset);
            self.offset = 0;
        }
    }
}

pub(crate) struct ReplyInner {
    pub(crate) id: u64,
    pub(crate) request: NetworkRequest,
    pub(crate) operation: Operation,
    pub(crate) verb: String,
    pub(crate) body: Option<Arc<Vec<u8>>>,
    pub(crate) control: Arc<Control>,
    pub(crate) manager: Weak<ManagerInner>,
    pub(crate) state: RefCell<State>,
    pub(crate) redirect_allowed: Cell<bool>,
    /// A deferred `ready_read` is pending (see [`ReplyInner::admit_after_read`]).
    ready_read_scheduled: Cell<bool>,
    pub(crate) policy: RedirectPolicy,
    pub(crate) finished: Signal<NetworkReply>,
    pub(crate) error_occurred: Signal<NetworkError>,
    pub(crate) ready_read: Signal<NetworkReply>,
    pub(crate) download_progress: Signal<(u64, Option<u64>)>,
    pub(crate) upload_progress: Signal<(u64, Option<u64>)>,
    pub(crate) redirected: Signal<Url>,
    pub(crate) meta_data_changed: Signal<NetworkReply>,
}

impl ReplyInner {
    pub(crate) fn new(
        id: u64,
        request: NetworkRequest,
        operation: Operation,
        verb: String,
        body: Option<Arc<Vec<u8>>>,
        manager: Weak<ManagerInner>,
        policy: RedirectPolicy,
    ) -> Self {
        let state = State {
            phase: Phase::Running,
            url: request.url().cloned(),
            status: None,
            reason: String::new(),
            headers: Vec::new(),
            encrypted: false,
            original_length: None,
            redirect_target: None,
            error: NetworkError::NoError,
            error_string: "Unknown error".to_owned(),
            buffer: Vec::new(),
            offset: 0,
            available: 0,
            held: VecDeque::new(),
            held_offset: 0,
            read_buffer_size: request.read_buffer_size(),
            received: 0,
            total: None,
            last_progress: None,
            pending: None,
        };
        ReplyInner {
            id,
            request,
            operation,
            verb,
            body,
            control: Arc::new(Control::new(id)),
            manager,
            state: RefCell::new(state),
            redirect_allowed: Cell::new(false),
            ready_read_scheduled: Cell::new(false),
            policy,
            finished: Signal::new(),
            error_occurred: Signal::new(),
            ready_read: Signal::new(),
            download_progress: Signal::new(),
            upload_progress: Signal::new(),
            redirected: Signal::new(),
            meta_data_changed: Signal::new(),
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.state.borrow().phase == Phase::Finished
    }

    /// Takes a received chunk. Returns whether new bytes became readable (the rest is held
    /// until the application reads, which keeps the worker waiting: back-pressure).
    pub(crate) fn push_data(&self, chunk: Vec<u8>) -> bool {
        let admitted = {
            let mut state = self.state.borrow_mut();
            let n = chunk.len() as u64;
            state.received += n;
            if state.held.is_empty() && n <= state.room() {
                state.append(chunk);
                n
            } else {
                state.held.push_back(chunk);
                state.admit(false)
            }
        };
        if admitted > 0 {
            self.control.release(admitted);
        }
        admitted > 0
    }

    /// Moves held bytes into the buffer as far as the read buffer size allows (all of them
    /// when `all`), acknowledging them to the worker. Returns the bytes moved.
    pub(crate) fn admit_held(&self, all: bool) -> u64 {
        let admitted = self.state.borrow_mut().admit(all);
        if admitted > 0 {
            self.control.release(admitted);
        }
        admitted
    }

    /// The application read (or enlarged its buffer): admits held bytes, and if new bytes
    /// became readable, schedules one `ready_read` for them, as Qt emits `readyRead` again
    /// when freed buffer space lets more data in. Deferred to the loop, never recursive
    /// (this runs inside the application's `read`), and coalesced: at most one is pending.
    pub(crate) fn admit_after_read(self: &Rc<Self>) {
        if self.admit_held(false) == 0 || self.ready_read_scheduled.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        Timer::single_shot(Duration::ZERO, move || {
            let Some(reply) = weak.upgrade() else { return };
            reply.ready_read_scheduled.set(false);
            // Finishing emitted ready_read itself; a reader may have taken it all since.
            if reply.is_finished() || reply.state.borrow().available == 0 {
                return;
            }
            reply.ready_read.emit(&NetworkReply { inner: reply.clone() });
        });
    }

    /// Emits `download_progress(progress)` and remembers it.
    pub(crate) fn emit_progress(&self, progress: (u64, Option<u64>)) {
        self.state.borrow_mut().last_progress = Some(progress);
        self.download_progress.emit(&progress);
    }

    /// Disconnects every slot of the reply's signals (after `finished`), so closures that
    /// captured the reply do not keep it alive (what `deleteLater` achieves in Qt).
    pub(crate) fn disconnect_all(&self) {
        self.finished.disconnect_all();
        self.error_occurred.disconnect_all();
        self.ready_read.disconnect_all();
        self.download_progress.disconnect_all();
        self.upload_progress.disconnect_all();
        self.redirected.disconnect_all();
        self.meta_data_changed.disconnect_all();
    }
}

/// The reply to a request (Qt's `QNetworkReply`): a cheap, clonable handle.
///
/// Returned at once by the [`NetworkAccessManager`](crate::NetworkAccessManager)'s request
/// functions; nothing has been sent yet and no signal has fired, so connecting after
/// `get()` never misses anything. Signals, all emitted from the loop, in Qt's order:
/// [`meta_data_changed`](Self::meta_data_changed) once the response headers are in,
/// [`ready_read`](Self::ready_read) and [`download_progress`](Self::download_progress) as
/// the body arrives, [`error_occurred`](Self::error_occurred) on failure, then the
/// manager's `finished` and the reply's [`finished`](Self::finished) — exactly once,
/// whatever happens (success, error, abort, timeout, manager dropped).
///
/// The body is a sequential buffer, as in Qt: [`read`](Self::read) and
/// [`read_all`](Self::read_all) consume it. If nothing reads during the transfer,
/// `read_all` in a `finished` slot returns the whole body (Qt's default). For HTTP error
/// statuses (4xx/5xx) the body and headers stay readable.
///
/// After `finished`, the reply's own signals are disconnected, so slots that captured a
/// clone of the reply do not keep it alive (Rust's stand-in for Qt's `deleteLater`).
///
/// # Examples
///
/// ```no_run
/// use cute_core::{CoreApplication};
/// use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest};
///
/// let app = CoreApplication::new();
/// let nam = NetworkAccessManager::new();
/// let reply = nam.get(&NetworkRequest::new("http://127.0.0.1:8080/get"));
/// reply.finished().connect(|reply| {
///     match reply.error() {
///         NetworkError::NoError => println!("{} bytes", reply.read_all().len()),
///         e => println!("{e}: {}", reply.error_string()),
///     }
///     CoreApplication::quit();
/// });
/// app.exec();
/// ```
#[doc(alias = "QNetworkReply")]
#[derive(Clone)]
pub struct NetworkReply {
    pub(crate) inner: Rc<ReplyInner>,
}

impl fmt::Debug for NetworkReply {
    /// Shows the URL (password redacted), state and status; never credentials or the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("NetworkReply")
            .field("url", &state.url.as_ref().map(crate::request::redact))
            .field("operation", &self.inner.operation)
            .field("phase", &state.phase)
            .field("status", &state.status)
            .field("error", &state.error)
            .field("bytes_available", &state.available)
            .finish()
    }
}

impl PartialEq for NetworkReply {
    /// Two handles are equal when they refer to the same reply.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for NetworkReply {}

impl NetworkReply {
    /// The error the reply finished with ([`NoError`](NetworkError::NoError) while running
    /// or on success).
    pub fn error(&self) -> NetworkError {
        self.inner.state.borrow().error
    }

    /// A human-readable description of the error (Qt's `errorString`), e.g. `Error
    /// transferring http://host/x - server replied: Not Found`.
    pub fn error_string(&self) -> String {
        self.inner.state.borrow().error_string.clone()
    }

    /// Reads and removes everything buffered (Qt's `readAll`).
    pub fn read_all(&self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            {
                let mut state = self.inner.state.borrow_mut();
                let offset = std::mem::take(&mut state.offset);
                if out.is_empty() && offset == 0 {
                    // The common case: hand the buffer over, no copy.
                    out = std::mem::take(&mut state.buffer);
                } else {
                    out.extend_from_slice(&state.buffer[offset..]);
                    state.buffer.clear();
                }
                state.available = 0;
                state.compact();
            }
            // Everything admitted is taken by the next turn: no ready_read is due for it.
            self.inner.admit_held(false);
            if self.bytes_available() == 0 {
                return out;
            }
        }
    }

    /// Reads and removes up to `max` buffered bytes (Qt's `read`).
    pub fn read(&self, max: usize) -> Vec<u8> {
        let out = {
            let mut state = self.inner.state.borrow_mut();
            let start = state.offset;
            let take = (state.buffer.len() - start).min(max);
            let out = state.buffer[start..start + take].to_vec();
            state.offset += take;
            state.available -= take as u64;
            state.compact();
            out
        };
        self.inner.admit_after_read();
        out
    }

    /// The number of bytes that can be read now (Qt's `bytesAvailable`).
    pub fn bytes_available(&self) -> u64 {
        self.inner.state.borrow().available
    }

    /// True when finished and everything was read (Qt's `atEnd`).
    pub fn at_end(&self) -> bool {
        let state = self.inner.state.borrow();
        state.phase == Phase::Finished && state.available == 0 && state.held.is_empty()
    }

    /// Parses the buffered body as JSON (consuming it, like [`read_all`](Self::read_all)).
    ///
    /// # Errors
    ///
    /// The JSON error if the body is not valid JSON for `T`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn slot(reply: &cute_network::NetworkReply) -> Result<(), serde_json::Error> {
    /// let json: serde_json::Value = reply.read_json()?;
    /// println!("Name: {}", json["form"]["name"]);
    /// # Ok(()) }
    /// ```
    pub fn read_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.read_all())
    }

    /// Limits the unread bytes buffered; 0 is unlimited (Qt's `setReadBufferSize`). When
    /// the buffer is full, the transfer pauses until the application reads.
    pub fn set_read_buffer_size(&self, size: u64) {
        self.inner.state.borrow_mut().read_buffer_size = size;
        self.inner.admit_after_read();
    }

    /// The read buffer size.
    pub fn read_buffer_size(&self) -> u64 {
        self.inner.state.borrow().read_buffer_size
    }

    /// The HTTP status code, once the headers are in (Qt's `HttpStatusCodeAttribute`).
    pub fn status_code(&self) -> Option<u16> {
        self.inner.state.borrow().status
    }

    /// The HTTP reason phrase (Qt's `HttpReasonPhraseAttribute`): the standard phrase of
    /// the status code (ureq does not keep the one the server sent), or the code itself,
    /// e.g. `"599"`, for a code without one.
    pub fn reason_phrase(&self) -> String {
        self.inner.state.borrow().reason.clone()
    }

    /// A reply attribute (Qt's `attribute`); `None` when it has no value.
    pub fn attribute(&self, attribute: Attribute) -> Option<AttributeValue> {
        let state = self.inner.state.borrow();
        match attribute {
            Attribute::HttpStatusCodeAttribute => state.status.map(|s| AttributeValue::Int(i64::from(s))),
            Attribute::HttpReasonPhraseAttribute => {
                state.status.map(|_| AttributeValue::Bytes(state.reason.clone().into_bytes()))
            }
            Attribute::RedirectionTargetAttribute => state.redirect_target.clone().map(AttributeValue::Url),
            Attribute::ConnectionEncryptedAttribute => Some(AttributeValue::Bool(state.encrypted)),
            Attribute::SourceIsFromCacheAttribute | Attribute::Http2WasUsedAttribute => {
                Some(AttributeValue::Bool(false))
            }
            Attribute::CustomVerbAttribute => (self.inner.operation == Operation::CustomOperation)
                .then(|| AttributeValue::Bytes(self.inner.verb.clone().into_bytes())),
            Attribute::OriginalContentLengthAttribute => {
                state.original_length.and_then(|n| i64::try_from(n).ok()).map(AttributeValue::Int)
            }
            Attribute::RedirectPolicyAttribute => Some(AttributeValue::Int(self.inner.policy as i64)),
        }
    }

    /// A known response header (Qt's `header`).
    pub fn header(&self, header: KnownHeaders) -> Option<String> {
        self.raw_header(header.name()).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// A response header by name, case-insensitive; repeated headers are joined with
    /// `", "` (`"\n"` for `Set-Cookie`), as Qt does.
    pub fn raw_header(&self, name: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        let name = name.as_ref();
        let state = self.inner.state.borrow();
        let values: Vec<&[u8]> = state
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect();
        if values.is_empty() {
            return None;
        }
        let separator: &[u8] = if name.eq_ignore_ascii_case(b"set-cookie") { b"\n" } else { b", " };
        Some(values.join(separator))
    }

    /// Whether a response header is present.
    pub fn has_raw_header(&self, name: impl AsRef<[u8]>) -> bool {
        self.raw_header(name).is_some()
    }

    /// The response header names, lowercase, each once, in arrival order.
    pub fn raw_header_list(&self) -> Vec<Vec<u8>> {
        let state = self.inner.state.borrow();
        let mut names: Vec<Vec<u8>> = Vec::new();
        for (n, _) in &state.headers {
            if !names.iter().any(|m| m.eq_ignore_ascii_case(n)) {
                names.push(n.to_ascii_lowercase());
            }
        }
        names
    }

    /// Every response header as received (name, value), repeats included.
    pub fn raw_header_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.inner.state.borrow().headers.clone()
    }

    /// The URL of the reply: the request's, updated as redirects are followed (the final
    /// URL once finished). `None` if the request's URL was invalid.
    pub fn url(&self) -> Option<Url> {
        self.inner.state.borrow().url.clone()
    }

    /// The request this reply answers.
    pub fn request(&self) -> NetworkRequest {
        self.inner.request.clone()
    }

    /// The operation (GET, POST, …).
    pub fn operation(&self) -> Operation {
        self.inner.operation
    }

    /// Whether the reply has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Whether the request is still queued or in progress.
    pub fn is_running(&self) -> bool {
        !self.is_finished()
    }

    /// Aborts the request at once (Qt's `abort`): the connection is cut, and
    /// `error_occurred(OperationCanceledError)`, the manager's `finished` and the reply's
    /// `finished` are emitted before `abort` returns. Safe anywhere: before the request
    /// starts, inside any slot (including the authentication slot), and after it finished
    /// (a no-op).
    pub fn abort(&self) {
        if self.is_finished() {
            return;
        }
        match self.inner.manager.upgrade() {
            Some(manager) => manager.abort_reply(&self.inner),
            None => self.inner.control.abort(),
        }
    }

    /// For [`UserVerifiedRedirectPolicy`](RedirectPolicy::UserVerifiedRedirectPolicy):
    /// called from a slot of [`redirected`](Self::redirected), lets the redirect be
    /// followed (Qt's `redirectAllowed`).
    pub fn redirect_allowed(&self) {
        self.inner.redirect_allowed.set(true);
    }

    /// Emitted once, when the reply is done. Carries the reply.
    pub fn finished(&self) -> &Signal<NetworkReply> {
        &self.inner.finished
    }

    /// Emitted once before `finished` when the reply fails.
    pub fn error_occurred(&self) -> &Signal<NetworkError> {
        &self.inner.error_occurred
    }

    /// Emitted when new body bytes can be read. Carries the reply.
    pub fn ready_read(&self) -> &Signal<NetworkReply> {
        &self.inner.ready_read
    }

    /// Emitted as the body arrives: (bytes received, total if known). Qt uses −1 for an
    /// unknown total; this is `None`.
    pub fn download_progress(&self) -> &Signal<(u64, Option<u64>)> {
        &self.inner.download_progress
    }

    /// Emitted as the request body is sent: (bytes sent, total).
    pub fn upload_progress(&self) -> &Signal<(u64, Option<u64>)> {
        &self.inner.upload_progress
    }

    /// Emitted for each redirect followed (and, with the user-verified policy, for each
    /// redirect proposed), with the new URL.
    pub fn redirected(&self) -> &Signal<Url> {
        &self.inner.redirected
    }

    /// Emitted when the response headers (status, headers, final URL) are in.
    pub fn meta_data_changed(&self) -> &Signal<NetworkReply> {
        &self.inner.meta_data_changed
    }
}
