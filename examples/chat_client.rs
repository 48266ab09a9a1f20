//! A line-based chat client: what you type (standard input, watched on the loop with a
//! SocketNotifier, as a Qt program would) goes to the server; what others say is printed.
//! The end of input (Ctrl-D) leaves the chat once everything typed is sent.
//!
//!     cargo run --example chat_client -- <port> [host]

use std::io::Read;
use std::os::fd::AsRawFd;

use cute::network::{SocketError, TcpSocket};
use cute::{CoreApplication, SocketNotifier, SocketNotifierType};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(port) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: chat_client <port> [host]");
        std::process::exit(2);
    };
    let host = args.next().unwrap_or_else(|| "localhost".to_owned());
    let app = CoreApplication::new();

    let socket = TcpSocket::new();
    socket.connected().connect(|_| println!("connected"));
    socket.ready_read().connect(|socket: &TcpSocket| {
        while socket.can_read_line() {
            print!("{}", String::from_utf8_lossy(&socket.read_line(4096)));
        }
    });
    socket.disconnected().connect(|_| CoreApplication::quit());
    socket.error_occurred().connect(|&error| {
        if error != SocketError::RemoteHostClosedError {
            eprintln!("The following error occurred: {error}");
            CoreApplication::exit(1);
        }
    });
    socket.connect_to_host(&host, port);

    // Standard input on the loop: QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    // (Not for a regular file or /dev/null, which the poller refuses: then only listen.)
    let notifier = match SocketNotifier::new(std::io::stdin().as_raw_fd(), SocketNotifierType::Read) {
        Ok(notifier) => Some(notifier),
        Err(e) => {
            eprintln!("not reading standard input ({e}): listening only");
            None
        }
    };
    let typed = socket.clone();
    let on_input = move |_: &i32| {
        // At least Stdin's buffer size, so reads go straight to the descriptor and nothing
        // stays behind in a buffer the notifier cannot see.
        let mut buf = vec![0u8; 64 * 1024];
        match std::io::stdin().lock().read(&mut buf) {
            Ok(0) | Err(_) => {
                // The end of input: leave once what was typed is out.
                typed.disconnect_from_host();
            }
            Ok(n) => {
                if let Err(e) = typed.write(&buf[..n]) {
                    eprintln!("not sent: {e}");
                }
            }
        }
    };
    if let Some(notifier) = &notifier {
        notifier.activated().connect(on_input);
    }
    let code = app.exec();
    drop(notifier);
    std::process::exit(code);
}
