//! HTTP authentication plumbing (private): challenge parsing, the Basic scheme, and the
//! manager's credential cache.

use std::collections::HashMap;

use base64::Engine as _;
use url::Url;

/// One challenge of a `WWW-Authenticate`/`Proxy-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The scheme, lowercased (`basic`, `digest`, …).
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn realm(&self) -> String {
        self.param("realm").unwrap_or("").to_owned()
    }
}

/// Parses challenges (RFC 9110 §11.6.1): `Basic realm="x", Digest realm="y", nonce="z"`.
/// Malformed input yields what could be understood, never a panic.
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut rest = value.trim();
        let mut current: Option<Challenge> = None;
        while !rest.is_empty() {
            rest = rest.trim_start_matches([',', ' ', '\t']);
            if rest.is_empty() {
                break;
            }
            let token_end =
                rest.find(|c: char| c == '=' || c == ',' || c.is_whitespace()).unwrap_or(rest.len());
            let token = &rest[..token_end];
            let after = rest[token_end..].trim_start_matches([' ', '\t']);
            if let Some(value_part) = after.strip_prefix('=').filter(|v| !v.starts_with('=')) {
                // An auth-param of the current challenge.
                let value_part = value_part.trim_start();
                let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                    let mut value = String::new();
                    let mut chars = quoted.char_indices();
                    let mut end = quoted.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(escaped);
                                }
                            }
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    (value, &quoted[end.min(quoted.len())..])
                } else {
                    let end = value_part.find(',').unwrap_or(value_part.len());
                    (value_part[..end].trim().to_owned(), &value_part[end..])
                };
                if let Some(challenge) = current.as_mut() {
                    challenge.params.push((token.to_owned(), value));
                }
                rest = remaining;
            } else {
                // A new scheme (token68 forms such as `Negotiate abc==` keep no params).
                if let Some(done) = current.take() {
                    out.push(done);
                }
                if !token.is_empty() {
                    current = Some(Challenge { scheme: token.to_ascii_lowercase(), params: Vec::new() });
                }
                rest = after;
                if token.is_empty() {
                    // Skip one character of garbage to guarantee progress.
                    let mut chars = rest.chars();
                    chars.next();
                    rest = chars.as_str();
                }
            }
        }
        if let Some(done) = current.take() {
            out.push(done);
        }
    }
    out
}

