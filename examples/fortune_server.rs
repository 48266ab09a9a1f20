//! Qt's "Fortune Server" example, ported: each client that connects gets a random fortune
//! (a 4-byte big-endian length, then the text in UTF-8, where Qt's QDataStream writes a
//! QString) and is disconnected. Ctrl-C (or SIGTERM) quits cleanly.
//!
//!     cargo run --example fortune_server -- [port]
//!
//! Prints the port it listens on; try it with `cargo run --example fortune_client -- <port>`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use cute::network::{TcpServer, TcpSocket};
use cute::{CoreApplication, UnixSignals};

const FORTUNES: [&str; 7] = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
];

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let app = CoreApplication::new();

    // tcpServer = QTcpServer(); tcpServer.listen()
    let server = TcpServer::new();
    if let Err(e) = server.listen("127.0.0.1".parse().expect("an address"), port) {
        eprintln!("Unable to start the server: {e}");
        std::process::exit(1);
    }
    println!("The server is running on port {}.", server.server_port());

    // Clients being served, kept until they are disconnected (Qt: the socket's parent
    // keeps it, and `disconnected` is connected to `deleteLater`).
    let clients: Rc<RefCell<Vec<TcpSocket>>> = Rc::default();
    let kept = Rc::downgrade(&clients);

    // tcpServer.newConnection.connect(self.sendFortune)
    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.subsec_nanos() as usize);
    server.new_connection().connect(move |server: &TcpServer| {
        while let Some(client) = server.next_pending_connection() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let fortune = FORTUNES[(seed >> 8) % FORTUNES.len()];
            let mut block = (fortune.len() as u32).to_be_bytes().to_vec();
            block.extend_from_slice(fortune.as_bytes());
            // clientConnection.disconnected.connect(clientConnection.deleteLater)
            let list = kept.clone();
            client.disconnected().connect(move |client: &TcpSocket| {
                if let Some(list) = list.upgrade() {
                    list.borrow_mut().retain(|c| c != client);
                }
            });
            if let Err(e) = client.write(&block) {
                eprintln!("Unable to send a fortune: {e}");
            }
            // Closes once the fortune is out.
            client.disconnect_from_host();
            if client.is_open()
                && let Some(list) = kept.upgrade()
            {
                list.borrow_mut().push(client);
            }
        }
    });

    // Ctrl-C: quit, so the application's end runs as it should.
    let signals = UnixSignals::new(&[UnixSignals::SIGINT, UnixSignals::SIGTERM]).expect("signal handling");
    signals.activated().connect(|_| CoreApplication::quit());
    app.about_to_quit().connect(|()| println!("Server stopped."));
    let code = app.exec();
    drop(clients);
    std::process::exit(code);
}
