//! What a failure on the way means for the reply (Qt's error for it).
//!
//! By type: the connect step's own error ([`ConnectError`]), hyper's error kinds, rustls
//! errors carried inside I/O errors, I/O error kinds. Nothing is recognised by its text.

use std::error::Error as _;
use std::io;

use url::Url;

use super::connect::ConnectError;
use super::stop::Stop;
use crate::error::{Failure, NetworkError};

/// How the request goes: directly, or through a proxy (whose errors are told apart).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
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
/// decoder's input tags its errors with this, so a broken connection under a compressed
/// body is not reported as corrupt data).
#[derive(Debug)]
pub(crate) struct TransportError(pub(crate) io::Error);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {}

/// A failed read of a decoded body: the connection's error (tagged by the decoder's input),
/// or else corrupt content.
pub(crate) fn decoded_body_error(e: &io::Error, route: &Route<'_>) -> Stop {
    if let Some(transport) = e.get_ref().and_then(|i| i.downcast_ref::<TransportError>()) {
        if let Some(hyper) = transport.0.get_ref().and_then(|i| i.downcast_ref::<hyper::Error>()) {
            return hyper_error(hyper, route);
        }
        return io_error(&transport.0, route);
    }
    corrupt(e)
}

/// A compressed body that does not decode: Qt's `UnknownContentError`.
pub(crate) fn corrupt(why: impl std::fmt::Display) -> Stop {
    Stop::Failed(Failure::new(NetworkError::UnknownContentError, format!("Data corrupted: {why}")))
}

/// A failed read or write.
pub(crate) fn io_error(e: &io::Error, route: &Route<'_>) -> Stop {
    use NetworkError::*;
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
        _ => (UnknownNetworkError, format!("Network error: {text}")),
    };
    route.failed(error, message)
}

/// The HTTP/2 error under a hyper error, if it is one.
fn http2_error(e: &hyper::Error) -> Option<&h2::Error> {
    let mut source = e.source();
    while let Some(inner) = source {
        if let Some(h2) = inner.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        source = inner.source();
    }
    None
}

/// Whether an HTTP/2 server said it did not process the request: it refused the stream
/// (`REFUSED_STREAM`), or is going away gracefully (`GOAWAY` with `NO_ERROR`) and the
/// stream was past the last one it will process. RFC 9113 §8.7: such a request may be
/// retried whatever its method.
pub(crate) fn unprocessed(e: &hyper::Error) -> bool {
    http2_error(e).is_some_and(|h2| {
        h2.reason() == Some(h2::Reason::REFUSED_STREAM)
            || (h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR))
    })
}

/// Whether an error concerns one HTTP/2 stream only (the server reset it), leaving its
/// connection fit for others.
pub(crate) fn stream_only(e: &hyper::Error) -> bool {
    http2_error(e).is_some_and(|h2| h2.reason().is_some() && !h2.is_go_away())
}

/// An HTTP/2 stream or connection error by its reason code.
fn http2_failure(h2: &h2::Error, route: &Route<'_>) -> Option<Stop> {
    use NetworkError::*;
    let reason = h2.reason()?;
    let error = match reason {
        // The peer ended the stream or the connection without saying why.
        h2::Reason::NO_ERROR | h2::Reason::CANCEL | h2::Reason::REFUSED_STREAM => RemoteHostClosedError,
        h2::Reason::INADEQUATE_SECURITY => SslHandshakeFailedError,
        _ => ProtocolFailure,
    };
    let side = if h2.is_remote() { "the server" } else { "cute" };
    Some(route.failed(error, format!("HTTP/2 error: {reason} (from {side})")))
}

/// A failed exchange, as hyper reports it.
pub(crate) fn hyper_error(e: &hyper::Error, route: &Route<'_>) -> Stop {
    use NetworkError::*;
    if let Some(h2) = http2_error(e)
        && let Some(stop) = http2_failure(h2, route)
    {
        return stop;
    }
    // An I/O error underneath says most.
    let mut source = e.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return io_error(io, route);
        }
        source = inner.source();
    }
    let (error, message) = if e.is_user() {
        // Our requests are well-formed: a "user" error here is hyper's connection task
        // ending with the request still queued on it (an HTTP/2 connection going away).
        (RemoteHostClosedError, format!("Connection closed with the request queued on it: {e}"))
    } else if e.is_timeout() {
        (TimeoutError, "Socket operation timed out".to_owned())
    } else if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        (RemoteHostClosedError, format!("Connection closed: {e}"))
    } else if e.is_parse_too_large() {
        // Qt's limits, as the connection was configured: 100 fields, the head 120 KiB.
        (ProtocolFailure, format!("Protocol error: the response header is too large ({e})"))
    } else if e.is_parse() || e.is_parse_status() {
        (ProtocolFailure, format!("Protocol error: {e}"))
    } else {
        (UnknownNetworkError, format!("Network error: {e}"))
    };
    route.failed(error, message)
}

