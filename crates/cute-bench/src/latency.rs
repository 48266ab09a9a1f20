//! N7: 600 GETs of a tiny body at once over https, through a relay that adds a fixed delay
//! each way (a real link's round trip on loopback), to cute-httpbin in a child process.
//! Measured: cute over HTTP/2, cute with HTTP/2 disallowed (HTTP/1.1, six connections),
//! and a raw hyper HTTP/2 client on one connection, through the same relay.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cute_core::EventLoop;
use cute_network::{
    Attribute, AttributeValue, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Figure;

/// The one-way delay the relay adds (a 20 ms round trip).
const DELAY: Duration = Duration::from_millis(10);

/// GETs issued at once.
const REQUESTS: u32 = 600;

const PATH: &str = "/tiny.txt";

/// Relays TCP connections to `target`, delaying every byte by `delay` in each direction.
/// Bytes keep flowing while earlier ones wait (a pipe with latency, not a queue of round
/// trips).
pub(crate) async fn relay(listener: TcpListener, target: SocketAddr, delay: Duration) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else { return };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pipe(client_read, server_write, delay));
            pipe(server_read, client_write, delay).await;
        });
    }
}

/// One direction: what is read now is written `delay` later, in order.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Bytes)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let due = tokio::time::Instant::now() + delay;
                if tx.send((due, Bytes::copy_from_slice(&buf[..n]))).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// The child process: cute-httpbin with TLS and the relay in front of its TLS port.
/// Prints the relay's https base URL, then the certificate, then serves until stdin closes.
pub(crate) fn serve() -> i32 {
    let server = match cute_httpbin::Httpbin::builder().tls(true).start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cute-bench serve-n7: {e}");
            return 1;
        }
    };
    let (Some(target), Some(pem)) = (server.tls_addr(), server.certificate_pem()) else { return 1 };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cute-bench serve-n7: {e}");
            return 1;
        }
    };
    let listener = match runtime.block_on(TcpListener::bind("127.0.0.1:0")) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cute-bench serve-n7: {e}");
            return 1;
        }
    };
    let Ok(addr) = listener.local_addr() else { return 1 };
    runtime.spawn(relay(listener, target, DELAY));
    println!("https://{addr}\n{pem}");
    let mut sink = Vec::new();
    let _ = io::Read::read_to_end(&mut io::stdin(), &mut sink);
    0
}

/// The child serving N7, killed on drop.
struct Child7 {
    child: Child,
    base: String,
    pem: String,
}

impl Child7 {
    fn start() -> io::Result<Child7> {
        let exe = std::env::current_exe()?;
        let mut child =
            Command::new(exe).arg("serve-n7").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let base = lines.next().transpose()?.unwrap_or_default();
        let mut pem = String::new();
        for line in lines {
            let line = line?;
            pem.push_str(&line);
            pem.push('\n');
            if line.starts_with("-----END CERTIFICATE-----") {
                break;
            }
        }
        if !base.starts_with("https://") || pem.is_empty() {
            let _ = child.kill();
            return Err(io::Error::other(format!("unexpected banner {base:?}")));
        }
        Ok(Child7 { child, base, pem })
    }
}

impl Drop for Child7 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `REQUESTS` GETs of `url` at once with a fresh manager; seconds until the last finished.
fn cute(url: &str, pem: &str, http2: bool) -> f64 {
    let event_loop = EventLoop::new();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(pem.as_bytes()).expect("the server's certificate");
    let done = Rc::new(Cell::new(0u32));
    let (d, l) = (done.clone(), event_loop.clone());
    nam.finished().connect(move |reply: &NetworkReply| {
        assert_eq!(reply.error(), NetworkError::NoError, "N7: {}", reply.error_string());
        let used = reply.attribute(Attribute::Http2WasUsedAttribute) == Some(AttributeValue::Bool(true));
        assert_eq!(used, http2, "N7: the protocol");
        d.set(d.get() + 1);
        if d.get() == REQUESTS {
            l.quit();
        }
    });
    let _watchdog = crate::net_workloads::watchdog(Duration::from_secs(120));
    let mut request = NetworkRequest::new(url);
    request.set_attribute(Attribute::Http2AllowedAttribute, AttributeValue::Bool(http2)).expect("a bool");
    let start = Instant::now();
    for _ in 0..REQUESTS {
        nam.get(&request);
    }
    event_loop.exec();
    assert_eq!(done.get(), REQUESTS);
    start.elapsed().as_secs_f64()
}

/// A raw hyper HTTP/2 client: one TLS connection (ALPN `h2`), `REQUESTS` GETs of `url`
/// spawned at once; seconds until the last body is in.
fn raw_hyper_h2(url: &str, pem: &str) -> f64 {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    let uri: hyper::Uri = url.parse().expect("a URI");
    let authority = uri.authority().expect("an authority").clone();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.expect("a PEM certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let start = Instant::now();
        let tcp = TcpStream::connect(authority.as_str()).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let name = ServerName::try_from(authority.host().to_owned()).expect("a server name");
        let tls = connector.connect(name, tcp).await.expect("a TLS handshake");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "the server picked h2");
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .expect("an HTTP/2 handshake");
        tokio::spawn(connection);
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|_| {
                let mut sender = sender.clone();
                let request =
                    hyper::Request::get(uri.clone()).body(Empty::<Bytes>::new()).expect("a request");
                tokio::spawn(async move {
                    let response = sender.send_request(request).await.expect("raw h2 GET");
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("raw h2 body").to_bytes().len()
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("a request task"), 1);
        }
        start.elapsed().as_secs_f64()
    })
}

/// N7: cute over HTTP/2, cute over HTTP/1.1 and raw hyper over HTTP/2, through the relay.
pub(crate) fn latency() -> Vec<Figure> {
    let server = Child7::start().expect("the N7 server");
    let url = format!("{}{PATH}", server.base);
    let h2 = cute(&url, &server.pem, true);
    let h1 = cute(&url, &server.pem, false);
    let raw = raw_hyper_h2(&url, &server.pem);
    vec![
        Figure::new("N7", "cute_h2", h2, "s"),
        Figure::new("N7", "cute_h1", h1, "s"),
        Figure::new("N7", "raw_hyper_h2", raw, "s"),
    ]
}
