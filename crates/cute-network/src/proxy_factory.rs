//! Choosing a proxy per request ([`ProxyFactory`], Qt's `QNetworkProxyFactory`), and the
//! environment's proxy settings ([`SystemProxyFactory`]: `http_proxy`, `https_proxy`,
//! `all_proxy`, `no_proxy`, as curl and Qt on Unix read them).

use base64::Engine as _;
use hyper_util::client::proxy::matcher::Matcher;
use url::Url;

use crate::proxy::Proxy;

/// Chooses the proxy for each request (Qt's `QNetworkProxyFactory::queryProxy`): `None`
/// sends it directly. Set with
/// [`NetworkAccessManager::set_proxy_factory`](crate::NetworkAccessManager::set_proxy_factory);
/// called on the manager's thread when the request is made. Any `Fn(&Url) -> Option<Proxy>`
/// is one.
///
/// # Examples
///
/// ```
/// use cute_network::{NetworkAccessManager, Proxy, Url};
///
/// let nam = NetworkAccessManager::new();
/// let corporate = Proxy::http("http://proxy.corp.example:3128").unwrap();
/// // Through the proxy, except for the intranet.
/// nam.set_proxy_factory(Some(Box::new(move |url: &Url| {
///     (!url.host_str().unwrap_or("").ends_with(".corp.example")).then(|| corporate.clone())
/// })));
/// ```
#[doc(alias = "QNetworkProxyFactory")]
pub trait ProxyFactory {
    /// The proxy for a request to `url`, or `None` for a direct connection.
    #[doc(alias = "queryProxy")]
    fn query_proxy(&self, url: &Url) -> Option<Proxy>;
}

impl<F: Fn(&Url) -> Option<Proxy>> ProxyFactory for F {
    fn query_proxy(&self, url: &Url) -> Option<Proxy> {
        self(url)
    }
}

/// The proxy settings of the environment (Qt's system configuration on Unix, which reads
/// the same variables), by hyper-util's proxy matcher, which reads them as curl does:
/// `HTTP_PROXY`/`http_proxy` for http URLs, `HTTPS_PROXY`/`https_proxy` for https,
/// `ALL_PROXY`/`all_proxy` for either when its own is unset, and `NO_PROXY`/`no_proxy` for
/// the hosts reached directly: comma-separated host names (a name also covers its
/// subdomains; a leading `.` is allowed), IP addresses and CIDR ranges (`10.0.0.0/8`), or
/// `*` for every host. A value without a scheme means `http://`. In a CGI program
/// (`REQUEST_METHOD` set) none is used, against the "httpoxy" attack. `socks5://` and
/// `socks5h://` values are SOCKS5 proxies; others (`https://…`, `socks4://…`) are not used,
/// with a warning.
///
/// # Examples
///
/// ```
/// use cute_network::{ProxyFactory, SystemProxyFactory, Url};
///
/// let factory = SystemProxyFactory::from_vars(|name| match name {
///     "https_proxy" => Some("http://proxy.example:3128".to_owned()),
///     "no_proxy" => Some("localhost,.internal.example,10.0.0.0/8".to_owned()),
///     _ => None,
/// });
/// let proxied = Url::parse("https://example.com/").unwrap();
/// assert_eq!(factory.query_proxy(&proxied).map(|p| p.host()), Some("proxy.example".to_owned()));
/// for direct in ["https://db.internal.example/", "https://10.1.2.3/", "http://example.com/"] {
///     assert!(factory.query_proxy(&Url::parse(direct).unwrap()).is_none(), "{direct}");
/// }
/// ```
#[derive(Debug)]
pub struct SystemProxyFactory {
    matcher: Matcher,
}

impl SystemProxyFactory {
    /// The settings of this process's environment, read now.
    pub fn from_env() -> Self {
        SystemProxyFactory { matcher: Matcher::from_env() }
    }

    /// The settings from `var` (a variable's value by name; the upper-case name is asked
    /// first, as for the environment): for tests, and for settings kept elsewhere.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        if var("REQUEST_METHOD").is_some() {
            return SystemProxyFactory { matcher: Matcher::builder().build() };
        }
        let read = |upper: &str, lower: &str| var(upper).or_else(|| var(lower)).unwrap_or_default();
        let matcher = Matcher::builder()
            .all(read("ALL_PROXY", "all_proxy"))
            .http(read("HTTP_PROXY", "http_proxy"))
            .https(read("HTTPS_PROXY", "https_proxy"))
            .no(read("NO_PROXY", "no_proxy"))
            .build();
        SystemProxyFactory { matcher }
    }
}

