//! Replies ([`NetworkReply`], Qt's `QNetworkReply`): the handle, the reply's life on the
//! loop (what each worker event does to it, and the finish sequence), and the manager's
//! register of live replies.
//!
//! `api.rs` holds what the application calls on a reply; `future.rs` awaiting it;
//! `read_buffer.rs` its body buffer.

mod api;
mod cached;
pub(crate) mod future;
mod read_buffer;
mod timeout;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cute_core::{Signal, Timer};
use url::Url;

use crate::control::Control;
use crate::error::{Failure, Leftover, NetworkError};
use crate::exchange::Exchange;
use crate::id_hash::IdHasher;
use crate::protocol::{Answer, MetaData};
use crate::request::{NetworkRequest, Operation, RedirectPolicy};
use read_buffer::{Admit, ReadBuffer};
use timeout::LoopTimeout;

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
    inner: Rc<ReplyInner>,
}

impl NetworkReply {
    pub(crate) fn inner(&self) -> &Rc<ReplyInner> {
        &self.inner
    }
}

/// Where a reply is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Queued for its host or in progress on a worker.
    Running,
    Finished,
}

/// What a reply knows. Kept small while the request is queued (100,000 queued requests
/// are 100,000 of these): the response's metadata and a redirect's URL come boxed, as they
/// arrive.
struct State {
    phase: Phase,
    /// A redirect being followed (until then the request's URL; once the response is in,
    /// its URL, in `meta`).
    redirect_url: Option<Box<Url>>,
    /// The final response's status, headers and URL, once in.
    meta: Option<Box<MetaData>>,
    error: NetworkError,
    /// Empty while there is no error ("Unknown error", Qt's text, is shown then).
    error_string: Box<str>,
    /// The body buffer and the progress reported, made when the first of the body (or
    /// its size limit) comes.
    body: Option<Box<Body>>,
    /// The read buffer size (`None`: unlimited), for the buffer when it is made.
    read_limit: Option<u64>,
    /// An `upload_progress` went out.
    uploaded: bool,
}

/// A reply's body as it comes: the buffer, and the download progress reported.
#[derive(Default)]
struct Body {
    buffer: ReadBuffer,
    /// The last `download_progress` emitted, so the final one is not a repeat. Stored, not
    /// derived from what was received: a nested loop in a `ready_read` slot can finish the
    /// reply before the progress of its last chunk goes out.
    last_progress: Option<(u64, Option<u64>)>,
    /// When the last `download_progress` went out, for the throttle.
    last_progress_at: Option<Instant>,
    /// The manager's cache entry being written as the body arrives, if the response is
    /// stored.
    cache: Option<Box<crate::disk_cache::CacheWriter>>,
}

impl State {
    /// The body (empty until it comes).
    fn body_state(&self) -> &Body {
        static NONE: std::sync::LazyLock<Body> = std::sync::LazyLock::new(Body::default);
        self.body.as_deref().unwrap_or(&NONE)
    }

    /// The body, made if needed.
    fn body_state_mut(&mut self) -> &mut Body {
        let limit = self.read_limit;
        self.body.get_or_insert_with(|| Box::new(Body { buffer: ReadBuffer::new(limit), ..Body::default() }))
    }

    /// The body buffer (empty until the body comes).
    fn body(&self) -> &ReadBuffer {
        &self.body_state().buffer
    }

    /// The body buffer, made if needed.
    fn body_mut(&mut self) -> &mut ReadBuffer {
        &mut self.body_state_mut().buffer
    }

    /// Sets the read buffer size (`None`: unlimited).
    fn set_read_limit(&mut self, limit: Option<u64>) {
        self.read_limit = limit;
        if let Some(body) = &mut self.body {
            body.buffer.set_limit(limit);
        }
    }

    /// The response's metadata (empty until it is in).
    fn meta(&self) -> &MetaData {
        static NONE: std::sync::LazyLock<MetaData> = std::sync::LazyLock::new(MetaData::default);
        self.meta.as_deref().unwrap_or(&NONE)
    }
}

