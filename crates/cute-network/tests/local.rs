//! `file:` and `data:` URLs as Qt serves them: GET and HEAD read, PUT writes a file, other
//! verbs are ProtocolUnknownError; a file reply has no HTTP status but its size and
//! modification time.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::wait;
use cute_network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest, Url};
use cute_testkit::Watchdog;

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("cute-local-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn url(&self, name: &str) -> Url {
        Url::from_file_path(self.0.join(name)).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn done(reply: NetworkReply) -> NetworkReply {
    wait(&reply);
    reply
}

#[test]
fn a_file_reply_has_its_size_and_modification_time_and_no_status() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let dir = TempDir::new();
    std::fs::write(dir.0.join("a.txt"), b"twelve bytes").unwrap();
    let nam = NetworkAccessManager::new();
    let reply = done(nam.get(&NetworkRequest::new(dir.url("a.txt"))));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), None);
    assert_eq!(reply.header(KnownHeaders::ContentLengthHeader).as_deref(), Some("12"));
    let modified = reply.header(KnownHeaders::LastModifiedHeader).expect("Last-Modified");
    assert!(modified.ends_with(" GMT"), "an HTTP date: {modified}");
    assert_eq!(reply.read_all(), b"twelve bytes");
}

#[test]
fn put_writes_a_file() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let dir = TempDir::new();
    let nam = NetworkAccessManager::new();
    let reply = done(nam.put(&NetworkRequest::new(dir.url("new.txt")), b"written by PUT".to_vec()));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(std::fs::read(dir.0.join("new.txt")).unwrap(), b"written by PUT");
    // Again: the file is replaced, not appended to.
    let reply = done(nam.put(&NetworkRequest::new(dir.url("new.txt")), b"again".to_vec()));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(std::fs::read(dir.0.join("new.txt")).unwrap(), b"again");
}

#[test]
fn put_failures_say_why() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let dir = TempDir::new();
    let nam = NetworkAccessManager::new();
    let onto_a_directory =
        done(nam.put(&NetworkRequest::new(Url::from_directory_path(&dir.0).unwrap()), b"x".to_vec()));
    assert_eq!(onto_a_directory.error(), NetworkError::ContentOperationNotPermittedError);
    let into_nowhere = done(nam.put(&NetworkRequest::new(dir.url("missing/dir/file.txt")), b"x".to_vec()));
    assert_eq!(into_nowhere.error(), NetworkError::ContentAccessDenied, "{}", into_nowhere.error_string());
}

#[test]
fn other_verbs_on_local_schemes_are_protocol_unknown() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let dir = TempDir::new();
    std::fs::write(dir.0.join("a.txt"), b"unchanged").unwrap();
    let nam = NetworkAccessManager::new();
    let post_file = done(nam.post(&NetworkRequest::new(dir.url("a.txt")), b"x".to_vec()));
    assert_eq!(post_file.error(), NetworkError::ProtocolUnknownError, "{}", post_file.error_string());
    let delete_file = done(nam.delete_resource(&NetworkRequest::new(dir.url("a.txt"))));
    assert_eq!(delete_file.error(), NetworkError::ProtocolUnknownError);
    assert_eq!(std::fs::read(dir.0.join("a.txt")).unwrap(), b"unchanged");
    for verb in ["POST", "PUT"] {
        let reply = done(nam.send_custom_request(&NetworkRequest::new("data:,hello"), verb, b"x".to_vec()));
        assert_eq!(reply.error(), NetworkError::ProtocolUnknownError, "{verb} data:");
    }
    let get_data = done(nam.get(&NetworkRequest::new("data:,hello")));
    assert_eq!(get_data.read_all(), b"hello");
}

#[test]
fn a_file_url_on_another_host_is_refused() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    let reply = done(nam.get(&NetworkRequest::new("file://elsewhere.test/etc/hostname")));
    assert_eq!(reply.error(), NetworkError::ProtocolInvalidOperationError);
    assert!(reply.error_string().contains("non-local"), "{}", reply.error_string());
}
