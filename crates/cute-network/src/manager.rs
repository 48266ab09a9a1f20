//! The access manager ([`NetworkAccessManager`], Qt's `QNetworkAccessManager`): creates
//! replies, schedules them onto worker threads, and turns worker events into signals.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use std::time::Duration;

use cute_core::{Connection, CoreApplication, Emitter, Signal, Timer};
use url::Url;

use crate::auth::CredentialCache;
use crate::authenticator::Authenticator;
use crate::error::{Error, NetworkError};
use crate::pool::{Pool, Runner};
use crate::reply::{NetworkReply, Phase, ReplyInner};
use crate::request::{NetworkRequest, Operation, RedirectPolicy, has_forbidden_bytes};
use crate::transport::{self, AgentSettings, Generation, RequestSettings};
use crate::worker::{Event, EventKind, Job};

/// Qt's default: 6 connections per host and port.
pub const DEFAULT_CONNECTIONS_PER_HOST: usize = 6;
/// Default cap on worker threads across all hosts.
pub const DEFAULT_MAX_WORKERS: usize = 32;
/// Default connect timeout (Qt has none).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default transfer (inactivity) timeout (Qt's default is none, so replies can hang
/// forever on a half-open connection).
pub const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// A proxy for [`NetworkAccessManager::set_proxy`] (Qt's `QNetworkProxy`, HTTP proxies).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").field("url", &crate::request::redact(&self.url)).finish()
    }
}

impl Proxy {
    /// An HTTP proxy from `http://[user:password@]host:port`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedProxy`] for anything else (other schemes, no host, a path).
    ///
    /// # Examples
    ///
    /// ```
    /// let proxy = cute_network::Proxy::http("http://proxy.example:3128").unwrap();
    /// assert_eq!(proxy.host(), "proxy.example");
    /// assert_eq!(proxy.port(), 3128);
    /// assert!(cute_network::Proxy::http("socks5://proxy.example:1080").is_err());
    /// ```
    pub fn http(url: &str) -> Result<Proxy, Error> {
        let bad = || Error::UnsupportedProxy(url.to_owned());
        if has_forbidden_bytes(url.as_bytes()) {
            return Err(bad());
        }
        let parsed = Url::parse(url).map_err(|_| bad())?;
        if parsed.scheme() != "http" || parsed.host_str().is_none_or(str::is_empty) || parsed.path().len() > 1
        {
            return Err(bad());
        }
        Ok(Proxy { url: parsed })
    }

    /// The proxy's host.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("").to_owned()
    }

    /// The proxy's port (80 if not given).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    /// The user name given in the proxy URL.
    pub fn user(&self) -> String {
        self.url.username().to_owned()
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }
}

pub(crate) type HostKey = (String, String, u16);

fn host_key(url: Option<&Url>) -> HostKey {
    match url {
        Some(u) => (
            u.scheme().to_owned(),
            u.host_str().unwrap_or("").to_owned(),
            u.port_or_known_default().unwrap_or(0),
        ),
        None => (String::new(), String::new(), 0),
    }
}

/// One host's queue: jobs wait here, and up to the per-host limit of runners (each on a
/// pool thread) take them one after another until the queue is empty.
struct HostQueue {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    runners: usize,
    /// Runners polling the queue for a moment before they give the host up.
    lingering: Arc<AtomicUsize>,
}

struct Settings {
    transfer_timeout: Duration,
    redirect_policy: RedirectPolicy,
    per_host: usize,
    max_workers: usize,
    agent: AgentSettings,
    proxy: Option<Proxy>,
}