/// The reply's signals, made when the application first asks for one (most replies are
/// only ever seen through the manager's `finished`).
#[derive(Default)]
pub(crate) struct Signals {
    finished: Signal<NetworkReply>,
    error_occurred: Signal<NetworkError>,
    ready_read: Signal<NetworkReply>,
    download_progress: Signal<(u64, Option<u64>)>,
    upload_progress: Signal<(u64, Option<u64>)>,
    redirected: Signal<Url>,
    meta_data_changed: Signal<NetworkReply>,
    ssl_errors: Signal<Vec<crate::ssl::SslError>>,
    encrypted: Signal<NetworkReply>,
    /// What `ignore_ssl_errors` said: every error (`true`), or these kinds.
    ssl_ignore_all: Cell<bool>,
    ssl_ignored: RefCell<Vec<crate::ssl::SslErrorKind>>,
    /// The transfer timeout on the loop, for a request made under a fake clock.
    timeout: std::cell::OnceCell<LoopTimeout>,
}

/// Progress signals go out at most this often, the final one excepted (Qt's throttle).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct ReplyInner {
    /// The request as made, shared with its runner.
    exchange: Arc<Exchange>,
    operation: Operation,
    /// The verb as given to `send_custom_request`.
    custom_verb: Option<Box<str>>,
    /// The request has a body (so a failure before any was sent reports `(0, 0)`).
    has_body: bool,
    replies: Weak<Replies>,
    state: RefCell<State>,
    redirect_allowed: Cell<bool>,
    /// A deferred `ready_read` is pending (see [`ReplyInner::admit_after_read`]).
    ready_read_scheduled: Cell<bool>,
    signals: std::cell::OnceCell<Box<Signals>>,
}

/// What a reply is made from.
pub(crate) struct Made {
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) operation: Operation,
    pub(crate) custom_verb: Option<Box<str>>,
    pub(crate) has_body: bool,
}

impl ReplyInner {
    pub(crate) fn id(&self) -> u64 {
        self.exchange.id
    }

    pub(crate) fn control(&self) -> &Control {
        &self.exchange.control
    }

    /// The proxy the request goes through, if any.
    pub(crate) fn proxy(&self) -> Option<&crate::proxy::Proxy> {
        self.exchange.settings.proxy.as_ref()
    }

    pub(crate) fn request(&self) -> &NetworkRequest {
        &self.exchange.request
    }

    pub(crate) fn policy(&self) -> RedirectPolicy {
        self.exchange.policy
    }

    pub(crate) fn handle(self: &Rc<Self>) -> NetworkReply {
        NetworkReply { inner: self.clone() }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.state.borrow().phase == Phase::Finished
    }

    /// The reply's signals, made on first use.
    pub(crate) fn signals(&self) -> &Signals {
        self.signals.get_or_init(Box::default)
    }

