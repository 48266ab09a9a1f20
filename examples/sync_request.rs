//! Waiting for one reply synchronously with a nested `EventLoop` (Qt's QEventLoop idiom),
//! with a timeout from a single-shot timer.
//!
//!     cargo run --example sync_request                                # http://webcode.me
//!     cargo run --example sync_request -- http://127.0.0.1:8080/get
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::time::Duration;

use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute::{EventLoop, Timer};

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://webcode.me".to_owned());
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(url.as_str()));

    // QEventLoop loop; connect(reply, finished, loop, quit); QTimer::singleShot(…, loop, quit)
    let event_loop = EventLoop::new();
    let on_finish = event_loop.clone();
    reply.finished().connect(move |_| on_finish.quit());
    let on_timeout = event_loop.clone();
    Timer::single_shot(Duration::from_secs(20), move || on_timeout.exit(1));
    if event_loop.exec() != 0 {
        reply.abort();
        println!("timed out waiting for {url}");
        std::process::exit(1);
    }

    if reply.error() == NetworkError::NoError {
        let body = reply.read_all();
        println!(
            "status {} from {}",
            reply.status_code().unwrap_or(0),
            reply.url().map(|u| u.to_string()).unwrap_or_default()
        );
        println!("{} bytes", body.len());
    } else {
        println!("Error occurred:  {}", reply.error());
        println!("{}", reply.error_string());
        std::process::exit(1);
    }
}