/// Hashes the manager's own request ids (sequential `u64`s, never chosen by a peer) with
/// one multiplication: SipHash was a visible share of the loop's per-request work.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) struct ManagerInner {
    finished: Signal<NetworkReply>,
    authentication_required: Signal<(NetworkReply, Authenticator)>,
    proxy_authentication_required: Signal<(Proxy, Authenticator)>,
    events: Signal<Event>,
    emitter: Emitter<Event>,
    live: RefCell<HashMap<u64, Rc<ReplyInner>, BuildHasherDefault<IdHasher>>>,
    hosts: RefCell<HashMap<HostKey, HostQueue>>,
    settings: RefCell<Settings>,
    /// Built on first use and kept for the manager's life: its cookie jar is the manager's.
    agent: RefCell<Option<ureq::Agent>>,
    /// `settings.agent` ready for requests, rebuilt after a change.
    request_settings: RefCell<Option<Arc<RequestSettings>>>,
    /// Bumped to retire the pooled connections.
    connections: Generation,
    pool: RefCell<Pool>,
    credentials: Arc<Mutex<CredentialCache>>,
    next_id: Cell<u64>,
    /// The slot on the application's `about_to_quit` that cancels the live replies.
    quit_hook: RefCell<Connection>,
}

/// Sends requests and delivers replies (Qt's `QNetworkAccessManager`).
///
/// Lives on the thread that created it and works while that thread runs its event loop.
/// Each request function returns a [`NetworkReply`] at once; the request runs on a worker
/// thread (blocking [ureq](https://docs.rs/ureq)), and everything it reports comes back as
/// signals on this thread. Requests to one host run at most 6 at a time by default (Qt's
/// limit; [`set_max_connections_per_host`](Self::set_max_connections_per_host)), the rest
/// queue; worker threads are capped across hosts
/// ([`set_max_worker_threads`](Self::set_max_worker_threads)), so 10,000 queued requests
/// cost their descriptors, not 10,000 threads.
///
/// Defaults, and where they differ from Qt:
///
/// | setting | Qt 6 | here |
/// |---|---|---|
/// | redirect policy | `NoLessSafeRedirectPolicy` | same |
/// | maximum redirects | 50 | same |
/// | connect timeout | none | 30 s ([`set_connect_timeout`](Self::set_connect_timeout)) |
/// | transfer (inactivity) timeout | none | 60 s ([`set_transfer_timeout`](Self::set_transfer_timeout)); reported as `TimeoutError`, not `OperationCanceledError` |
/// | proxy | system/env | none unless [`set_proxy`](Self::set_proxy); the environment is not read |
/// | credentials to other origins on redirect | sent | never sent |
///
/// Dropping the manager aborts every live reply: each finishes with
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
pub struct NetworkAccessManager {
    inner: Rc<ManagerInner>,
}

