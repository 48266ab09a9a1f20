//! HTTP authentication plumbing (private): challenge parsing, the Basic and Digest
//! schemes, and the manager's credential cache.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};
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

/// A Digest hash algorithm (RFC 7616 §3.3), with its `-sess` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// The algorithm named by a challenge; `None` (MD5, RFC 2617's default) when absent,
    /// `Err` for one we do not support (SHA-512-256, anything unknown).
    fn parse(name: Option<&str>) -> Result<Self, ()> {
        let Some(name) = name else { return Ok(Algorithm::Md5) };
        match name.trim().to_ascii_uppercase().as_str() {
            "MD5" => Ok(Algorithm::Md5),
            "MD5-SESS" => Ok(Algorithm::Md5Sess),
            "SHA-256" => Ok(Algorithm::Sha256),
            "SHA-256-SESS" => Ok(Algorithm::Sha256Sess),
            _ => Err(()),
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Strength rank, to prefer SHA-256 over MD5 when a server offers both.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 0,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 1,
        }
    }

    /// The lowercase hex digest of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A Digest challenge we can answer: a supported algorithm, and either qop `auth` offered
/// or no qop at all (RFC 2069's legacy form). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// The algorithm token as the server wrote it, echoed back; `None` if it sent none.
    algorithm_token: Option<String>,
    /// `qop=auth` was offered (else the legacy form without qop, nc and cnonce).
    qop_auth: bool,
    /// `stale=true`: the previous nonce expired, the credentials were fine.
    pub(crate) stale: bool,
}

