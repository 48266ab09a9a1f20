//! The PyQt6 tutorial's `post_request.py`, ported line for line: POST an urlencoded form
//! to httpbin and read the JSON it echoes back (`setHeader(ContentTypeHeader, …)`, `post`).
//!
//!     cargo run --example post_request                                   # https://httpbin.org/post
//!     cargo run --example post_request -- http://127.0.0.1:8080/post    # e.g. cute-httpbin
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use cute::CoreApplication;
use cute::network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};

struct Example {
    _nam: NetworkAccessManager,
}

impl Example {
    fn new(url: &str) -> Self {
        Self::do_request(url)
    }

    fn do_request(url: &str) -> Self {
        let mut data = Vec::new();
        data.extend_from_slice(b"name=Peter&");
        data.extend_from_slice(b"age=34");

        let mut req = NetworkRequest::new(url);
        req.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");

        let nam = NetworkAccessManager::new();
        nam.finished().connect(Self::handle_response);
        nam.post(&req, data);
        Example { _nam: nam }
    }

    fn handle_response(reply: &NetworkReply) {
        let er = reply.error();

        if er == NetworkError::NoError {
            let bytes_string = reply.read_all();

            // Python's json.loads raises on a body that is not JSON, and data['name'] on a
            // missing key, so the PyQt program dies with a traceback; the port says what was
            // wrong and exits non-zero rather than print blanks.
            match Self::name_and_age(&bytes_string) {
                Ok((name, age)) => {
                    println!("Name: {name}");
                    println!("Age: {age}");
                    println!();
                    CoreApplication::quit();
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    CoreApplication::exit(1);
                }
            }
        } else {
            println!("Error occurred:  {er}");
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
        }
    }

    /// `json_ar['form']['name']` and `['age']` of the echoed JSON, or what is wrong with it.
    fn name_and_age(bytes_string: &[u8]) -> Result<(String, String), String> {
        let json_ar: serde_json::Value =
            serde_json::from_slice(bytes_string).map_err(|e| format!("the reply is not JSON ({e})"))?;
        let data = &json_ar["form"];
        let field = |key: &str| {
            data[key].as_str().map(str::to_owned).ok_or_else(|| format!("the reply's JSON has no form.{key}"))
        };
        Ok((field("name")?, field("age")?))
    }
}

/// Runs the example against `url`; returns the exit code.
pub(crate) fn run(url: &str) -> i32 {
    let app = CoreApplication::new();
    let _ex = Example::new(url);
    app.exec()
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org/post".to_owned());
    std::process::exit(run(&url));
}
