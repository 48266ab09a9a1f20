//! A line-based chat server: every line a client sends goes to all the other clients,
//! prefixed with the sender's address. Ctrl-C quits.
//!
//!     cargo run --example chat_server -- [port]
//!
//! Connect with `cargo run --example chat_client -- <port>` (or `nc 127.0.0.1 <port>`).

use std::cell::RefCell;
use std::rc::Rc;

use cute::network::{TcpServer, TcpSocket};
use cute::{CoreApplication, UnixSignals};

/// The connected clients.
type Clients = Rc<RefCell<Vec<TcpSocket>>>;

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let app = CoreApplication::new();
    let server = TcpServer::new();
    if let Err(e) = server.listen("127.0.0.1".parse().expect("an address"), port) {
        eprintln!("Unable to start the server: {e}");
        std::process::exit(1);
    }
    println!("chat server on port {}", server.server_port());

    let clients: Clients = Rc::default();
    let all = Rc::downgrade(&clients);
    server.new_connection().connect(move |server: &TcpServer| {
        while let Some(client) = server.next_pending_connection() {
            let name = client.peer_address().map_or_else(|| "?".to_owned(), |a| a.to_string());
            println!("{name} joined");
            let others = all.clone();
            let from = name.clone();
            client.ready_read().connect(move |client: &TcpSocket| {
                while client.can_read_line() {
                    let line = client.read_line(4096);
                    let text = String::from_utf8_lossy(&line);
                    let message = format!("{from}: {}\n", text.trim_end());
                    let Some(others) = others.upgrade() else { return };
                    for other in others.borrow().iter().filter(|o| *o != client) {
                        // A client that does not read fills its buffer: it misses lines.
                        let _ = other.write(message.as_bytes());
                    }
                }
            });
            let list = all.clone();
            client.disconnected().connect(move |client: &TcpSocket| {
                println!("{name} left");
                if let Some(list) = list.upgrade() {
                    list.borrow_mut().retain(|c| c != client);
                }
            });
            if let Some(list) = all.upgrade() {
                list.borrow_mut().push(client);
            }
        }
    });

    let signals = UnixSignals::new(&[UnixSignals::SIGINT, UnixSignals::SIGTERM]).expect("signal handling");
    signals.activated().connect(|_| CoreApplication::quit());
    let code = app.exec();
    drop(clients);
    std::process::exit(code);
}
