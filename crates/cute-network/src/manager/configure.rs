//! What a manager is set up with: timeouts, limits, proxies, TLS, HSTS, the cookie jar,
//! connections opened ahead (the settings half of [`NetworkAccessManager`]'s API).

use std::sync::Arc;
use std::time::Duration;

use super::NetworkAccessManager;
use crate::error::Error;
use crate::proxy::Proxy;
use crate::proxy_factory::{ProxyFactory, SystemProxyFactory};
use crate::request::RedirectPolicy;
use crate::settings::unless_zero;
use crate::sync::lock;

impl NetworkAccessManager {
    /// Sets the manager's transfer (inactivity) timeout; `Duration::ZERO` disables it. A
    /// request's own timeout wins. Defaults to [`DEFAULT_TRANSFER_TIMEOUT`](crate::DEFAULT_TRANSFER_TIMEOUT) (60 s).
    pub fn set_transfer_timeout(&self, timeout: Duration) {
        self.inner.change(|s| s.transfer_timeout = unless_zero(timeout));
    }

    /// The manager's transfer timeout (`Duration::ZERO`: off).
    pub fn transfer_timeout(&self) -> Duration {
        self.inner.settings().transfer_timeout.unwrap_or_default()
    }

    /// Sets the timeout for opening a connection (TCP and TLS); `Duration::ZERO` disables
    /// it. Defaults to [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT) (30 s).
    pub fn set_connect_timeout(&self, timeout: Duration) {
        self.inner.change(|s| s.connect_timeout = unless_zero(timeout));
    }

    /// Sets the default redirect policy. Defaults to `NoLessSafeRedirectPolicy`.
    pub fn set_redirect_policy(&self, policy: RedirectPolicy) {
        self.inner.change(|s| s.redirect_policy = policy);
    }

    /// The default redirect policy.
    pub fn redirect_policy(&self) -> RedirectPolicy {
        self.inner.settings().redirect_policy
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
        self.inner.change(|s| s.per_host = n);
        let stranded = self.inner.scheduler.top_up(n);
        self.inner.fail_stranded(stranded);
        Ok(())
    }

    /// The number of requests run at once per host.
    pub fn max_connections_per_host(&self) -> usize {
        self.inner.settings().per_host
    }