impl fmt::Debug for NetworkAccessManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkAccessManager")
            .field("live_replies", &self.inner.live.borrow().len())
            .field("queued", &self.inner.hosts.borrow().values().map(|h| h.rx.len()).sum::<usize>())
            .field("workers", &self.inner.pool.borrow().threads())
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
        let inner = Rc::new(ManagerInner {
            finished: Signal::new(),
            authentication_required: Signal::new(),
            proxy_authentication_required: Signal::new(),
            events,
            emitter,
            live: RefCell::default(),
            hosts: RefCell::default(),
            settings: RefCell::new(Settings {
                transfer_timeout: DEFAULT_TRANSFER_TIMEOUT,
                redirect_policy: RedirectPolicy::default(),
                per_host: DEFAULT_CONNECTIONS_PER_HOST,
                max_workers: DEFAULT_MAX_WORKERS,
                agent: AgentSettings {
                    proxy: None,
                    connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                    tls: transport::tls_trusting(&[]),
                },
                proxy: None,
            }),
            agent: RefCell::new(None),
            request_settings: RefCell::new(None),
            connections: Generation::default(),
            pool: RefCell::new(Pool::new(DEFAULT_MAX_WORKERS)),
            credentials: Arc::default(),
            next_id: Cell::new(1),
            quit_hook: RefCell::default(),
        });
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

    /// Sends a GET (Qt's `get`).
    pub fn get(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::GetOperation, "GET", None)
    }

    /// Sends a HEAD (Qt's `head`).
    pub fn head(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::HeadOperation, "HEAD", None)
    }

    /// Sends a POST with `body` (Qt's `post`). Without a `Content-Type` header, Qt's
    /// default `application/x-www-form-urlencoded` is sent.
    pub fn post(&self, request: &NetworkRequest, body: impl Into<Vec<u8>>) -> NetworkReply {
        self.inner.create(request, Operation::PostOperation, "POST", Some(body.into()))
    }

    /// Sends a PUT with `body` (Qt's `put`).
    pub fn put(&self, request: &NetworkRequest, body: impl Into<Vec<u8>>) -> NetworkReply {
        self.inner.create(request, Operation::PutOperation, "PUT", Some(body.into()))
    }

    /// Sends a DELETE (Qt's `deleteResource`).
    #[doc(alias = "deleteResource")]
    pub fn delete_resource(&self, request: &NetworkRequest) -> NetworkReply {
        self.inner.create(request, Operation::DeleteOperation, "DELETE", None)
    }

    /// Sends a request with any verb (Qt's `sendCustomRequest`); an empty `body` sends
    /// none. A verb that is not an HTTP token (or has CR, LF or NUL) fails the reply with
    /// [`ProtocolInvalidOperationError`](NetworkError::ProtocolInvalidOperationError)
    /// without sending anything.
    pub fn send_custom_request(
        &self,
        request: &NetworkRequest,
        verb: impl AsRef<[u8]>,
        body: impl Into<Vec<u8>>,
    ) -> NetworkReply {
        let verb = String::from_utf8_lossy(verb.as_ref()).into_owned();
        let body = body.into();
        let body = (!body.is_empty()).then_some(body);
        self.inner.create(request, Operation::CustomOperation, &verb, body)
    }

    /// Emitted for every reply when it finishes, just before the reply's own `finished`.
    pub fn finished(&self) -> &Signal<NetworkReply> {
        &self.inner.finished
    }

    /// Emitted when a server asks for credentials that neither the URL nor the cache
    /// supplies (Qt's `authenticationRequired`). Fill the [`Authenticator`] in the slot;
    /// the request is retried when the slot returns. Rejected credentials emit it again,
    /// every time (count and `abort()` to stop). Leave it empty to finish the reply with
    /// [`AuthenticationRequiredError`](NetworkError::AuthenticationRequiredError).
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

    /// As [`authentication_required`](Self::authentication_required), for the proxy (407).
    pub fn proxy_authentication_required(&self) -> &Signal<(Proxy, Authenticator)> {
        &self.inner.proxy_authentication_required
    }

    /// Sets the manager's transfer (inactivity) timeout; `Duration::ZERO` disables it. A
    /// request's own timeout wins. Defaults to [`DEFAULT_TRANSFER_TIMEOUT`] (60 s).
    pub fn set_transfer_timeout(&self, timeout: Duration) {
        self.inner.settings.borrow_mut().transfer_timeout = timeout;
    }

    /// The manager's transfer timeout.
    pub fn transfer_timeout(&self) -> Duration {
        self.inner.settings.borrow().transfer_timeout
    }

    /// Sets the timeout for opening a connection (TCP and TLS); `Duration::ZERO` disables
    /// it. Defaults to [`DEFAULT_CONNECT_TIMEOUT`] (30 s).
    pub fn set_connect_timeout(&self, timeout: Duration) {
        let timeout = (!timeout.is_zero()).then_some(timeout);
        self.inner.change_agent(|a| a.connect_timeout = timeout);
    }

    /// Sets the default redirect policy. Defaults to `NoLessSafeRedirectPolicy`.
    pub fn set_redirect_policy(&self, policy: RedirectPolicy) {
        self.inner.settings.borrow_mut().redirect_policy = policy;
    }

    /// The default redirect policy.
    pub fn redirect_policy(&self) -> RedirectPolicy {
        self.inner.settings.borrow().redirect_policy
    }

    /// Sets how many requests run at once per host and port (Qt's
    /// `QHttp1Configuration::setNumberOfConnectionsPerHost`). Defaults to 6.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] outside 1..=255.
    pub fn set_max_connections_per_host(&self, n: usize) -> Result<(), Error> {
        if !(1..=255).contains(&n) {
            return Err(Error::InvalidSetting("connections per host must be within 1..=255"));
        }
        self.inner.settings.borrow_mut().per_host = n;
        self.inner.top_up();
        Ok(())
    }

    /// The number of requests run at once per host.
    pub fn max_connections_per_host(&self) -> usize {
        self.inner.settings.borrow().per_host
    }

    /// Caps the worker threads across all hosts. Defaults to 32.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] for 0.
    pub fn set_max_worker_threads(&self, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::InvalidSetting("at least one worker thread is needed"));
        }
        self.inner.settings.borrow_mut().max_workers = n;
        self.inner.pool.borrow_mut().set_cap(n);
        Ok(())
    }

    /// The number of worker threads alive now.
    pub fn worker_threads(&self) -> usize {
        self.inner.pool.borrow().threads()
    }

    /// Sends requests through an HTTP proxy, or directly with `None` (the default; the
    /// environment's proxy variables are not read).
    pub fn set_proxy(&self, proxy: Option<Proxy>) {
        let url = proxy.as_ref().map(|p| p.url().to_string());
        self.inner.settings.borrow_mut().proxy = proxy;
        self.inner.change_agent(|a| a.proxy = url);
    }

    /// The proxy in use.
    pub fn proxy(&self) -> Option<Proxy> {
        self.inner.settings.borrow().proxy.clone()
    }

    /// Trusts exactly the CA certificates in `pem` (one or more PEM blocks) for https,
    /// instead of the bundled Mozilla roots (Qt's `QSslConfiguration::setCaCertificates`).
    /// Pass an empty slice to go back to the bundled roots.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`] if `pem` holds something that is not a certificate.
    pub fn set_ca_certificates(&self, pem: &[u8]) -> Result<(), Error> {
        let mut ders = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => ders.push(cert.der().to_vec()),
                Ok(_) => return Err(Error::InvalidCertificate("expected only CERTIFICATE blocks".into())),
                Err(e) => return Err(Error::InvalidCertificate(e.to_string())),
            }
        }
        if ders.is_empty() && !pem.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::InvalidCertificate("no PEM certificate found".into()));
        }
        // Requests made from now on carry these roots; ureq keeps their connections out of
        // the agent's pool unless the roots are the agent's own (see `AgentSettings::tls`).
        self.inner.change_agent(|a| a.tls = transport::tls_trusting(&ders));
        Ok(())
    }

    /// Forgets cached credentials (for servers and proxies) and stops reusing the open
    /// connections (Qt's `clearAccessCache`). Cookies are kept, as in Qt.
    pub fn clear_access_cache(&self) {
        self.inner.credentials.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.inner.connections.bump();
    }

    /// Replies not finished yet (queued or running).
    pub fn live_replies(&self) -> usize {
        self.inner.live.borrow().len()
    }
}

