//! Qt's request enums and attribute values (`QNetworkRequest::KnownHeaders`, `Attribute`,
//! `RedirectPolicy`, `Priority`, `LoadControl`; `QNetworkAccessManager::Operation`).

use url::Url;

/// Qt's `QNetworkRequest::KnownHeaders`: headers with a well-known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // reason: each variant is the HTTP header its `name()` returns
pub enum KnownHeaders {
    ContentTypeHeader = 0,
    ContentLengthHeader = 1,
    LocationHeader = 2,
    LastModifiedHeader = 3,
    CookieHeader = 4,
    SetCookieHeader = 5,
    ContentDispositionHeader = 6,
    UserAgentHeader = 7,
    ServerHeader = 8,
    IfModifiedSinceHeader = 9,
    ETagHeader = 10,
    IfMatchHeader = 11,
    IfNoneMatchHeader = 12,
}

impl KnownHeaders {
    /// The HTTP header name.
    pub fn name(self) -> &'static str {
        use KnownHeaders::*;
        match self {
            ContentTypeHeader => "Content-Type",
            ContentLengthHeader => "Content-Length",
            LocationHeader => "Location",
            LastModifiedHeader => "Last-Modified",
            CookieHeader => "Cookie",
            SetCookieHeader => "Set-Cookie",
            ContentDispositionHeader => "Content-Disposition",
            UserAgentHeader => "User-Agent",
            ServerHeader => "Server",
            IfModifiedSinceHeader => "If-Modified-Since",
            ETagHeader => "ETag",
            IfMatchHeader => "If-Match",
            IfNoneMatchHeader => "If-None-Match",
        }
    }
}

/// How redirects are handled (Qt's `QNetworkRequest::RedirectPolicy`).
///
/// Defaults to [`NoLessSafeRedirectPolicy`](RedirectPolicy::NoLessSafeRedirectPolicy), as in
/// Qt 6. Whatever the policy, `Authorization` and `Cookie` headers set by the caller are
/// never sent to another origin (Qt sends them; we do not).
///
/// A followed 301, 302 or 303 continues as a GET without the body, whatever the verb was,
/// except HEAD, which stays HEAD (Qt's rule); 307 and 308 keep the verb and send the body
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RedirectPolicy {
    /// Do not follow: the reply finishes with the 3xx response and
    /// [`RedirectionTargetAttribute`](Attribute::RedirectionTargetAttribute) set.
    ManualRedirectPolicy = 0,
    /// Follow http→http, http→https and https→https; refuse https→http
    /// ([`InsecureRedirectError`](crate::NetworkError::InsecureRedirectError)).
    #[default]
    NoLessSafeRedirectPolicy = 1,
    /// Follow only to the same scheme, host and port.
    SameOriginRedirectPolicy = 2,
    /// Emit [`redirected`](crate::NetworkReply::redirected) for each hop and follow only
    /// if a slot calls [`redirect_allowed`](crate::NetworkReply::redirect_allowed) during
    /// that emission; otherwise the reply finishes with the 3xx response.
    UserVerifiedRedirectPolicy = 3,
}

