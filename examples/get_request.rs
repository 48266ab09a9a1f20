//! The PyQt6 tutorial's `get_request.py`, ported line for line: GET a web page and print
//! its HTML (QNetworkAccessManager, `finished`, `readAll`, `QCoreApplication.quit()`).
//!
//!     cargo run --example get_request                              # http://webcode.me
//!     cargo run --example get_request -- http://127.0.0.1:8080/    # any server, e.g. cute-httpbin
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use cute::CoreApplication;
use cute::network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};

struct Example {
    _nam: NetworkAccessManager,
}

impl Example {
    fn new(url: &str) -> Self {
        Self::do_request(url)
    }

    fn do_request(url: &str) -> Self {
        let req = NetworkRequest::new(url);

        let nam = NetworkAccessManager::new();
        nam.finished().connect(Self::handle_response);
        nam.get(&req);
        Example { _nam: nam }
    }

    fn handle_response(reply: &NetworkReply) {
        let er = reply.error();

        if er == NetworkError::NoError {
            let bytes_string = reply.read_all();
            println!("{}", String::from_utf8_lossy(&bytes_string));
            CoreApplication::quit();
        } else {
            println!("Error occured:  {er}");
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
        }
    }
}

/// Runs the example against `url`; returns the exit code.
pub(crate) fn run(url: &str) -> i32 {
    let app = CoreApplication::new();
    let _ex = Example::new(url);
    app.exec()
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://webcode.me".to_owned());
    std::process::exit(run(&url));
}
