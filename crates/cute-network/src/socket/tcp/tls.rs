//! TLS on a TCP socket (private; `SslSocket` is its API): a rustls session between the
//! stream and the socket's buffers, driven by the same readiness as plain reads and writes.
//! A certificate the application ignores (in its `ssl_errors` slot) cannot be taken back
//! into a rustls handshake that refused it: the connection is made again, quietly, with a
//! verifier that ignores those kinds, as the manager's requests do.

use std::io::{self, Read, Write};
use std::sync::Arc;

use cute_core::mio::net::TcpStream;

use super::engine::ReadEnd;
use super::{READ_CHUNK, TcpSocket};
use crate::socket::kinds::{SocketError, SocketState};
use crate::ssl::SslErrorKind;
use crate::tls::{SslConfiguration, refused_by, socket_client_config};

/// Every kind of certificate error (what `ignore_ssl_errors` without a list ignores).
const ALL_KINDS: [SslErrorKind; 9] = [
    SslErrorKind::CertificateSignatureFailed,
    SslErrorKind::CertificateNotYetValid,
    SslErrorKind::CertificateExpired,
    SslErrorKind::SelfSignedCertificate,
    SslErrorKind::UnableToGetLocalIssuerCertificate,
    SslErrorKind::CertificateRevoked,
    SslErrorKind::InvalidPurpose,
    SslErrorKind::HostNameMismatch,
    SslErrorKind::UnspecifiedError,
];

/// Plaintext handed to the session at a time (one TLS record).
const RECORD: usize = 16 * 1024;

/// Which side of the handshake a socket is (Qt's `QSslSocket::SslMode`).
#[doc(alias = "QSslSocket::SslMode")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslMode {
    /// Plain TCP.
    #[default]
    UnencryptedMode = 0,
    /// The client side.
    SslClientMode = 1,
    /// The server side.
    SslServerMode = 2,
}

/// A socket's TLS: its settings, and the session once started.
pub(crate) struct TlsState {
    pub(crate) mode: SslMode,
    pub(crate) configuration: SslConfiguration,
    pub(crate) session: Option<rustls::Connection>,
    /// The name the server's certificate must carry (the host connected to).
    pub(crate) server_name: String,
    pub(crate) encrypted: bool,
    pub(crate) ignore_all: bool,
    pub(crate) ignored: Vec<SslErrorKind>,
}

impl TlsState {
    pub(crate) fn new(configuration: SslConfiguration) -> TlsState {
        TlsState {
            mode: SslMode::UnencryptedMode,
            configuration,
            session: None,
            server_name: String::new(),
            encrypted: false,
            ignore_all: false,
            ignored: Vec::new(),
        }
    }

    /// A client handshake waits for the connection.
    pub(super) fn pending_client(&self) -> bool {
        self.mode == SslMode::SslClientMode && self.session.is_none()
    }

    /// The connection (or the attempt) ended: the next one starts plain, with no session,
    /// and `ignore_ssl_errors` was for this one only (Qt resets it for each).
    pub(super) fn connection_ended(&mut self) {
        self.session = None;
        self.encrypted = false;
        self.mode = SslMode::UnencryptedMode;
        self.ignore_all = false;
    }

    pub(super) fn has_session(&self) -> bool {
        self.session.is_some()
    }

    pub(super) fn wants_write(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.wants_write())
    }
}

impl TcpSocket {
    /// Starts the client session (the handshake's first message goes out with the next
    /// flush).
    pub(super) fn start_tls_session(&self) {
        let made = {
            let mut tls = self.inner.tls.borrow_mut();
            let Some(tls) = tls.as_mut() else { return };
            let ignored: Vec<SslErrorKind> =
                if tls.ignore_all { ALL_KINDS.to_vec() } else { tls.ignored.clone() };
            let config = socket_client_config(&tls.configuration.tls(), &ignored);
            let name = tls.server_name.trim_start_matches('[').trim_end_matches(']').to_owned();
            rustls::pki_types::ServerName::try_from(name)
                .map_err(|e| e.to_string())
                .and_then(|name| rustls::ClientConnection::new(config, name).map_err(|e| e.to_string()))
                .map(|session| {
                    tls.session = Some(rustls::Connection::Client(session));
                    tls.encrypted = false;
                })
        };
        match made {
            Ok(()) => self.tls_flush(),
            Err(text) => self.end_with(SocketError::SslHandshakeFailedError, &text),
        }
    }

