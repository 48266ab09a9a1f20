//! Qt's socket enums ([`SocketState`], [`SocketError`]) and the sockets' shared limits.

use std::fmt;
use std::io;

/// Most bytes a socket buffers for writing by default (Qt has no limit): 64 MiB. A write
/// past it accepts what fits; see [`TcpSocket::write`](crate::TcpSocket::write).
pub const DEFAULT_WRITE_BUFFER_LIMIT: usize = 64 * 1024 * 1024;

/// A socket's state (Qt's `QAbstractSocket::SocketState`).
#[doc(alias = "QAbstractSocket::SocketState")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SocketState {
    /// Not connected.
    #[default]
    UnconnectedState = 0,
    /// Resolving the host name.
    HostLookupState = 1,
    /// Connecting.
    ConnectingState = 2,
    /// Connected.
    ConnectedState = 3,
    /// Bound to an address and port (UDP).
    BoundState = 4,
    /// Listening (a server's socket).
    ListeningState = 5,
    /// Closing: writing what is left before the connection ends.
    ClosingState = 6,
}

/// What went wrong with a socket (Qt's `QAbstractSocket::SocketError`, with its numbers).
#[doc(alias = "QAbstractSocket::SocketError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SocketError {
    /// No error (not one of Qt's values: Qt reports `UnknownSocketError` then).
    #[default]
    NoError = -2,
    /// An error that is none of the others.
    UnknownSocketError = -1,
    /// The peer refused the connection (or it timed out).
    ConnectionRefusedError = 0,
    /// The peer closed the connection.
    RemoteHostClosedError = 1,
    /// The host name was not found.
    HostNotFoundError = 2,
    /// The operation is not permitted (a privileged port, say).
    SocketAccessError = 3,
    /// Out of resources (too many open sockets).
    SocketResourceError = 4,
    /// The operation timed out.
    SocketTimeoutError = 5,
    /// A datagram larger than the system allows.
    DatagramTooLargeError = 6,
    /// The network failed (a cable unplugged, the connection reset).
    NetworkError = 7,
    /// The address is already in use (by another listener).
    AddressInUseError = 8,
    /// The address does not belong to this host.
    SocketAddressNotAvailableError = 9,
    /// The operation is not supported here.
    UnsupportedSocketOperationError = 10,
    /// The socket is busy with another operation (a connection in progress, say).
    UnfinishedSocketOperationError = 11,
    /// The TLS handshake failed (a certificate refused, no common protocol); see the
    /// error string.
    SslHandshakeFailedError = 13,
    /// The operation failed; the socket's state does not allow it.
    OperationError = 19,
    /// TLS failed after the handshake (a corrupt record, say).
    SslInternalError = 20,
    /// A temporary error (no buffer space, try again).
    TemporaryError = 22,
}

impl fmt::Display for SocketError {
    /// The name as PyQt6 prints it (`SocketError.ConnectionRefusedError`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketError.{self:?}")
    }
}

impl SocketError {
    /// The error an I/O failure stands for, with Qt's text for it.
    pub(crate) fn of(e: &io::Error) -> (SocketError, String) {
        use io::ErrorKind::*;
        let error = match e.kind() {
            ConnectionRefused => SocketError::ConnectionRefusedError,
            ConnectionReset | ConnectionAborted | BrokenPipe | NetworkUnreachable | HostUnreachable => {
                SocketError::NetworkError
            }
            NotFound => SocketError::HostNotFoundError,
            PermissionDenied => SocketError::SocketAccessError,
            AddrInUse => SocketError::AddressInUseError,
            AddrNotAvailable => SocketError::SocketAddressNotAvailableError,
            TimedOut => SocketError::SocketTimeoutError,
            Unsupported => SocketError::UnsupportedSocketOperationError,
            OutOfMemory => SocketError::SocketResourceError,
            _ if e.raw_os_error() == Some(24) || e.raw_os_error() == Some(23) => {
                SocketError::SocketResourceError
            }
            _ => SocketError::UnknownSocketError,
        };
        let text = match error {
            SocketError::ConnectionRefusedError => "Connection refused".to_owned(),
            SocketError::HostNotFoundError => "Host not found".to_owned(),
            SocketError::AddressInUseError => "The bound address is already in use".to_owned(),
            SocketError::SocketAccessError => "Permission denied".to_owned(),
            SocketError::SocketAddressNotAvailableError => "The address is not available".to_owned(),
            _ => e.to_string(),
        };
        (error, text)
    }
}
