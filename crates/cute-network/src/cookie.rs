//! Cookies as Qt shapes them ([`NetworkCookie`], [`NetworkCookieJar`]), over `cookie_store`
//! (RFC 6265's storage and matching rules) and the `cookie` crate (parsing).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie_store::{CookieDomain, CookieExpiration, CookieStore, RawCookie};
use hyper::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use crate::sync::lock;

/// A cookie's `SameSite` attribute (Qt's `QNetworkCookie::SameSite`).
#[doc(alias = "QNetworkCookie::SameSite")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SameSite {
    /// No `SameSite` attribute.
    #[default]
    Default,
    /// `SameSite=None`.
    None,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

/// How much of a cookie [`NetworkCookie::to_raw_form`] writes (Qt's
/// `QNetworkCookie::RawForm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawForm {
    /// `name=value`, as in a `Cookie` request header.
    NameAndValueOnly,
    /// Every attribute, as in a `Set-Cookie` response header.
    Full,
}

/// One cookie (Qt's `QNetworkCookie`).
///
/// The domain follows Qt's convention: `.example.com` (a leading dot) is a domain cookie,
/// sent to `example.com` and its subdomains; `example.com` is a host-only cookie; empty
/// means "the host of the URL it came from" until it is stored.
///
/// # Examples
///
/// ```
/// use cute_network::NetworkCookie;
///
/// let cookies = NetworkCookie::parse_cookies(b"session=abc123; Path=/; HttpOnly; Max-Age=3600");
/// let cookie = &cookies[0];
/// assert_eq!((cookie.name(), cookie.value()), ("session", "abc123"));
/// assert!(cookie.is_http_only() && !cookie.is_session_cookie());
/// assert_eq!(cookie.to_raw_form(cute_network::RawForm::NameAndValueOnly), b"session=abc123");
/// ```
#[doc(alias = "QNetworkCookie")]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkCookie {
    name: String,
    value: String,
    domain: String,
    path: String,
    expiration: Option<SystemTime>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
}