impl Drop for NetworkAccessManager {
    fn drop(&mut self) {
        self.inner.shutdown();
    }
}

impl ManagerInner {
    /// Changes settings applied to each request; requests already made keep theirs.
    fn change_agent(&self, f: impl FnOnce(&mut AgentSettings)) {
        f(&mut self.settings.borrow_mut().agent);
        *self.request_settings.borrow_mut() = None;
    }

    /// The manager's agent and the settings for a request made now.
    fn agent(&self) -> Result<(ureq::Agent, Arc<RequestSettings>), String> {
        let settings = {
            let mut cached = self.request_settings.borrow_mut();
            match cached.as_ref() {
                Some(settings) => settings.clone(),
                None => {
                    let settings =
                        Arc::new(self.settings.borrow().agent.for_requests().map_err(|e| e.to_string())?);
                    *cached = Some(settings.clone());
                    settings
                }
            }
        };
        // Built with the TLS settings of its first request: ureq pools a request's
        // connection only if its TLS settings are the agent's own (the same roots), so
        // trusting a CA before the first request keeps https connections reused.
        let agent = self
            .agent
            .borrow_mut()
            .get_or_insert_with(|| transport::build_agent(&self.connections, &settings.tls))
            .clone();
        Ok((agent, settings))
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
        let live = self.live.borrow().len();
        if live == 0 {
            return;
        }
        log::debug!("application quitting with {live} live replies: aborting them");
        // The hosts stay, with their runner counts (the runners report idle as they stop).
        self.drop_queued_jobs();
        self.cancel_live();
    }