/// `Basic base64(user:password)`.
pub(crate) fn basic_header(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Credentials given in the URL (`http://user:pass@host/`), percent-decoded.
pub(crate) fn url_credentials(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding_decode(s);
    Some((decode(url.username()), decode(url.password().unwrap_or(""))))
}

fn percent_encoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Where credentials are valid: scheme, host and port (the path does not matter, as in Qt).
pub(crate) type Origin = (String, String, u16);

pub(crate) fn origin_of(url: &Url) -> Origin {
    (
        url.scheme().to_owned(),
        url.host_str().unwrap_or("").to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(0),
    )
}

/// The manager's cache of accepted credentials (Qt's authentication cache), keyed by
/// origin and realm; proxy credentials apart, keyed by the proxy's scheme, host, port and
/// realm. Only credentials a server (or proxy) accepted are stored.
#[derive(Default)]
pub(crate) struct CredentialCache {
    by_realm: HashMap<(Origin, String), (String, String)>,
    /// The realm last accepted per origin, for sending credentials pre-emptively.
    last_realm: HashMap<Origin, String>,
    proxies: HashMap<(Origin, String), (String, String)>,
}

impl CredentialCache {
    pub(crate) fn get(&self, origin: &Origin, realm: &str) -> Option<(String, String)> {
        self.by_realm.get(&(origin.clone(), realm.to_owned())).cloned()
    }

    /// Credentials to send before any challenge, for an origin that accepted some before.
    pub(crate) fn preemptive(&self, origin: &Origin) -> Option<(String, (String, String))> {
        let realm = self.last_realm.get(origin)?;
        self.get(origin, realm).map(|c| (realm.clone(), c))
    }

    pub(crate) fn insert(&mut self, origin: Origin, realm: String, credentials: (String, String)) {
        self.last_realm.insert(origin.clone(), realm.clone());
        self.by_realm.insert((origin, realm), credentials);
    }

    pub(crate) fn forget(&mut self, origin: &Origin, realm: &str) {
        self.by_realm.remove(&(origin.clone(), realm.to_owned()));
        if self.last_realm.get(origin).is_some_and(|r| r == realm) {
            self.last_realm.remove(origin);
        }
    }

    /// Accepted credentials for the proxy at `proxy` (its scheme, host and port).
    pub(crate) fn proxy_get(&self, proxy: &Origin, realm: &str) -> Option<(String, String)> {
        self.proxies.get(&(proxy.clone(), realm.to_owned())).cloned()
    }

    pub(crate) fn proxy_insert(&mut self, proxy: Origin, realm: String, credentials: (String, String)) {
        self.proxies.insert((proxy, realm), credentials);
    }

    pub(crate) fn proxy_forget(&mut self, proxy: &Origin, realm: &str) {
        self.proxies.remove(&(proxy.clone(), realm.to_owned()));
    }

    pub(crate) fn clear(&mut self) {
        self.by_realm.clear();
        self.last_realm.clear();
        self.proxies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_and_multiple_challenges() {
        let c = parse_challenges(["Basic realm=\"Fake Realm\""]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].realm(), "Fake Realm");

        let c = parse_challenges([r#"Digest realm="a b", nonce="n,1", qop="auth", Basic realm=x"#]);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "digest");
        assert_eq!(c[0].param("nonce"), Some("n,1"));
        assert_eq!(c[1].scheme, "basic");
        assert_eq!(c[1].realm(), "x");

        let c = parse_challenges([r#"Basic realm="with \"quotes\"""#, "Negotiate abc=="]);
        assert_eq!(c[0].realm(), "with \"quotes\"");
        assert_eq!(c[1].scheme, "negotiate");
    }

    #[test]
    fn garbage_never_panics() {
        for junk in ["", "=", "==,", "\"", "Basic realm=\"unterminated", ",,,", "Basic =x", "ä=ö, ü"] {
            let _ = parse_challenges([junk]);
        }
    }

    #[test]
    fn basic_header_and_url_credentials() {
        assert_eq!(basic_header("user7", "passwd7"), "Basic dXNlcjc6cGFzc3dkNw==");
        let url = Url::parse("http://us%40er:p%3Ass+@h/").unwrap();
        assert_eq!(url_credentials(&url), Some(("us@er".into(), "p:ss+".into())));
        assert_eq!(url_credentials(&Url::parse("http://h/").unwrap()), None);
    }

    #[test]
    fn cache_is_per_origin_and_realm() {
        let mut cache = CredentialCache::default();
        let a = origin_of(&Url::parse("http://a.test/x").unwrap());
        let b = origin_of(&Url::parse("http://a.test:81/").unwrap());
        cache.insert(a.clone(), "r".into(), ("u".into(), "p".into()));
        assert_eq!(cache.get(&a, "r"), Some(("u".into(), "p".into())));
        assert_eq!(cache.get(&a, "other"), None);
        assert_eq!(cache.get(&b, "r"), None);
        assert_eq!(cache.preemptive(&a).map(|(r, _)| r), Some("r".into()));
        cache.forget(&a, "r");
        assert_eq!(cache.preemptive(&a), None);
    }

    #[test]
    fn proxy_credentials_are_apart_and_cleared() {
        let mut cache = CredentialCache::default();
        let proxy = origin_of(&Url::parse("http://proxy.test:3128").unwrap());
        cache.proxy_insert(proxy.clone(), String::new(), ("u".into(), "p".into()));
        assert_eq!(cache.proxy_get(&proxy, ""), Some(("u".into(), "p".into())));
        assert_eq!(cache.get(&proxy, ""), None, "not origin credentials");
        cache.proxy_forget(&proxy, "");
        assert_eq!(cache.proxy_get(&proxy, ""), None);
        cache.proxy_insert(proxy.clone(), String::new(), ("u".into(), "p".into()));
        cache.clear();
        assert_eq!(cache.proxy_get(&proxy, ""), None);
    }
}
