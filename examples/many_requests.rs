//! Many concurrent requests with a summary: 30 GETs to one host, of which Qt's default of 6
//! run at a time and the rest queue. Shows how many were in flight at once.
//!
//!     cargo run --example many_requests -- http://127.0.0.1:8080
//!     cargo run --example many_requests -- http://127.0.0.1:8080 100

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute::{CoreApplication, Timer};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "http://webcode.me".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(30);
    let app = CoreApplication::new();
    let nam = NetworkAccessManager::new();

    let (done, failed, running, peak) = (
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
        Rc::new(Cell::new(0usize)),
    );
    let start = Instant::now();
    for i in 0..count {
        // /delay/0.1 on httpbin: each request takes 100 ms, so the queueing shows.
        let url = format!("{}/delay/0.1?request={i}", base.trim_end_matches('/'));
        let reply = nam.get(&NetworkRequest::new(url.as_str()));
        let (r, p) = (running.clone(), peak.clone());
        reply.meta_data_changed().connect(move |_| {
            r.set(r.get() + 1);
            p.set(p.get().max(r.get()));
        });
        let (r, d, f) = (running.clone(), done.clone(), failed.clone());
        reply.finished().connect(move |reply| {
            r.set(r.get().saturating_sub(1));
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
    println!(
        "{} finished, {} failed, in {:.2} s; at most {} in flight at once (per-host limit {})",
        done.get(),
        failed.get(),
        start.elapsed().as_secs_f64(),
        peak.get(),
        nam.max_connections_per_host()
    );
    std::process::exit(if code == 0 && failed.get() == 0 { 0 } else { 1 });
}
