//! The ureq agent and a connector that makes each request abortable (private plumbing).
//!
//! ureq cancels only agent-wide. To abort one request, the worker marks the thread with
//! the request's [`Control`] while it runs ureq; [`Hooked`] wraps ureq's default connector
//! so that every transport it creates remembers its socket's shutdown handle, and on every
//! read or write registers that handle with the request currently running on the thread
//! (pooled connections move between requests, so registration happens at I/O time).
//! `Control::abort` then shuts the socket down, which unblocks a blocked read or write.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use ureq::Agent;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, ShutdownHandle, Transport,
};

use std::sync::Mutex;

use crate::control::{Connection, Control, Usage};
use crate::sync::lock;

thread_local! {
    /// The request the worker on this thread is running.
    static CURRENT: RefCell<Option<Arc<Control>>> = const { RefCell::new(None) };
    /// The shutdown handle of the connection most recently opened on this thread.
    static OPENED: RefCell<Option<Weak<dyn ShutdownHandle>>> = const { RefCell::new(None) };
}

/// Marks the current thread as running a request (its control) until dropped.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn enter(control: Arc<Control>) -> Running {
        CURRENT.with(|c| *c.borrow_mut() = Some(control));
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

fn aborted_error() -> ureq::Error {
    ureq::Error::Io(io::Error::new(io::ErrorKind::Interrupted, "operation canceled"))
}

/// Wraps ureq's default connector (proxy CONNECT, TCP, rustls).
#[derive(Debug)]
pub(crate) struct Hooked {
    inner: DefaultConnector,
    generation: Generation,
}

impl Connector<()> for Hooked {
    type Out = Tracked;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<()>,
    ) -> Result<Option<Tracked>, ureq::Error> {
        let forward = details.register_shutdown.clone();
        let hooked = ConnectionDetails {
            uri: details.uri,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: Arc::new(move |handle: Weak<dyn ShutdownHandle>| {
                OPENED.with(|o| *o.borrow_mut() = Some(handle.clone()));
                forward(handle)
            }),
        };
        let transport = self.inner.connect(&hooked, chained)?;
        let handle = OPENED.with(|o| o.borrow_mut().take());
        let born = self.generation.current();
        Ok(transport.map(|inner| Tracked {
            inner,
            handle,
            usage: Arc::default(),
            registered: None,
            generation: self.generation.clone(),
            born,
        }))
    }
}

/// A transport that registers its socket with the running request before each I/O.
pub(crate) struct Tracked {
    inner: Box<dyn Transport>,
    handle: Option<Weak<dyn ShutdownHandle>>,
    usage: Arc<Mutex<Usage>>,
    registered: Option<u64>,
    generation: Generation,
    /// The generation the connection was made in.
    born: u64,
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked").field("inner", &self.inner).finish()
    }
}

impl Tracked {
    /// Runs one read or write for the request on this thread: marks the connection busy
    /// and owned by it (so its abort can cut the socket), fails at once if it was aborted.
    fn io<T>(
        &mut self,
        op: impl FnOnce(&mut dyn Transport) -> Result<T, ureq::Error>,
    ) -> Result<T, ureq::Error> {
        let Some(control) = CURRENT.with(|c| c.borrow().clone()) else { return op(self.inner.as_mut()) };
        {
            let mut usage = lock(&self.usage);
            usage.owner = control.id();
            usage.busy = true;
        }
        if self.registered != Some(control.id()) {
            if let Some(handle) = &self.handle {
                control.register(Connection { handle: handle.clone(), usage: self.usage.clone() });
            }
            self.registered = Some(control.id());
        }
        let result = if control.is_aborted() { Err(aborted_error()) } else { op(self.inner.as_mut()) };
        lock(&self.usage).busy = false;
        result
    }
}

impl Tracked {
    /// ureq does not keep the reason phrase the server sent: when the input starts with a
    /// status line (a response head being read), it is parsed (httparse, as ureq parses
    /// the head) and noted on the running request, which reports it.
    fn note_status_line(&mut self) {
        let input = self.inner.buffers().input();
        if !input.starts_with(b"HTTP/1.") {
            return;
        }
        // No header slots: parsing stops after the status line, which is all we want.
        let mut response = httparse::Response::new(&mut []);
        let _ = response.parse(input);
        if let (Some(code), Some(reason)) = (response.code, response.reason)
            && let Some(control) = CURRENT.with(|c| c.borrow().clone())
        {
            control.note_status_line(code, reason);
        }
    }
}

impl Transport for Tracked {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.io(|t| t.transmit_output(amount, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let more = self.io(|t| t.await_input(timeout))?;
        self.note_status_line();
        Ok(more)
    }

    fn is_open(&mut self) -> bool {
        // A retired connection is not reused: the pool drops it.
        self.born == self.generation.current() && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// TLS settings trusting `ders` (DER certificates) instead of the bundled Mozilla roots,
/// or the bundled roots when `ders` is empty.
pub(crate) fn tls_trusting(ders: &[Vec<u8>]) -> TlsConfig {
    let mut tls = TlsConfig::builder();
    if !ders.is_empty() {
        let certs: Vec<Certificate<'static>> =
            ders.iter().map(|der| Certificate::from_der(der).to_owned()).collect();
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    tls.build()
}

/// Idle connections kept per host: as many as may run at once (at most 255 per host).
const IDLE_PER_HOST: usize = 255;
/// Idle connections kept in all.
const IDLE_TOTAL: usize = 256;

/// The manager's agent. Connections made before `generation` last changed are not reused
/// (see [`Generation`]).
pub(crate) fn build_agent(generation: &Generation, tls: &TlsConfig) -> Agent {
    let config = Agent::config_builder()
        .tls_config(tls.clone())
        .http_status_as_error(false)
        .max_redirects(0)
        .save_redirect_history(false)
        .user_agent("Mozilla/5.0")
        .accept_encoding(ureq::config::AutoHeaderValue::None)
        .accept(ureq::config::AutoHeaderValue::None)
        .max_response_header_size(super::headers::MAX_RESPONSE_HEAD)
        .allow_non_standard_methods(true)
        .max_idle_connections(IDLE_TOTAL)
        .max_idle_connections_per_host(IDLE_PER_HOST)
        .build();
    let connector = Hooked { inner: DefaultConnector::new(), generation: generation.clone() };
    Agent::with_parts(config, connector, Resolution::default())
}

/// ureq's default resolver, with its failures said to be what they are: the system
/// resolver reports an unknown host as a plain I/O error, which would otherwise have to be
/// recognised by its text.
#[derive(Debug, Default)]
struct Resolution(DefaultResolver);

impl Resolver for Resolution {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|e| match e {
            ureq::Error::Io(io) => {
                log::debug!("resolving {uri}: {io}");
                ureq::Error::HostNotFound
            }
            other => other,
        })
    }
}

/// The connection cache's generation: bumping it retires every connection made so far (a
/// pooled one reports itself closed and is dropped instead of reused), which is how the
/// manager flushes its connections without a new agent, so its cookie jar stays.
#[derive(Debug, Clone, Default)]
pub(crate) struct Generation(Arc<AtomicU64>);

impl Generation {
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