/// A connection that could not be opened.
pub(crate) fn connect_error(e: ConnectError, route: &Route<'_>) -> Stop {
    use NetworkError::*;
    match e {
        ConnectError::HostNotFound(host) => route.failed(HostNotFoundError, format!("Host {host} not found")),
        ConnectError::Refused(_) => route.failed(ConnectionRefusedError, "Connection refused"),
        ConnectError::Timeout => route.failed(TimeoutError, "Socket operation timed out (connecting)"),
        // Every TLS failure, a server that does not speak TLS included.
        ConnectError::Tls(e) => route.failed(SslHandshakeFailedError, format!("SSL handshake failed: {e}")),
        ConnectError::ProxyAuthenticationRequired { realm } => Stop::ProxyAuthenticationRequired { realm },
        ConnectError::ProxyRefused(status) => {
            route.failed(UnknownProxyError, format!("Proxy CONNECT failed: {status}"))
        }
        ConnectError::NotHttp2 => route.failed(
            ProtocolFailure,
            "The server does not speak HTTP/2 (Http2DirectAttribute is set: no fall-back to HTTP/1.1)",
        ),
        ConnectError::Io(e) => io_error(&e, route),
        ConnectError::Hyper(e) => hyper_error(&e, route),
    }
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
    fn connect_errors_map_to_qt_errors_and_proxy_errors_behind_a_proxy() {
        let proxy = url("http://proxy.test:3128");
        let direct = Route { proxy: None };
        let proxied = Route { proxy: Some(&proxy) };

        let (error, message) =
            failure(connect_error(ConnectError::HostNotFound("origin.test".into()), &direct));
        assert_eq!(
            (error, message.as_str()),
            (NetworkError::HostNotFoundError, "Host origin.test not found")
        );
        let (error, _) = failure(connect_error(ConnectError::HostNotFound("proxy.test".into()), &proxied));
        assert_eq!(error, NetworkError::ProxyNotFoundError);
        let refused = || ConnectError::Refused(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(failure(connect_error(refused(), &direct)).0, NetworkError::ConnectionRefusedError);
        assert_eq!(failure(connect_error(refused(), &proxied)).0, NetworkError::ProxyConnectionRefusedError);
        let challenged =
            connect_error(ConnectError::ProxyAuthenticationRequired { realm: "r".into() }, &proxied);
        assert!(matches!(challenged, Stop::ProxyAuthenticationRequired { realm } if realm == "r"));
        let forbidden = connect_error(ConnectError::ProxyRefused(hyper::StatusCode::FORBIDDEN), &proxied);
        assert_eq!(failure(forbidden).0, NetworkError::UnknownProxyError);
        let tls = ConnectError::Tls(io::Error::new(io::ErrorKind::UnexpectedEof, "eof"));
        assert_eq!(failure(connect_error(tls, &direct)).0, NetworkError::SslHandshakeFailedError);
        let Stop::Failed(timeout) = connect_error(ConnectError::Timeout, &direct) else { unreachable!() };
        assert_eq!(timeout.error, NetworkError::TimeoutError);
        assert_eq!(timeout.leftover, crate::error::Leftover::Discard, "a timeout discards the buffered body");
    }

    #[test]
    fn io_errors_by_kind_and_by_carried_type() {
        let route = Route { proxy: None };
        let io = |kind, text: &str| io::Error::new(kind, text.to_owned());
        let cases = [
            (io(io::ErrorKind::ConnectionRefused, "refused"), NetworkError::ConnectionRefusedError),
            (io(io::ErrorKind::ConnectionReset, "reset"), NetworkError::RemoteHostClosedError),
            (io(io::ErrorKind::UnexpectedEof, "eof"), NetworkError::RemoteHostClosedError),
            (io(io::ErrorKind::TimedOut, "timed out"), NetworkError::TimeoutError),
            (io(io::ErrorKind::InvalidData, "bad chunk"), NetworkError::ProtocolFailure),
            (io(io::ErrorKind::Other, "mystery"), NetworkError::UnknownNetworkError),
        ];
        for (e, expected) in cases {
            assert_eq!(failure(io_error(&e, &route)).0, expected, "{e}");
        }
        // rustls reports a refused certificate as an InvalidData I/O error carrying its error.
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(failure(io_error(&tls, &route)).0, NetworkError::SslHandshakeFailedError);
    }

    #[test]
    fn a_decoder_error_is_corrupt_content_but_a_tagged_connection_error_is_not() {
        let route = Route { proxy: None };
        let corrupt = io::Error::new(io::ErrorKind::InvalidInput, "invalid gzip header");
        assert_eq!(failure(decoded_body_error(&corrupt, &route)).0, NetworkError::UnknownContentError);
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let tagged = io::Error::new(io::ErrorKind::ConnectionReset, TransportError(reset));
        assert_eq!(failure(decoded_body_error(&tagged, &route)).0, NetworkError::RemoteHostClosedError);
    }
}
