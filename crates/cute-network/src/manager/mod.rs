//! The access manager ([`NetworkAccessManager`], Qt's `QNetworkAccessManager`): creates
//! replies, hands their jobs to the scheduler, and turns worker events into signals.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cute_core::{Connection, CoreApplication, Signal};

use crate::auth::cache::CredentialCache;
use crate::authenticator::Authenticator;
use crate::body::RequestBody;
use crate::control::Control;
use crate::error::{Failure, NetworkError};
use crate::exchange::Exchange;
use crate::http_cache::{self, Plan};
use crate::protocol::{Answer, Challenger, Credentials, Event, Origin, Question, ReplyEvent};
use crate::proxy::Proxy;
use crate::proxy_factory::ProxyFactory;
use crate::reply::{Made, NetworkReply, Replies, ReplyInner};
use crate::request::{NetworkRequest, Operation, validate};
use crate::scheduler::{Scheduler, Stranded};
use crate::settings::Settings;
use crate::worker::{self, Net, Shared};

mod configure;

/// Sends requests and delivers replies (Qt's `QNetworkAccessManager`).
///
/// Lives on the thread that created it and works while that thread runs its event loop.
/// Each request function returns a [`NetworkReply`] at once; the request runs as a task on
/// the manager's network runtime (two I/O threads, [hyper](https://docs.rs/hyper) over
/// connections the manager keeps), and everything it reports comes back as signals on this
/// thread. Requests to one host run at most 6 at a time by default (Qt's limit;
/// [`set_max_connections_per_host`](Self::set_max_connections_per_host)), the rest queue
/// as descriptors: 10,000 queued requests cost neither 10,000 threads nor 10,000 tasks.
///
/// Defaults, and where they differ from Qt:
///
/// | setting | Qt 6 | here |
/// |---|---|---|
/// | redirect policy | `NoLessSafeRedirectPolicy` | same |
/// | maximum redirects | 50 | same |
/// | connect timeout | none | 30 s ([`set_connect_timeout`](Self::set_connect_timeout)) |
/// | transfer (inactivity) timeout | none | 60 s ([`set_transfer_timeout`](Self::set_transfer_timeout)); reported as `TimeoutError`, not `OperationCanceledError` |
/// | proxy | system/env | none unless [`set_proxy`](Self::set_proxy), [`set_proxy_factory`](Self::set_proxy_factory) or [`set_use_system_configuration`](Self::set_use_system_configuration); the environment is not read otherwise |
/// | credentials to other origins on redirect | sent | never sent |
///
/// `NetworkAccessManager` is a handle: `clone` is cheap and every clone is the same manager
/// (as a Python variable holding a `QNetworkAccessManager` is). In the manager's own slots,
/// capture a [`downgrade`](Self::downgrade)d handle, not a clone: a slot holding the
/// manager it is connected to would keep it alive for ever. For a script with one manager
/// for everything, [`shared`](Self::shared) gives this thread's.
///
/// Dropping the manager's last handle aborts every live reply: each finishes with
/// [`OperationCanceledError`](NetworkError::OperationCanceledError), and the workers are
/// stopped and joined (at most 2 s; a worker stuck connecting is detached). Quitting the
/// application does the same to the replies (when
/// [`CoreApplication::about_to_quit`](cute_core::CoreApplication::about_to_quit) is emitted,
/// before `exec` returns) and leaves the manager usable. This needs the application to live
/// on the manager's thread; it may be created before or after the manager, as long as it
/// exists when a request is made.
///
/// # Examples
///
/// ```no_run
/// use cute_core::CoreApplication;
/// use cute_network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
///
/// let app = CoreApplication::new();
/// let nam = NetworkAccessManager::new();
/// nam.finished().connect(|reply: &NetworkReply| {
///     if reply.error() == NetworkError::NoError {
///         println!("{}", String::from_utf8_lossy(&reply.read_all()));
///     } else {
///         println!("Error occurred: {}", reply.error());
///         println!("{}", reply.error_string());
///     }
///     CoreApplication::quit();
/// });
/// nam.authentication_required().connect(|(_reply, auth)| {
///     auth.set_user("user7");
///     auth.set_password("passwd7");
/// });
/// let mut req = NetworkRequest::new("https://httpbin.org/post");
/// req.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
/// nam.post(&req, b"name=Peter&age=34".to_vec());
/// std::process::exit(app.exec());
/// ```
#[doc(alias = "QNetworkAccessManager")]
#[derive(Clone)]
pub struct NetworkAccessManager {
    inner: Rc<ManagerInner>,
}