impl NetworkCookie {
    /// A session cookie `name=value` with no other attribute.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        NetworkCookie { name: name.into(), value: value.into(), ..Self::default() }
    }

    /// The cookies of `Set-Cookie` header values, one per line (Qt's `parseCookies`);
    /// lines that are not cookies are skipped.
    #[doc(alias = "parseCookies")]
    pub fn parse_cookies(raw: &[u8]) -> Vec<NetworkCookie> {
        String::from_utf8_lossy(raw)
            .lines()
            .filter_map(|line| RawCookie::parse(line.trim().to_owned()).ok())
            .map(|raw| NetworkCookie::from_raw(&raw))
            .collect()
    }

    fn from_raw(raw: &RawCookie<'_>) -> Self {
        let expiration = raw
            .max_age()
            .map(|age| {
                SystemTime::now() + Duration::from_secs(u64::try_from(age.whole_seconds()).unwrap_or(0))
            })
            .or_else(|| raw.expires_datetime().map(SystemTime::from))
            .map(whole_seconds);
        NetworkCookie {
            name: raw.name().to_owned(),
            value: raw.value().to_owned(),
            // Qt marks a domain cookie with a leading dot.
            domain: raw.domain().map(|d| format!(".{}", d.trim_start_matches('.'))).unwrap_or_default(),
            path: raw.path().unwrap_or_default().to_owned(),
            expiration,
            secure: raw.secure().unwrap_or(false),
            http_only: raw.http_only().unwrap_or(false),
            same_site: match raw.same_site() {
                Some(cookie::SameSite::None) => SameSite::None,
                Some(cookie::SameSite::Lax) => SameSite::Lax,
                Some(cookie::SameSite::Strict) => SameSite::Strict,
                None => SameSite::Default,
            },
        }
    }

    fn from_stored(stored: &cookie_store::Cookie<'_>) -> Self {
        let mut cookie = NetworkCookie::from_raw(stored);
        cookie.domain = match &stored.domain {
            CookieDomain::HostOnly(host) => host.clone(),
            CookieDomain::Suffix(suffix) => format!(".{suffix}"),
            CookieDomain::NotPresent | CookieDomain::Empty => String::new(),
        };
        cookie.path = String::from(&stored.path);
        cookie.expiration = match &stored.expires {
            CookieExpiration::AtUtc(at) => Some(whole_seconds(SystemTime::from(*at))),
            CookieExpiration::SessionEnd => None,
        };
        cookie
    }

    /// The cookie as the `cookie` crate writes it, with its domain and expiry.
    fn to_raw(&self) -> RawCookie<'static> {
        let mut raw = RawCookie::new(self.name.clone(), self.value.clone());
        if !self.path.is_empty() {
            raw.set_path(self.path.clone());
        }
        if let Some(domain) = self.domain.strip_prefix('.') {
            raw.set_domain(domain.to_owned());
        }
        if self.secure {
            raw.set_secure(true);
        }
        if self.http_only {
            raw.set_http_only(true);
        }
        match self.same_site {
            SameSite::Default => {}
            SameSite::None => raw.set_same_site(cookie::SameSite::None),
            SameSite::Lax => raw.set_same_site(cookie::SameSite::Lax),
            SameSite::Strict => raw.set_same_site(cookie::SameSite::Strict),
        }
        if let Some(at) = self.expiration {
            raw.set_expires(time::OffsetDateTime::from(at));
        }
        raw
    }

    /// The cookie as text (Qt's `toRawForm`): `name=value`, or a whole `Set-Cookie` value.
    #[doc(alias = "toRawForm")]
    pub fn to_raw_form(&self, form: RawForm) -> Vec<u8> {
        match form {
            RawForm::NameAndValueOnly => format!("{}={}", self.name, self.value).into_bytes(),
            RawForm::Full => {
                let mut raw = self.to_raw().to_string();
                if self.domain.is_empty() || self.domain.starts_with('.') {
                    return raw.into_bytes();
                }
                // A host-only cookie's host, which a `Set-Cookie` has no attribute for.
                raw.push_str("; Domain=");
                raw.push_str(&self.domain);
                raw.into_bytes()
            }
        }
    }

    /// Whether `other` names the same cookie: the same name, domain and path (Qt's
    /// `hasSameIdentifier`).
    #[doc(alias = "hasSameIdentifier")]
    pub fn has_same_identifier(&self, other: &NetworkCookie) -> bool {
        self.name == other.name && self.domain == other.domain && self.path == other.path
    }

    /// Fills in a missing domain (the host of `url`, host-only) and path (the directory of
    /// `url`'s path), as a cookie received from `url` gets them (Qt's `normalize`).
    pub fn normalize(&mut self, url: &Url) {
        if self.domain.is_empty() {
            self.domain = url.host_str().unwrap_or_default().to_owned();
        }
        if self.path.is_empty() {
            let path = url.path();
            self.path = match path.rfind('/') {
                Some(0) | None => "/".to_owned(),
                Some(at) => path[..at].to_owned(),
            };
        }
    }

    /// Whether it ends with the session (no expiry date; Qt's `isSessionCookie`).
    pub fn is_session_cookie(&self) -> bool {
        self.expiration.is_none()
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the name.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Sets the value.
    pub fn set_value(&mut self, value: impl Into<String>) {
        self.value = value.into();
    }

    /// The domain (see the type's documentation for the leading dot).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Sets the domain.
    pub fn set_domain(&mut self, domain: impl Into<String>) {
        self.domain = domain.into();
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sets the path.
    pub fn set_path(&mut self, path: impl Into<String>) {
        self.path = path.into();
    }

    /// When it expires; `None` for a session cookie (Qt's `expirationDate`).
    pub fn expiration_date(&self) -> Option<SystemTime> {
        self.expiration
    }

    /// Sets when it expires; `None` makes it a session cookie.
    pub fn set_expiration_date(&mut self, at: Option<SystemTime>) {
        self.expiration = at;
    }

    /// Whether it is sent over https only.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Sets whether it is sent over https only.
    pub fn set_secure(&mut self, secure: bool) {
        self.secure = secure;
    }

    /// Whether scripts may not see it (`HttpOnly`).
    pub fn is_http_only(&self) -> bool {
        self.http_only
    }

    /// Sets `HttpOnly`.
    pub fn set_http_only(&mut self, http_only: bool) {
        self.http_only = http_only;
    }

    /// The `SameSite` attribute (Qt's `sameSitePolicy`).
    pub fn same_site_policy(&self) -> SameSite {
        self.same_site
    }

    /// Sets the `SameSite` attribute.
    pub fn set_same_site_policy(&mut self, same_site: SameSite) {
        self.same_site = same_site;
    }

    fn to_json(&self) -> Value {
        let expires = self.expiration.and_then(|at| at.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        json!({
            "name": self.name,
            "value": self.value,
            "domain": self.domain,
            "path": self.path,
            "expires": expires,
            "secure": self.secure,
            "http_only": self.http_only,
            "same_site": format!("{:?}", self.same_site),
        })
    }

    fn from_json(value: &Value) -> Option<NetworkCookie> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        Some(NetworkCookie {
            name: text("name")?,
            value: text("value").unwrap_or_default(),
            domain: text("domain").unwrap_or_default(),
            path: text("path").unwrap_or_default(),
            expiration: value
                .get("expires")
                .and_then(Value::as_u64)
                .map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            secure: flag("secure"),
            http_only: flag("http_only"),
            same_site: match text("same_site").as_deref() {
                Some("None") => SameSite::None,
                Some("Lax") => SameSite::Lax,
                Some("Strict") => SameSite::Strict,
                _ => SameSite::Default,
            },
        })
    }
}

/// A jar of cookies (Qt's `QNetworkCookieJar`): what a manager sends and stores, by
/// RFC 6265's rules (scoped by domain and path, not port; expired cookies dropped).
///
/// A jar is a handle: clones share the cookies, so one jar can serve several managers
/// (`set_cookie_jar`), on one thread or several. Unlike Qt's, it can be saved to a file and
/// loaded back, so a login survives a restart.
///
/// # Examples
///
/// ```
/// use cute_network::{NetworkCookie, NetworkCookieJar, Url};
///
/// let jar = NetworkCookieJar::new();
/// let url = Url::parse("https://example.com/account/login").unwrap();
/// let cookies = NetworkCookie::parse_cookies(b"token=xyz; Path=/; Max-Age=86400");
/// assert!(jar.set_cookies_from_url(&cookies, &url));
/// let sent = jar.cookies_for_url(&Url::parse("https://example.com/feed").unwrap());
/// assert_eq!(sent[0].value(), "xyz");
///
/// let file = std::env::temp_dir().join("cute-doc-cookies.json");
/// jar.save(&file).unwrap();
/// let restored = NetworkCookieJar::load(&file).unwrap();
/// assert_eq!(restored.all_cookies(), jar.all_cookies());
/// # std::fs::remove_file(&file).unwrap();
/// ```
#[doc(alias = "QNetworkCookieJar")]
#[derive(Clone, Default)]
pub struct NetworkCookieJar {
    store: Arc<Mutex<CookieStore>>,
}

impl fmt::Debug for NetworkCookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are credentials: the count only.
        f.debug_struct("NetworkCookieJar")
            .field("cookies", &lock(&self.store).iter_unexpired().count())
            .finish()
    }
}

