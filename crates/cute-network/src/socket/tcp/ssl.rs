//! [`SslSocket`] (Qt's `QSslSocket`): a [`TcpSocket`] with TLS, client or server side.

use std::ops::Deref;

use cute_core::Signal;

use super::TcpSocket;
use super::tls::{SslMode, TlsState};
use crate::socket::kinds::{SocketError, SocketState};
use crate::ssl::{SslError, SslErrorKind};
use crate::tls::SslConfiguration;

/// A TCP socket with TLS (Qt's `QSslSocket`), through rustls: everything a [`TcpSocket`]
/// does (it derefs to one), with the bytes encrypted.
///
/// - Client: [`connect_to_host_encrypted`](Self::connect_to_host_encrypted) connects,
///   emits `connected`, does the handshake, then emits [`encrypted`](Self::encrypted).
///   What is written before goes out once encrypted. The server's certificate is checked
///   against the [`SslConfiguration`]'s CA certificates (the bundled roots by default) and
///   the host name; a failure is emitted as [`ssl_errors`](Self::ssl_errors), where a slot
///   may call [`ignore_ssl_errors`](Self::ignore_ssl_errors) to go on (the connection is
///   then made again, with those errors ignored: rustls cannot resume a handshake it
///   refused), else the connection ends with `SslHandshakeFailedError`.
///   [`ignore_ssl_errors_list`](Self::ignore_ssl_errors_list) before connecting accepts
///   expected errors (a known self-signed certificate) from the start.
/// - Server: a connection a [`TcpServer`](crate::TcpServer) accepted, made an
///   `SslSocket` with `SslSocket::from`, then
///   [`start_server_encryption`](Self::start_server_encryption) with a configuration
///   holding the server's certificate and key.
///
/// Nothing is ever accepted by default: there is no `VerifyNone`.
///
/// # Examples
///
/// ```no_run
/// use cute_core::CoreApplication;
/// use cute_network::{SslSocket, TcpSocket};
///
/// let app = CoreApplication::new();
/// let socket = SslSocket::new();
/// socket.encrypted().connect(|socket: &TcpSocket| {
///     let _ = socket.write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
/// });
/// socket.ready_read().connect(|socket: &TcpSocket| print!("{}", String::from_utf8_lossy(&socket.read_all())));
/// socket.disconnected().connect(|_| CoreApplication::quit());
/// socket.connect_to_host_encrypted("example.com", 443);
/// app.exec();
/// ```
#[doc(alias = "QSslSocket")]
#[derive(Clone, PartialEq, Eq)]
pub struct SslSocket {
    socket: TcpSocket,
}

impl std::fmt::Debug for SslSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslSocket").field("socket", &self.socket).field("mode", &self.mode()).finish()
    }
}

impl Default for SslSocket {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for SslSocket {
    type Target = TcpSocket;

    fn deref(&self) -> &TcpSocket {
        &self.socket
    }
}

impl From<TcpSocket> for SslSocket {
    /// TLS for this socket (an accepted connection, say); nothing changes until a
    /// handshake is started.
    fn from(socket: TcpSocket) -> SslSocket {
        socket.inner.tls.borrow_mut().get_or_insert_with(|| Box::new(TlsState::new(SslConfiguration::new())));
        SslSocket { socket }
    }
}

impl SslSocket {
    /// An unconnected socket with the default configuration (the bundled roots).
    pub fn new() -> SslSocket {
        SslSocket::from(TcpSocket::new())
    }

    /// The plain socket underneath (the same socket).
    pub fn as_tcp(&self) -> &TcpSocket {
        &self.socket
    }

    fn with_tls<R>(&self, f: impl FnOnce(&mut TlsState) -> R) -> R {
        let mut tls = self.socket.inner.tls.borrow_mut();
        f(tls.get_or_insert_with(|| Box::new(TlsState::new(SslConfiguration::new()))))
    }

    /// Uses `configuration` for the next handshake (Qt's `setSslConfiguration`): CA
    /// certificates, the certificate and key to present, the lowest protocol.
    #[doc(alias = "setSslConfiguration")]
    pub fn set_ssl_configuration(&self, configuration: &SslConfiguration) {
        self.with_tls(|tls| tls.configuration = configuration.clone());
    }

    /// The configuration.
    pub fn ssl_configuration(&self) -> SslConfiguration {
        self.with_tls(|tls| tls.configuration.clone())
    }

