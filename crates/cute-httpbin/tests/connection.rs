//! HEAD, keep-alive, the delay endpoint, shutdown and the binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Client, TIMEOUT, Watchdog, get};
use cute_httpbin::Httpbin;

#[test]
fn urls_are_built_from_the_real_address() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let port = server.addr().port();
    assert_ne!(port, 0);
    assert_eq!(server.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.url("/get"), format!("http://127.0.0.1:{port}/get"));
    assert!(format!("{server:?}").contains("Httpbin"));
    let err = Httpbin::start_on("0.0.0.0:0").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn head_sends_headers_only() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let head = client.request("HEAD", "/get", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length: usize = head.header("Content-Length").unwrap().parse().unwrap();
    assert!(length > 0);
    // Had any body bytes been sent, they would corrupt the next response on this connection.
    let next = client.get("/tiny.txt");
    assert_eq!(next.status, 200);
    assert_eq!(next.body, b"a");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let first = client.get("/get?n=1");
    assert_eq!(first.json()["args"]["n"], "1");
    // A POST whose body must be consumed before the next request is read.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(client.request("POST", "/post", &form, b"a=b").json()["form"]["a"], "b");
    let third = client.get("/get?n=3");
    assert_eq!(third.json()["args"]["n"], "3");
    // Pipelined: both requests written before either response is read.
    client.send("GET", "/get?p=1", &[], b"");
    client.send("GET", "/get?p=2", &[], b"");
    assert_eq!(client.receive(false).json()["args"]["p"], "1");
    assert_eq!(client.receive(false).json()["args"]["p"], "2");
}

#[test]
fn delay_waits_then_echoes_the_request() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let started = Instant::now();
    let response = get(server.addr(), "/delay/0.3?x=1");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["args"]["x"], "1");
    // A delay does not hold up other requests.
    let (addr, slow_started) = (server.addr(), Instant::now());
    let slow = std::thread::spawn(move || get(addr, "/delay/1").status);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(get(server.addr(), "/tiny.txt").body, b"a");
    assert!(slow_started.elapsed() < Duration::from_millis(900));
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(get(server.addr(), "/delay/-1").status, 400);
}

#[test]
fn dropping_the_server_during_a_delay_returns_promptly() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let addr = server.addr();
    // An idle keep-alive client stays connected throughout.
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/tiny.txt").status, 200);
    let mut waiting = Client::connect(addr);
    waiting.send("GET", "/delay/10", &[], b"");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(2), "drop took {:?}", started.elapsed());
    // The delayed request is answered (503) rather than left hanging.
    assert_eq!(waiting.receive(false).status, 503);
}

#[test]
fn dropping_the_server_during_a_large_download_returns_promptly() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    // Ask for 1 GiB and read none of it: the connection stalls on a full socket buffer.
    client.send("GET", "/big.bin", &[], b"");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
}

#[test]
fn dropping_the_server_cuts_streams_short_and_closes_idle_connections() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let addr = server.addr();
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/tiny.txt").status, 200);
    let mut dripping = Client::connect(addr);
    dripping.send("GET", "/drip?duration=10&numbytes=10", &[], b"");
    assert_eq!(dripping.receive_head().header("Content-Length"), Some("10"));
    let mut downloading = Client::connect(addr);
    downloading.send("GET", "/big.bin", &[], b"");
    let mut chunk = vec![0; 1 << 16];
    downloading.body().read_exact(&mut chunk).unwrap();
    let reader = std::thread::spawn(move || {
        let mut sink = Vec::new();
        (downloading.body().read_to_end(&mut sink).unwrap_or(0), sink.len())
    });
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(2), "drop took {:?}", started.elapsed());
    // Every connection is closed: the drip and the download end early, the idle one at once.
    let mut rest = Vec::new();
    let _ = dripping.body().read_to_end(&mut rest);
    assert!(rest.len() < 10, "the drip ran to its end");
    let (_, downloaded) = reader.join().unwrap();
    assert!(downloaded < (1 << 30) - (1 << 16), "the download ran to its end");
    assert_eq!(idle.body().read(&mut [0; 16]).unwrap_or(0), 0);
    assert!(std::net::TcpStream::connect(addr).is_err(), "still accepting");
}

#[test]
fn drip_sends_its_bytes_over_time() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    client.send("GET", "/drip?duration=0.6&numbytes=3", &[], b"");
    let started = Instant::now();
    let head = client.receive_head();
    assert_eq!(head.header("Content-Length"), Some("3"));
    let mut arrivals = Vec::new();
    for _ in 0..3 {
        let mut star = [0];
        client.body().read_exact(&mut star).unwrap();
        assert_eq!(&star, b"*");
        arrivals.push(started.elapsed());
    }
    // Due at 0, 0.2 and 0.4 s: the first well before the last.
    assert!(arrivals[0] < Duration::from_millis(150), "{arrivals:?}");
    assert!(arrivals[2] >= Duration::from_millis(380), "{arrivals:?}");
    assert_eq!(
        client.request("HEAD", "/drip?duration=10&numbytes=7", &[], b"").header("Content-Length"),
        Some("7")
    );
    assert!(started.elapsed() < Duration::from_secs(5), "HEAD /drip waited for the bytes");
    assert_eq!(client.get("/tiny.txt").body, b"a");
}

#[test]
fn a_client_that_half_closes_still_gets_its_answer() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(b"GET /delay/0.1?h=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains(r#""h": "1""#));
}

#[test]
fn the_server_can_be_shared_and_dropped_from_async_code() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Httpbin>();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = Httpbin::start().unwrap();
        let addr = server.addr();
        let status = tokio::task::spawn_blocking(move || get(addr, "/get").status).await.unwrap();
        assert_eq!(status, 200);
        drop(server); // must neither panic nor hang inside a runtime
    });
}

#[test]
fn the_binary_prints_its_url_and_serves() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cute-httpbin"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first line, read on a thread so that a binary that prints nothing cannot hang
    // the test: it is killed once `TIMEOUT` has passed.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = rx.recv_timeout(TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("cute-httpbin printed no line within {TIMEOUT:?}");
    };
    let url = line.trim().strip_prefix("cute-httpbin listening on http://").map(str::to_owned);
    let served = url.as_ref().map(|authority| get(authority.parse().unwrap(), "/get").status);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(served, Some(200), "printed {line:?}");
}

#[test]
fn the_binary_rejects_bad_arguments_with_status_2() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let output = Command::new(env!("CARGO_BIN_EXE_cute-httpbin")).arg("--nonsense").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
    assert!(output.stdout.is_empty());
}
