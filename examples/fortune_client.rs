//! Qt's "Fortune Client" example, ported: connects to a fortune server, reads one fortune
//! (a 4-byte big-endian length, then UTF-8 text) as it arrives, however it is split, and
//! prints it.
//!
//!     cargo run --example fortune_client -- <port> [host]

use std::time::Duration;

use cute::network::{SocketError, TcpSocket};
use cute::{CoreApplication, Timer};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(port) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: fortune_client <port> [host]");
        std::process::exit(2);
    };
    let host = args.next().unwrap_or_else(|| "localhost".to_owned());
    let app = CoreApplication::new();

    // tcpSocket = QTcpSocket(self); tcpSocket.readyRead.connect(self.readFortune)
    let socket = TcpSocket::new();
    socket.ready_read().connect(|socket: &TcpSocket| {
        // in.startTransaction(); in >> nextFortune; if not in.commitTransaction(): return
        let head = socket.peek(4);
        let Ok(head) = <[u8; 4]>::try_from(head.as_slice()) else { return };
        let length = u32::from_be_bytes(head) as usize;
        if socket.bytes_available() < 4 + length {
            return;
        }
        socket.read(4);
        let fortune = socket.read(length);
        println!("{}", String::from_utf8_lossy(&fortune));
        CoreApplication::quit();
    });
    // tcpSocket.errorOccurred.connect(self.displayError)
    socket.error_occurred().connect(|&error| {
        if error == SocketError::RemoteHostClosedError {
            return;
        }
        eprintln!("The following error occurred: {error}");
        CoreApplication::exit(1);
    });
    socket.connect_to_host(&host, port);
    Timer::single_shot(Duration::from_secs(10), || {
        eprintln!("No fortune within 10 s.");
        CoreApplication::exit(1);
    });
    std::process::exit(app.exec());
}
