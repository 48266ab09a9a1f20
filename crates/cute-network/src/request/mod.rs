//! Requests ([`NetworkRequest`], Qt's `QNetworkRequest`) and Qt's request enums.

use std::fmt;
use std::time::Duration;

use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};
use url::Url;

use crate::error::{Failure, NetworkError};
use crate::protocol::{Scheme, Wire};

mod given_url;
mod kinds;

pub use given_url::RequestUrl;
use given_url::{Given, redacted_url};
pub(crate) use given_url::{has_forbidden_bytes, is_secret_header, redact};
pub use kinds::{
    Attribute, AttributeValue, CacheLoadControl, KnownHeaders, LoadControl, Operation, Priority,
    RedirectPolicy,
};

/// Defaults for [`NetworkRequest::decompressed_safety_check_threshold`]: 10 MiB, as Qt.
pub const DEFAULT_DECOMPRESSION_THRESHOLD: i64 = 10 * 1024 * 1024;

/// Qt's default maximum number of redirects followed.
pub const DEFAULT_MAXIMUM_REDIRECTS: u32 = 50;

/// A request to send with a [`NetworkAccessManager`](crate::NetworkAccessManager) (Qt's
/// `QNetworkRequest`): a URL, headers, and per-request settings.
///
/// A plain value: clone it, change it, reuse it. Header names are case-insensitive.
/// Settings left unset fall back to the manager's (redirect policy, transfer timeout).
///
/// # Examples
///
/// ```
/// use cute_network::{KnownHeaders, NetworkRequest};
///
/// let mut req = NetworkRequest::new("https://httpbin.org/post");
/// req.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
/// req.set_raw_header("X-Token", "secret");
/// assert_eq!(req.header(KnownHeaders::ContentTypeHeader).as_deref(), Some("application/x-www-form-urlencoded"));
/// assert!(req.has_raw_header("x-token"));
/// assert_eq!(req.url().unwrap().host_str(), Some("httpbin.org"));
/// ```
#[doc(alias = "QNetworkRequest")]
#[derive(Clone)]
pub struct NetworkRequest {
    url: RequestUrl,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// What the application changed from the defaults; `None` while nothing was (most
    /// requests: a queued request carries these 8 bytes instead of the whole set).
    options: Option<Box<Options>>,
}

/// A request's settings beside its URL and headers.
#[derive(Debug, Clone)]
struct Options {
    redirect_policy: Option<RedirectPolicy>,
    maximum_redirects: u32,
    transfer_timeout: Option<Duration>,
    read_buffer_size: u64,
    decompression_threshold: i64,
    maximum_body_size: Option<u64>,
    http2_allowed: bool,
    http2_direct: bool,
    priority: Priority,
    cookie_load: LoadControl,
    cookie_save: LoadControl,
    authentication_reuse: LoadControl,
    emit_all_upload_progress: bool,
    do_not_buffer_upload_data: bool,
    /// The request's own TLS settings (`set_ssl_configuration`), if any.
    ssl: Option<std::sync::Arc<crate::tls::Tls>>,
    cache_load: CacheLoadControl,
    cache_save: bool,
    /// What the manager's cache adds on the wire (validators, `no-cache`): not the
    /// application's headers, and never part of `NetworkReply::request`.
    cache_headers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The settings of a request nobody changed.
static DEFAULT_OPTIONS: Options = Options {
    redirect_policy: None,
    maximum_redirects: DEFAULT_MAXIMUM_REDIRECTS,
    transfer_timeout: None,
    read_buffer_size: 0,
    decompression_threshold: DEFAULT_DECOMPRESSION_THRESHOLD,
    maximum_body_size: None,
    http2_allowed: true,
    http2_direct: false,
    priority: Priority::NormalPriority,
    cookie_load: LoadControl::Automatic,
    cookie_save: LoadControl::Automatic,
    authentication_reuse: LoadControl::Automatic,
    emit_all_upload_progress: false,
    do_not_buffer_upload_data: false,
    ssl: None,
    cache_load: CacheLoadControl::PreferNetwork,
    cache_save: true,
    cache_headers: Vec::new(),
};

impl fmt::Debug for NetworkRequest {
    /// Credentials never appear: `Authorization`, `Proxy-Authorization` and `Cookie` values
    /// and a password in the URL are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let name = String::from_utf8_lossy(n).into_owned();
                let value = if is_secret_header(n) {
                    "<redacted>".to_owned()
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                (name, value)
            })
            .collect();
        f.debug_struct("NetworkRequest")
            .field("url", &redacted_url(&self.url))
            .field("headers", &headers)
            .field("redirect_policy", &self.options().redirect_policy)
            .field("maximum_redirects", &self.options().maximum_redirects)
            .field("transfer_timeout", &self.options().transfer_timeout)
            .field("http2_allowed", &self.options().http2_allowed)
            .field("http2_direct", &self.options().http2_direct)
            .finish_non_exhaustive()
    }
}

