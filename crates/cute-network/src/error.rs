//! Qt's `QNetworkReply::NetworkError`, and this crate's set-up error type.

use std::fmt;

/// What went wrong with a reply (Qt's `QNetworkReply::NetworkError`), with Qt's numbers.
///
/// Request failures are events, not `Result`s (Qt's model): a reply finishes with one of
/// these, readable through [`NetworkReply::error`](crate::NetworkReply::error), with a
/// human-readable [`error_string`](crate::NetworkReply::error_string).
///
/// `Display` prints the value as PyQt6 does (`NetworkError.ContentNotFoundError`), so a
/// ported `print("Error occurred: ", er)` prints the same line; [`description`]
/// gives a sentence.
///
/// [`description`]: NetworkError::description
///
/// # Examples
///
/// ```
/// use cute_network::NetworkError;
///
/// assert_eq!(NetworkError::ContentNotFoundError as i32, 203);
/// assert_eq!(NetworkError::from_http_status(404), Some(NetworkError::ContentNotFoundError));
/// assert_eq!(NetworkError::OperationCanceledError.to_string(), "NetworkError.OperationCanceledError");
/// assert!(NetworkError::ConnectionRefusedError.is_network_error());
/// ```
#[doc(alias = "QNetworkReply::NetworkError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
#[allow(missing_docs)] // reason: the variants are Qt's, documented together in the table of `description`
pub enum NetworkError {
    #[default]
    NoError = 0,
    ConnectionRefusedError = 1,
    RemoteHostClosedError = 2,
    HostNotFoundError = 3,
    TimeoutError = 4,
    OperationCanceledError = 5,
    SslHandshakeFailedError = 6,
    TemporaryNetworkFailureError = 7,
    NetworkSessionFailedError = 8,
    BackgroundRequestNotAllowedError = 9,
    TooManyRedirectsError = 10,
    InsecureRedirectError = 11,
    UnknownNetworkError = 99,
    ProxyConnectionRefusedError = 101,
    ProxyConnectionClosedError = 102,
    ProxyNotFoundError = 103,
    ProxyTimeoutError = 104,
    ProxyAuthenticationRequiredError = 105,
    UnknownProxyError = 199,
    ContentAccessDenied = 201,
    ContentOperationNotPermittedError = 202,
    ContentNotFoundError = 203,
    AuthenticationRequiredError = 204,
    ContentReSendError = 205,
    ContentConflictError = 206,
    ContentGoneError = 207,
    UnknownContentError = 299,
    ProtocolUnknownError = 301,
    ProtocolInvalidOperationError = 302,
    ProtocolFailure = 399,
    InternalServerError = 401,
    OperationNotImplementedError = 402,
    ServiceUnavailableError = 403,
    UnknownServerError = 499,
}

impl NetworkError {
    /// Every value, in Qt's order.
    pub const ALL: [NetworkError; 34] = {
        use NetworkError::*;
        [
            NoError,
            ConnectionRefusedError,
            RemoteHostClosedError,
            HostNotFoundError,
            TimeoutError,
            OperationCanceledError,
            SslHandshakeFailedError,
            TemporaryNetworkFailureError,
            NetworkSessionFailedError,
            BackgroundRequestNotAllowedError,
            TooManyRedirectsError,
            InsecureRedirectError,
            UnknownNetworkError,
            ProxyConnectionRefusedError,
            ProxyConnectionClosedError,
            ProxyNotFoundError,
            ProxyTimeoutError,
            ProxyAuthenticationRequiredError,
            UnknownProxyError,
            ContentAccessDenied,
            ContentOperationNotPermittedError,
            ContentNotFoundError,
            AuthenticationRequiredError,
            ContentReSendError,
            ContentConflictError,
            ContentGoneError,
            UnknownContentError,
            ProtocolUnknownError,
            ProtocolInvalidOperationError,
            ProtocolFailure,
            InternalServerError,
            OperationNotImplementedError,
            ServiceUnavailableError,
            UnknownServerError,
        ]
    };