    /// Drops the jobs waiting in the host queues. Done before aborting the live replies: a
    /// runner whose request is aborted would otherwise take the next queued job and connect.
    fn drop_queued_jobs(&self) {
        for host in self.hosts.borrow().values() {
            while host.rx.try_recv().is_ok() {}
        }
    }

    /// Aborts every live reply (in creation order) and finishes it with
    /// `OperationCanceledError`.
    fn cancel_live(&self) {
        let mut live: Vec<Rc<ReplyInner>> = self.live.borrow().values().cloned().collect();
        live.sort_by_key(|r| r.id);
        for reply in &live {
            reply.control.abort();
        }
        // While unwinding from a panic, running slots could panic again and abort the
        // process: the replies are only marked finished then.
        let unwinding = std::thread::panicking();
        for reply in &live {
            if unwinding {
                let mut state = reply.state.borrow_mut();
                state.phase = Phase::Finished;
                state.error = NetworkError::OperationCanceledError;
                state.error_string = "Operation canceled".into();
            } else {
                self.finish(reply, Some((NetworkError::OperationCanceledError, "Operation canceled".into())));
            }
        }
    }

    fn create(
        self: &Rc<Self>,
        request: &NetworkRequest,
        op: Operation,
        verb: &str,
        body: Option<Vec<u8>>,
    ) -> NetworkReply {
        self.hook_quit();
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let policy = request.redirect_policy().unwrap_or(self.settings.borrow().redirect_policy);
        let inner = Rc::new(ReplyInner::new(
            id,
            request.clone(),
            op,
            verb.to_owned(),
            body.map(Arc::new),
            Rc::downgrade(self),
            policy,
        ));
        let reply = NetworkReply { inner: inner.clone() };
        self.live.borrow_mut().insert(id, inner.clone());
        log::debug!("request {id}: {verb} {}", request.shown_url());
        if let Err((error, message)) = validate(request, verb) {
            // Fail from the loop, never inside get(): connecting after get() is safe.
            let weak = Rc::downgrade(self);
            Timer::single_shot(Duration::ZERO, move || {
                if let Some(manager) = weak.upgrade() {
                    manager.finish(&inner, Some((error, message)));
                }
            });
            return reply;
        }
        match self.job_for(&inner) {
            Ok(job) => self.enqueue(host_key(request.url()), job),
            Err((error, message)) => {
                let weak = Rc::downgrade(self);
                Timer::single_shot(Duration::ZERO, move || {
                    if let Some(manager) = weak.upgrade() {
                        manager.finish(&inner, Some((error, message)));
                    }
                });
            }
        }
        reply
    }

    /// Queues a job on its host and starts a runner if the host has room and no lingering
    /// runner will take it.
    fn enqueue(&self, key: HostKey, job: Job) {
        let per_host = self.settings.borrow().per_host;
        let runner = {
            let mut hosts = self.hosts.borrow_mut();
            let host = hosts.entry(key.clone()).or_insert_with(|| {
                let (tx, rx) = crossbeam_channel::unbounded();
                HostQueue { tx, rx, runners: 0, lingering: Arc::default() }
            });
            let _ = host.tx.send(job);
            let waiting_for_a_runner = host.rx.len() > host.lingering.load(Ordering::SeqCst);
            (host.runners < per_host && waiting_for_a_runner).then(|| {
                host.runners += 1;
                self.runner(&key, host)
            })
        };
        if let Some(runner) = runner {
            self.start(runner);
        }
    }

