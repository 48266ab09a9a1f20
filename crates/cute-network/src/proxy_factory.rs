//! Choosing a proxy per request ([`ProxyFactory`], Qt's `QNetworkProxyFactory`), and the
//! environment's proxy settings ([`SystemProxyFactory`]: `http_proxy`, `https_proxy`,
//! `all_proxy`, `no_proxy`, as curl and Qt on Unix read them).

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

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
/// the same variables): `http_proxy` for http URLs, `https_proxy` for https, `all_proxy`
/// for either when its own is unset (lower case first, then upper case; `HTTP_PROXY` is not
/// read when `REQUEST_METHOD` is set, as curl does, against the CGI "httpoxy" attack), and
/// `no_proxy` for the hosts reached directly: comma-separated host names (a name also
/// covers its subdomains; a leading `.` or `*.` is allowed), IP addresses, CIDR ranges
/// (`10.0.0.0/8`), each optionally with `:port`, or `*` for every host. A proxy value that
/// is not an `http://` proxy (`socks5://…`) is ignored with a warning: cute speaks HTTP
/// proxies only.
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
#[derive(Clone, Default)]
pub struct SystemProxyFactory {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<Rule>,
}

impl fmt::Debug for SystemProxyFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemProxyFactory")
            .field("http", &self.http)
            .field("https", &self.https)
            .field("no_proxy", &self.no_proxy.len())
            .finish()
    }
}

/// One `no_proxy` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Everything,
    /// A host name and its subdomains.
    Domain {
        name: String,
        port: Option<u16>,
    },
    /// An address range (a single address is a full-length prefix).
    Net {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl SystemProxyFactory {
    /// The settings of this process's environment, read now.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings from `var` (a variable's value by name): for tests, and for settings
    /// kept elsewhere than in the environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let read = |lower: &str, upper: &str| {
            var(lower).or_else(|| var(upper)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
        };
        let cgi = var("REQUEST_METHOD").is_some();
        let http_value = var("http_proxy").or_else(|| if cgi { None } else { var("HTTP_PROXY") });
        let all = read("all_proxy", "ALL_PROXY");
        let proxy = |value: Option<String>| {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
            // `host:port` without a scheme means http, as curl reads it.
            let url = if value.contains("://") { value } else { format!("http://{value}") };
            match Proxy::http(url.trim_end_matches('/')) {
                Ok(proxy) => Some(proxy),
                Err(_) => {
                    log::warn!(
                        "ignoring the proxy {}: only http:// proxies are supported",
                        crate::request::redact_raw(&url)
                    );
                    None
                }
            }
        };
        SystemProxyFactory {
            http: proxy(http_value.or_else(|| all.clone())),
            https: proxy(read("https_proxy", "HTTPS_PROXY").or(all)),
            no_proxy: read("no_proxy", "NO_PROXY").map(|list| parse_rules(&list)).unwrap_or_default(),
        }
    }

    fn bypasses(&self, url: &Url) -> bool {
        let Some(host) = url.host() else { return true };
        let port = url.port_or_known_default();
        self.no_proxy.iter().any(|rule| match rule {
            Rule::Everything => true,
            Rule::Domain { name, port: want } => {
                let Host::Domain(domain) = &host else { return false };
                let domain = domain.to_ascii_lowercase();
                let matches = domain == *name || domain.ends_with(&format!(".{name}"));
                matches && want.is_none_or(|p| Some(p) == port)
            }
            Rule::Net { addr, prefix, port: want } => {
                let ip = match &host {
                    Host::Ipv4(ip) => IpAddr::V4(*ip),
                    Host::Ipv6(ip) => IpAddr::V6(*ip),
                    Host::Domain(_) => return false,
                };
                in_net(ip, *addr, *prefix) && want.is_none_or(|p| Some(p) == port)
            }
        })
    }
}

impl ProxyFactory for SystemProxyFactory {
    fn query_proxy(&self, url: &Url) -> Option<Proxy> {
        let proxy = match url.scheme() {
            "http" => self.http.as_ref(),
            "https" => self.https.as_ref(),
            _ => None,
        }?;
        (!self.bypasses(url)).then(|| proxy.clone())
    }
}

fn parse_rules(list: &str) -> Vec<Rule> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            if entry == "*" {
                return Some(Rule::Everything);
            }
            // `[v6]:port`, `v4:port`, `name:port`, or bare.
            let (host, port) = match entry.strip_prefix('[') {
                Some(rest) => {
                    let (host, after) = rest.split_once(']')?;
                    (host, after.strip_prefix(':').and_then(|p| p.parse().ok()))
                }
                None => match entry.rsplit_once(':') {
                    Some((host, port)) if !host.contains(':') => (host, port.parse().ok()),
                    _ => (entry, None),
                },
            };
            let (addr, prefix) = match host.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
                None => (host, None),
            };
            if let Ok(addr) = addr.parse::<IpAddr>() {
                let full = if addr.is_ipv4() { 32 } else { 128 };
                return Some(Rule::Net { addr, prefix: prefix.unwrap_or(full).min(full), port });
            }
            let name = host.trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
            (!name.is_empty()).then_some(Rule::Domain { name, port })
        })
        .collect()
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
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
        let f = factory(&[("HTTPS_PROXY", "http://s.example:3"), ("https_proxy", "http://lower.example:4")]);
        assert_eq!(via(&f, "https://x.example/").as_deref(), Some("lower.example:4"), "lower case first");
        assert_eq!(via(&f, "http://x.example/"), None);
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_under_cgi_and_socks_is_refused() {
        let f = factory(&[("HTTP_PROXY", "http://evil.example:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(via(&f, "http://x.example/"), None);
        let f = factory(&[("http_proxy", "socks5://s.example:1080")]);
        assert_eq!(via(&f, "http://x.example/"), None);
    }

    #[test]
    fn no_proxy_matches_names_subdomains_addresses_ranges_and_ports() {
        let f = factory(&[
            ("http_proxy", "http://p.example:8080"),
            (
                "no_proxy",
                "localhost, .corp.example,*.lab.example, 10.0.0.0/8, 192.168.1.5, [::1], svc.example:8443",
            ),
        ]);
        for direct in [
            "http://localhost/",
            "http://corp.example/",
            "http://a.b.corp.example/",
            "http://x.lab.example/",
            "http://10.200.3.4/",
            "http://192.168.1.5:81/",
            "http://[::1]/",
            "http://svc.example:8443/",
        ] {
            assert_eq!(via(&f, direct), None, "{direct}");
        }
        for proxied in
            ["http://notcorp.example/", "http://11.0.0.1/", "http://192.168.1.6/", "http://svc.example/"]
        {
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
