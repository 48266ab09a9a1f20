//! The PyQt6 tutorial's `fetch_icon.py`, ported line for line: download a favicon and save
//! it to `favicon.ico` in the current directory (`readAll` of binary data, a file write).
//!
//!     cargo run --example fetch_icon                                     # http://webcode.me/favicon.ico
//!     cargo run --example fetch_icon -- http://127.0.0.1:8080/favicon.ico
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use cute::CoreApplication;
use cute::network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};

struct Example {
    _nam: NetworkAccessManager,
}

impl Example {
    fn new(url: &str, path: PathBuf) -> Self {
        Self::do_request(url, path)
    }

    fn do_request(url: &str, path: PathBuf) -> Self {
        let req = NetworkRequest::new(url);

        let nam = NetworkAccessManager::new();
        nam.finished().connect(move |reply| Self::handle_response(reply, &path));
        nam.get(&req);
        Example { _nam: nam }
    }

    fn handle_response(reply: &NetworkReply, path: &Path) {
        let er = reply.error();

        if er == NetworkError::NoError {
            let data = reply.read_all();
            match Self::save_file(path, &data) {
                Ok(()) => CoreApplication::quit(),
                Err(e) => {
                    println!("Error writing {}: {e}", path.display());
                    CoreApplication::exit(1);
                }
            }
        } else {
            println!("Error occured:  {er}");
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
        }
    }

    fn save_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
        let mut f = File::create(path)?;

        f.write_all(data)
    }
}

/// Runs the example against `url`, saving to `path`; returns the exit code.
pub(crate) fn run(url: &str, path: PathBuf) -> i32 {
    let app = CoreApplication::new();
    let _ex = Example::new(url, path);
    app.exec()
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://webcode.me/favicon.ico".to_owned());
    std::process::exit(run(&url, PathBuf::from("favicon.ico")));
}