    fn runner(&self, key: &HostKey, host: &HostQueue) -> Runner {
        Runner::new(key.clone(), host.rx.clone(), host.lingering.clone(), self.emitter.clone())
    }

    /// Hands a runner to the pool; if no thread can ever run it, fails its host's queue.
    fn start(&self, runner: Runner) {
        let Err(runner) = self.pool.borrow().execute(runner) else { return };
        let key = runner.host().clone();
        let stranded: Vec<Job> = {
            let mut hosts = self.hosts.borrow_mut();
            let Some(host) = hosts.get_mut(&key) else { return };
            host.runners -= 1;
            if host.runners > 0 {
                return;
            }
            host.rx.try_iter().collect()
        };
        for job in stranded {
            let reply = self.live.borrow().get(&job.id).cloned();
            if let Some(reply) = reply {
                let message = "No worker thread could be started for the request".to_owned();
                self.finish(&reply, Some((NetworkError::UnknownNetworkError, message)));
            }
        }
    }

    /// A runner found its host's queue empty and gave the host up; start another if jobs
    /// arrived meanwhile (or the per-host limit grew).
    fn runner_idle(&self, key: &HostKey) {
        let per_host = self.settings.borrow().per_host;
        let start;
        {
            let mut hosts = self.hosts.borrow_mut();
            let Some(host) = hosts.get_mut(key) else { return };
            host.runners = host.runners.saturating_sub(1);
            start = self.top_up_host(key, host, per_host);
            if host.runners == 0 && host.rx.is_empty() {
                hosts.remove(key);
            }
        }
        for runner in start {
            self.start(runner);
        }
    }

    /// Starts runners for hosts with waiting jobs, up to a (new) per-host limit.
    fn top_up(&self) {
        let per_host = self.settings.borrow().per_host;
        let mut start = Vec::new();
        for (key, host) in self.hosts.borrow_mut().iter_mut() {
            start.extend(self.top_up_host(key, host, per_host));
        }
        for runner in start {
            self.start(runner);
        }
    }

    /// Runners to start so that every waiting job not promised to a lingering runner has
    /// one, within the per-host limit.
    fn top_up_host(&self, key: &HostKey, host: &mut HostQueue, per_host: usize) -> Vec<Runner> {
        let mut wanted = host.rx.len().saturating_sub(host.lingering.load(Ordering::SeqCst));
        let mut start = Vec::new();
        while host.runners < per_host && wanted > 0 {
            host.runners += 1;
            wanted -= 1;
            start.push(self.runner(key, host));
        }
        start
    }

    /// Everything a worker needs for this reply, fixed when the request is made.
    fn job_for(&self, reply: &Rc<ReplyInner>) -> Result<Job, (NetworkError, String)> {
        let Some(url) = reply.request.url().cloned() else {
            return Err((NetworkError::ProtocolUnknownError, "Invalid URL".into()));
        };
        let (agent, agent_settings) = self.agent().map_err(|e| (NetworkError::UnknownProxyError, e))?;
        let settings = self.settings.borrow();
        let timeout = reply.request.transfer_timeout().unwrap_or(settings.transfer_timeout);
        Ok(Job {
            id: reply.id,
            verb: reply.verb.clone(),
            url,
            headers: reply.request.headers().to_vec(),
            body: reply.body.clone(),
            policy: reply.policy,
            max_redirects: reply.request.maximum_redirects_allowed(),
            transfer_timeout: (!timeout.is_zero()).then_some(timeout),
            decompression_threshold: reply.request.decompressed_safety_check_threshold(),
            max_body: reply.request.maximum_body_size(),
            control: reply.control.clone(),
            events: self.emitter.clone(),
            agent,
            agent_settings,
            credentials: self.credentials.clone(),
            proxy: settings.proxy.as_ref().map(|p| p.url().clone()),
        })
    }