impl Default for NetworkRequest {
    fn default() -> Self {
        NetworkRequest::new("")
    }
}

impl<T: Into<RequestUrl>> From<T> for NetworkRequest {
    fn from(url: T) -> Self {
        NetworkRequest::new(url)
    }
}

impl NetworkRequest {
    /// A request for `url` (a `&str`, `String` or [`url::Url`]). An invalid URL is not an
    /// error here: the reply will finish with
    /// [`ProtocolUnknownError`](crate::NetworkError::ProtocolUnknownError), as in Qt.
    pub fn new(url: impl Into<RequestUrl>) -> Self {
        NetworkRequest { url: url.into(), headers: Vec::new(), options: None }
    }

    fn options(&self) -> &Options {
        self.options.as_deref().unwrap_or(&DEFAULT_OPTIONS)
    }

    fn options_mut(&mut self) -> &mut Options {
        self.options.get_or_insert_with(|| Box::new(DEFAULT_OPTIONS.clone()))
    }

    /// The parsed URL, or `None` if it did not parse.
    pub fn url(&self) -> Option<&Url> {
        self.url.parsed()
    }

    /// The URL as text: as parsed (normalised, as Qt's `QUrl` shows it) when it is valid,
    /// else as it was given.
    pub fn url_string(&self) -> &str {
        match &self.url.0 {
            Given::Valid(url) => url.as_str(),
            Given::Invalid(raw) => raw,
        }
    }

    /// The URL for logs and messages, any password replaced.
    pub(crate) fn shown_url(&self) -> String {
        redacted_url(&self.url)
    }

    /// Replaces the URL.
    pub fn set_url(&mut self, url: impl Into<RequestUrl>) {
        self.url = url.into();
    }

    /// Sets the query of the request's URL from `query` (what a Qt program does with
    /// `url.setQuery(query)` before making the request); an empty query removes it. A
    /// request whose URL did not parse is left as it is (it fails when sent).
    #[doc(alias = "setQuery")]
    pub fn set_query(&mut self, query: &crate::UrlQuery) {
        if let Given::Valid(url) = &mut self.url.0 {
            crate::UrlExt::set_url_query(url, query);
        }
    }

    /// Sets a known header (Qt's `setHeader`). The value is written with `Display`, so
    /// numbers work for `ContentLengthHeader`.
    pub fn set_header(&mut self, header: KnownHeaders, value: impl fmt::Display) {
        self.set_raw_header(header.name(), value.to_string());
    }

