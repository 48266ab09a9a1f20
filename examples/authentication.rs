//! The PyQt6 tutorial's `authentication.py`, ported line for line: HTTP Basic auth through
//! `authenticationRequired`, counting the tries and aborting on the third. Against a server
//! that rejects the password it prints what PyQt6 prints: "Authenticating" twice, then
//! `AuthenticationRequiredError` (the second call sets the credentials the authenticator
//! already holds, which is no change).
//!
//!     cargo run --example authentication                      # https://httpbin.org/basic-auth/user7/passwd7
//!     cargo run --example authentication -- http://127.0.0.1:8080/basic-auth/user7/passwd7
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::cell::Cell;
use std::rc::Rc;

use cute::CoreApplication;
use cute::network::{Authenticator, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};

struct Example {
    _nam: NetworkAccessManager,
    _auth: Rc<Cell<u32>>,
}

impl Example {
    fn new(url: &str) -> Self {
        Self::do_request(url)
    }

    fn do_request(url: &str) -> Self {
        let auth = Rc::new(Cell::new(0));

        let req = NetworkRequest::new(url);

        let nam = NetworkAccessManager::new();
        let count = auth.clone();
        nam.authentication_required().connect(move |(reply, auth)| Self::authenticate(&count, reply, auth));
        nam.finished().connect(Self::handle_response);
        nam.get(&req);
        Example { _nam: nam, _auth: auth }
    }

    fn authenticate(count: &Cell<u32>, reply: &NetworkReply, auth: &Authenticator) {
        println!("Authenticating");

        count.set(count.get() + 1);

        if count.get() >= 3 {
            reply.abort();
        }

        auth.set_user("user7");
        auth.set_password("passwd7");
    }

    fn handle_response(reply: &NetworkReply) {
        let er = reply.error();

        if er == NetworkError::NoError {
            let bytes_string = reply.read_all();

            // Python's json.loads raises on a body that is not JSON, and data['user'] on a
            // missing key, so the PyQt program dies with a traceback; the port says what was
            // wrong and exits non-zero rather than print blanks.
            match Self::authenticated_and_user(&bytes_string) {
                Ok((authenticated, user)) => {
                    println!("Authenticated: {authenticated}");
                    println!("User: {user}");

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

    /// `data['authenticated']` and `data['user']` of the JSON reply, or what is wrong with it.
    fn authenticated_and_user(bytes_string: &[u8]) -> Result<(serde_json::Value, String), String> {
        let data: serde_json::Value =
            serde_json::from_slice(bytes_string).map_err(|e| format!("the reply is not JSON ({e})"))?;
        let authenticated =
            data.get("authenticated").cloned().ok_or("the reply's JSON has no \"authenticated\"")?;
        let user = data["user"].as_str().ok_or("the reply's JSON has no \"user\"")?.to_owned();
        Ok((authenticated, user))
    }
}

/// Runs the example against `url`; returns the exit code.
pub(crate) fn run(url: &str) -> i32 {
    let app = CoreApplication::new();
    let _ex = Example::new(url);
    app.exec()
}

fn main() {
    let url =
        std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org/basic-auth/user7/passwd7".to_owned());
    std::process::exit(run(&url));
}