    fn on_event(self: &Rc<Self>, event: &Event) {
        let Some(kind) = event.kind.take() else { return };
        let id = event.id;
        let kind = match kind {
            EventKind::RunnerIdle(host) => return self.runner_idle(&host),
            EventKind::Finished(result) => {
                let reply = self.live.borrow().get(&id).cloned();
                if let Some(reply) = reply {
                    self.finish(&reply, result);
                }
                return;
            }
            kind => kind,
        };
        let Some(reply) = self.live.borrow().get(&id).cloned() else {
            // The reply finished already (aborted): its worker is being stopped.
            return;
        };
        let handle = NetworkReply { inner: reply.clone() };
        match kind {
            EventKind::Finished(_) | EventKind::RunnerIdle(_) => unreachable!("handled above"),
            EventKind::Redirected(url) => {
                reply.state.borrow_mut().url = Some(url.clone());
                reply.redirected.emit(&url);
            }
            EventKind::AskRedirect { url, answer } => {
                reply.state.borrow_mut().pending = Some(Box::new(answer));
                reply.redirect_allowed.set(false);
                reply.redirected.emit(&url);
                let pending = reply.state.borrow_mut().pending.take();
                if let Some(answer) =
                    pending.and_then(|p| p.downcast::<crossbeam_channel::Sender<bool>>().ok())
                {
                    let allowed = reply.redirect_allowed.get();
                    if allowed {
                        reply.state.borrow_mut().url = Some(url);
                    }
                    let _ = answer.send(allowed);
                }
            }
            EventKind::AskCredentials { realm, proxy, answer } => {
                reply.state.borrow_mut().pending = Some(Box::new(answer));
                let auth = Authenticator::new(&realm);
                if proxy {
                    let proxy = self.settings.borrow().proxy.clone();
                    if let Some(proxy) = proxy {
                        self.proxy_authentication_required.emit(&(proxy, auth.clone()));
                    }
                } else {
                    self.authentication_required.emit(&(handle, auth.clone()));
                }
                // If a slot aborted the reply, the answer was dropped and the worker stops.
                let pending = reply.state.borrow_mut().pending.take();
                type Answer = crossbeam_channel::Sender<Option<(String, String)>>;
                if let Some(answer) = pending.and_then(|p| p.downcast::<Answer>().ok()) {
                    let _ = answer.send(auth.credentials());
                }
            }
            EventKind::MetaData(meta) => {
                {
                    let mut state = reply.state.borrow_mut();
                    state.url = Some(meta.url);
                    state.status = meta.status;
                    state.reason = meta.reason;
                    state.headers = meta.headers;
                    state.encrypted = meta.encrypted;
                    state.total = meta.total;
                    state.original_length = meta.original_length;
                    state.redirect_target = meta.redirect_target;
                }
                reply.meta_data_changed.emit(&handle);
            }
            EventKind::Data(chunk) => {
                if reply.push_data(chunk) {
                    reply.ready_read.emit(&handle);
                }
                if !reply.is_finished() {
                    let progress = {
                        let state = reply.state.borrow();
                        (state.received, state.total)
                    };
                    reply.emit_progress(progress);
                }
            }
            EventKind::UploadProgress { sent, total } => reply.upload_progress.emit(&(sent, Some(total))),
        }
    }