/// `at` without its fraction of a second: cookie dates are whole seconds (HTTP dates), and
/// a saved jar loads back equal.
fn whole_seconds(at: SystemTime) -> SystemTime {
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

/// A URL a cookie could have come from, for storing it under the jar's rules.
fn origin_of(cookie: &NetworkCookie) -> Option<Url> {
    let host = cookie.domain.trim_start_matches('.');
    if host.is_empty() {
        return None;
    }
    let scheme = if cookie.secure { "https" } else { "http" };
    let path = if cookie.path.starts_with('/') { cookie.path.as_str() } else { "/" };
    Url::parse(&format!("{scheme}://{host}{path}")).ok()
}

impl NetworkCookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every cookie not expired (Qt's `allCookies`).
    #[doc(alias = "allCookies")]
    pub fn all_cookies(&self) -> Vec<NetworkCookie> {
        lock(&self.store).iter_unexpired().map(NetworkCookie::from_stored).collect()
    }

    /// Replaces every cookie with `cookies` (Qt's `setAllCookies`); each needs a domain
    /// (cookies without one are skipped).
    #[doc(alias = "setAllCookies")]
    pub fn set_all_cookies(&self, cookies: &[NetworkCookie]) {
        let mut store = CookieStore::default();
        for cookie in cookies {
            if let Some(url) = origin_of(cookie) {
                let _ = store.insert_raw(&cookie.to_raw(), &url);
            }
        }
        *lock(&self.store) = store;
    }

    /// The cookies a request to `url` would send (Qt's `cookiesForUrl`).
    #[doc(alias = "cookiesForUrl")]
    pub fn cookies_for_url(&self, url: &Url) -> Vec<NetworkCookie> {
        lock(&self.store).matches(url).into_iter().map(NetworkCookie::from_stored).collect()
    }

    /// Stores `cookies` as received from `url` (Qt's `setCookiesFromUrl`): RFC 6265
    /// decides which are accepted (a domain `url` may set, a secure cookie from https).
    /// Returns whether any was.
    #[doc(alias = "setCookiesFromUrl")]
    pub fn set_cookies_from_url(&self, cookies: &[NetworkCookie], url: &Url) -> bool {
        let mut store = lock(&self.store);
        let mut any = false;
        for cookie in cookies {
            any |= store.insert_raw(&cookie.to_raw(), url).is_ok();
        }
        any
    }

    /// Adds `cookie`, replacing one with the same identifier (Qt's `insertCookie`).
    /// Returns false if it has no domain or the jar refuses it (expired, say).
    #[doc(alias = "insertCookie")]
    pub fn insert_cookie(&self, cookie: &NetworkCookie) -> bool {
        let Some(url) = origin_of(cookie) else { return false };
        lock(&self.store).insert_raw(&cookie.to_raw(), &url).is_ok()
    }

    /// Replaces the cookie with `cookie`'s identifier (Qt's `updateCookie`); false if there
    /// is none.
    #[doc(alias = "updateCookie")]
    pub fn update_cookie(&self, cookie: &NetworkCookie) -> bool {
        self.delete_cookie(cookie) && self.insert_cookie(cookie)
    }

    /// Removes the cookie with `cookie`'s identifier (Qt's `deleteCookie`); false if there
    /// is none.
    #[doc(alias = "deleteCookie")]
    pub fn delete_cookie(&self, cookie: &NetworkCookie) -> bool {
        let domain = cookie.domain.trim_start_matches('.');
        lock(&self.store).remove(domain, &cookie.path, &cookie.name).is_some()
    }

    /// Removes every cookie.
    pub fn clear(&self) {
        lock(&self.store).clear();
    }

    /// Writes the cookies not expired, session cookies included, to `path` as JSON (not in
    /// Qt): load them back with [`load`](Self::load).
    ///
    /// # Errors
    ///
    /// The error writing the file.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let cookies: Vec<Value> = self.all_cookies().iter().map(NetworkCookie::to_json).collect();
        let text = serde_json::to_string_pretty(&json!({ "cute_cookie_jar": 1, "cookies": cookies }))
            .map_err(io::Error::other)?;
        std::fs::write(path, text)
    }

    /// A jar with the cookies [`save`](Self::save) wrote to `path` (those expired since are
    /// dropped).
    ///
    /// # Errors
    ///
    /// The error reading the file, or `InvalidData` if it is not a saved jar.
    pub fn load(path: impl AsRef<Path>) -> io::Result<NetworkCookieJar> {
        let text = std::fs::read_to_string(path)?;
        let saved: Value =
            serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let Some(list) = saved.get("cookies").and_then(Value::as_array) else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not a saved cookie jar"));
        };
        let cookies: Vec<NetworkCookie> = list.iter().filter_map(NetworkCookie::from_json).collect();
        let jar = NetworkCookieJar::new();
        jar.set_all_cookies(&cookies);
        Ok(jar)
    }

    /// The `Cookie` header for a request to `url`, if the jar has cookies for it.
    pub(crate) fn header_for(&self, url: &Url) -> Option<String> {
        let store = lock(&self.store);
        let pairs: Vec<String> =
            store.get_request_values(url).map(|(name, value)| format!("{name}={value}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Keeps the cookies a response from `url` sets (its `Set-Cookie` headers).
    pub(crate) fn store_from(&self, url: &Url, headers: &HeaderMap) {
        let cookies: Vec<RawCookie<'static>> = headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| RawCookie::parse(value.to_owned()).ok())
            .collect();
        if !cookies.is_empty() {
            lock(&self.store).store_response_cookies(cookies.into_iter(), url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn cookies_follow_host_and_path_not_port() {
        let jar = NetworkCookieJar::new();
        let mut headers = HeaderMap::new();
        headers.append(hyper::header::SET_COOKIE, "a=1; Path=/".parse().unwrap());
        headers.append(hyper::header::SET_COOKIE, "b=2; Path=/deep".parse().unwrap());
        jar.store_from(&url("http://127.0.0.1:8080/x"), &headers);
        assert_eq!(jar.header_for(&url("http://127.0.0.1:9999/")).as_deref(), Some("a=1"));
        let deep = jar.header_for(&url("http://127.0.0.1:8080/deep/er")).unwrap();
        assert!(deep.contains("a=1") && deep.contains("b=2"), "{deep}");
        assert_eq!(jar.header_for(&url("http://localhost/")), None);
    }

    #[test]
    fn parse_reads_every_attribute_and_full_form_writes_them_back() {
        let cookies = NetworkCookie::parse_cookies(
            b"id=7; Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Strict; Max-Age=60\nbad\nlang=en",
        );
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        let id = &cookies[0];
        assert_eq!((id.domain(), id.path()), (".example.com", "/app"));
        assert!(id.is_secure() && id.is_http_only() && !id.is_session_cookie());
        assert_eq!(id.same_site_policy(), SameSite::Strict);
        let full = String::from_utf8(id.to_raw_form(RawForm::Full)).unwrap();
        for part in
            ["id=7", "Domain=example.com", "Path=/app", "Secure", "HttpOnly", "SameSite=Strict", "Expires="]
        {
            assert!(full.contains(part), "{part} missing from {full}");
        }
        assert!(cookies[1].is_session_cookie());
        assert!(id.has_same_identifier(&id.clone()));
        assert!(!id.has_same_identifier(&cookies[1]));
    }

    #[test]
    fn the_jar_inserts_updates_deletes_and_answers_for_urls() {
        let jar = NetworkCookieJar::new();
        let mut cookie = NetworkCookie::new("k", "v1");
        assert!(!jar.insert_cookie(&cookie), "no domain");
        cookie.normalize(&url("https://shop.example/cart/items"));
        assert_eq!((cookie.domain(), cookie.path()), ("shop.example", "/cart"));
        assert!(jar.insert_cookie(&cookie));
        assert_eq!(jar.cookies_for_url(&url("https://shop.example/cart/x")).len(), 1);
        assert!(jar.cookies_for_url(&url("https://shop.example/other")).is_empty(), "path scope");
        assert!(jar.cookies_for_url(&url("https://sub.shop.example/cart/x")).is_empty(), "host-only");
        cookie.set_value("v2");
        assert!(jar.update_cookie(&cookie));
        assert_eq!(jar.all_cookies()[0].value(), "v2");
        assert!(jar.delete_cookie(&cookie));
        assert!(!jar.delete_cookie(&cookie));
        assert!(!jar.update_cookie(&cookie), "nothing to update");

        // Another site cannot set a cookie for this one.
        let foreign = NetworkCookie::parse_cookies(b"x=1; Domain=shop.example");
        assert!(!jar.set_cookies_from_url(&foreign, &url("https://evil.example/")));
        assert!(jar.all_cookies().is_empty());
    }

    #[test]
    fn a_saved_jar_loads_back_without_what_expired() {
        let jar = NetworkCookieJar::new();
        let from = url("https://example.com/");
        let cookies =
            NetworkCookie::parse_cookies(b"session=s; Path=/\nkeep=k; Path=/; Max-Age=3600; Secure");
        assert!(jar.set_cookies_from_url(&cookies, &from));
        let mut old = NetworkCookie::new("old", "o");
        old.normalize(&from);
        old.set_expiration_date(Some(SystemTime::now() + Duration::from_secs(1)));
        assert!(jar.insert_cookie(&old));
        let file = std::env::temp_dir().join(format!("cute-cookie-unit-{}.json", std::process::id()));
        jar.save(&file).unwrap();
        // Rewrite the saved expiry of `old` into the past.
        let text = std::fs::read_to_string(&file).unwrap();
        let mut saved: Value = serde_json::from_str(&text).unwrap();
        for cookie in saved["cookies"].as_array_mut().unwrap() {
            if cookie["name"] == "old" {
                cookie["expires"] = json!(1);
            }
        }
        std::fs::write(&file, saved.to_string()).unwrap();
        let loaded = NetworkCookieJar::load(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let mut names: Vec<String> = loaded.all_cookies().iter().map(|c| c.name().to_owned()).collect();
        names.sort();
        assert_eq!(names, ["keep", "session"]);
        assert_eq!(
            loaded.header_for(&from).map(|h| h.len()),
            jar.header_for(&from).map(|h| h.len() - "old=o; ".len())
        );
        assert!(NetworkCookieJar::load("/nonexistent/cute/jar.json").is_err());
    }
}