    /// Qt's number for this value.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The value with Qt's number `code`.
    pub fn from_code(code: i32) -> Option<NetworkError> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The error Qt reports for an HTTP status (Qt's `statusCodeFromHttp`); `None` below 400.
    pub fn from_http_status(status: u16) -> Option<NetworkError> {
        use NetworkError::*;
        Some(match status {
            0..=399 => return None,
            400 | 418 => ProtocolInvalidOperationError,
            401 => AuthenticationRequiredError,
            403 => ContentAccessDenied,
            404 => ContentNotFoundError,
            405 => ContentOperationNotPermittedError,
            407 => ProxyAuthenticationRequiredError,
            409 => ContentConflictError,
            410 => ContentGoneError,
            402..=499 => UnknownContentError,
            500 => InternalServerError,
            501 => OperationNotImplementedError,
            503 => ServiceUnavailableError,
            _ => UnknownServerError,
        })
    }

    /// The variant's name, as Qt spells it.
    pub fn name(self) -> &'static str {
        use NetworkError::*;
        match self {
            NoError => "NoError",
            ConnectionRefusedError => "ConnectionRefusedError",
            RemoteHostClosedError => "RemoteHostClosedError",
            HostNotFoundError => "HostNotFoundError",
            TimeoutError => "TimeoutError",
            OperationCanceledError => "OperationCanceledError",
            SslHandshakeFailedError => "SslHandshakeFailedError",
            TemporaryNetworkFailureError => "TemporaryNetworkFailureError",
            NetworkSessionFailedError => "NetworkSessionFailedError",
            BackgroundRequestNotAllowedError => "BackgroundRequestNotAllowedError",
            TooManyRedirectsError => "TooManyRedirectsError",
            InsecureRedirectError => "InsecureRedirectError",
            UnknownNetworkError => "UnknownNetworkError",
            ProxyConnectionRefusedError => "ProxyConnectionRefusedError",
            ProxyConnectionClosedError => "ProxyConnectionClosedError",
            ProxyNotFoundError => "ProxyNotFoundError",
            ProxyTimeoutError => "ProxyTimeoutError",
            ProxyAuthenticationRequiredError => "ProxyAuthenticationRequiredError",
            UnknownProxyError => "UnknownProxyError",
            ContentAccessDenied => "ContentAccessDenied",
            ContentOperationNotPermittedError => "ContentOperationNotPermittedError",
            ContentNotFoundError => "ContentNotFoundError",
            AuthenticationRequiredError => "AuthenticationRequiredError",
            ContentReSendError => "ContentReSendError",
            ContentConflictError => "ContentConflictError",
            ContentGoneError => "ContentGoneError",
            UnknownContentError => "UnknownContentError",
            ProtocolUnknownError => "ProtocolUnknownError",
            ProtocolInvalidOperationError => "ProtocolInvalidOperationError",
            ProtocolFailure => "ProtocolFailure",
            InternalServerError => "InternalServerError",
            OperationNotImplementedError => "OperationNotImplementedError",
            ServiceUnavailableError => "ServiceUnavailableError",
            UnknownServerError => "UnknownServerError",
        }
    }

    /// A sentence describing the value (Qt's documentation, shortened).
    ///
    /// | range | meaning |
    /// |---|---|
    /// | 0 | no error |
    /// | 1–99 | network layer: the connection to the server |
    /// | 101–199 | the proxy |
    /// | 201–299 | the content (HTTP 4xx and the like) |
    /// | 301–399 | the protocol |
    /// | 401–499 | the server (HTTP 5xx) |
    pub fn description(self) -> &'static str {
        use NetworkError::*;
        match self {
            NoError => "no error condition",
            ConnectionRefusedError => "the remote server refused the connection",
            RemoteHostClosedError => "the remote server closed the connection prematurely",
            HostNotFoundError => "the remote host name was not found",
            TimeoutError => "the connection or the transfer timed out",
            OperationCanceledError => "the operation was canceled by abort() or close()",
            SslHandshakeFailedError => "the TLS handshake failed",
            TemporaryNetworkFailureError => "the connection was broken by a change in the network",
            NetworkSessionFailedError => "the network session failed",
            BackgroundRequestNotAllowedError => "background requests are not allowed",
            TooManyRedirectsError => "the maximum number of redirects was reached",
            InsecureRedirectError => "a redirect went from https to http (or broke the policy)",
            UnknownNetworkError => "an unknown network-related error",
            ProxyConnectionRefusedError => "the proxy server refused the connection",
            ProxyConnectionClosedError => "the proxy server closed the connection prematurely",
            ProxyNotFoundError => "the proxy host name was not found",
            ProxyTimeoutError => "the connection to the proxy timed out",
            ProxyAuthenticationRequiredError => "the proxy requires authentication",
            UnknownProxyError => "an unknown proxy-related error",
            ContentAccessDenied => "access to the content was denied (HTTP 403)",
            ContentOperationNotPermittedError => "the operation is not permitted on the content",
            ContentNotFoundError => "the content was not found (HTTP 404)",
            AuthenticationRequiredError => "the server requires authentication that was not given",
            ContentReSendError => "the request had to be sent again but could not be",
            ContentConflictError => "the request conflicts with the resource's state (HTTP 409)",
            ContentGoneError => "the content is gone for good (HTTP 410)",
            UnknownContentError => "an unknown content-related error",
            ProtocolUnknownError => "the protocol (URL scheme) is unknown, or the URL is invalid",
            ProtocolInvalidOperationError => "the operation is invalid for this protocol",
            ProtocolFailure => "a breakdown in the protocol (malformed or truncated response)",
            InternalServerError => "the server had an internal error (HTTP 500)",
            OperationNotImplementedError => "the server does not support the operation (HTTP 501)",
            ServiceUnavailableError => "the server cannot handle the request now (HTTP 503)",
            UnknownServerError => "an unknown server-related error",
        }
    }

    /// True for [`NoError`](NetworkError::NoError).
    pub fn is_ok(self) -> bool {
        self == NetworkError::NoError
    }

    /// Network-layer errors (1–99): the connection to the server failed.
    pub fn is_network_error(self) -> bool {
        (1..=99).contains(&self.code())
    }

    /// Proxy errors (101–199).
    pub fn is_proxy_error(self) -> bool {
        (101..=199).contains(&self.code())
    }

    /// Content errors (201–299), mostly HTTP 4xx.
    pub fn is_content_error(self) -> bool {
        (201..=299).contains(&self.code())
    }

    /// Protocol errors (301–399).
    pub fn is_protocol_error(self) -> bool {
        (301..=399).contains(&self.code())
    }

    /// Server errors (401–499), mostly HTTP 5xx.
    pub fn is_server_error(self) -> bool {
        (401..=499).contains(&self.code())
    }

    /// [`OperationCanceledError`](NetworkError::OperationCanceledError): `abort()`, or the
    /// manager going away.
    pub fn is_canceled(self) -> bool {
        self == NetworkError::OperationCanceledError
    }

    /// [`TimeoutError`](NetworkError::TimeoutError) or
    /// [`ProxyTimeoutError`](NetworkError::ProxyTimeoutError). Unlike Qt, a transfer
    /// timeout is reported as `TimeoutError`, not as a cancellation.
    pub fn is_timeout(self) -> bool {
        matches!(self, NetworkError::TimeoutError | NetworkError::ProxyTimeoutError)
    }
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkError.{}", self.name())
    }
}