    /// Emits one of the reply's signals, if any was ever asked for (else nobody listens).
    fn emit<T: 'static>(&self, signal: impl FnOnce(&Signals) -> &Signal<T>, value: &T) {
        if let Some(signals) = self.signals.get() {
            signal(signals).emit(value);
        }
    }

    /// The reply's URL: the final response's, else the redirect being followed, else the
    /// request's.
    pub(crate) fn url(&self) -> Option<Url> {
        let state = self.state.borrow();
        match (state.meta.as_ref().and_then(|m| m.url.as_ref()), &state.redirect_url) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(url)) => Some((**url).clone()),
            (None, None) => self.exchange.request.url().cloned(),
        }
    }

    /// A redirect is being followed.
    pub(crate) fn redirected(&self, url: Url) {
        self.state.borrow_mut().redirect_url = Some(Box::new(url.clone()));
        self.emit(|s| &s.redirected, &url);
    }

    /// The user-verified policy proposes a redirect: follow it if a slot of `redirected`
    /// allows it during this emission.
    pub(crate) fn ask_redirect(&self, url: Url) {
        self.redirect_allowed.set(false);
        // The reply's URL is the target while `redirected` is emitted, as for a redirect
        // followed by any other policy.
        let previous = self.state.borrow_mut().redirect_url.replace(Box::new(url.clone()));
        self.emit(|s| &s.redirected, &url);
        if self.is_finished() {
            // A slot aborted the reply; its worker is stopping.
            return;
        }
        let allowed = self.redirect_allowed.get();
        if !allowed {
            self.state.borrow_mut().redirect_url = previous;
        }
        self.control().answer(Answer::Redirect { allowed });
    }

    /// The server's certificate failed verification: emits `ssl_errors` (the manager emits
    /// its own after this).
    pub(crate) fn emit_ssl_errors(&self, errors: &Vec<crate::ssl::SslError>) {
        self.emit(|s| &s.ssl_errors, errors);
    }

    /// Answers the worker with the kinds of `errors` the application ignores.
    pub(crate) fn answer_ssl_errors(&self, errors: &[crate::ssl::SslError]) {
        if self.is_finished() {
            return;
        }
        let ignored: Vec<crate::ssl::SslErrorKind> = match self.signals.get() {
            Some(s) if s.ssl_ignore_all.get() => errors.iter().map(crate::ssl::SslError::error).collect(),
            Some(s) => s.ssl_ignored.borrow().clone(),
            None => Vec::new(),
        };
        self.control().answer(Answer::SslErrors(ignored));
    }

    /// `ignore_ssl_errors`: every error (`None`), or those of the kinds given.
    pub(crate) fn ignore_ssl_errors(&self, kinds: Option<Vec<crate::ssl::SslErrorKind>>) {
        let signals = self.signals();
        match kinds {
            None => signals.ssl_ignore_all.set(true),
            Some(kinds) => signals.ssl_ignored.borrow_mut().extend(kinds),
        }
    }

    /// The final response's status and headers are in.
    pub(crate) fn apply(self: &Rc<Self>, url: Url, mut meta: Box<MetaData>) {
        // What the cache answered itself came over no connection.
        let encrypted = meta.encrypted && !meta.from_cache;
        meta.url = Some(url);
        // A 304 confirming the cached response becomes that response.
        let cached_body = self.consult_cache(&mut meta);
        {
            let mut state = self.state.borrow_mut();
            state.body_mut().expect(meta.total);
            state.meta = Some(meta);
        }
        // Qt's `encrypted`: the response came over TLS (before the metadata signal; the
        // final response's metadata comes once).
        if encrypted {
            self.emit(|s| &s.encrypted, &self.handle());
            if self.is_finished() {
                return;
            }
        }
        self.emit(|s| &s.meta_data_changed, &self.handle());
        if let Some(body) = cached_body.filter(|b| !b.is_empty())
            && !self.is_finished()
        {
            self.receive(body);
        }
    }

    /// A chunk of the body arrived: readable now, or held until the application reads
    /// (which keeps the worker waiting: back-pressure).
    pub(crate) fn receive(self: &Rc<Self>, chunk: Vec<u8>) {
        let admitted = {
            let mut state = self.state.borrow_mut();
            let body = state.body_state_mut();
            cached::store_chunk(body, &chunk);
            body.buffer.push(chunk)
        };
        if admitted > 0 {
            self.control().release(admitted);
            self.emit(|s| &s.ready_read, &self.handle());
        }
        if !self.is_finished() {
            let (progress, due) = {
                let state = self.state.borrow();
                let due =
                    state.body_state().last_progress_at.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
                ((state.body().received(), state.meta().total), due)
            };
            // The last chunk's progress is the final one, which `finish` emits in any case.
            if due || progress.1 == Some(progress.0) {
                self.emit_progress(progress);
            }
        }
    }

    /// Body bytes received so far, while the worker gathers the body whole (throttled by
    /// the worker): `download_progress` without data.
    pub(crate) fn progress(self: &Rc<Self>, received: u64) {
        if self.is_finished() {
            return;
        }
        let (total, due) = {
            let mut state = self.state.borrow_mut();
            let total = state.meta().total;
            let body = state.body_state_mut();
            (total, body.last_progress_at.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL))
        };
        // The complete body's progress goes out with its data.
        if due && total != Some(received) {
            self.emit_progress((received, total));
        }
    }

    /// The application may look at the body while it arrives: from now on it comes in
    /// chunks (see `worker::transfer`).
    pub(crate) fn watch(&self) {
        if !self.is_finished() {
            self.control().watch();
        }
    }

    /// Upload progress (throttled by the worker).
    pub(crate) fn upload_progress(&self, sent: u64, total: Option<u64>) {
        self.state.borrow_mut().uploaded = true;
        self.emit(|s| &s.upload_progress, &(sent, total));
    }

    /// Finishes the reply exactly once: `ready_read` for held bytes, `error_occurred` (on
    /// error), the last `download_progress`, the manager's `finished`, the reply's
    /// `finished`; then its signals are disconnected.
    pub(crate) fn finish(self: &Rc<Self>, result: Result<(), Failure>) {
        {
            let mut state = self.state.borrow_mut();
            if state.phase == Phase::Finished {
                return;
            }
            state.phase = Phase::Finished;
            if let Some(timeout) = self.signals.get().and_then(|s| s.timeout.get()) {
                timeout.stop();
            }
            if let Err(failure) = &result {
                state.error = failure.error;
                state.error_string = failure.message.as_str().into();
            }
            // The response is stored once whole, before anyone hears it finished (a slot
            // asking for it again is answered from the cache).
            if let Some(writer) = state.body.as_mut().and_then(|body| body.cache.take())
                && result.is_ok()
            {
                writer.commit();
            }
        }
        // Bytes held back by the read buffer become readable now, announced before
        // finished (Qt's order); or, after an abort, a timeout or a decompression bomb, the
        // buffered body is thrown away, as Qt does.
        let discard = matches!(&result, Err(failure) if failure.leftover == Leftover::Discard);
        let admitted = if discard { self.discard() } else { self.admit(Admit::All) };
        let replies = self.replies.upgrade();
        if let Some(replies) = &replies {
            replies.live.borrow_mut().remove(&self.id());
        }
        let handle = self.handle();
        if admitted > 0 {
            self.emit(|s| &s.ready_read, &handle);
        }
        // An error is reported before Qt's last `downloadProgress` (its thread delegate
        // emits the error, then download-finished).
        if let Err(failure) = &result {
            self.emit(|s| &s.error_occurred, &failure.error);
        }
        // Qt's last words before finished, unless the reply was aborted (a timeout aborts
        // it too): everything received, of the total announced or, if none was, of what
        // was received; `(0, 0)` when nothing came. Then `upload_progress(0, 0)` for a body
        // of which nothing was sent.
        let aborted = matches!(
            &result,
            Err(f) if matches!(f.error, NetworkError::OperationCanceledError | NetworkError::TimeoutError)
        );
        if !aborted {
            let (progress, last, uploaded) = {
                let state = self.state.borrow();
                let received = state.body().received();
                (
                    (received, Some(state.meta().total.unwrap_or(received))),
                    state.body_state().last_progress,
                    state.uploaded,
                )
            };
            if last != Some(progress) {
                self.emit_progress(progress);
            }
            if self.has_body && !uploaded {
                self.emit(|s| &s.upload_progress, &(0, Some(0)));
            }
        }
        if let Some(replies) = &replies {
            replies.finished.emit(&handle);
        }
        self.emit(|s| &s.finished, &handle);
        self.disconnect_all();
    }

    /// Fails a reply that was never sent (refused up front, or no thread to run it), from
    /// the loop: never inside `get()`, so connecting after `get()` is safe.
    pub(crate) fn fail_soon(self: &Rc<Self>, failure: Failure) {
        let reply = self.clone();
        Timer::single_shot(Duration::ZERO, move || reply.finish(Err(failure)));
    }

    /// News from the worker: restarts the loop-side transfer timeout (fake clock only).
    pub(crate) fn heard_from_worker(&self) {
        if let Some(timeout) = self.signals.get().and_then(|s| s.timeout.get()) {
            timeout.restart();
        }
    }

    /// The loop-side transfer timeout expired: aborts the request and finishes the reply
    /// with `TimeoutError`, as its worker would have.
    fn time_out(self: &Rc<Self>, limit: Duration) {
        self.control().abort();
        self.finish(Err(Failure::timed_out(limit)));
    }

    /// Aborts the request and finishes the reply with `OperationCanceledError`.
    pub(crate) fn abort(self: &Rc<Self>) {
        self.control().abort();
        // A queued job stays in its host's queue; its runner skips it (aborted) at once.
        self.finish(Err(Failure::canceled()));
    }

    /// Moves held bytes into the read buffer, acknowledging them to the worker.
    fn admit(&self, how: Admit) -> u64 {
        let admitted = self.state.borrow_mut().body_mut().admit(how);
        if admitted > 0 {
            self.control().release(admitted);
        }
        admitted
    }

    /// The application read (or enlarged its buffer): admits held bytes, and if new bytes
    /// became readable, schedules one `ready_read` for them, as Qt emits `readyRead` again
    /// when freed buffer space lets more data in. Deferred to the loop, never recursive
    /// (this runs inside the application's `read`), and coalesced: at most one is pending.
    fn admit_after_read(self: &Rc<Self>) {
        if self.admit(Admit::WithinLimit) == 0 || self.ready_read_scheduled.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        Timer::single_shot(Duration::ZERO, move || {
            let Some(reply) = weak.upgrade() else { return };
            reply.ready_read_scheduled.set(false);
            // Finishing emitted ready_read itself; a reader may have taken it all since.
            if reply.is_finished() || reply.state.borrow().body().available() == 0 {
                return;
            }
            reply.emit(|s| &s.ready_read, &reply.handle());
        });
    }

    /// Emits `download_progress(progress)` and remembers it.
    fn emit_progress(&self, progress: (u64, Option<u64>)) {
        {
            let mut state = self.state.borrow_mut();
            let body = state.body_state_mut();
            body.last_progress = Some(progress);
            body.last_progress_at = Some(Instant::now());
        }
        self.emit(|s| &s.download_progress, &progress);
    }

    /// Throws the buffered body away (held bytes released to the worker). Returns 0: no
    /// bytes became readable.
    /// The application closed the reply: what it did not read is thrown away.
    pub(crate) fn close(&self) {
        self.discard();
    }

    /// The manager that made it, while a handle to it lives (type-erased: replies know
    /// nothing of the manager).
    pub(crate) fn manager(&self) -> Option<Rc<dyn std::any::Any>> {
        self.replies.upgrade()?.manager.borrow().upgrade()
    }

    fn discard(&self) -> u64 {
        let held = self.state.borrow_mut().body_mut().clear();
        if held > 0 {
            self.control().release(held);
        }
        0
    }

    /// Disconnects every slot of the reply's signals (after `finished`), so closures that
    /// captured the reply do not keep it alive (what `deleteLater` achieves in Qt).
    fn disconnect_all(&self) {
        let Some(signals) = self.signals.get() else { return };
        signals.finished.disconnect_all();
        signals.error_occurred.disconnect_all();
        signals.ready_read.disconnect_all();
        signals.download_progress.disconnect_all();
        signals.upload_progress.disconnect_all();
        signals.redirected.disconnect_all();
        signals.meta_data_changed.disconnect_all();
        signals.ssl_errors.disconnect_all();
        signals.encrypted.disconnect_all();
    }
}