/// Qt's `QNetworkRequest::Attribute`, for the attributes this crate reports on replies
/// (see [`NetworkReply::attribute`](crate::NetworkReply::attribute)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attribute {
    /// The HTTP status code (integer); absent if the reply is not HTTP.
    HttpStatusCodeAttribute = 0,
    /// The HTTP reason phrase (bytes).
    HttpReasonPhraseAttribute = 1,
    /// The redirect target of a 3xx response that was not followed (URL).
    RedirectionTargetAttribute = 2,
    /// Whether the data came over an encrypted (TLS) connection (bool).
    ConnectionEncryptedAttribute = 3,
    /// Requests: how the manager's cache is used (integer, [`CacheLoadControl`]; default
    /// `PreferNetwork`). See [`NetworkAccessManager::set_cache`](crate::NetworkAccessManager::set_cache).
    CacheLoadControlAttribute = 4,
    /// Requests: whether the response may be stored in the manager's cache (bool, default
    /// true); it is stored only if it is cacheable as well.
    CacheSaveControlAttribute = 5,
    /// Replies: whether the reply was answered from the manager's cache (bool), including
    /// after the server confirmed the cached copy with a 304.
    SourceIsFromCacheAttribute = 6,
    /// Requests: accepted for Qt's sake and without effect (bool): cute never buffers an
    /// upload beyond the two 256 KiB reads in flight.
    DoNotBufferUploadDataAttribute = 7,
    /// The custom verb of [`send_custom_request`](crate::NetworkAccessManager::send_custom_request) (bytes).
    CustomVerbAttribute = 10,
    /// Requests: whether cookies from the manager's jar are sent (integer,
    /// [`LoadControl`]: `Automatic` 0, the default, or `Manual` 1: none are added).
    CookieLoadControlAttribute = 11,
    /// Requests: whether cached credentials are used (integer, [`LoadControl`]:
    /// `Automatic` 0, the default; `Manual` 1: no cached credentials are sent before the
    /// server asks, nor used to answer it: `authentication_required` is emitted for every
    /// 401).
    AuthenticationReuseAttribute = 12,
    /// Requests: whether cookies the response sets go into the manager's jar (integer,
    /// [`LoadControl`]: `Automatic` 0, the default, or `Manual` 1: they are not stored).
    CookieSaveControlAttribute = 13,
    /// Requests: every `upload_progress` is emitted, not at most one each 100 ms (bool,
    /// default false).
    EmitAllUploadProgressSignalsAttribute = 18,
    /// Requests: whether HTTP/2 may be used, offered by ALPN over https (bool, default
    /// true as in Qt 6). Plain http stays HTTP/1.1 unless
    /// [`Http2DirectAttribute`](Attribute::Http2DirectAttribute) is set.
    Http2AllowedAttribute = 19,
    /// Replies: whether the response came over HTTP/2 (bool).
    Http2WasUsedAttribute = 20,
    /// The `Content-Length` before automatic decompression (integer).
    OriginalContentLengthAttribute = 21,
    /// The redirect policy in force for the request (integer, [`RedirectPolicy`] as i64).
    RedirectPolicyAttribute = 22,
    /// Requests: HTTP/2 by prior knowledge, without negotiation (bool, default false): over
    /// https ALPN offers only `h2`, over plain http the connection starts with HTTP/2's
    /// preface (h2c). A server that does not speak HTTP/2 fails the request; there is no
    /// fall-back to HTTP/1.1 (Qt's rule). Takes priority over
    /// [`Http2AllowedAttribute`](Attribute::Http2AllowedAttribute).
    Http2DirectAttribute = 23,
}

impl Attribute {
    /// Every attribute, in Qt's numbering order.
    pub(crate) const ALL: [Attribute; 18] = [
        Attribute::HttpStatusCodeAttribute,
        Attribute::HttpReasonPhraseAttribute,
        Attribute::RedirectionTargetAttribute,
        Attribute::ConnectionEncryptedAttribute,
        Attribute::CacheLoadControlAttribute,
        Attribute::CacheSaveControlAttribute,
        Attribute::SourceIsFromCacheAttribute,
        Attribute::DoNotBufferUploadDataAttribute,
        Attribute::CustomVerbAttribute,
        Attribute::CookieLoadControlAttribute,
        Attribute::AuthenticationReuseAttribute,
        Attribute::CookieSaveControlAttribute,
        Attribute::EmitAllUploadProgressSignalsAttribute,
        Attribute::Http2AllowedAttribute,
        Attribute::Http2WasUsedAttribute,
        Attribute::OriginalContentLengthAttribute,
        Attribute::RedirectPolicyAttribute,
        Attribute::Http2DirectAttribute,
    ];

    /// The attribute with Qt's number `code`.
    pub(crate) fn from_code(code: i64) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| *a as i64 == code)
    }
}