    /// A known header's value, if set (Qt's `header`).
    pub fn header(&self, header: KnownHeaders) -> Option<String> {
        self.raw_header(header.name()).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// A known header's value, typed (Qt's `header` as a `QVariant`): see
    /// [`KnownHeaderValue`](crate::KnownHeaderValue). `None` if unset or not of the header's type.
    pub fn header_value(&self, header: KnownHeaders) -> Option<crate::KnownHeaderValue> {
        crate::KnownHeaderValue::parse(header, &self.raw_header(header.name())?, self.url())
    }

    /// Sets a known header from a typed value (Qt's `setHeader` with a `QVariant`): a
    /// date is written as an HTTP date, cookies as `name=value` pairs.
    pub fn set_header_value(&mut self, header: KnownHeaders, value: crate::KnownHeaderValue) {
        self.set_raw_header(header.name(), value.format(header));
    }

    /// Sets a header by name, replacing any value under the same name (case-insensitive).
    /// Names and values containing CR, LF or NUL are accepted here but make the request
    /// fail with [`ProtocolInvalidOperationError`](crate::NetworkError::ProtocolInvalidOperationError)
    /// before anything is sent.
    pub fn set_raw_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        match self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(entry) => entry.1 = value.as_ref().to_vec(),
            None => self.headers.push((name.to_vec(), value.as_ref().to_vec())),
        }
    }

    /// Removes a header. Returns whether it was set.
    pub fn remove_raw_header(&mut self, name: impl AsRef<[u8]>) -> bool {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_ref()));
        before != self.headers.len()
    }

    /// A header's value by name (case-insensitive).
    pub fn raw_header(&self, name: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_ref())).map(|(_, v)| v.clone())
    }

    /// Whether a header is set.
    pub fn has_raw_header(&self, name: impl AsRef<[u8]>) -> bool {
        self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_ref()))
    }

    /// The names of the headers set, in the order they were first set.
    pub fn raw_header_list(&self) -> Vec<Vec<u8>> {
        self.headers.iter().map(|(n, _)| n.clone()).collect()
    }

    pub(crate) fn headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.headers
    }

    /// Sets the redirect policy for this request (Qt's `RedirectPolicyAttribute`).
    /// Defaults to the manager's policy.
    pub fn set_redirect_policy(&mut self, policy: RedirectPolicy) {
        self.options_mut().redirect_policy = Some(policy);
    }

    /// The redirect policy set on this request, if any.
    pub fn redirect_policy(&self) -> Option<RedirectPolicy> {
        self.options().redirect_policy
    }

    /// Sets how many redirects are followed before the reply fails with
    /// [`TooManyRedirectsError`](crate::NetworkError::TooManyRedirectsError). Defaults to 50.
    pub fn set_maximum_redirects_allowed(&mut self, max: u32) {
        self.options_mut().maximum_redirects = max;
    }

    /// The maximum number of redirects followed.
    pub fn maximum_redirects_allowed(&self) -> u32 {
        self.options().maximum_redirects
    }

    /// Sets the transfer (inactivity) timeout: the reply fails with
    /// [`TimeoutError`](crate::NetworkError::TimeoutError) when no byte moves for this
    /// long. `Duration::ZERO` disables it. Defaults to the manager's timeout. A request
    /// made while the thread has a [`FakeClock`](cute_core::testing::FakeClock) also times
    /// out on that clock, measured on the loop between the reply's events.
    pub fn set_transfer_timeout(&mut self, timeout: Duration) {
        self.options_mut().transfer_timeout = Some(timeout);
    }

    /// The transfer timeout set on this request, if any.
    pub fn transfer_timeout(&self) -> Option<Duration> {
        self.options().transfer_timeout
    }

    /// Limits how many unread bytes the reply buffers (Qt's `setReadBufferSize`): when the
    /// buffer is full, the transfer pauses until the application reads. 0 means unlimited.
    /// Defaults to 0.
    pub fn set_read_buffer_size(&mut self, size: u64) {
        self.options_mut().read_buffer_size = size;
    }

    /// The read buffer size.
    pub fn read_buffer_size(&self) -> u64 {
        self.options().read_buffer_size
    }

    /// Guards against decompression bombs (Qt's `setDecompressedSafetyCheckThreshold`): once
    /// a compressed body has decompressed to more than `threshold` bytes, a ratio above
    /// 40:1 fails the reply with [`ProtocolFailure`](crate::NetworkError::ProtocolFailure).
    /// −1 disables the check. Defaults to 10 MiB.
    pub fn set_decompressed_safety_check_threshold(&mut self, threshold: i64) {
        self.options_mut().decompression_threshold = threshold;
    }

    /// The decompression safety threshold.
    pub fn decompressed_safety_check_threshold(&self) -> i64 {
        self.options().decompression_threshold
    }

    /// Fails the reply with [`ProtocolFailure`](crate::NetworkError::ProtocolFailure) once
    /// the (decoded) body exceeds `limit` bytes. Unlimited by default. Not in Qt.
    pub fn set_maximum_body_size(&mut self, limit: Option<u64>) {
        self.options_mut().maximum_body_size = limit;
    }

    /// The maximum body size, if any.
    pub fn maximum_body_size(&self) -> Option<u64> {
        self.options().maximum_body_size
    }

    /// Sets a request attribute (Qt's `setAttribute`):
    /// [`Http2AllowedAttribute`](Attribute::Http2AllowedAttribute) and
    /// [`Http2DirectAttribute`](Attribute::Http2DirectAttribute) (`Bool`), and
    /// [`RedirectPolicyAttribute`](Attribute::RedirectPolicyAttribute) (`Int`, a
    /// [`RedirectPolicy`] value; the same as [`set_redirect_policy`](Self::set_redirect_policy)).
    ///
    /// ```
    /// use cute_network::{Attribute, AttributeValue, NetworkRequest};
    ///
    /// let mut request = NetworkRequest::new("https://example.com/");
    /// // request.setAttribute(QNetworkRequest.Attribute.Http2AllowedAttribute, False)
    /// request.set_attribute(Attribute::Http2AllowedAttribute, AttributeValue::Bool(false)).unwrap();
    /// assert_eq!(request.attribute(Attribute::Http2AllowedAttribute), Some(AttributeValue::Bool(false)));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) for an attribute that only
    /// replies carry, or a value of the wrong type (Qt would ignore both silently).
    #[doc(alias = "setAttribute")]
    pub fn set_attribute(&mut self, attribute: Attribute, value: AttributeValue) -> Result<(), crate::Error> {
        use crate::Error::InvalidSetting;
        match (attribute, value) {
            (Attribute::CookieLoadControlAttribute, AttributeValue::Int(v)) => {
                self.options_mut().cookie_load = load_control(v)?;
            }
            (Attribute::CookieSaveControlAttribute, AttributeValue::Int(v)) => {
                self.options_mut().cookie_save = load_control(v)?;
            }
            (Attribute::AuthenticationReuseAttribute, AttributeValue::Int(v)) => {
                self.options_mut().authentication_reuse = load_control(v)?;
            }
            (Attribute::EmitAllUploadProgressSignalsAttribute, AttributeValue::Bool(all)) => {
                self.options_mut().emit_all_upload_progress = all;
            }
            (Attribute::CacheLoadControlAttribute, AttributeValue::Int(v)) => {
                self.options_mut().cache_load = CacheLoadControl::from_int(v).ok_or(InvalidSetting(
                    "CacheLoadControlAttribute takes a CacheLoadControl value (0..=3)",
                ))?;
            }
            (Attribute::CacheLoadControlAttribute, _) => {
                return Err(InvalidSetting("CacheLoadControlAttribute takes an Int (CacheLoadControl)"));
            }
            (Attribute::CacheSaveControlAttribute, AttributeValue::Bool(save)) => {
                self.options_mut().cache_save = save;
            }
            (Attribute::DoNotBufferUploadDataAttribute, AttributeValue::Bool(no)) => {
                self.options_mut().do_not_buffer_upload_data = no;
            }
            (
                Attribute::CookieLoadControlAttribute
                | Attribute::CookieSaveControlAttribute
                | Attribute::AuthenticationReuseAttribute,
                _,
            ) => return Err(InvalidSetting("the load control attributes take an Int (LoadControl)")),
            (
                Attribute::EmitAllUploadProgressSignalsAttribute
                | Attribute::DoNotBufferUploadDataAttribute
                | Attribute::CacheSaveControlAttribute,
                _,
            ) => {
                return Err(InvalidSetting("this attribute takes a Bool"));
            }
            (Attribute::Http2AllowedAttribute, AttributeValue::Bool(allowed)) => {
                self.options_mut().http2_allowed = allowed
            }
            (Attribute::Http2DirectAttribute, AttributeValue::Bool(direct)) => {
                self.options_mut().http2_direct = direct
            }
            (Attribute::RedirectPolicyAttribute, AttributeValue::Int(policy)) => {
                let policy = match policy {
                    0 => RedirectPolicy::ManualRedirectPolicy,
                    1 => RedirectPolicy::NoLessSafeRedirectPolicy,
                    2 => RedirectPolicy::SameOriginRedirectPolicy,
                    3 => RedirectPolicy::UserVerifiedRedirectPolicy,
                    _ => {
                        return Err(InvalidSetting(
                            "RedirectPolicyAttribute takes a RedirectPolicy value (0..=3)",
                        ));
                    }
                };
                self.options_mut().redirect_policy = Some(policy);
            }
            (Attribute::Http2AllowedAttribute | Attribute::Http2DirectAttribute, _) => {
                return Err(InvalidSetting("the HTTP/2 attributes take a Bool"));
            }
            (Attribute::RedirectPolicyAttribute, _) => {
                return Err(InvalidSetting("RedirectPolicyAttribute takes an Int"));
            }
            _ => return Err(InvalidSetting("not a request attribute")),
        }
        Ok(())
    }

    /// A request attribute (Qt's `attribute`): its value, or the default when unset;
    /// `None` for an attribute that only replies carry, and for
    /// [`RedirectPolicyAttribute`](Attribute::RedirectPolicyAttribute) when unset (the
    /// manager's policy applies).
    pub fn attribute(&self, attribute: Attribute) -> Option<AttributeValue> {
        match attribute {
            Attribute::Http2AllowedAttribute => Some(AttributeValue::Bool(self.options().http2_allowed)),
            Attribute::Http2DirectAttribute => Some(AttributeValue::Bool(self.options().http2_direct)),
            Attribute::RedirectPolicyAttribute => {
                self.options().redirect_policy.map(|p| AttributeValue::Int(p as i64))
            }
            Attribute::CookieLoadControlAttribute => {
                Some(AttributeValue::Int(self.options().cookie_load as i64))
            }
            Attribute::CookieSaveControlAttribute => {
                Some(AttributeValue::Int(self.options().cookie_save as i64))
            }
            Attribute::AuthenticationReuseAttribute => {
                Some(AttributeValue::Int(self.options().authentication_reuse as i64))
            }
            Attribute::EmitAllUploadProgressSignalsAttribute => {
                Some(AttributeValue::Bool(self.options().emit_all_upload_progress))
            }
            Attribute::DoNotBufferUploadDataAttribute => {
                Some(AttributeValue::Bool(self.options().do_not_buffer_upload_data))
            }
            Attribute::CacheLoadControlAttribute => Some(self.options().cache_load.into()),
            Attribute::CacheSaveControlAttribute => Some(AttributeValue::Bool(self.options().cache_save)),
            _ => None,
        }
    }

    /// TLS settings for this request alone (Qt's `setSslConfiguration`): its CA
    /// certificates, client certificate and lowest TLS version, instead of the manager's.
    #[doc(alias = "setSslConfiguration")]
    pub fn set_ssl_configuration(&mut self, configuration: &crate::SslConfiguration) {
        self.options_mut().ssl = Some(configuration.tls());
    }

    /// The request's own TLS settings, if it has some.
    pub(crate) fn tls(&self) -> Option<&std::sync::Arc<crate::tls::Tls>> {
        self.options().ssl.as_ref()
    }

    /// Sets the request's priority on its host's queue (Qt's `setPriority`).
    #[doc(alias = "setPriority")]
    pub fn set_priority(&mut self, priority: Priority) {
        self.options_mut().priority = priority;
    }

    /// The request's priority.
    pub fn priority(&self) -> Priority {
        self.options().priority
    }

    /// Whether cookies from the jar are added (`CookieLoadControlAttribute`).
    pub(crate) fn loads_cookies(&self) -> bool {
        self.options().cookie_load == LoadControl::Automatic
    }

    /// Whether the response's cookies are stored (`CookieSaveControlAttribute`).
    pub(crate) fn saves_cookies(&self) -> bool {
        self.options().cookie_save == LoadControl::Automatic
    }

    /// Whether cached credentials may be used (`AuthenticationReuseAttribute`).
    pub(crate) fn reuses_credentials(&self) -> bool {
        self.options().authentication_reuse == LoadControl::Automatic
    }

    /// Whether every upload progress step is emitted (`EmitAllUploadProgressSignalsAttribute`).
    pub(crate) fn emits_all_upload_progress(&self) -> bool {
        self.options().emit_all_upload_progress
    }

    /// How the manager's cache is used (`CacheLoadControlAttribute`).
    pub(crate) fn cache_load_control(&self) -> CacheLoadControl {
        self.options().cache_load
    }

    /// Whether the response may be stored (`CacheSaveControlAttribute`).
    pub(crate) fn saves_to_cache(&self) -> bool {
        self.options().cache_save
    }

    /// The headers the manager's cache adds on the wire.
    pub(crate) fn cache_headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.options().cache_headers
    }

    /// Replaces the headers the cache adds (a request taken from a reply carries its
    /// previous ones: they are replaced, never sent again).
    pub(crate) fn set_cache_headers(&mut self, headers: Vec<(Vec<u8>, Vec<u8>)>) {
        if !headers.is_empty() || !self.cache_headers().is_empty() {
            self.options_mut().cache_headers = headers;
        }
    }

    /// How the request may use HTTP/2.
    pub(crate) fn http2(&self) -> Http2 {
        Http2 { allowed: self.options().http2_allowed, direct: self.options().http2_direct }
    }
}