/// The manager's register of its live replies, and its `finished` signal, which every
/// reply emits as it finishes (so a reply needs no way back to the manager).
pub(crate) struct Replies {
    live: RefCell<HashMap<u64, Rc<ReplyInner>, BuildHasherDefault<IdHasher>>>,
    /// The manager these replies belong to (for `NetworkReply::manager`), kept once here
    /// rather than in every reply.
    pub(crate) manager: RefCell<Weak<dyn std::any::Any>>,
    /// The manager's cache (`set_cache`), kept here for the replies.
    pub(crate) cache: RefCell<Option<crate::disk_cache::NetworkDiskCache>>,
    finished: Signal<NetworkReply>,
    next_id: Cell<u64>,
}

impl Replies {
    pub(crate) fn new() -> Rc<Replies> {
        let nobody: Weak<dyn std::any::Any> = Weak::<()>::new();
        Rc::new(Replies {
            live: RefCell::default(),
            manager: RefCell::new(nobody),
            cache: RefCell::default(),
            finished: Signal::new(),
            next_id: Cell::new(1),
        })
    }

    pub(crate) fn finished(&self) -> &Signal<NetworkReply> {
        &self.finished
    }

    /// The id for the next request.
    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// A new live reply.
    pub(crate) fn create(self: &Rc<Self>, made: Made) -> NetworkReply {
        let id = made.exchange.id;
        let read_limit = made.exchange.request.read_buffer_size();
        let state = State {
            phase: Phase::Running,
            redirect_url: None,
            meta: None,
            error: NetworkError::NoError,
            error_string: Box::default(),
            body: None,
            read_limit: (read_limit > 0).then_some(read_limit),
            uploaded: false,
        };
        if read_limit > 0 {
            made.exchange.control.watch();
        }
        let inner = Rc::new(ReplyInner {
            exchange: made.exchange,
            operation: made.operation,
            custom_verb: made.custom_verb,
            has_body: made.has_body,
            replies: Rc::downgrade(self),
            state: RefCell::new(state),
            redirect_allowed: Cell::new(false),
            ready_read_scheduled: Cell::new(false),
            signals: std::cell::OnceCell::new(),
        });
        // Under a fake clock only (kept in the signals' box: no cost for other replies).
        if cute_core::testing::FakeClock::is_installed() {
            let weak = Rc::downgrade(&inner);
            let expired = move |limit| {
                if let Some(reply) = weak.upgrade() {
                    reply.time_out(limit);
                }
            };
            if let Some(timeout) = LoopTimeout::arm(inner.exchange.limits().transfer_timeout, expired) {
                let _ = inner.signals().timeout.set(timeout);
            }
        }
        self.live.borrow_mut().insert(id, inner.clone());
        NetworkReply { inner }
    }

    /// The live reply `id` (`None` once it finished).
    pub(crate) fn get(&self, id: u64) -> Option<Rc<ReplyInner>> {
        self.live.borrow().get(&id).cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.live.borrow().len()
    }

    /// Aborts every live reply (in creation order) and finishes it with
    /// `OperationCanceledError`.
    pub(crate) fn cancel_all(&self) {
        let mut live: Vec<Rc<ReplyInner>> = self.live.borrow().values().cloned().collect();
        live.sort_by_key(|r| r.id());
        for reply in &live {
            reply.control().abort();
        }
        // While unwinding from a panic, running slots could panic again and abort the
        // process: the replies are only marked finished then.
        let unwinding = std::thread::panicking();
        for reply in &live {
            if unwinding {
                let mut state = reply.state.borrow_mut();
                state.phase = Phase::Finished;
                state.error = NetworkError::OperationCanceledError;
                state.error_string = Failure::canceled().message.into();
            } else {
                reply.finish(Err(Failure::canceled()));
            }
        }
        if unwinding {
            self.live.borrow_mut().clear();
        }
    }
}