/// Set-up and misuse errors of this crate (a request failure is a [`NetworkError`] on its
/// reply, never one of these).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The proxy URL could not be used (only `http://host:port` proxies are supported).
    #[error("unsupported proxy {0:?}: only http://[user:password@]host:port proxies are supported")]
    UnsupportedProxy(String),
    /// A certificate given to [`NetworkAccessManager::set_ca_certificates`] could not be read.
    ///
    /// [`NetworkAccessManager::set_ca_certificates`]: crate::NetworkAccessManager::set_ca_certificates
    #[error("invalid CA certificate: {0}")]
    InvalidCertificate(String),
    /// A limit was set to a value outside its range.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
}

/// Why a reply failed: its [`NetworkError`] and the text of its `error_string` (private).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) error: NetworkError,
    pub(crate) message: String,
    /// What becomes of the body bytes the reply still buffers.
    pub(crate) leftover: Leftover,
}

/// What a failed reply does with the body it buffered and the application did not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftover {
    /// Stays readable (an HTTP error's body; what arrived before a connection broke).
    Keep,
    /// Discarded (an abort, a timeout, a decompression bomb's output), as in Qt.
    Discard,
}

impl Failure {
    pub(crate) fn new(error: NetworkError, message: impl Into<String>) -> Self {
        Failure { error, message: message.into(), leftover: Leftover::Keep }
    }

    /// A failure that discards the body the reply buffered.
    pub(crate) fn discarding(error: NetworkError, message: impl Into<String>) -> Self {
        Failure { leftover: Leftover::Discard, ..Failure::new(error, message) }
    }

    /// The reply was aborted: by the application, by quitting, or by dropping the manager.
    pub(crate) fn canceled() -> Self {
        Failure::discarding(NetworkError::OperationCanceledError, "Operation canceled")
    }

    /// No byte moved for the transfer (inactivity) timeout `limit`.
    pub(crate) fn timed_out(limit: std::time::Duration) -> Self {
        Failure::discarding(
            NetworkError::TimeoutError,
            format!("Socket operation timed out (no data for {} ms)", limit.as_millis()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in NetworkError::ALL {
            assert!(seen.insert(e.code()), "{e:?} duplicated");
            assert_eq!(NetworkError::from_code(e.code()), Some(e));
            assert_eq!(format!("{e:?}"), e.name());
        }
        assert_eq!(NetworkError::from_code(12), None);
    }

    #[test]
    fn http_status_mapping_matches_qt() {
        use NetworkError::*;
        let table = [
            (200, None),
            (302, None),
            (400, Some(ProtocolInvalidOperationError)),
            (401, Some(AuthenticationRequiredError)),
            (402, Some(UnknownContentError)),
            (403, Some(ContentAccessDenied)),
            (404, Some(ContentNotFoundError)),
            (405, Some(ContentOperationNotPermittedError)),
            (406, Some(UnknownContentError)),
            (407, Some(ProxyAuthenticationRequiredError)),
            (408, Some(UnknownContentError)),
            (409, Some(ContentConflictError)),
            (410, Some(ContentGoneError)),
            (418, Some(ProtocolInvalidOperationError)),
            (429, Some(UnknownContentError)),
            (500, Some(InternalServerError)),
            (501, Some(OperationNotImplementedError)),
            (502, Some(UnknownServerError)),
            (503, Some(ServiceUnavailableError)),
            (504, Some(UnknownServerError)),
            (599, Some(UnknownServerError)),
        ];
        for (status, expected) in table {
            assert_eq!(NetworkError::from_http_status(status), expected, "HTTP {status}");
        }
    }
}