/// A handle to a [`NetworkAccessManager`] that does not keep it alive, for its own slots:
/// [`upgrade`](Self::upgrade) gives the manager while any handle to it lives.
///
/// # Examples
///
/// ```no_run
/// use cute_network::{NetworkAccessManager, NetworkReply, NetworkRequest};
///
/// let nam = NetworkAccessManager::new();
/// let again = nam.downgrade();
/// // Follow every page with a second request, from the manager's own slot.
/// nam.finished().connect(move |reply: &NetworkReply| {
///     if let (Some(nam), Some(url)) = (again.upgrade(), reply.url()) {
///         if url.path() == "/first" {
///             nam.get(&NetworkRequest::new("http://127.0.0.1:8080/second"));
///         }
///     }
/// });
/// nam.get(&NetworkRequest::new("http://127.0.0.1:8080/first"));
/// ```
#[derive(Clone, Default)]
pub struct WeakNetworkAccessManager {
    inner: std::rc::Weak<ManagerInner>,
}

impl WeakNetworkAccessManager {
    /// The manager, if a handle to it still lives.
    pub fn upgrade(&self) -> Option<NetworkAccessManager> {
        self.inner.upgrade().map(|inner| NetworkAccessManager { inner })
    }
}

impl fmt::Debug for WeakNetworkAccessManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakNetworkAccessManager").field("alive", &(self.inner.strong_count() > 0)).finish()
    }
}

thread_local! {
    /// This thread's shared manager, once asked for.
    static SHARED: RefCell<Option<NetworkAccessManager>> = const { RefCell::new(None) };
}

impl fmt::Debug for NetworkAccessManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkAccessManager")
            .field("live_replies", &self.inner.replies.len())
            .field("queued", &self.inner.scheduler.queued())
            .field("workers", &self.inner.scheduler.threads())
            .finish()
    }
}

impl Default for NetworkAccessManager {
    fn default() -> Self {
        Self::new()
    }
}

impl NetworkAccessManager {
    /// A manager on the current thread's event loop.
    ///
    /// # Panics
    ///
    /// If the thread's event loop cannot be created (file descriptors exhausted).
    pub fn new() -> Self {
        let events = Signal::<Event>::new();
        let emitter = events.emitter();
        let settings = Settings::default();
        let net: Arc<Net> = Arc::default();
        let credentials: Arc<Mutex<CredentialCache>> = Arc::default();
        let backlog = Arc::new(tokio::sync::Semaphore::new(worker::BACKLOG));
        let shared = Shared {
            events: emitter,
            net: net.clone(),
            credentials: credentials.clone(),
            backlog: backlog.clone(),
        };
        let inner = Rc::new(ManagerInner {
            replies: Replies::new(),
            authentication_required: Signal::new(),
            proxy_authentication_required: Signal::new(),
            ssl_errors: Signal::new(),
            scheduler: Scheduler::new(settings.max_workers, shared),
            events,
            settings: RefCell::new(Arc::new(settings)),
            net,
            credentials,
            backlog,
            quit_hook: RefCell::default(),
            proxy_factory: RefCell::default(),
            proxied: RefCell::default(),
        });
        let any: Rc<dyn std::any::Any> = inner.clone();
        *inner.replies.manager.borrow_mut() = Rc::downgrade(&any);
        drop(any);
        let weak = Rc::downgrade(&inner);
        // Re-entrant: a slot the manager calls (a reply's `finished`, say) may run a nested
        // event loop to wait for another reply, whose events come through here meanwhile.
        inner.events.connect_reentrant(move |event: &Event| {
            if let Some(manager) = weak.upgrade() {
                manager.on_event(event);
            }
        });
        inner.hook_quit();
        NetworkAccessManager { inner }
    }

