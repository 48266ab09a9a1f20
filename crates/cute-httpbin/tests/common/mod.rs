//! A minimal HTTP/1.1 client over `std::net::TcpStream`, for the tests only.

#![allow(dead_code)] // each test file uses a different part of it

pub(crate) use cute_testkit::Watchdog;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Every read in the tests gives up after this long.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// A response as read off the wire.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The reason phrase of the status line.
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The sizes of the chunks of a chunked body, in order.
    pub(crate) chunks: Vec<usize>,
}

impl Response {
    /// The first value of the header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name`.
    pub(crate) fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The body parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// One keep-alive connection.
pub(crate) struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let writer = stream.try_clone().unwrap();
        Client { reader: BufReader::new(stream), writer, host: addr.to_string() }
    }

    /// Sends a request without waiting for the response.
    pub(crate) fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
    }

    /// Reads one response; `head` for the answer to a HEAD request (no body).
    pub(crate) fn receive(&mut self, head: bool) -> Response {
        let mut response = self.receive_head();
        if head || matches!(response.status, 100..=199 | 204 | 304) {
            return response;
        }
        if response.header("Transfer-Encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            loop {
                let size_line = self.line();
                let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap();
                if size == 0 {
                    while !self.line().is_empty() {}
                    break;
                }
                response.chunks.push(size);
                let start = response.body.len();
                response.body.resize(start + size, 0);
                self.reader.read_exact(&mut response.body[start..]).unwrap();
                assert_eq!(self.line(), "", "CRLF after a chunk");
            }
        } else if let Some(length) = response.header("Content-Length") {
            response.body = vec![0; length.parse().unwrap()];
            self.reader.read_exact(&mut response.body).unwrap();
        } else {
            self.reader.read_to_end(&mut response.body).unwrap();
        }
        response
    }

    /// Reads the status line and headers of a response, leaving its body unread (see
    /// [`Client::body`]).
    pub(crate) fn receive_head(&mut self) -> Response {
        let status_line = self.line();
        let mut parts = status_line.splitn(3, ' ');
        assert!(parts.next().unwrap().starts_with("HTTP/1."), "status line {status_line:?}");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let reason = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header line");
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        Response { status, reason, headers, body: Vec::new(), chunks: Vec::new() }
    }

    /// The connection's reader, to read a body as it arrives after [`Client::receive_head`].
    pub(crate) fn body(&mut self) -> &mut impl Read {
        &mut self.reader
    }

    /// Sends a request and reads its response.
    pub(crate) fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, path, headers, body);
        self.receive(method == "HEAD")
    }

    pub(crate) fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// A CRLF-terminated line, without its terminator.
    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("read a line");
        assert!(n > 0, "connection closed early");
        line.trim_end_matches(['\r', '\n']).to_owned()
    }
}

/// A GET on a fresh connection.
pub(crate) fn get(addr: SocketAddr, path: &str) -> Response {
    Client::connect(addr).get(path)
}