    /// Caps the threads of the manager's network runtime: its I/O threads (two) and the
    /// threads it starts for blocking work (name resolution, file I/O). Defaults to
    /// [`DEFAULT_MAX_WORKERS`](crate::DEFAULT_MAX_WORKERS) (32). The runtime starts with
    /// the first request: set the cap before it (later, it has no effect).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] for 0.
    pub fn set_max_worker_threads(&self, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::InvalidSetting("at least one worker thread is needed"));
        }
        self.inner.change(|s| s.max_workers = n);
        self.inner.scheduler.set_max_workers(n);
        Ok(())
    }

    /// The network runtime's I/O threads: 0 before the first request, then at most 2
    /// (fewer under a lower [`set_max_worker_threads`](Self::set_max_worker_threads)),
    /// however many requests run.
    pub fn worker_threads(&self) -> usize {
        self.inner.scheduler.threads()
    }

    /// Sends requests through an HTTP proxy, or directly with `None` (the default; the
    /// environment's proxy variables are not read).
    pub fn set_proxy(&self, proxy: Option<Proxy>) {
        self.inner.change(|s| s.proxy = proxy);
    }

    /// The proxy in use.
    pub fn proxy(&self) -> Option<Proxy> {
        self.inner.settings().proxy.clone()
    }

    /// Chooses each request's proxy with `factory` when no proxy is set with
    /// [`set_proxy`](Self::set_proxy) (which wins, as in Qt); `None` removes it (Qt's
    /// `setProxyFactory`). Called on this thread as each request is made.
    #[doc(alias = "setProxyFactory")]
    pub fn set_proxy_factory(&self, factory: Option<Box<dyn ProxyFactory>>) {
        self.inner.proxied.borrow_mut().clear();
        *self.inner.proxy_factory.borrow_mut() = factory;
    }

    /// Uses the environment's proxy settings (`http_proxy`, `https_proxy`, `all_proxy`,
    /// `no_proxy`: see [`SystemProxyFactory`]), read now, or stops using them (Qt's
    /// `QNetworkProxyFactory::setUseSystemConfiguration`, for this manager). Off by
    /// default: a manager reads no environment unless asked to.
    #[doc(alias = "setUseSystemConfiguration")]
    pub fn set_use_system_configuration(&self, enabled: bool) {
        let factory: Option<Box<dyn ProxyFactory>> =
            if enabled { Some(Box::new(SystemProxyFactory::from_env())) } else { None };
        self.set_proxy_factory(factory);
    }

    /// Trusts exactly the CA certificates in `pem` (one or more PEM blocks) for https,
    /// instead of the bundled Mozilla roots (Qt's `QSslConfiguration::setCaCertificates`).
    /// Pass an empty slice to go back to the bundled roots.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`] if `pem` holds something that is not a certificate.
    pub fn set_ca_certificates(&self, pem: &[u8]) -> Result<(), Error> {
        let ders = crate::tls::parse_certificates(pem)?;
        // Requests made from now on use these roots, over connections of their own.
        self.inner.change(|s| s.tls = Arc::new(s.tls.with_trusted(ders)));
        Ok(())
    }

    /// Uses `configuration` for the requests made from now on that set none of their own
    /// (Qt's default `QSslConfiguration`): its CA certificates, client certificate and
    /// lowest TLS version. Replaces what [`set_ca_certificates`](Self::set_ca_certificates)
    /// set.
    #[doc(alias = "setSslConfiguration")]
    pub fn set_ssl_configuration(&self, configuration: &crate::SslConfiguration) {
        let tls = configuration.tls();
        self.inner.change(|s| s.tls = tls);
    }

    /// Forgets cached credentials (for servers and proxies) and stops reusing the open
    /// connections (Qt's `clearAccessCache`). Cookies are kept, as in Qt.
    pub fn clear_access_cache(&self) {
        lock(&self.inner.credentials).clear();
        self.inner.net.connections.clear();
    }

    /// Opens a plain connection to `host:port` before any request needs it (Qt's
    /// `connectToHost`, whose port is 80 by default): the first request to
    /// `http://host:port` then finds it ready. Through the manager's proxy, if any. Nothing
    /// is reported: a failure shows on the request that would have used it.
    #[doc(alias = "connectToHost")]
    pub fn connect_to_host(&self, host: &str, port: u16) {
        self.warm("http", host, port);
    }

    /// Opens a TLS connection to `host:port` (TCP, TLS handshake and the HTTP/2 offer)
    /// before any request needs it (Qt's `connectToHostEncrypted`, port 443 by default).
    #[doc(alias = "connectToHostEncrypted")]
    pub fn connect_to_host_encrypted(&self, host: &str, port: u16) {
        self.warm("https", host, port);
    }

    fn warm(&self, scheme: &str, host: &str, port: u16) {
        let Ok(url) = url::Url::parse(&format!("{scheme}://{host}:{port}/")) else {
            log::debug!("connect_to_host: {host}:{port} is not a host and port");
            return;
        };
        let settings = self.inner.settings_for(Some(&url));
        self.inner.scheduler.warm(url, settings);
    }

    /// Turns HTTP Strict Transport Security on or off (Qt's
    /// `setStrictTransportSecurityEnabled`; off by default, as in Qt): while on, hosts that
    /// send `Strict-Transport-Security` over https are remembered, and plain http requests
    /// and redirects to them (and to their subdomains, if they said so) are sent over https.
    #[doc(alias = "setStrictTransportSecurityEnabled")]
    pub fn set_strict_transport_security_enabled(&self, enabled: bool) {
        self.inner.net.hsts.set_enabled(enabled);
    }

    /// Whether HSTS is on (Qt's `isStrictTransportSecurityEnabled`).
    pub fn is_strict_transport_security_enabled(&self) -> bool {
        self.inner.net.hsts.is_enabled()
    }

    /// Adds known HSTS hosts, such as a preload list or those saved from an earlier run
    /// (Qt's `addStrictTransportSecurityHosts`); an expired policy removes its host.
    #[doc(alias = "addStrictTransportSecurityHosts")]
    pub fn add_strict_transport_security_hosts(&self, policies: &[crate::HstsPolicy]) {
        self.inner.net.hsts.add(policies);
    }

    /// The known HSTS hosts not expired (Qt's `strictTransportSecurityHosts`).
    #[doc(alias = "strictTransportSecurityHosts")]
    pub fn strict_transport_security_hosts(&self) -> Vec<crate::HstsPolicy> {
        self.inner.net.hsts.policies()
    }

    /// The manager's cookie jar (Qt's `cookieJar`): a handle, so cookies added to it are
    /// sent by the manager's next requests.
    #[doc(alias = "cookieJar")]
    pub fn cookie_jar(&self) -> crate::NetworkCookieJar {
        self.inner.net.cookies.jar()
    }

    /// Uses `jar` for the requests made from now on (Qt's `setCookieJar`): pass one jar to
    /// several managers to share their cookies, or a jar loaded from a file.
    #[doc(alias = "setCookieJar")]
    pub fn set_cookie_jar(&self, jar: crate::NetworkCookieJar) {
        self.inner.net.cookies.set_jar(jar);
    }

    /// Uses `cache` for this manager's requests, or none (Qt's `setCache`; there is none by
    /// default). With a cache, a GET is answered from it while the stored response is
    /// fresh, a stale one is revalidated with the server (a 304 answers from the cache),
    /// and cacheable responses are stored as they arrive; each request's
    /// [`CacheLoadControlAttribute`](crate::Attribute::CacheLoadControlAttribute) and
    /// [`CacheSaveControlAttribute`](crate::Attribute::CacheSaveControlAttribute) decide
    /// per request, and
    /// [`SourceIsFromCacheAttribute`](crate::Attribute::SourceIsFromCacheAttribute) tells
    /// the reply's source. The rules are Qt's, with RFC 9111's where Qt falls short
    /// (`Vary`, the request's own `no-cache`, `no-store` requests); see
    /// [`CacheLoadControl`](crate::CacheLoadControl). A cache that cannot write only stores
    /// nothing: requests go to the network as without one.
    ///
    /// The cache is read and written on the manager's thread, as in Qt: a large entry
    /// costs the loop its disk time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{CoreApplication, Timer};
    /// use cute_network::{Attribute, NetworkAccessManager, NetworkDiskCache, NetworkReply, NetworkRequest};
    /// # let server = cute_httpbin::Httpbin::start().unwrap();
    /// # let url = server.url("/cache/60");
    ///
    /// let app = CoreApplication::new();
    /// let dir = std::env::temp_dir().join(format!("cute-doc-nam-cache-{}", std::process::id()));
    /// let nam = NetworkAccessManager::new();
    /// nam.set_cache(Some(NetworkDiskCache::new(&dir)));
    /// let again = nam.downgrade();
    /// let url2 = url.clone();
    /// nam.finished().connect(move |reply: &NetworkReply| {
    ///     let from_cache = reply.attribute(Attribute::SourceIsFromCacheAttribute).unwrap().as_bool().unwrap();
    ///     if !from_cache {
    ///         // e.g. "https://httpbin.org/cache/60": fresh for a minute, so the second
    ///         // request is answered from the cache.
    ///         again.upgrade().unwrap().get(&NetworkRequest::new(&url2));
    ///     } else {
    ///         CoreApplication::quit();
    ///     }
    /// });
    /// nam.get(&NetworkRequest::new(&url));
    /// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
    /// assert_eq!(app.exec(), 0);
    /// # drop(nam);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    #[doc(alias = "setCache")]
    pub fn set_cache(&self, cache: Option<crate::NetworkDiskCache>) {
        *self.inner.replies.cache.borrow_mut() = cache;
    }

    /// The manager's cache, if it has one (Qt's `cache`).
    pub fn cache(&self) -> Option<crate::NetworkDiskCache> {
        self.inner.replies.cache.borrow().clone()
    }
}