impl DigestChallenge {
    /// `None` unless `challenge` is a Digest challenge we support.
    pub(crate) fn from_challenge(challenge: &Challenge) -> Option<Self> {
        if challenge.scheme != "digest" {
            return None;
        }
        let nonce = challenge.param("nonce")?.to_owned();
        let algorithm = Algorithm::parse(challenge.param("algorithm")).ok()?;
        let qop_auth = match challenge.param("qop") {
            None => false,
            Some(list) => {
                if !list.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
                    // auth-int only (or nothing known): we do not hash bodies.
                    return None;
                }
                true
            }
        };
        Some(DigestChallenge {
            realm: challenge.realm(),
            nonce,
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm,
            algorithm_token: challenge.param("algorithm").map(|a| a.trim().to_owned()),
            qop_auth,
            stale: challenge.param("stale").is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` value for `user`/`password` on `method` `uri` (the request-target
    /// as sent: path and query), with nonce count `nc` and client nonce `cnonce` (both
    /// unused in the legacy form without qop, except `cnonce` for a `-sess` algorithm).
    pub(crate) fn authorization(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let h = |data: &str| self.algorithm.hash(data);
        let mut ha1 = h(&format!("{user}:{}:{password}", self.realm));
        if self.algorithm.is_sess() {
            ha1 = h(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = h(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if self.qop_auth {
            h(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            h(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut out = String::from("Digest ");
        if user.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            let _ = write!(out, "username={}", quote(user));
        } else {
            // RFC 7616 §3.4.4: a name that is not printable ASCII travels percent-encoded.
            out.push_str("username*=UTF-8''");
            for b in user.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
        let _ =
            write!(out, ", realm={}, nonce={}, uri={}", quote(&self.realm), quote(&self.nonce), quote(uri));
        if let Some(algorithm) = &self.algorithm_token {
            let _ = write!(out, ", algorithm={algorithm}");
        }
        let _ = write!(out, ", response=\"{response}\"");
        if let Some(opaque) = &self.opaque {
            let _ = write!(out, ", opaque={}", quote(opaque));
        }
        if self.qop_auth {
            let _ = write!(out, ", qop=auth, nc={nc}, cnonce={}", quote(cnonce));
        } else if self.algorithm.is_sess() {
            let _ = write!(out, ", cnonce={}", quote(cnonce));
        }
        out
    }
}

/// A quoted-string (RFC 9110 §5.6.4).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The challenge to answer among a 401's: the strongest supported Digest (SHA-256 before
/// MD5, then the server's order), else Basic, else none.
pub(crate) fn choose(challenges: &[Challenge]) -> Option<Chosen> {
    let mut best: Option<DigestChallenge> = None;
    for digest in challenges.iter().filter_map(DigestChallenge::from_challenge) {
        if best.as_ref().is_none_or(|b| digest.algorithm.strength() > b.algorithm.strength()) {
            best = Some(digest);
        }
    }
    if let Some(digest) = best {
        return Some(Chosen::Digest(digest));
    }
    challenges.iter().find(|c| c.scheme == "basic").map(|c| Chosen::Basic { realm: c.realm() })
}

/// The challenge [`choose`] picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    Basic { realm: String },
    Digest(DigestChallenge),
}

impl Chosen {
    pub(crate) fn realm(&self) -> &str {
        match self {
            Chosen::Basic { realm } => realm,
            Chosen::Digest(d) => &d.realm,
        }
    }
}

/// A fresh client nonce: 128 bits in hex, from SipHash keyed by the standard library's
/// per-process random key (seeded from the operating system) over a counter and the clock:
/// never repeated and not predictable, which is what a cnonce needs.
pub(crate) fn cnonce() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mut bytes = [0u8; 16];
    for (half, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(count);
        hasher.write_usize(half);
        hasher.write_u128(now);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    hex(&bytes)
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
    proxies: HashMap<Origin, (String, String)>,
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

    /// Caches credentials the server accepted for `realm`. Only `preemptive` ones (Basic)
    /// are sent before the next challenge: Digest needs the server's nonce, so a Digest
    /// realm costs one 401, answered from the cache without asking.
    pub(crate) fn insert(
        &mut self,
        origin: Origin,
        realm: String,
        credentials: (String, String),
        preemptive: bool,
    ) {
        if preemptive {
            self.last_realm.insert(origin.clone(), realm.clone());
        } else if self.last_realm.get(&origin).is_some_and(|r| *r == realm) {
            self.last_realm.remove(&origin);
        }
        self.by_realm.insert((origin, realm), credentials);
    }

    pub(crate) fn forget(&mut self, origin: &Origin, realm: &str) {
        self.by_realm.remove(&(origin.clone(), realm.to_owned()));
        if self.last_realm.get(origin).is_some_and(|r| r == realm) {
            self.last_realm.remove(origin);
        }
    }

    /// Accepted credentials for the proxy at `proxy` (its scheme, host and port).
    /// (Keyed by the proxy alone: ureq reports a refused CONNECT without its headers, so
    /// the realm of a proxy's 407 is unknown.)
    pub(crate) fn proxy_get(&self, proxy: &Origin) -> Option<(String, String)> {
        self.proxies.get(proxy).cloned()
    }

    pub(crate) fn proxy_insert(&mut self, proxy: Origin, credentials: (String, String)) {
        self.proxies.insert(proxy, credentials);
    }

    pub(crate) fn proxy_forget(&mut self, proxy: &Origin) {
        self.proxies.remove(proxy);
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

    /// The param `name` of an Authorization value we built.
    fn field(authorization: &str, name: &str) -> Option<String> {
        let body = authorization.strip_prefix("Digest ")?;
        parse_challenges([format!("Digest {body}").as_str()])[0].param(name).map(str::to_owned)
    }

    /// RFC 7616 §3.9.1: the same challenge with SHA-256 and with MD5.
    const RFC7616: [&str; 2] = [
        r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
    ];
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn digest(header: &str) -> DigestChallenge {
        DigestChallenge::from_challenge(&parse_challenges([header])[0]).expect("supported")
    }

    #[test]
    fn digest_matches_rfc_7616_example() {
        let sha = digest(RFC7616[0]);
        let value =
            sha.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, RFC7616_CNONCE);
        assert_eq!(
            field(&value, "response").as_deref(),
            Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        );
        assert_eq!(
            value,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", \
             algorithm=SHA-256, \
             response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", qop=auth, nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\""
        );
        let md5 = digest(RFC7616[1]);
        let value =
            md5.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, RFC7616_CNONCE);
        assert_eq!(field(&value, "response").as_deref(), Some("8ca523f5e9506fed4657c9700eebdbec"));
        assert_eq!(field(&value, "algorithm").as_deref(), Some("MD5"));

        // Offered both, the client takes SHA-256, whatever the order.
        for order in [[0, 1], [1, 0]] {
            let offered = parse_challenges(order.map(|i| RFC7616[i]));
            assert_eq!(choose(&offered), Some(Chosen::Digest(sha.clone())));
        }
    }

    #[test]
    fn digest_matches_rfc_2617_example_and_legacy_form() {
        let header = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let challenge = digest(header);
        let value =
            challenge.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b");
        assert_eq!(field(&value, "response").as_deref(), Some("6629fae49393a05397450978507c4ef1"));
        assert_eq!(field(&value, "algorithm"), None, "not sent when the challenge had none");

        // RFC 2069: no qop, so no nc or cnonce either (values from Python's hashlib).
        let legacy =
            digest(r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#);
        let value = legacy.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b");
        assert_eq!(field(&value, "response").as_deref(), Some("670fd8c2df070c60b045671b8b24ff02"));
        for absent in ["qop", "nc", "cnonce", "opaque"] {
            assert_eq!(field(&value, absent), None, "{absent} in {value}");
        }
    }

    #[test]
    fn digest_sess_variants_and_nonce_count() {
        let sha_sess = digest(&RFC7616[0].replace("SHA-256", "SHA-256-sess"));
        let value =
            sha_sess.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 2, RFC7616_CNONCE);
        assert_eq!(
            field(&value, "response").as_deref(),
            Some("6bb0010aa4bdf46422a798c509ea32e256f27bd37de5cc3bdf8ed51e1d77d650")
        );
        assert_eq!(field(&value, "nc").as_deref(), Some("00000002"));
        assert_eq!(field(&value, "algorithm").as_deref(), Some("SHA-256-sess"));
        let md5_sess = digest(
            r#"Digest realm="testrealm@host.com", qop="auth", algorithm=md5-sess, nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        );
        let value = md5_sess.authorization("Mufasa", "Circle Of Life", "POST", "/a?b=c", 1, "0a4f113b");
        assert_eq!(field(&value, "response").as_deref(), Some("6680d5b0e0e5d5e4a1a59a643a9c30dc"));
        assert_eq!(field(&value, "uri").as_deref(), Some("/a?b=c"));
    }

    #[test]
    fn unsupported_digest_challenges_fall_back_to_basic_or_nothing() {
        let auth_int = r#"Digest realm="r", nonce="n", qop="auth-int""#;
        let sha512 = r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512-256"#;
        let no_nonce = r#"Digest realm="r", qop="auth""#;
        for header in [auth_int, sha512, no_nonce] {
            assert_eq!(choose(&parse_challenges([header])), None, "{header}");
            let with_basic = parse_challenges([header, "Basic realm=\"b\""]);
            assert_eq!(choose(&with_basic), Some(Chosen::Basic { realm: "b".into() }), "{header}");
        }
        // Digest is preferred to Basic, whichever comes first.
        let both = parse_challenges([r#"Basic realm="b", Digest realm="d", nonce="n", qop="auth""#]);
        assert_eq!(choose(&both).map(|c| c.realm().to_owned()).as_deref(), Some("d"));
        let stale = digest(r#"Digest realm="d", nonce="n", stale=TRUE"#);
        assert!(stale.stale);
    }

    #[test]
    fn digest_quotes_values_and_encodes_unusual_user_names() {
        let challenge = digest(r#"Digest realm="a \"quoted\" realm", nonce="n", qop="auth""#);
        let value = challenge.authorization("ü\"ser", "pw", "GET", "/", 1, "c");
        assert!(value.starts_with("Digest username*=UTF-8''%C3%BC%22ser, "), "{value}");
        assert!(value.contains(r#"realm="a \"quoted\" realm""#), "{value}");
        assert_eq!(field(&value, "realm").as_deref(), Some("a \"quoted\" realm"));
        assert!(!value.contains("pw"), "{value}");
        let value = challenge.authorization("a\\b", "pw", "GET", "/", 1, "c");
        assert_eq!(field(&value, "username").as_deref(), Some("a\\b"));
    }

    #[test]
    fn cnonces_differ() {
        let (a, b) = (cnonce(), cnonce());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn digest_realms_are_cached_but_not_sent_preemptively() {
        let mut cache = CredentialCache::default();
        let a = origin_of(&Url::parse("http://a.test/x").unwrap());
        cache.insert(a.clone(), "d".into(), ("u".into(), "p".into()), false);
        assert_eq!(cache.get(&a, "d"), Some(("u".into(), "p".into())));
        assert_eq!(cache.preemptive(&a), None);
        // A realm that moved from Basic to Digest stops being sent pre-emptively.
        cache.insert(a.clone(), "r".into(), ("u".into(), "p".into()), true);
        assert!(cache.preemptive(&a).is_some());
        cache.insert(a.clone(), "r".into(), ("u".into(), "p".into()), false);
        assert_eq!(cache.preemptive(&a), None);
    }

    #[test]
    fn cache_is_per_origin_and_realm() {
        let mut cache = CredentialCache::default();
        let a = origin_of(&Url::parse("http://a.test/x").unwrap());
        let b = origin_of(&Url::parse("http://a.test:81/").unwrap());
        cache.insert(a.clone(), "r".into(), ("u".into(), "p".into()), true);
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
        cache.proxy_insert(proxy.clone(), ("u".into(), "p".into()));
        assert_eq!(cache.proxy_get(&proxy), Some(("u".into(), "p".into())));
        assert_eq!(cache.get(&proxy, ""), None, "not origin credentials");
        cache.proxy_forget(&proxy);
        assert_eq!(cache.proxy_get(&proxy), None);
        cache.proxy_insert(proxy.clone(), ("u".into(), "p".into()));
        cache.clear();
        assert_eq!(cache.proxy_get(&proxy), None);
    }
}
