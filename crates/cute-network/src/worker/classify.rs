//! What a failure from the connection means for the reply (Qt's error for it).
//!
//! By type wherever ureq, rustls or the standard library say what went wrong: ureq's
//! error variants, rustls errors carried inside I/O errors, I/O error kinds; name
//! resolution failures are tagged at the source by the agent's resolver (see
//! `transport.rs`). Two things arrive only as text, and [`by_message`] reads them, each
//! recognised message pinned by a unit test: the status of a proxy's refused CONNECT, and
//! a connection closed by the peer reported without an error kind.

use std::io;

use url::Url;

use super::stop::Stop;
use crate::error::{Failure, NetworkError};

/// Where the request was going: for messages, and to tell proxy errors apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pub(crate) url: &'a Url,
    /// The proxy in use, if any.
    pub(crate) proxy: Option<&'a Url>,
}

impl Route<'_> {
    /// Maps an error of the connection to the proxy's error when a proxy is in use.
    fn proxied(&self, error: NetworkError) -> NetworkError {
        if self.proxy.is_none() {
            return error;
        }
        match error {
            NetworkError::ConnectionRefusedError => NetworkError::ProxyConnectionRefusedError,
            NetworkError::HostNotFoundError => NetworkError::ProxyNotFoundError,
            other => other,
        }
    }

    /// A failure of the connection: a timeout discards what the reply buffered (Qt aborts
    /// a reply that timed out); other failures leave it readable.
    fn failed(&self, error: NetworkError, message: impl Into<String>) -> Stop {
        let error = self.proxied(error);
        Stop::Failed(match error {
            NetworkError::TimeoutError => Failure::discarding(error, message),
            _ => Failure::new(error, message),
        })
    }
}

/// An error from the connection, as opposed to one from the decoder reading it (the
/// decoder's input tags its errors with this, so a broken connection under a gzip body is
/// not reported as corrupt data).
#[derive(Debug)]
pub(crate) struct TransportError(pub(crate) io::Error);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {}

/// What the body being read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Bytes as they come off the connection.
    Raw,
    /// Decoded (gzip, deflate, br, zstd): an error that is not the connection's is corrupt
    /// content.
    Decoded,
}

/// A failed body read.
pub(crate) fn body_error(e: &io::Error, body: Body, route: &Route<'_>) -> Stop {
    if let Some(transport) = e.get_ref().and_then(|i| i.downcast_ref::<TransportError>()) {
        return io_error(&transport.0, route);
    }
    if body == Body::Decoded {
        return corrupt(e);
    }
    io_error(e, route)
}

/// A compressed body that does not decode: Qt's `UnknownContentError`.
pub(crate) fn corrupt(why: impl std::fmt::Display) -> Stop {
    Stop::Failed(Failure::new(NetworkError::UnknownContentError, format!("Data corrupted: {why}")))
}

/// A failed read or write.
pub(crate) fn io_error(e: &io::Error, route: &Route<'_>) -> Stop {
    use NetworkError::*;
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        return ureq_error(inner, route);
    }
    let text = e.to_string();
    if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
        return route.failed(SslHandshakeFailedError, format!("SSL handshake failed: {text}"));
    }
    let (error, message) = match e.kind() {
        io::ErrorKind::ConnectionRefused => (ConnectionRefusedError, "Connection refused".into()),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => (RemoteHostClosedError, format!("Connection closed: {text}")),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            (TimeoutError, "Socket operation timed out".into())
        }
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
            (ProtocolFailure, format!("Data corrupted: {text}"))
        }
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable | io::ErrorKind::NetworkDown => {
            (UnknownNetworkError, format!("Network unreachable: {text}"))
        }
        _ => match by_message(&text) {
            Some(Message::Closed) => (RemoteHostClosedError, format!("Connection closed: {text}")),
            _ => (UnknownNetworkError, format!("Network error: {text}")),
        },
    };
    route.failed(error, message)
}