    /// A handle that does not keep the manager alive (for the manager's own slots).
    pub fn downgrade(&self) -> WeakNetworkAccessManager {
        WeakNetworkAccessManager { inner: Rc::downgrade(&self.inner) }
    }

    /// This thread's shared manager, made when first asked for: one manager for a whole
    /// script, as PyQt scripts often keep one global `QNetworkAccessManager`. It lives
    /// until the application quits (its `about_to_quit`; asking again afterwards makes a
    /// new one), [`drop_shared`](Self::drop_shared) is called, or the thread ends. Each
    /// thread has its own.
    ///
    /// ```no_run
    /// use cute_network::{NetworkAccessManager, NetworkRequest};
    ///
    /// let reply = NetworkAccessManager::shared().get(&NetworkRequest::new("http://127.0.0.1:8080/get"));
    /// ```
    pub fn shared() -> NetworkAccessManager {
        // While the thread ends (its thread-locals being destroyed), a fresh manager.
        if let Ok(Some(nam)) = SHARED.try_with(|shared| shared.borrow().clone()) {
            return nam;
        }
        let nam = NetworkAccessManager::new();
        if SHARED.try_with(|shared| *shared.borrow_mut() = Some(nam.clone())).is_err() {
            return nam;
        }
        if let Some(app) = CoreApplication::instance() {
            // Dropped with the application's end, before thread-local storage goes away
            // (a runtime must not be shut down from a thread-local destructor).
            app.about_to_quit().connect_once(|()| NetworkAccessManager::drop_shared());
        }
        nam
    }

    /// Lets go of this thread's shared manager (its requests are aborted unless another
    /// handle keeps it); [`shared`](Self::shared) makes a new one.
    pub fn drop_shared() {
        // Taken out first: the manager's shutdown runs slots, which may ask for it again.
        let shared = SHARED.try_with(|shared| shared.borrow_mut().take()).ok().flatten();
        drop(shared);
    }

