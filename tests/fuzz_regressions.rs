//! Fuzzing regressions: replays every seed of the fuzz corpora (`fuzz/corpus/<target>/`)
//! and every input the fuzzers found, through the very harness the fuzz targets run
//! (`fuzz/src/harness.rs`, included here), without libFuzzer or a nightly toolchain.
//!
//! The harness talks to servers on 127.0.0.1 only; see `fuzz/README.md`.

#[path = "../fuzz/src/harness.rs"]
mod harness;
#[path = "../fuzz/src/socket_read.rs"]
mod socket_read;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute_testkit::Watchdog;

/// A fuzz target's logic: runs one input, panics on a failure.
type Harness = fn(&[u8]);

/// The fuzz targets, by corpus directory name.
const TARGETS: [(&str, Harness); 5] = [
    ("request_bytes", harness::request_bytes),
    ("response_bytes", harness::response_bytes),
    ("challenge_parse", harness::challenge_parse),
    ("data_url", harness::data_url),
    ("socket_read", socket_read::socket_read),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("corpus")
}

/// Runs every file of `fuzz/corpus/<target>/` through the target's harness, naming the
/// file that failed.
fn replay(target: &str) {
    let (_, run) = TARGETS.iter().find(|(name, _)| *name == target).expect("a known target");
    let dir = corpus_dir().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    for file in files {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            eprintln!("fuzz regression: {} failed", file.display());
            resume_unwind(panic);
        }
    }
}

#[test]
fn corpus_request_bytes() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    replay("request_bytes");
}

#[test]
fn corpus_response_bytes() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    replay("response_bytes");
}

#[test]
fn corpus_challenge_parse() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    replay("challenge_parse");
}

#[test]
fn corpus_data_url() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    replay("data_url");
}

#[test]
fn corpus_socket_read() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    replay("socket_read");
}

/// Every corpus directory belongs to a target replayed above (a new target needs a test).
#[test]
fn every_corpus_has_a_target() {
    for entry in std::fs::read_dir(corpus_dir()).expect("fuzz/corpus") {
        let path = entry.expect("a corpus directory").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        assert!(TARGETS.iter().any(|(target, _)| *target == name), "fuzz/corpus/{name} has no target");
    }
}

// ---------------------------------------------------------------------------------------
// The harness's own checks, on inputs whose outcome is known
// ---------------------------------------------------------------------------------------

/// The injection checks are live: each forbidden byte, in each part, is refused.
#[test]
fn request_bytes_refuses_each_forbidden_byte_in_each_part() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    for bad in [&b"\r"[..], b"\n", b"\0"] {
        let inject = |part: usize| {
            let mut parts: Vec<Vec<u8>> =
                vec![b"http://h/".to_vec(), b"X-Test".to_vec(), b"v".to_vec(), b"GET".to_vec()];
            parts[part].extend_from_slice(bad);
            parts[part].extend_from_slice(b"X-Injected: 1");
            parts.join(&0xff)
        };
        for part in 0..4 {
            harness::request_bytes(&inject(part));
        }
    }
}

/// A shorter body than `Content-Length` declares must not succeed, and a full one arrives
/// intact (the body check of `response_bytes` is exercised both ways).
#[test]
fn response_bytes_checks_content_length() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    harness::response_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    harness::response_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nexactly and more");
}

/// `data:` without a comma fails; with one, the payload is the body.
#[test]
fn data_url_basics() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    harness::data_url(b"text/plain");
    harness::data_url(b"text/plain;base64,aGk=");
    harness::data_url(b";charset=utf-8,abc");

    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new("data:,x"));
    while !reply.is_finished() {
        cute::EventLoop::process_events(Duration::from_millis(10));
    }
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(reply.read_all(), b"x");
}

// ---------------------------------------------------------------------------------------
// Findings (inputs the fuzzers reported), each reproduced without libFuzzer
// ---------------------------------------------------------------------------------------

/// `data:,%+E` decodes `%+E` to the byte 0x0E: `local::percent_decode` parses the two
/// characters after `%` with `u8::from_str_radix`, which accepts a leading `+`. RFC 3986
/// (and Qt) leave a `%` that is not followed by two hex digits as it is: the body must be
/// `%+E`. Found by the `data_url` target (input `,%+E`).
#[test]
fn data_url_percent_plus_is_not_an_escape() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    harness::data_url(b",%+E");
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new("data:,a%+41b"));
    while !reply.is_finished() {
        cute::EventLoop::process_events(Duration::from_millis(10));
    }
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"a%+41b");
}
