//! Many concurrent requests with a summary: 30 GETs to one host, of which Qt's default of 6
//! run at a time and the rest queue. Measures how many were in flight at once.
//!
//! Each request is httpbin's `/drip`: the headers come at once, then the body trickles in
//! over 0.3 s. A request counts as in flight from its headers (`meta_data_changed`) to its
//! `finished`, so the peak shows the per-host limit at work: a queued request has no
//! headers yet.
//!
//!     cargo run --example many_requests                               # https://httpbin.org
//!     cargo run --example many_requests -- http://127.0.0.1:8080      # a local server
//!     cargo run --example many_requests -- http://127.0.0.1:8080 100  # 100 requests
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute::{CoreApplication, Timer};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "https://httpbin.org".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(30);
    let app = CoreApplication::new();
    let nam = NetworkAccessManager::new();

    let (done, failed, in_flight, peak) = (
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
    );
    let start = Instant::now();
    for i in 0..count {
        // Headers at once, then 3 bytes over 0.3 s: the request stays visibly in flight.
        let url = format!("{}/drip?duration=0.3&numbytes=3&delay=0&request={i}", base.trim_end_matches('/'));
        let reply = nam.get(&NetworkRequest::new(url.as_str()));
        // Whether this reply's headers are in (a redirect may bring a second set).
        let started = Rc::new(Cell::new(false));
        let (s, n, p) = (started.clone(), in_flight.clone(), peak.clone());
        reply.meta_data_changed().connect(move |_| {
            if !s.replace(true) {
                n.set(n.get() + 1);
                p.set(p.get().max(n.get()));
            }
        });
        let (n, d, f) = (in_flight.clone(), done.clone(), failed.clone());
        reply.finished().connect(move |reply| {
            if started.replace(false) {
                n.set(n.get() - 1);
            }
            d.set(d.get() + 1);
            if reply.error() != NetworkError::NoError {
                f.set(f.get() + 1);
                println!("request {i}: {}", reply.error_string());
            }
            if d.get() == count {
                CoreApplication::quit();
            }
        });
    }
    println!("{count} requests issued; {} live", nam.live_replies());
    Timer::single_shot(Duration::from_secs(120), || CoreApplication::exit(1));
    let code = app.exec();
    println!("{} finished, {} failed, in {:.2} s", done.get(), failed.get(), start.elapsed().as_secs_f64());
    println!(
        "peak concurrency: {} in flight at once (per-host limit {})",
        peak.get(),
        nam.max_connections_per_host()
    );
    std::process::exit(if code == 0 && failed.get() == 0 { 0 } else { 1 });
}
