//! HEAD, keep-alive, the delay endpoint, shutdown and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, get};
use cute_httpbin::Httpbin;

#[test]
fn urls_are_built_from_the_real_address() {
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
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    // Ask for 1 GiB and read none of it: the worker blocks on a full socket buffer.
    client.send("GET", "/big.bin", &[], b"");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
}

#[test]
fn the_binary_prints_its_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cute-httpbin"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("cute-httpbin listening on http://").map(str::to_owned);
    let served = url.as_ref().map(|authority| get(authority.parse().unwrap(), "/get").status);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(served, Some(200), "printed {line:?}");
}

#[test]
fn the_binary_rejects_bad_arguments_with_status_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_cute-httpbin")).arg("--nonsense").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
    assert!(output.stdout.is_empty());
}