/// A user name or password as it goes in a URL.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl ProxyFactory for SystemProxyFactory {
    fn query_proxy(&self, url: &Url) -> Option<Proxy> {
        let uri: hyper::Uri = url.as_str().parse().ok()?;
        let intercept = self.matcher.intercept(&uri)?;
        let proxy = intercept.uri();
        let authority = proxy.authority()?;
        let scheme = proxy.scheme_str().unwrap_or("http");
        if matches!(scheme, "socks5" | "socks5h") {
            let host = authority.as_str().rsplit('@').next().unwrap_or_default();
            let credentials = match intercept.raw_auth() {
                Some((user, password)) => format!("{}:{}@", encode(user), encode(password)),
                None => String::new(),
            };
            return Proxy::socks5(&format!("{scheme}://{credentials}{host}")).ok();
        }
        if scheme != "http" {
            log::warn!(
                "not using the proxy {authority} for {}: only http:// and socks5:// proxies are supported",
                url.scheme()
            );
            return None;
        }
        // The matcher keeps an http proxy's credentials as a ready `Basic` header value.
        let credentials = intercept
            .basic_auth()
            .and_then(|value| value.to_str().ok()?.strip_prefix("Basic ").map(str::to_owned))
            .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|pair| {
                let (user, password) = pair.split_once(':')?;
                Some(format!("{}:{}@", encode(user), encode(password)))
            })
            .unwrap_or_default();
        let host = authority.as_str().rsplit('@').next().unwrap_or_default();
        Proxy::http(&format!("http://{credentials}{host}")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory(vars: &[(&str, &str)]) -> SystemProxyFactory {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        SystemProxyFactory::from_vars(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn via(factory: &SystemProxyFactory, url: &str) -> Option<String> {
        factory.query_proxy(&Url::parse(url).unwrap()).map(|p| format!("{}:{}", p.host(), p.port()))
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_fills_in() {
        let f = factory(&[("http_proxy", "http://h.example:1"), ("ALL_PROXY", "a.example:2")]);
        assert_eq!(via(&f, "http://x.example/").as_deref(), Some("h.example:1"));
        assert_eq!(via(&f, "https://x.example/").as_deref(), Some("a.example:2"), "all_proxy, scheme-less");
        assert_eq!(via(&f, "ftp://x.example/"), None);
        let f =
            factory(&[("HTTPS_PROXY", "http://upper.example:3"), ("https_proxy", "http://lower.example:4")]);
        assert_eq!(via(&f, "https://x.example/").as_deref(), Some("upper.example:3"), "upper case first");
        assert_eq!(via(&f, "http://x.example/"), None);
    }

    #[test]
    fn credentials_in_the_proxy_url_are_kept() {
        let f = factory(&[("http_proxy", "http://us%40er:p%3Ass@p.example:8080")]);
        let proxy = f.query_proxy(&Url::parse("http://x.example/").unwrap()).unwrap();
        assert_eq!(
            (proxy.host().as_str(), proxy.port(), proxy.user().as_str()),
            ("p.example", 8080, "us%40er")
        );
    }

    #[test]
    fn cgi_uses_no_proxy_and_socks5_is_a_socks5_proxy() {
        let f = factory(&[("HTTP_PROXY", "http://evil.example:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(via(&f, "http://x.example/"), None);
        let f = factory(&[("all_proxy", "socks5://u:p@s.example:1081")]);
        let proxy = f.query_proxy(&Url::parse("https://x.example/").unwrap()).unwrap();
        assert!(proxy.is_socks5());
        assert_eq!((proxy.host().as_str(), proxy.port(), proxy.user().as_str()), ("s.example", 1081, "u"));
        let f = factory(&[("http_proxy", "socks4://s.example:1080")]);
        assert_eq!(via(&f, "http://x.example/"), None, "SOCKS4 is not supported");
    }

    #[test]
    fn no_proxy_matches_names_subdomains_addresses_and_ranges() {
        let f = factory(&[
            ("http_proxy", "http://p.example:8080"),
            ("no_proxy", "localhost, .corp.example, 10.0.0.0/8, 192.168.1.5, ::1"),
        ]);
        for direct in [
            "http://localhost/",
            "http://corp.example/",
            "http://a.b.corp.example/",
            "http://10.200.3.4/",
            "http://192.168.1.5:81/",
            "http://[::1]/",
        ] {
            assert_eq!(via(&f, direct), None, "{direct}");
        }
        for proxied in ["http://notcorp.example/", "http://11.0.0.1/", "http://192.168.1.6/"] {
            assert!(via(&f, proxied).is_some(), "{proxied}");
        }
        assert_eq!(via(&factory(&[("http_proxy", "p:1"), ("no_proxy", "*")]), "http://x.example/"), None);
    }

    #[test]
    fn closures_are_factories() {
        let proxy = Proxy::http("http://p.example:1").unwrap();
        let f = move |url: &Url| (url.host_str() == Some("a.example")).then(|| proxy.clone());
        assert!(f.query_proxy(&Url::parse("http://a.example/").unwrap()).is_some());
        assert!(f.query_proxy(&Url::parse("http://b.example/").unwrap()).is_none());
    }
}