/// How a request uses the manager's cache (Qt's `QNetworkRequest::CacheLoadControl`), the
/// value of [`CacheLoadControlAttribute`](Attribute::CacheLoadControlAttribute).
#[doc(alias = "QNetworkRequest::CacheLoadControl")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CacheLoadControl {
    /// Always from the network, telling caches on the way not to answer either
    /// (`Cache-Control: no-cache` and `Pragma: no-cache` unless the request sets its own
    /// `Cache-Control`). The response is still stored.
    AlwaysNetwork = 0,
    /// The default: a fresh cached response answers; a stale one is revalidated with the
    /// server (`If-None-Match`/`If-Modified-Since`; a 304 answers from the cache).
    #[default]
    PreferNetwork = 1,
    /// A cached response answers unless it has expired (its `max-age` or `Expires` has
    /// passed) or must be revalidated: one that is only stale by Qt's heuristic (no
    /// explicit lifetime) still answers. Otherwise as `PreferNetwork`.
    PreferCache = 2,
    /// Only the cache, whatever the response's age: nothing is sent. A GET with nothing
    /// cached, and a HEAD, fail with
    /// [`ContentNotFoundError`](crate::NetworkError::ContentNotFoundError) (Qt's rule;
    /// other operations go to the network).
    AlwaysCache = 3,
}

impl CacheLoadControl {
    /// The value with Qt's number `n`.
    pub(crate) fn from_int(n: i64) -> Option<CacheLoadControl> {
        [Self::AlwaysNetwork, Self::PreferNetwork, Self::PreferCache, Self::AlwaysCache]
            .into_iter()
            .find(|c| *c as i64 == n)
    }
}

impl From<CacheLoadControl> for AttributeValue {
    fn from(control: CacheLoadControl) -> Self {
        AttributeValue::Int(control as i64)
    }
}

impl From<LoadControl> for AttributeValue {
    fn from(control: LoadControl) -> Self {
        AttributeValue::Int(control as i64)
    }
}

impl From<RedirectPolicy> for AttributeValue {
    fn from(policy: RedirectPolicy) -> Self {
        AttributeValue::Int(policy as i64)
    }
}

impl From<bool> for AttributeValue {
    fn from(value: bool) -> Self {
        AttributeValue::Bool(value)
    }
}

/// A value of an [`Attribute`] (Qt's `QVariant`, for the types attributes use).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A boolean.
    Bool(bool),
    /// A URL.
    Url(Url),
}

impl AttributeValue {
    /// The integer, if it is one (Qt's `toInt`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttributeValue::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if it is one (Qt's `toBool`).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttributeValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes, if it is a byte string (Qt's `toByteArray`).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            AttributeValue::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The text, if it is a byte string in UTF-8 (Qt's `toString`; a reason phrase, a
    /// custom verb).
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// The URL, if it is one (Qt's `toUrl`).
    pub fn as_url(&self) -> Option<&Url> {
        match self {
            AttributeValue::Url(url) => Some(url),
            _ => None,
        }
    }
}

/// The kind of operation a reply performs (Qt's `QNetworkAccessManager::Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // reason: Qt's names, one per HTTP verb family
pub enum Operation {
    HeadOperation = 1,
    GetOperation = 2,
    PutOperation = 3,
    PostOperation = 4,
    DeleteOperation = 5,
    CustomOperation = 6,
}

/// A request's priority on its host's queue (Qt's `QNetworkRequest::Priority`): a host's
/// waiting requests are started highest first, in order within a priority.
#[doc(alias = "QNetworkRequest::Priority")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    /// Started before normal and low requests to the same host.
    HighPriority = 1,
    /// The default.
    #[default]
    NormalPriority = 3,
    /// Started after the others to the same host.
    LowPriority = 5,
}

/// Whether the manager does something for a request by itself (Qt's
/// `QNetworkRequest::LoadControl`, for the cookie and authentication attributes).
#[doc(alias = "QNetworkRequest::LoadControl")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoadControl {
    /// The manager does it (the default).
    #[default]
    Automatic = 0,
    /// It does not: the application does it with headers, or not at all.
    Manual = 1,
}