    /// Sends a GET (Qt's `get`).
    pub fn get(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::GetOperation, b"GET", None)
    }

    /// Sends a HEAD (Qt's `head`).
    pub fn head(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::HeadOperation, b"HEAD", None)
    }

    /// Sends a POST with `body` (Qt's `post`). Without a `Content-Type` header, Qt's
    /// default `application/x-www-form-urlencoded` is sent.
    pub fn post(&self, request: &NetworkRequest, body: impl Into<RequestBody>) -> NetworkReply {
        self.inner.create(request, Operation::PostOperation, b"POST", Some(body.into()))
    }

    /// Sends a PUT with `body` (Qt's `put`).
    pub fn put(&self, request: &NetworkRequest, body: impl Into<RequestBody>) -> NetworkReply {
        self.inner.create(request, Operation::PutOperation, b"PUT", Some(body.into()))
    }

    /// Sends a DELETE (Qt's `deleteResource`).
    #[doc(alias = "deleteResource")]
    pub fn delete_resource(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::DeleteOperation, b"DELETE", None)
    }

    /// Sends a request with any verb (Qt's `sendCustomRequest`); an empty `body` sends
    /// none. A verb that is not an HTTP token (or has CR, LF or NUL) fails the reply with
    /// [`ProtocolInvalidOperationError`](NetworkError::ProtocolInvalidOperationError)
    /// without sending anything.
    pub fn send_custom_request(
        &self,
        request: &NetworkRequest,
        verb: impl AsRef<[u8]>,
        body: impl Into<RequestBody>,
    ) -> NetworkReply {
        let body = body.into();
        let body = (!body.payload.is_empty_bytes()).then_some(body);
        self.inner.create(request, Operation::CustomOperation, verb.as_ref(), body)
    }

    /// Emitted for every reply when it finishes, just before the reply's own `finished`.
    pub fn finished(&self) -> &Signal<NetworkReply> {
        self.inner.replies.finished()
    }

    /// Emitted when a server asks for credentials that neither the URL nor the cache
    /// supplies (Qt's `authenticationRequired`). Fill the [`Authenticator`] in the slot;
    /// the request is retried when the slot returns. Rejected credentials emit it again,
    /// with the authenticator holding the credentials that failed; leave it unchanged (set
    /// nothing, or the same user and password again) to finish the reply with
    /// [`AuthenticationRequiredError`](NetworkError::AuthenticationRequiredError) and the
    /// 401's body readable, or call `abort()` (as Qt).
    ///
    /// HTTP Basic and Digest (RFC 7616: MD5, MD5-sess, SHA-256, SHA-256-sess; qop `auth`
    /// or none) are supported; when a 401 offers both, Digest is used. A 401 offering
    /// neither (or only Digest variants we lack, such as qop `auth-int` alone) finishes the
    /// reply without emitting. Accepted credentials are cached per origin and realm: Basic
    /// ones are then sent before any challenge, Digest ones answer the server's next
    /// challenge (one 401 round trip, as the response needs its nonce) without emitting. A
    /// `stale=true` Digest challenge for the credentials just sent is answered once with the
    /// new nonce, without emitting.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{CoreApplication, Timer};
    /// use cute_network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
    /// # let server = cute_httpbin::Httpbin::start().unwrap();
    /// # let url = server.url("/digest-auth/auth/user7/passwd7/SHA-256");
    ///
    /// let app = CoreApplication::new();
    /// let nam = NetworkAccessManager::new();
    /// nam.authentication_required().connect(|(_reply, auth)| {
    ///     assert_eq!(auth.realm(), "me@kennethreitz.com"); // httpbin's Digest realm
    ///     auth.set_user("user7");
    ///     auth.set_password("passwd7");
    /// });
    /// nam.finished().connect(|reply: &NetworkReply| {
    ///     assert_eq!(reply.error(), NetworkError::NoError);
    ///     CoreApplication::quit();
    /// });
    /// // e.g. "https://httpbin.org/digest-auth/auth/user7/passwd7/SHA-256"
    /// nam.get(&NetworkRequest::new(url));
    /// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
    /// assert_eq!(app.exec(), 0);
    /// ```
    pub fn authentication_required(&self) -> &Signal<(NetworkReply, Authenticator)> {
        &self.inner.authentication_required
    }

    /// Emitted when a reply's server certificate failed verification, after the reply's own
    /// [`ssl_errors`](NetworkReply::ssl_errors) (Qt's `sslErrors`): a slot may call
    /// [`NetworkReply::ignore_ssl_errors`] to go on. Carries the reply and the errors.
    ///
    /// ```no_run
    /// use cute_network::{NetworkAccessManager, NetworkRequest, SslErrorKind};
    ///
    /// let nam = NetworkAccessManager::new();
    /// nam.ssl_errors().connect(|(reply, errors)| {
    ///     for error in errors {
    ///         println!("{error}");
    ///     }
    ///     // A known test server with a self-signed certificate, and nothing else wrong.
    ///     if errors.iter().all(|e| e.error() == SslErrorKind::SelfSignedCertificate) {
    ///         reply.ignore_ssl_errors();
    ///     }
    /// });
    /// nam.get(&NetworkRequest::new("https://self-signed.test.example/"));
    /// ```
    #[doc(alias = "sslErrors")]
    pub fn ssl_errors(&self) -> &Signal<(NetworkReply, Vec<crate::SslError>)> {
        &self.inner.ssl_errors
    }

    /// As [`authentication_required`](Self::authentication_required), for the proxy (407).
    pub fn proxy_authentication_required(&self) -> &Signal<(Proxy, Authenticator)> {
        &self.inner.proxy_authentication_required
    }
    /// Replies not finished yet (queued or running).
    pub fn live_replies(&self) -> usize {
        self.inner.replies.len()
    }
}

