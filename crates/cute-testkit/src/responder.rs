//! [`Responder`]: a scripted raw-HTTP server for fault injection.
//!
//! Hand-written HTTP lives here and in the scripts tests give it, and nowhere else: real
//! servers for tests are `cute-httpbin` (hyper). A responder exists to do what a real
//! server library will not: close mid-body, reset, hang, send malformed heads, lie about
//! lengths.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long a connection's reads and writes may block by default: no script's thread
/// outlives a test run by more than this.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

/// The largest request head read; a longer one makes [`Connection::read_head`] give up.
pub const MAX_HEAD: usize = 64 * 1024;

/// A listener on 127.0.0.1 (port 0: a free port) that runs a script on a thread of its
/// own (named `fault-conn`) for every connection it accepts, and counts the connections.
/// Dropping it stops and joins the accept thread (`fault-accept`); connection threads end
/// when their script returns, at the latest after the connection limit.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use cute_testkit::{Responder, response};
///
/// // Answers every request on the connection, then closes when the client does.
/// let server = Responder::start(|mut connection| {
///     while let Some(head) = connection.read_head() {
///         let body = format!("you asked for {}", head.path());
///         if connection.write_all(&response("200 OK", &[], body.as_bytes())).is_err() {
///             return;
///         }
///     }
/// });
/// let mut client = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
/// client.write_all(b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").unwrap();
/// client.shutdown(std::net::Shutdown::Write).unwrap();
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("you asked for /x"));
/// assert_eq!(server.accepted(), 1);
/// ```
#[derive(Debug)]
pub struct Responder {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Responder {
    /// Starts a responder running `script` for each connection, with the default
    /// [`CONNECTION_LIMIT`].
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1 or the accept thread cannot start.
    pub fn start(script: impl Fn(Connection) + Send + Sync + 'static) -> Responder {
        Responder::with_limit(CONNECTION_LIMIT, script)
    }

