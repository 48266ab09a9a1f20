//! Sockets on the loop, in Qt's shape: [`TcpServer`], [`TcpSocket`], [`UdpSocket`]
//! (Qt's `QTcpServer`, `QTcpSocket`, `QUdpSocket`). Each is a non-blocking mio socket
//! registered with the thread's loop (cute-core's `IoWatcher`): no thread per socket, and
//! every signal on the loop's thread. Host names are resolved on the core's thread pool.
//!
//! `tcp.rs` holds the stream socket, `server.rs` the listener, `udp.rs` the datagram
//! socket, `buffer.rs` the bounded byte queues, `kinds.rs` Qt's enums.

mod buffer;
mod kinds;
mod server;
mod tcp;
mod udp;

pub use kinds::{DEFAULT_WRITE_BUFFER_LIMIT, SocketError, SocketState};
pub use server::TcpServer;
pub use tcp::TcpSocket;
pub use tcp::ssl::SslSocket;
pub use tcp::tls::SslMode;
pub use udp::{NetworkDatagram, UdpSocket};