impl NetworkReply {
    /// The manager that made the reply, while a handle to it lives (Qt's `manager`).
    pub fn manager(&self) -> Option<NetworkAccessManager> {
        let inner = self.inner().manager()?.downcast::<ManagerInner>().ok()?;
        Some(NetworkAccessManager { inner })
    }
}

impl Drop for ManagerInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(crate) struct ManagerInner {
    replies: Rc<Replies>,
    authentication_required: Signal<(NetworkReply, Authenticator)>,
    proxy_authentication_required: Signal<(Proxy, Authenticator)>,
    ssl_errors: Signal<(NetworkReply, Vec<crate::SslError>)>,
    scheduler: Scheduler,
    events: Signal<Event>,
    /// The settings requests are made with now (see `settings.rs`).
    settings: RefCell<Arc<Settings>>,
    /// The manager's connections and cookie jar, for its life.
    net: Arc<Net>,
    credentials: Arc<Mutex<CredentialCache>>,
    /// The runners' permits (see `worker::BACKLOG`), given back as results are taken in.
    backlog: Arc<tokio::sync::Semaphore>,
    /// The slot on the application's `about_to_quit` that cancels the live replies.
    quit_hook: RefCell<Connection>,
    /// Chooses each request's proxy when no manager-wide proxy is set.
    proxy_factory: RefCell<Option<Box<dyn ProxyFactory>>>,
    /// The settings with each proxy the factory chose, made from `settings` (kept while it
    /// is the current snapshot): requests through one proxy share one snapshot.
    proxied: RefCell<Vec<(Proxy, Arc<Settings>)>>,
}

impl ManagerInner {
    fn settings(&self) -> Arc<Settings> {
        self.settings.borrow().clone()
    }

    /// The settings a request to `url` is made with: the manager's, with the proxy its
    /// proxy factory chooses when no manager-wide proxy is set.
    fn settings_for(&self, url: Option<&url::Url>) -> Arc<Settings> {
        let settings = self.settings();
        let factory = self.proxy_factory.borrow();
        let (Some(factory), Some(url), None) = (factory.as_ref(), url, &settings.proxy) else {
            return settings;
        };
        let Some(proxy) = factory.query_proxy(url) else { return settings };
        let mut proxied = self.proxied.borrow_mut();
        if let Some((_, made)) = proxied.iter().find(|(p, _)| *p == proxy) {
            return made.clone();
        }
        let mut made = (*settings).clone();
        made.proxy = Some(proxy.clone());
        let made = Arc::new(made);
        proxied.push((proxy, made.clone()));
        made
    }

    /// Changes the settings for requests made from now on; requests already made keep
    /// theirs.
    fn change(&self, f: impl FnOnce(&mut Settings)) {
        self.proxied.borrow_mut().clear();
        f(Arc::make_mut(&mut self.settings.borrow_mut()));
    }

    /// Connects to the application's `about_to_quit` (once per application), so quitting
    /// cancels the live replies. Without an application on this thread, nothing happens;
    /// `create` tries again.
    fn hook_quit(self: &Rc<Self>) {
        if self.quit_hook.borrow().is_connected() {
            return;
        }
        let Some(app) = CoreApplication::instance() else { return };
        let weak = Rc::downgrade(self);
        let connection = app.about_to_quit().connect(move |()| {
            if let Some(manager) = weak.upgrade() {
                manager.on_quit();
            }
        });
        *self.quit_hook.borrow_mut() = connection;
    }

