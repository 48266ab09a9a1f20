//! HTTP Strict Transport Security (RFC 6797; Qt's `QHstsPolicy` and the manager's STS
//! settings): hosts that said, over https, to be reached over https only; plain http to
//! them is upgraded before it is sent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use hyper::HeaderMap;
use url::{Host, Url};

use crate::sync::lock;

/// One host's HSTS policy (Qt's `QHstsPolicy`): until when it is reached over https only,
/// and whether its subdomains are too.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cute_network::{HstsPolicy, NetworkAccessManager};
///
/// let nam = NetworkAccessManager::new();
/// nam.set_strict_transport_security_enabled(true);
/// let year = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
/// nam.add_strict_transport_security_hosts(&[HstsPolicy::new("example.com", year, true)]);
/// assert_eq!(nam.strict_transport_security_hosts()[0].host(), "example.com");
/// ```
#[doc(alias = "QHstsPolicy")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HstsPolicy {
    host: String,
    expiry: SystemTime,
    include_subdomains: bool,
}

impl HstsPolicy {
    /// `host` (a name, not an address) over https only until `expiry`, and its subdomains
    /// too if `include_subdomains`.
    pub fn new(host: impl Into<String>, expiry: SystemTime, include_subdomains: bool) -> Self {
        HstsPolicy {
            host: host.into().trim_end_matches('.').to_ascii_lowercase(),
            expiry,
            include_subdomains,
        }
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// When the policy ends.
    pub fn expiry(&self) -> SystemTime {
        self.expiry
    }

    /// Whether it covers the host's subdomains (Qt's `includesSubDomains`).
    #[doc(alias = "includesSubDomains")]
    pub fn includes_sub_domains(&self) -> bool {
        self.include_subdomains
    }

    /// Whether it has ended.
    pub fn is_expired(&self) -> bool {
        self.expiry <= SystemTime::now()
    }
}

/// The manager's HSTS hosts, shared with its requests.
#[derive(Debug, Default)]
pub(crate) struct Hsts {
    enabled: AtomicBool,
    policies: Mutex<HashMap<String, HstsPolicy>>,
}

impl Hsts {
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Adds (or replaces) policies; expired ones remove their host's.
    pub(crate) fn add(&self, policies: &[HstsPolicy]) {
        let mut known = lock(&self.policies);
        for policy in policies {
            if policy.is_expired() {
                known.remove(&policy.host);
            } else {
                known.insert(policy.host.clone(), policy.clone());
            }
        }
    }

    /// The policies not expired.
    pub(crate) fn policies(&self) -> Vec<HstsPolicy> {
        lock(&self.policies).values().filter(|p| !p.is_expired()).cloned().collect()
    }

    /// `url` over https, if HSTS is on and its host is known (port 80 becomes 443, another
    /// explicit port stays, as RFC 6797 §8.3 says).
    pub(crate) fn upgrade(&self, url: &Url) -> Option<Url> {
        if !self.is_enabled() || url.scheme() != "http" {
            return None;
        }
        let Some(Host::Domain(host)) = url.host() else { return None };
        if !self.known(&host.to_ascii_lowercase()) {
            return None;
        }
        let mut upgraded = url.clone();
        let port = upgraded.port();
        upgraded.set_scheme("https").ok()?;
        if port == Some(80) {
            upgraded.set_port(None).ok()?;
        }
        Some(upgraded)
    }

    fn known(&self, host: &str) -> bool {
        let policies = lock(&self.policies);
        if policies.get(host).is_some_and(|p| !p.is_expired()) {
            return true;
        }
        // A parent domain's policy that includes its subdomains.
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            if policies.get(parent).is_some_and(|p| p.include_subdomains && !p.is_expired()) {
                return true;
            }
            rest = parent;
        }
        false
    }

    /// Takes the `Strict-Transport-Security` of a response that came from `url` over TLS
    /// (RFC 6797 §8.1: never from plain http, never for an address).
    pub(crate) fn learn(&self, url: &Url, headers: &HeaderMap) {
        if !self.is_enabled() {
            return;
        }
        let Some(Host::Domain(host)) = url.host() else { return };
        let Some(value) = headers.get("strict-transport-security").and_then(|v| v.to_str().ok()) else {
            return;
        };
        let mut max_age = None;
        let mut include_subdomains = false;
        for directive in value.split(';').map(str::trim) {
            let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
            if name.trim().eq_ignore_ascii_case("max-age") {
                max_age = argument.trim().trim_matches('"').parse::<u64>().ok();
            } else if name.trim().eq_ignore_ascii_case("includesubdomains") {
                include_subdomains = true;
            }
        }
        // Without a valid max-age the header is ignored (§6.1.1); 0 forgets the host.
        let Some(max_age) = max_age else { return };
        let expiry = SystemTime::now() + Duration::from_secs(max_age);
        self.add(&[HstsPolicy::new(host, expiry, include_subdomains)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn sts(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("strict-transport-security", value.parse().unwrap());
        headers
    }

    #[test]
    fn a_host_learnt_over_https_is_upgraded_with_its_subdomains_if_it_says_so() {
        let hsts = Hsts::default();
        hsts.learn(&url("https://example.com/"), &sts("max-age=600; includeSubDomains"));
        assert_eq!(hsts.upgrade(&url("http://example.com/x")), None, "off until enabled");
        hsts.set_enabled(true);
        hsts.learn(&url("https://example.com/"), &sts("max-age=600; includeSubDomains"));
        assert_eq!(
            hsts.upgrade(&url("http://example.com:80/x?q")).unwrap().as_str(),
            "https://example.com/x?q"
        );
        assert_eq!(
            hsts.upgrade(&url("http://a.b.example.com:8080/")).unwrap().as_str(),
            "https://a.b.example.com:8080/"
        );
        assert_eq!(hsts.upgrade(&url("http://notexample.com/")), None);
        assert_eq!(hsts.upgrade(&url("https://example.com/")), None, "already https");

        hsts.learn(&url("https://only.test/"), &sts("max-age=\"60\""));
        assert!(hsts.upgrade(&url("http://only.test/")).is_some());
        assert!(hsts.upgrade(&url("http://sub.only.test/")).is_none(), "no includeSubDomains");
        hsts.learn(&url("https://only.test/"), &sts("max-age=0"));
        assert!(hsts.upgrade(&url("http://only.test/")).is_none(), "max-age=0 forgets");
    }

    #[test]
    fn headers_without_max_age_or_for_addresses_are_ignored() {
        let hsts = Hsts::default();
        hsts.set_enabled(true);
        hsts.learn(&url("https://a.test/"), &sts("includeSubDomains"));
        hsts.learn(&url("https://127.0.0.1/"), &sts("max-age=600"));
        assert!(hsts.policies().is_empty());
        let past = SystemTime::now() - Duration::from_secs(1);
        hsts.add(&[HstsPolicy::new("OLD.test.", past, false)]);
        assert!(hsts.policies().is_empty(), "an expired policy is not kept");
        assert!(hsts.upgrade(&url("http://127.0.0.1/")).is_none());
    }
}