    /// Finishes a reply exactly once: error_occurred (on error), the manager's finished,
    /// the reply's finished; then its signals are disconnected.
    pub(crate) fn finish(&self, reply: &Rc<ReplyInner>, result: Option<(NetworkError, String)>) {
        {
            let mut state = reply.state.borrow_mut();
            if state.phase == Phase::Finished {
                return;
            }
            state.phase = Phase::Finished;
            state.pending = None;
            if let Some((error, message)) = &result {
                state.error = *error;
                state.error_string = message.clone();
            }
        }
        // Bytes held back by the read buffer become readable now, announced before
        // finished (Qt's order).
        let admitted = reply.admit_held(true);
        self.live.borrow_mut().remove(&reply.id);
        let handle = NetworkReply { inner: reply.clone() };
        if admitted > 0 {
            reply.ready_read.emit(&handle);
        }
        // An HTTP error status is reported when the response is complete, before Qt's last
        // `downloadProgress` (its thread delegate emits the error, then download-finished).
        if let Some((error, _)) = &result {
            reply.error_occurred.emit(error);
        }
        // Qt's last word before finished when the whole response came in (a success, or an
        // HTTP error status with its body): everything received, of a total that is now
        // known (an empty body gives (0, 0)). Not after a transfer that broke off.
        let (received, last, status) = {
            let state = reply.state.borrow();
            (state.received, state.last_progress, state.status)
        };
        let complete = match &result {
            None => true,
            Some((error, _)) => status.is_some_and(|s| NetworkError::from_http_status(s) == Some(*error)),
        };
        let progress = (received, Some(received));
        if complete && last != Some(progress) {
            reply.emit_progress(progress);
        }
        self.finished.emit(&handle);
        reply.finished.emit(&handle);
        reply.disconnect_all();
    }

    pub(crate) fn abort_reply(&self, reply: &Rc<ReplyInner>) {
        reply.control.abort();
        reply.state.borrow_mut().pending = None;
        // A queued job stays in its host's queue; its runner skips it (aborted) at once.
        self.finish(reply, Some((NetworkError::OperationCanceledError, "Operation canceled".into())));
    }

    fn shutdown(&self) {
        self.quit_hook.borrow().disconnect();
        let live = self.live.borrow().len();
        if live > 0 {
            log::debug!("manager dropped with {live} live replies: aborting them");
        }
        // Queued jobs will never run: drop them, and the queues, so the runners find them
        // empty and closed and stop at once.
        self.drop_queued_jobs();
        drop(std::mem::take(&mut *self.hosts.borrow_mut()));
        self.cancel_live();
        self.pool.borrow_mut().shutdown(Duration::from_secs(2));
    }
}

/// Checks what must be refused before anything is sent.
fn validate(request: &NetworkRequest, verb: &str) -> Result<(), (NetworkError, String)> {
    let Some(url) = request.url() else {
        let raw = request.url_string();
        let scheme = raw
            .split_once(':')
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
        return Err(match scheme {
            Some(s) if !matches!(s.to_ascii_lowercase().as_str(), "http" | "https" | "file" | "data") => {
                (NetworkError::ProtocolUnknownError, format!("Protocol \"{s}\" is unknown"))
            }
            Some(_) => (
                NetworkError::ProtocolUnknownError,
                format!("Invalid URL \"{}\"", request.shown_url().escape_debug()),
            ),
            None => (NetworkError::ProtocolUnknownError, "Protocol \"\" is unknown".to_owned()),
        });
    };
    if !matches!(url.scheme(), "http" | "https" | "file" | "data") {
        return Err((
            NetworkError::ProtocolUnknownError,
            format!("Protocol \"{}\" is unknown", url.scheme()),
        ));
    }
    if has_forbidden_bytes(verb.as_bytes())
        || ureq::http::Method::from_bytes(verb.as_bytes()).is_err()
        || verb.is_empty()
    {
        return Err((
            NetworkError::ProtocolInvalidOperationError,
            format!("Invalid verb \"{}\"", verb.escape_debug()),
        ));
    }
    for (name, value) in request.headers() {
        let shown = String::from_utf8_lossy(name).escape_debug().to_string();
        if has_forbidden_bytes(name) || ureq::http::HeaderName::from_bytes(name).is_err() {
            return Err((
                NetworkError::ProtocolInvalidOperationError,
                format!("Invalid header name \"{shown}\""),
            ));
        }
        if has_forbidden_bytes(value) || ureq::http::HeaderValue::from_bytes(value).is_err() {
            return Err((
                NetworkError::ProtocolInvalidOperationError,
                format!(
                    "Invalid value for header \"{shown}\": CR, LF, NUL and control characters are refused"
                ),
            ));
        }
    }
    Ok(())
}