/// A failed ureq call.
pub(crate) fn ureq_error(e: &ureq::Error, route: &Route<'_>) -> Stop {
    use NetworkError::*;
    let (error, message) = match e {
        ureq::Error::Io(io) => return io_error(io, route),
        ureq::Error::HostNotFound => {
            let host = route.proxy.unwrap_or(route.url).host_str().unwrap_or("");
            (HostNotFoundError, format!("Host {host} not found"))
        }
        ureq::Error::Timeout(t) => (TimeoutError, format!("Socket operation timed out ({t})")),
        ureq::Error::ConnectionFailed => (ConnectionRefusedError, "Connection refused".to_owned()),
        ureq::Error::Protocol(p) => (ProtocolFailure, format!("Protocol error: {p}")),
        ureq::Error::LargeResponseHeader(size, limit) => {
            (ProtocolFailure, format!("Protocol error: response header of {size} bytes exceeds {limit}"))
        }
        ureq::Error::BadUri(u) => (ProtocolUnknownError, format!("Invalid URL: {u}")),
        ureq::Error::Http(h) => (ProtocolInvalidOperationError, format!("Invalid request: {h}")),
        ureq::Error::Tls(t) => (SslHandshakeFailedError, format!("SSL handshake failed: {t}")),
        ureq::Error::Pem(p) => (SslHandshakeFailedError, format!("SSL handshake failed: {p}")),
        ureq::Error::Rustls(r) => (SslHandshakeFailedError, format!("SSL handshake failed: {r}")),
        ureq::Error::InvalidProxyUrl => (UnknownProxyError, "Invalid proxy URL".to_owned()),
        ureq::Error::ConnectProxyFailed(text) => match by_message(text) {
            Some(Message::ProxyRefused(407)) => return Stop::ProxyAuthenticationRequired,
            _ => (UnknownProxyError, format!("Proxy CONNECT failed: {text}")),
        },
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            (TooManyRedirectsError, "Too many redirects".to_owned())
        }
        ureq::Error::BodyExceedsLimit(n) => (ProtocolFailure, format!("Body exceeds the limit of {n} bytes")),
        ureq::Error::BodyStalled => (TimeoutError, "Socket operation timed out (body stalled)".to_owned()),
        other => (UnknownNetworkError, format!("Network error: {other}")),
    };
    route.failed(error, message)
}

/// What a message that comes without a type says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// ureq's `ConnectProxyFailed("proxy server responded 407/407")`: the proxy answered
    /// the CONNECT with this status.
    ProxyRefused(u16),
    /// The peer closed the connection: an I/O error without a telling kind whose text says
    /// "disconnected" or "closed".
    Closed,
}