    /// Starts the server session on a connected socket.
    pub(crate) fn start_server_session(&self, config: Arc<rustls::ServerConfig>) -> Result<(), String> {
        let session = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
            tls.mode = SslMode::SslServerMode;
            tls.session = Some(rustls::Connection::Server(session));
            tls.encrypted = false;
        }
        self.read_some();
        Ok(())
    }

    /// Reads ciphertext, feeds the session, and takes out the plaintext (up to the read
    /// limit); then what the session has to send, `encrypted` when the handshake is done,
    /// `ready_read` for new data.
    pub(super) fn tls_read(&self) {
        let was_handshaking = self.handshaking();
        let mut got = false;
        let outcome = {
            let mut conn = self.inner.conn.borrow_mut();
            let mut tls = self.inner.tls.borrow_mut();
            let (Some(conn), Some(session)) = (conn.as_mut(), tls.as_mut().and_then(|t| t.session.as_mut()))
            else {
                return;
            };
            let mut read = self.inner.read.borrow_mut();
            let limit = self.inner.read_limit.get();
            pump(&mut conn.stream, session, |plain| {
                got = true;
                read.push(plain);
                let full = limit != 0 && read.len() >= limit;
                if full {
                    self.inner.paused.set(true);
                }
                !full
            })
        };
        // Handshake messages, or the answer to a key update.
        self.tls_flush();
        if was_handshaking && !self.handshaking() && matches!(outcome, ReadEnd::Open) {
            if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
                tls.encrypted = true;
            }
            self.emit(|s| &s.encrypted, self);
            if !self.is_live() {
                return;
            }
            // What the application wrote meanwhile, and a close it asked for.
            self.tls_flush();
        }
        self.after_read(got, outcome);
    }

    /// Hands buffered plaintext to the session (after the handshake) and writes what the
    /// session has to send, as far as the kernel takes it.
    pub(super) fn tls_flush(&self) {
        let mut written = 0u64;
        let mut failure = None;
        {
            let mut conn = self.inner.conn.borrow_mut();
            let mut tls = self.inner.tls.borrow_mut();
            let (Some(conn), Some(session)) = (conn.as_mut(), tls.as_mut().and_then(|t| t.session.as_mut()))
            else {
                return;
            };
            let mut write = self.inner.write.borrow_mut();
            'out: loop {
                while session.wants_write() {
                    match session.write_tls(&mut conn.stream) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 'out,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            failure = Some(e);
                            break 'out;
                        }
                    }
                }
                if session.is_handshaking() || write.is_empty() {
                    break;
                }
                let front = write.front();
                let n = front.len().min(RECORD);
                if let Err(e) = session.writer().write_all(&front[..n]) {
                    failure = Some(e);
                    break;
                }
                write.consume(n);
                written += n as u64;
            }
        }
        if let Some(e) = failure {
            return self.connection_failed(&e);
        }
        self.report(written);
        self.set_interest();
        let drained = self.inner.write.borrow().is_empty()
            && !self.inner.tls.borrow().as_ref().is_some_and(|t| t.wants_write());
        // Closed only once `encrypted` was emitted (Qt's order: encrypted, then the close).
        let announced = self.inner.tls.borrow().as_ref().is_some_and(|t| t.encrypted);
        if self.inner.closing.get() && drained && announced {
            self.send_close_notify();
            self.close_now(true);
        }
    }

    /// Tells the peer the TLS session ends (best effort: the connection closes next).
    pub(super) fn send_close_notify(&self) {
        let mut conn = self.inner.conn.borrow_mut();
        let mut tls = self.inner.tls.borrow_mut();
        if let (Some(conn), Some(session)) = (conn.as_mut(), tls.as_mut().and_then(|t| t.session.as_mut())) {
            session.send_close_notify();
            let _ = session.write_tls(&mut conn.stream);
        }
    }

    fn handshaking(&self) -> bool {
        self.inner.tls.borrow().as_ref().and_then(|t| t.session.as_ref()).is_some_and(|s| s.is_handshaking())
    }

    /// The session failed: a refused certificate goes to `ssl_errors` first, where the
    /// application may ignore it (then the connection is made again); otherwise the
    /// connection ends with `SslHandshakeFailedError` (or `SslInternalError` after the
    /// handshake).
    pub(super) fn tls_error(&self, error: &rustls::Error, handshaking: bool) {
        if let Some(refused) = refused_by(error).filter(|_| handshaking) {
            let before = self.ignoring();
            self.emit(|s| &s.ssl_errors, &vec![refused.clone()]);
            // A slot closed the socket (or made another connection): nothing more here.
            if !self.is_live() {
                return;
            }
            let now = self.ignoring();
            let ignored = now.0 || now.1.contains(&refused.error());
            if ignored && now != before && self.state() == SocketState::ConnectedState {
                return self.reconnect();
            }
            let text = format!("The TLS/SSL handshake failed: {}", refused.error_string());
            return self.end_with(SocketError::SslHandshakeFailedError, &text);
        }
        let (kind, text) = if handshaking {
            (SocketError::SslHandshakeFailedError, format!("The TLS/SSL handshake failed: {error}"))
        } else {
            (SocketError::SslInternalError, format!("TLS error: {error}"))
        };
        self.end_with(kind, &text);
    }

    /// What the application ignores: every error, and these kinds.
    fn ignoring(&self) -> (bool, Vec<SslErrorKind>) {
        self.inner.tls.borrow().as_ref().map_or((false, Vec::new()), |t| (t.ignore_all, t.ignored.clone()))
    }

    /// Makes the connection again to the same address, for a handshake that ignores what
    /// the application ignored; the application sees no change of state.
    fn reconnect(&self) {
        let address = self.inner.conn.borrow().as_ref().and_then(|c| c.stream.peer_addr().ok());
        self.inner.conn.borrow_mut().take();
        if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
            tls.session = None;
        }
        let Some(address) = address else {
            return self.end_with(SocketError::SslHandshakeFailedError, "The connection was lost");
        };
        self.inner.reconnecting.set(true);
        let attached = TcpStream::connect(address).and_then(|stream| {
            self.attach(stream, cute_core::mio::Interest::READABLE | cute_core::mio::Interest::WRITABLE)
        });
        if let Err(e) = attached {
            self.inner.reconnecting.set(false);
            self.connection_failed(&e);
        }
    }
}

/// Moves ciphertext from `stream` through `session`, giving each piece of plaintext to
/// `take` (which says whether to go on: the read limit), until the kernel has no more.
fn pump(
    stream: &mut TcpStream,
    session: &mut rustls::Connection,
    mut take: impl FnMut(Vec<u8>) -> bool,
) -> ReadEnd {
    loop {
        // Plaintext already decrypted first.
        loop {
            let mut chunk = vec![0u8; READ_CHUNK.min(RECORD)];
            match session.reader().read(&mut chunk) {
                Ok(0) => return ReadEnd::Closed,
                Ok(n) => {
                    chunk.truncate(n);
                    if !take(chunk) {
                        return ReadEnd::Open;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The peer went away without close_notify: an end, as for plain TCP.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return ReadEnd::Closed,
                Err(e) => return ReadEnd::Failed(e),
            }
        }
        match session.read_tls(stream) {
            Ok(0) => return ReadEnd::Closed,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return ReadEnd::Failed(e),
        }
        if let Err(e) = session.process_new_packets() {
            return ReadEnd::Tls { error: e, handshaking: session.is_handshaking() };
        }
    }
}