    /// The application is quitting: every live reply finishes with
    /// `OperationCanceledError`; the manager stays usable.
    fn on_quit(&self) {
        let live = self.replies.len();
        if live == 0 {
            return;
        }
        log::debug!("application quitting with {live} live replies: aborting them");
        // The hosts stay, with their runner counts (the runners report idle as they stop).
        self.scheduler.drop_queued();
        self.replies.cancel_all();
    }

    fn create(
        self: &Rc<Self>,
        request: &NetworkRequest,
        operation: Operation,
        verb: &[u8],
        body: Option<RequestBody>,
    ) -> NetworkReply {
        self.hook_quit();
        let (body, request) = match body {
            Some(RequestBody { payload, content_type: Some(content_type) }) => {
                // A multipart body: its type and boundary, and `MIME-Version`, unless the
                // caller set them (Qt's rule).
                let mut request = request.clone();
                if !request.has_raw_header("content-type") {
                    request.set_raw_header("Content-Type", content_type);
                }
                if !request.has_raw_header("mime-version") {
                    request.set_raw_header("MIME-Version", "1.0");
                }
                (Some(payload), std::borrow::Cow::Owned(request))
            }
            body => (body.map(|b| b.payload), std::borrow::Cow::Borrowed(request)),
        };
        let request = &*request;
        let settings = self.settings_for(request.url());
        let custom_verb =
            (operation == Operation::CustomOperation).then(|| String::from_utf8_lossy(verb).into());
        let policy = request.redirect_policy().unwrap_or(settings.redirect_policy);
        let has_body = body.is_some();
        let validated = validate(request, verb);
        let mut own = request.clone();
        let cached = if validated.is_ok() { self.consult_cache(&mut own, operation) } else { None };
        let exchange = Arc::new(Exchange {
            id: self.replies.next_id(),
            request: own,
            method: validated.as_ref().map_or(hyper::Method::GET, hyper::Method::clone),
            body: body.map(Box::new),
            policy,
            control: Control::new(),
            settings,
        });
        let reply =
            self.replies.create(Made { exchange: exchange.clone(), operation, custom_verb, has_body });
        let inner = reply.inner();
        log::debug!("request {}: {} {}", inner.id(), String::from_utf8_lossy(verb), request.shown_url());
        if let Err(failure) = validated {
            inner.fail_soon(failure);
            return reply;
        }
        match cached {
            Some(Plan::Serve(hit)) => {
                inner.serve_soon(hit);
                return reply;
            }
            Some(_) => {
                let message = format!("Error opening {}", request.shown_url());
                inner.fail_soon(Failure::new(NetworkError::ContentNotFoundError, message));
                return reply;
            }
            None => {}
        }
        if request.url().is_none() {
            // `validate` refuses requests without a URL: not reached.
            inner.fail_soon(Failure::new(NetworkError::ProtocolUnknownError, "Invalid URL"));
            return reply;
        }
        let origin = Origin::of(exchange.url());
        let per_host = exchange.settings.per_host;
        let stranded = self.scheduler.enqueue(origin, exchange, per_host);
        self.fail_stranded(stranded);
        reply
    }

    /// What the cache does for `request` (see `http_cache.rs`): `None` to go to the network
    /// (with the headers the cache adds set on `request`), else the reply's answer (a hit,
    /// or `Missing`). Any operation but GET and HEAD removes the URL's entry (Qt's rule).
    fn consult_cache(&self, request: &mut NetworkRequest, operation: Operation) -> Option<Plan> {
        let cache = self.replies.cache.borrow();
        if !matches!(operation, Operation::GetOperation | Operation::HeadOperation) {
            if let (Some(cache), Some(url)) = (cache.as_ref(), request.url()) {
                cache.remove(url);
            }
            request.set_cache_headers(Vec::new());
            return None;
        }
        match http_cache::plan(cache.as_ref(), request, operation, std::time::SystemTime::now()) {
            Plan::Network(headers) => {
                request.set_cache_headers(headers);
                None
            }
            answer => Some(answer),
        }
    }