/// Reads the messages that carry meaning only as text (see the module docs).
pub(crate) fn by_message(text: &str) -> Option<Message> {
    if let Some(rest) = text.strip_prefix("proxy server responded ") {
        let code = rest.split(['/', ' ']).next()?;
        return code.parse().ok().map(Message::ProxyRefused);
    }
    if text.contains("disconnected") || text.contains("closed") {
        return Some(Message::Closed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(stop: Stop) -> (NetworkError, String) {
        match stop {
            Stop::Failed(f) => (f.error, f.message),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn recognised_messages() {
        // ureq 3: `format!("proxy server responded {}/{}", code, code)`.
        assert_eq!(by_message("proxy server responded 407/407"), Some(Message::ProxyRefused(407)));
        assert_eq!(by_message("proxy server responded 403/403"), Some(Message::ProxyRefused(403)));
        assert_eq!(by_message("proxy server did not respond"), None);
        // ureq: `io::Error::new(UnexpectedEof, "Peer disconnected")` (also typed by kind).
        assert_eq!(by_message("Peer disconnected"), Some(Message::Closed));
        assert_eq!(by_message("connection closed by peer"), Some(Message::Closed));
        assert_eq!(by_message("channel closed"), Some(Message::Closed));
        assert_eq!(by_message("something else"), None);
    }

    #[test]
    fn ureq_errors_map_to_qt_errors_and_proxy_errors_behind_a_proxy() {
        let target = url("http://origin.test/x");
        let proxy = url("http://proxy.test:3128");
        let direct = Route { url: &target, proxy: None };
        let proxied = Route { url: &target, proxy: Some(&proxy) };

        let (error, message) = failure(ureq_error(&ureq::Error::HostNotFound, &direct));
        assert_eq!(
            (error, message.as_str()),
            (NetworkError::HostNotFoundError, "Host origin.test not found")
        );
        let (error, message) = failure(ureq_error(&ureq::Error::HostNotFound, &proxied));
        assert_eq!(
            (error, message.as_str()),
            (NetworkError::ProxyNotFoundError, "Host proxy.test not found")
        );
        let (error, _) = failure(ureq_error(&ureq::Error::ConnectionFailed, &direct));
        assert_eq!(error, NetworkError::ConnectionRefusedError);
        let (error, _) = failure(ureq_error(&ureq::Error::ConnectionFailed, &proxied));
        assert_eq!(error, NetworkError::ProxyConnectionRefusedError);

        let refused = ureq::Error::ConnectProxyFailed("proxy server responded 407/407".into());
        assert!(matches!(ureq_error(&refused, &proxied), Stop::ProxyAuthenticationRequired));
        let forbidden = ureq::Error::ConnectProxyFailed("proxy server responded 403/403".into());
        assert_eq!(failure(ureq_error(&forbidden, &proxied)).0, NetworkError::UnknownProxyError);
        assert_eq!(
            failure(ureq_error(&ureq::Error::Tls("bad"), &direct)).0,
            NetworkError::SslHandshakeFailedError
        );
        assert_eq!(failure(ureq_error(&ureq::Error::BodyStalled, &direct)).0, NetworkError::TimeoutError);
        let Stop::Failed(timeout) = ureq_error(&ureq::Error::BodyStalled, &direct) else { unreachable!() };
        assert_eq!(timeout.leftover, crate::error::Leftover::Discard, "a timeout discards the buffered body");
    }

    #[test]
    fn io_errors_by_kind_and_by_carried_type() {
        let target = url("https://origin.test/");
        let route = Route { url: &target, proxy: None };
        let io = |kind, text: &str| io::Error::new(kind, text.to_owned());
        let cases = [
            (io(io::ErrorKind::ConnectionRefused, "refused"), NetworkError::ConnectionRefusedError),
            (io(io::ErrorKind::ConnectionReset, "reset"), NetworkError::RemoteHostClosedError),
            (io(io::ErrorKind::UnexpectedEof, "Peer disconnected"), NetworkError::RemoteHostClosedError),
            (io(io::ErrorKind::TimedOut, "timed out"), NetworkError::TimeoutError),
            (io(io::ErrorKind::InvalidData, "bad chunk"), NetworkError::ProtocolFailure),
            (io(io::ErrorKind::Other, "connection closed by peer"), NetworkError::RemoteHostClosedError),
            (io(io::ErrorKind::Other, "mystery"), NetworkError::UnknownNetworkError),
        ];
        for (e, expected) in cases {
            assert_eq!(failure(io_error(&e, &route)).0, expected, "{e}");
        }
        // rustls reports a refused certificate as an InvalidData I/O error carrying its error.
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(failure(io_error(&tls, &route)).0, NetworkError::SslHandshakeFailedError);
        // A ureq error carried inside an I/O error is unwrapped.
        let wrapped = io::Error::other(ureq::Error::HostNotFound);
        assert_eq!(failure(io_error(&wrapped, &route)).0, NetworkError::HostNotFoundError);
    }

    #[test]
    fn a_decoder_error_is_corrupt_data_but_a_tagged_connection_error_is_not() {
        let target = url("http://origin.test/");
        let route = Route { url: &target, proxy: None };
        let corrupt = io::Error::new(io::ErrorKind::InvalidInput, "invalid gzip header");
        assert_eq!(failure(body_error(&corrupt, Body::Decoded, &route)).0, NetworkError::UnknownContentError);
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let tagged = io::Error::new(io::ErrorKind::ConnectionReset, TransportError(reset));
        assert_eq!(
            failure(body_error(&tagged, Body::Decoded, &route)).0,
            NetworkError::RemoteHostClosedError
        );
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        assert_eq!(failure(body_error(&eof, Body::Raw, &route)).0, NetworkError::RemoteHostClosedError);
    }
}