    /// Connects to `host` and does the TLS handshake as a client (Qt's
    /// `connectToHostEncrypted`); the certificate must be for `host`.
    #[doc(alias = "connectToHostEncrypted")]
    pub fn connect_to_host_encrypted(&self, host: &str, port: u16) {
        if self.state() == SocketState::UnconnectedState {
            self.with_tls(|tls| {
                tls.mode = SslMode::SslClientMode;
                tls.session = None;
                tls.encrypted = false;
                tls.server_name = host.to_owned();
            });
        }
        self.socket.connect_to_host(host, port);
    }

    /// Starts the handshake as a client on a connected socket (Qt's
    /// `startClientEncryption`), for the name given to `connect_to_host`.
    #[doc(alias = "startClientEncryption")]
    pub fn start_client_encryption(&self) {
        if self.state() != SocketState::ConnectedState || self.mode() != SslMode::UnencryptedMode {
            return self.refuse("The socket is not connected, or TLS has started already");
        }
        let name = self.peer_name();
        self.with_tls(|tls| {
            tls.mode = SslMode::SslClientMode;
            tls.server_name = name;
        });
        self.socket.start_tls_session();
    }

    /// Starts the handshake as a server on a connected socket (Qt's
    /// `startServerEncryption`), presenting the configuration's certificate and key.
    /// Without them (or with ones that do not fit), the socket reports
    /// `SslHandshakeFailedError` and closes.
    #[doc(alias = "startServerEncryption")]
    pub fn start_server_encryption(&self) {
        if self.state() != SocketState::ConnectedState || self.mode() != SslMode::UnencryptedMode {
            return self.refuse("The socket is not connected, or TLS has started already");
        }
        let config = self.with_tls(|tls| tls.configuration.server_config());
        match config.and_then(|config| self.socket.start_server_session(config)) {
            Ok(()) => {}
            Err(text) => self.socket.end_with(SocketError::SslHandshakeFailedError, &text),
        }
    }

    fn refuse(&self, text: &str) {
        self.socket.fail_soon(SocketError::OperationError, text);
    }

    /// Emitted when the handshake is done (Qt's `encrypted`): from here on the bytes are
    /// encrypted.
    pub fn encrypted(&self) -> &Signal<TcpSocket> {
        &self.socket.signals().encrypted
    }

    /// Emitted when the peer's certificate failed verification (Qt's `sslErrors`): call
    /// [`ignore_ssl_errors`](Self::ignore_ssl_errors) in the slot to go on.
    #[doc(alias = "sslErrors")]
    pub fn ssl_errors(&self) -> &Signal<Vec<SslError>> {
        &self.socket.signals().ssl_errors
    }

    /// Goes on in spite of the certificate errors just reported (Qt's `ignoreSslErrors`,
    /// from an `ssl_errors` slot); before a handshake, ignores every error of it. It holds
    /// for one connection: once that ends, the next is checked again.
    #[doc(alias = "ignoreSslErrors")]
    pub fn ignore_ssl_errors(&self) {
        self.with_tls(|tls| tls.ignore_all = true);
    }

    /// Ignores certificate errors of these kinds only (Qt's `ignoreSslErrors(list)`: the
    /// expected errors, set before connecting or from an `ssl_errors` slot).
    pub fn ignore_ssl_errors_list(&self, kinds: &[SslErrorKind]) {
        self.with_tls(|tls| tls.ignored.extend_from_slice(kinds));
    }

    /// Whether the handshake is done and the connection encrypted (Qt's `isEncrypted`).
    #[doc(alias = "isEncrypted")]
    pub fn is_encrypted(&self) -> bool {
        self.with_tls(|tls| tls.encrypted)
            && matches!(self.state(), SocketState::ConnectedState | SocketState::ClosingState)
    }

    /// Client, server, or not (yet) encrypted (Qt's `mode`).
    pub fn mode(&self) -> SslMode {
        self.with_tls(|tls| tls.mode)
    }

    /// The peer's certificate chain (DER), its own first; empty before the handshake or
    /// for a client that presented none (Qt's `peerCertificateChain`).
    #[doc(alias = "peerCertificateChain")]
    pub fn peer_certificate_chain(&self) -> Vec<Vec<u8>> {
        self.with_tls(|tls| {
            tls.session
                .as_ref()
                .and_then(|s| s.peer_certificates())
                .map(|chain| chain.iter().map(|c| c.to_vec()).collect())
                .unwrap_or_default()
        })
    }
}