/// A request's HTTP/2 attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Http2 {
    pub(crate) allowed: bool,
    pub(crate) direct: bool,
}

impl Http2 {
    /// The wire for a request to `url` under these attributes.
    pub(crate) fn wire(self, url: &Url) -> Wire {
        if self.direct {
            Wire::Http2Direct
        } else if self.allowed && url.scheme() == "https" {
            Wire::Negotiated
        } else {
            Wire::Http1
        }
    }
}

/// The standard method `method` names, ignoring case.
fn standard_method(method: &Method) -> Option<Method> {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
        Method::PATCH,
    ]
    .into_iter()
    .find(|standard| standard.as_str().eq_ignore_ascii_case(method.as_str()))
}

/// Checks what must be refused before anything is sent: the URL (parsed, a scheme we
/// serve), the verb (an HTTP token) and the headers (valid names and values, no CR, LF or
/// NUL). Returns the method to send.
pub(crate) fn validate(request: &NetworkRequest, verb: &[u8]) -> Result<Method, Failure> {
    let unknown = |scheme: &str| {
        Failure::new(NetworkError::ProtocolUnknownError, format!("Protocol \"{scheme}\" is unknown"))
    };
    let Some(url) = request.url() else {
        let raw = request.url_string();
        let scheme = raw
            .split_once(':')
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
        return Err(match scheme {
            Some(s) if Scheme::from_name(&s.to_ascii_lowercase()).is_none() => unknown(s),
            Some(_) => Failure::new(
                NetworkError::ProtocolUnknownError,
                format!("Invalid URL \"{}\"", request.shown_url().escape_debug()),
            ),
            None => unknown(""),
        });
    };
    if Scheme::of(url).is_none() {
        return Err(unknown(url.scheme()));
    }
    let method = Method::from_bytes(verb).ok().filter(|_| !verb.is_empty() && !has_forbidden_bytes(verb));
    // A standard method in another case goes out as that method (`get` → `GET`), as in Qt;
    // other verbs keep their case.
    let method = method.map(|m| standard_method(&m).unwrap_or(m));
    let Some(method) = method else {
        let shown = String::from_utf8_lossy(verb);
        return Err(Failure::new(
            NetworkError::ProtocolInvalidOperationError,
            format!("Invalid verb \"{}\"", shown.escape_debug()),
        ));
    };
    for (name, value) in request.headers() {
        let shown = String::from_utf8_lossy(name).escape_debug().to_string();
        if has_forbidden_bytes(name) || HeaderName::from_bytes(name).is_err() {
            return Err(Failure::new(
                NetworkError::ProtocolInvalidOperationError,
                format!("Invalid header name \"{shown}\""),
            ));
        }
        if has_forbidden_bytes(value) || HeaderValue::from_bytes(value).is_err() {
            return Err(Failure::new(
                NetworkError::ProtocolInvalidOperationError,
                format!(
                    "Invalid value for header \"{shown}\": CR, LF, NUL and control characters are refused"
                ),
            ));
        }
    }
    Ok(method)
}

/// A [`LoadControl`] from its integer value.
fn load_control(value: i64) -> Result<LoadControl, crate::Error> {
    match value {
        0 => Ok(LoadControl::Automatic),
        1 => Ok(LoadControl::Manual),
        _ => Err(crate::Error::InvalidSetting("a LoadControl is 0 (Automatic) or 1 (Manual)")),
    }
}

#[cfg(test)]
mod tests {
    use super::given_url::redact_raw;

    #[test]
    fn raw_urls_lose_their_password() {
        assert_eq!(redact_raw("http://u:secret@exa mple/x"), "http://u:redacted@exa mple/x");
        assert_eq!(redact_raw("http://u@host/a:b@c"), "http://u@host/a:b@c");
        assert_eq!(redact_raw("http://host/p?x=a:b@c"), "http://host/p?x=a:b@c");
        assert_eq!(redact_raw("no scheme"), "no scheme");
        assert_eq!(redact_raw("ftp://a:b:c@h"), "ftp://a:redacted@h");
    }
}