    /// As [`start`](Self::start), with reads and writes of each connection bounded by
    /// `limit`.
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1 or the accept thread cannot start.
    pub fn with_limit(limit: Duration, script: impl Fn(Connection) + Send + Sync + 'static) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a responder on 127.0.0.1");
        let port = listener.local_addr().expect("the responder's address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (accepted.clone(), stop.clone());
        let script = Arc::new(script);
        let accept = thread::Builder::new()
            .name("fault-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(limit));
                    let _ = stream.set_write_timeout(Some(limit));
                    let script = script.clone();
                    let connection = Connection { stream, pending: Vec::new(), received: 0 };
                    // Without a thread the connection is dropped: the client sees it closed.
                    let spawned =
                        thread::Builder::new().name("fault-conn".into()).spawn(move || script(connection));
                    if let Err(e) = spawned {
                        eprintln!("responder: cannot start a connection thread: {e}");
                    }
                }
            })
            .expect("start the responder's accept thread");
        Responder { port, accepted, stop, accept: Some(accept) }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag (this connection is not counted).
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One accepted connection, as a script gets it: a `TcpStream` with a buffer, so that
/// request heads are split correctly on a keep-alive connection.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet returned as a head.
    pending: Vec<u8>,
    received: usize,
}

impl Connection {
    /// Reads the next request head (up to and including its blank line); `None` if the
    /// client closed first, the connection failed, or the head grew past [`MAX_HEAD`]
    /// (what arrived is then in [`pending`](Self::pending)). A request body is not read.
    pub fn read_head(&mut self) -> Option<Head> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = self.pending.split_off(at + 4);
                let bytes = std::mem::replace(&mut self.pending, rest);
                return Some(Head { bytes });
            }
            if self.pending.len() >= MAX_HEAD {
                return None;
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => {
                    self.received += n;
                    self.pending.extend_from_slice(&buf[..n]);
                }
            }
        }
    }

    /// Bytes read and not returned as a head (a partial head once `read_head` gave up).
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Bytes read off the connection in all.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Waits until the client has sent something, without reading it: closing a socket
    /// with unread data sends a reset (RST) instead of an orderly FIN.
    pub fn await_request(&self) {
        let _ = self.stream.peek(&mut [0u8; 1]);
    }

    /// Never answers: reads and discards until the client goes away (or the limit).
    pub fn hang(mut self) {
        let mut buf = [0u8; 4096];
        while matches!(self.stream.read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Closes our side cleanly (FIN) and waits for the client to close its side, so the
    /// client sees an orderly end of stream, not a reset.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.hang();
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A request head as received (request line, header lines, blank line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    bytes: Vec<u8>,
}

impl Head {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The head as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The request line (`GET /x HTTP/1.1`).
    pub fn request_line(&self) -> String {
        self.text().split("\r\n").next().unwrap_or("").to_owned()
    }

    /// The request target of the request line (`/x`).
    pub fn path(&self) -> String {
        self.request_line().split(' ').nth(1).unwrap_or("").to_owned()
    }

    /// The value of header `name` (case-insensitive, the first if repeated), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.text().split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// Whether header `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }
}

/// A complete response: the status line `HTTP/1.1 <status>`, `headers` (each `Name: value`),
/// a `Content-Length` for `body`, and `body`.
pub fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for header in headers {
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// A script answering every request on the connection (keep-alive) with `bytes`.
pub fn always(
    bytes: impl AsRef<[u8]> + Send + Sync + 'static,
) -> impl Fn(Connection) + Send + Sync + 'static {
    move |mut connection| {
        while connection.read_head().is_some() {
            if connection.write_all(bytes.as_ref()).is_err() {
                return;
            }
        }
    }
}

/// A script answering the first request with `bytes`, then keeping the connection open
/// until the client closes it (so a lax parser would wait into its timeout instead of
/// seeing a close).
pub fn answering_then_open(
    bytes: impl AsRef<[u8]> + Send + Sync + 'static,
) -> impl Fn(Connection) + Send + Sync + 'static {
    move |mut connection| {
        if connection.read_head().is_some() {
            let _ = connection.write_all(bytes.as_ref());
            connection.hang();
        }
    }
}

/// A script that records each request head (sent to the receiver returned) and answers
/// it with `bytes` (keep-alive).
pub fn recording(
    bytes: impl AsRef<[u8]> + Send + Sync + 'static,
) -> (impl Fn(Connection) + Send + Sync + 'static, mpsc::Receiver<Head>) {
    let (tx, rx) = mpsc::channel();
    let script = move |mut connection: Connection| {
        while let Some(head) = connection.read_head() {
            let _ = tx.send(head);
            if connection.write_all(bytes.as_ref()).is_err() {
                return;
            }
        }
    };
    (script, rx)
}

/// A script that never answers (see [`Connection::hang`]).
pub fn hang(connection: Connection) {
    connection.hang();
}

#[cfg(test)]
mod tests {
    use std::io::BufRead as _;

    use super::*;

    fn connect(server: &Responder) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
    }

    #[test]
    fn heads_are_split_on_a_keep_alive_connection() {
        let (script, heads) = recording(response("204 No Content", &[], b""));
        let server = Responder::start(script);
        let mut client = connect(&server);
        // Two requests in one write: the second must not be lost in the first's read.
        client
            .write_all(b"GET /a HTTP/1.1\r\nX-One: 1\r\n\r\nPOST /b HTTP/1.1\r\nx-two:  2 \r\n\r\n")
            .unwrap();
        let first = heads.recv_timeout(Duration::from_secs(10)).unwrap();
        let second = heads.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((first.path(), first.header("x-one")), ("/a".to_owned(), Some("1".to_owned())));
        assert_eq!(second.request_line(), "POST /b HTTP/1.1");
        assert_eq!(second.header("X-Two").as_deref(), Some("2"));
        assert!(!second.has_header("x-one"));
        let mut reader = std::io::BufReader::new(client);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 204 No Content\r\n");
        assert_eq!(server.accepted(), 1);
    }

    #[test]
    fn close_is_an_orderly_end_of_stream() {
        let server = Responder::start(|mut connection| {
            connection.read_head();
            let _ = connection.write_all(b"partial");
            connection.close();
        });
        let mut client = connect(&server);
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).expect("an orderly close, not a reset");
        assert_eq!(got, b"partial");
    }

    #[test]
    fn an_oversized_head_is_given_up_with_what_arrived_kept() {
        let (tx, rx) = mpsc::channel();
        let server = Responder::start(move |mut connection| {
            let head = connection.read_head();
            let _ = tx.send((head.is_none(), connection.pending().len(), connection.received()));
        });
        let mut client = connect(&server);
        let _ = client.write_all(&vec![b'a'; MAX_HEAD + 10]);
        let (gave_up, pending, received) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(gave_up);
        assert!(pending >= MAX_HEAD && pending == received, "{pending} of {received}");
    }

    #[test]
    fn dropping_the_responder_stops_accepting() {
        let server = Responder::start(hang);
        let port = server.port();
        let client = connect(&server);
        drop(server);
        drop(client);
        // The listener is gone with its thread: a new connection is refused.
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