    /// Fails the replies of jobs no thread will ever run.
    fn fail_stranded(&self, Stranded(exchanges): Stranded) {
        for exchange in exchanges {
            if let Some(reply) = self.replies.get(exchange.id) {
                let message = "The network runtime could not be started for the request";
                reply.fail_soon(Failure::new(NetworkError::UnknownNetworkError, message));
            }
        }
    }

    fn on_event(self: &Rc<Self>, event: &Event) {
        let (id, news) = match event {
            Event::RunnerIdle(origin) => {
                let stranded = self.scheduler.runner_idle(origin, self.settings.borrow().per_host);
                return self.fail_stranded(stranded);
            }
            Event::Multiplexed(origin, multiplexed) => {
                let per_host = self.settings.borrow().per_host;
                let stranded = self.scheduler.multiplexed(origin, *multiplexed, per_host);
                return self.fail_stranded(stranded);
            }
            Event::Reply(id, news) => (*id, news),
        };
        let Some(news) = news.take() else { return };
        if matches!(news, ReplyEvent::Finished(_)) {
            // Its runner's permit: the result is taken in.
            self.backlog.add_permits(1);
        }
        let Some(reply) = self.replies.get(id) else {
            // The reply finished already (aborted): its worker is being stopped.
            return;
        };
        reply.heard_from_worker();
        match news {
            ReplyEvent::Redirected(url) => reply.redirected(url),
            ReplyEvent::Question(Question::Redirect(url)) => reply.ask_redirect(url),
            ReplyEvent::Question(Question::SslErrors(errors)) => {
                // The reply's signal, then the manager's (Qt's order).
                reply.emit_ssl_errors(&errors);
                if !reply.is_finished() {
                    self.ssl_errors.emit(&(reply.handle(), errors.clone()));
                }
                reply.answer_ssl_errors(&errors);
            }
            ReplyEvent::Question(Question::Credentials { realm, from, failed }) => {
                self.ask_credentials(&reply, &realm, from, failed.as_ref())
            }
            ReplyEvent::MetaData(url, meta) => reply.apply(url, meta),
            ReplyEvent::Data(chunk) => reply.receive(chunk),
            ReplyEvent::Progress(received) => reply.progress(received),
            ReplyEvent::UploadProgress { sent, total } => reply.upload_progress(sent, total),
            ReplyEvent::Finished(result) => reply.finish(result),
        }
    }

    /// Emits `authentication_required` (or the proxy's) and answers the worker with what
    /// the slots put in the authenticator.
    fn ask_credentials(
        &self,
        reply: &Rc<ReplyInner>,
        realm: &str,
        from: Challenger,
        failed: Option<&Credentials>,
    ) {
        let auth = Authenticator::holding(realm, failed);
        match from {
            Challenger::Proxy => {
                // The request's proxy (the manager's, or its proxy factory's choice).
                if let Some(proxy) = reply.proxy().cloned() {
                    self.proxy_authentication_required.emit(&(proxy, auth.clone()));
                }
            }
            Challenger::Server => {
                self.authentication_required.emit(&(reply.handle(), auth.clone()));
            }
        }
        // A slot that aborted the reply has woken and stopped its worker already.
        if !reply.is_finished() {
            reply.control().answer(Answer::Credentials(auth.credentials()));
        }
    }

    fn shutdown(&self) {
        self.quit_hook.borrow().disconnect();
        let live = self.replies.len();
        if live > 0 {
            log::debug!("manager dropped with {live} live replies: aborting them");
        }
        // Queued jobs will never run: drop them first, so that no runner whose request is
        // aborted takes the next one and connects.
        self.scheduler.drop_queued();
        self.replies.cancel_all();
        self.scheduler.shutdown(Duration::from_secs(2));
    }
}
