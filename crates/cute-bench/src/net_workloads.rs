//! N1–N6 of the shared workloads, each beside a raw ureq loop against the same server.

use std::cell::Cell;
use std::io::Read;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use cute_core::{CoreApplication, EventLoop, Timer};
use cute_network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};

use crate::Figure;

const SMALL: &str = "/index.html";
const BIG: &str = "/big.bin";
const BIG_SIZE: u64 = 1 << 30;

/// The server every network workload talks to.
pub(crate) struct Target {
    pub(crate) base: String,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches('/'))
    }
}

/// A raw ureq agent configured like the manager's (status codes are not errors, enough idle
/// connections for 6 threads).
fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(16)
        .max_idle_connections(64)
        .proxy(None)
        .build()
        .new_agent()
}

fn raw_get(agent: &ureq::Agent, url: &str) -> usize {
    let mut response = agent.get(url).call().expect("raw ureq GET");
    assert_eq!(response.status().as_u16(), 200, "raw GET {url}");
    let mut body = Vec::new();
    response.body_mut().as_reader().read_to_end(&mut body).expect("raw body");
    body.len()
}

/// Resets the peak-RSS counter (VmHWM) of this process (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The resident set now, in KiB.
pub(crate) fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

fn peak_rss_mib() -> f64 {
    status_field("VmHWM:") as f64 / 1024.0
}

fn threads() -> u64 {
    status_field("Threads:")
}

/// Ends the process (code 3) if the workload is still running after `limit`. The watchdog
/// is the returned timer: keep it for the workload, and dropping it at the end stops it,
/// so it can never fire during a later workload.
#[must_use = "the watchdog stops when the timer is dropped"]
pub(crate) fn watchdog(limit: Duration) -> Timer {
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.timeout().connect(|()| {
        eprintln!("cute-bench: a network workload did not finish in time");
        std::process::exit(3);
    });
    timer.start_with(limit);
    timer
}

/// N1: 2,000 sequential GETs, the next issued when the previous finished.
pub(crate) fn seq_get(target: &Target) -> Vec<Figure> {
    const N: u32 = 2000;
    let url = target.url(SMALL);
    let event_loop = EventLoop::new();
    let nam = Rc::new(NetworkAccessManager::new());
    let request = NetworkRequest::new(url.as_str());
    let done = Rc::new(Cell::new(0u32));
    let (d, l, weak, req) = (done.clone(), event_loop.clone(), Rc::downgrade(&nam), request.clone());
    nam.finished().connect(move |reply: &NetworkReply| {
        assert_eq!(reply.error(), NetworkError::NoError, "N1: {}", reply.error_string());
        assert!(!reply.read_all().is_empty());
        d.set(d.get() + 1);
        if d.get() == N {
            l.quit();
        } else if let Some(nam) = weak.upgrade() {
            nam.get(&req);
        }
    });
    let _watchdog = watchdog(Duration::from_secs(120));
    let start = Instant::now();
    nam.get(&request);
    event_loop.exec();
    let cute = f64::from(N) / start.elapsed().as_secs_f64();

    let agent = raw_agent();
    let start = Instant::now();
    for _ in 0..N {
        raw_get(&agent, &url);
    }
    let raw = f64::from(N) / start.elapsed().as_secs_f64();
    let hyper = raw_hyper(&url, N, 1);
    vec![
        Figure::new("N1", "cute", cute, "req/s"),
        Figure::new("N1", "raw", raw, "req/s"),
        Figure::new("N1", "raw_hyper", hyper, "req/s"),
    ]
}

/// Issues `n` GETs at once and waits for all; returns (req/s, peak threads).
fn burst(url: &str, n: u32) -> (f64, u64) {
    let event_loop = EventLoop::new();
    let nam = NetworkAccessManager::new();
    if let Ok(ms) = std::env::var("CUTE_BENCH_TIMEOUT_MS") {
        nam.set_transfer_timeout(Duration::from_millis(ms.parse().unwrap_or(60_000)));
    }
    let done = Rc::new(Cell::new(0u32));
    let peak_threads = Rc::new(Cell::new(threads()));
    let (d, l, p) = (done.clone(), event_loop.clone(), peak_threads.clone());
    nam.finished().connect(move |reply: &NetworkReply| {
        assert_eq!(reply.error(), NetworkError::NoError, "burst: {}", reply.error_string());
        d.set(d.get() + 1);
        if d.get() % 64 == 0 {
            p.set(p.get().max(threads()));
        }
        if d.get() == n {
            l.quit();
        }
    });
    // Replies are dropped as they finish; the manager keeps the live ones.
    let _watchdog = watchdog(Duration::from_secs(300));
    let request = NetworkRequest::new(url);
    let before = status_field("VmRSS:");
    let start = Instant::now();
    for _ in 0..n {
        nam.get(&request);
    }
    if std::env::var_os("CUTE_BENCH_MEMORY").is_some() {
        // Where the memory of the queued requests is: the process's mappings over 500 KiB.
        eprintln!("# queued {n}: RSS {before} -> {} KiB, {} done", status_field("VmRSS:"), done.get());
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let mut mapping = "";
        for line in smaps.lines() {
            if let Some(rss) = line.strip_prefix("Rss:") {
                let kib: u64 = rss.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                if kib > 500 {
                    eprintln!("#   {kib:>7} KiB {mapping}");
                }
            } else if !line.starts_with(char::is_uppercase) {
                mapping = line;
            }
        }
    }
    peak_threads.set(peak_threads.get().max(threads()));
    event_loop.exec();
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    (rate, peak_threads.get())
}

/// Six raw ureq threads sharing one agent, `n` GETs in all.
fn raw_burst(url: &str, n: u32) -> f64 {
    let agent = raw_agent();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..6 {
            let agent = agent.clone();
            s.spawn(move || {
                let mine = n / 6 + u32::from(t < n % 6);
                for _ in 0..mine {
                    raw_get(&agent, url);
                }
            });
        }
    });
    f64::from(n) / start.elapsed().as_secs_f64()
}

/// Whether implementation `name` runs: all do unless `CUTE_BENCH_ONLY` names one (for
/// instruction counts of one client under callgrind).
fn runs(name: &str) -> bool {
    std::env::var("CUTE_BENCH_ONLY").map_or(true, |only| only == name)
}

/// N2: 2,000 GETs issued at once.
pub(crate) fn burst_get(target: &Target) -> Vec<Figure> {
    let url = target.url(SMALL);
    let mut figures = Vec::new();
    if runs("cute") {
        figures.push(Figure::new("N2", "cute", burst(&url, 2000).0, "req/s"));
    }
    if runs("raw") {
        figures.push(Figure::new("N2", "raw", raw_burst(&url, 2000), "req/s"));
    }
    if runs("raw_hyper") {
        figures.push(Figure::new("N2", "raw_hyper", raw_hyper(&url, 2000, 6), "req/s"));
    }
    figures
}

/// N3: GET /big.bin, the body read whole at `finished`.
pub(crate) fn big_buffered(target: &Target) -> Vec<Figure> {
    let url = target.url(BIG);
    let mut figures = Vec::new();
    if runs("cute") {
        reset_peak_rss();
        let event_loop = EventLoop::new();
        let nam = NetworkAccessManager::new();
        let size = Rc::new(Cell::new(0usize));
        let (s, l) = (size.clone(), event_loop.clone());
        nam.finished().connect(move |reply: &NetworkReply| {
            assert_eq!(reply.error(), NetworkError::NoError, "N3: {}", reply.error_string());
            let body = reply.read_all();
            s.set(body.len());
            l.quit();
        });
        let _watchdog = watchdog(Duration::from_secs(300));
        let start = Instant::now();
        let reply = nam.get(&NetworkRequest::new(url.as_str()));
        event_loop.exec();
        let elapsed = start.elapsed();
        drop(reply);
        assert_eq!(size.get() as u64, BIG_SIZE, "N3: body size");
        figures.push(Figure::new("N3", "cute", BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6, "MB/s"));
        figures.push(Figure::new("N3", "cute", peak_rss_mib(), "MiB_peak_rss"));
    }
    if runs("raw") {
        reset_peak_rss();
        let agent = raw_agent();
        let start = Instant::now();
        let mut response = agent.get(&url).call().expect("raw N3");
        let body = response.body_mut().with_config().limit(u64::MAX).read_to_vec().expect("raw N3 body");
        let elapsed = start.elapsed();
        assert_eq!(body.len() as u64, BIG_SIZE);
        drop(body);
        figures.push(Figure::new("N3", "raw", BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6, "MB/s"));
        figures.push(Figure::new("N3", "raw", peak_rss_mib(), "MiB_peak_rss"));
    }
    figures
}

/// N8 (cute's own, not a shared workload): 1 GiB uploaded from a reader to `/upload`,
/// which keeps none of it: MB/s and the client's peak RSS (the body is never held).
pub(crate) fn big_upload(target: &Target) -> Vec<Figure> {
    use std::io::Read as _;
    let url = target.url("/upload");
    let source = || std::io::repeat(b'x').take(BIG_SIZE);
    let mut figures = Vec::new();
    if runs("cute") {
        reset_peak_rss();
        let event_loop = EventLoop::new();
        let nam = NetworkAccessManager::new();
        let (l, received) = (event_loop.clone(), Rc::new(Cell::new(0u64)));
        let r = received.clone();
        nam.finished().connect(move |reply: &NetworkReply| {
            assert_eq!(reply.error(), NetworkError::NoError, "N8: {}", reply.error_string());
            let json: serde_json::Value = reply.read_json().expect("N8: JSON");
            r.set(json["bytes"].as_u64().unwrap_or(0));
            l.quit();
        });
        let _watchdog = watchdog(Duration::from_secs(300));
        let start = Instant::now();
        let body = cute_network::RequestBody::from_reader(source(), Some(BIG_SIZE));
        let reply = nam.post(&NetworkRequest::new(url.as_str()), body);
        event_loop.exec();
        let elapsed = start.elapsed();
        drop(reply);
        assert_eq!(received.get(), BIG_SIZE, "N8: bytes the server read");
        figures.push(Figure::new("N8", "cute", BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6, "MB/s"));
        figures.push(Figure::new("N8", "cute", peak_rss_mib(), "MiB_peak_rss"));
    }
    if runs("raw") {
        reset_peak_rss();
        let agent = raw_agent();
        let start = Instant::now();
        let mut reader = source();
        let mut response = agent
            .post(&url)
            .header("content-length", BIG_SIZE.to_string())
            .send(ureq::SendBody::from_reader(&mut reader))
            .expect("raw N8");
        let text = response.body_mut().read_to_string().expect("raw N8 body");
        let json: serde_json::Value = serde_json::from_str(&text).expect("raw N8: JSON");
        let elapsed = start.elapsed();
        assert_eq!(json["bytes"].as_u64(), Some(BIG_SIZE));
        figures.push(Figure::new("N8", "raw", BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6, "MB/s"));
        figures.push(Figure::new("N8", "raw", peak_rss_mib(), "MiB_peak_rss"));
    }
    figures
}

/// N4: GET /big.bin, the body consumed as it arrives and discarded.
pub(crate) fn big_streamed(target: &Target) -> Vec<Figure> {
    let url = target.url(BIG);
    reset_peak_rss();
    let event_loop = EventLoop::new();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    let received = Rc::new(Cell::new(0u64));
    let r = received.clone();
    reply.ready_read().connect(move |reply| r.set(r.get() + reply.read_all().len() as u64));
    let (r, l) = (received.clone(), event_loop.clone());
    reply.finished().connect(move |reply| {
        assert_eq!(reply.error(), NetworkError::NoError, "N4: {}", reply.error_string());
        r.set(r.get() + reply.read_all().len() as u64);
        l.quit();
    });
    let _watchdog = watchdog(Duration::from_secs(300));
    let start = Instant::now();
    event_loop.exec();
    let elapsed = start.elapsed();
    assert_eq!(received.get(), BIG_SIZE, "N4: bytes received");
    let cute_mbs = BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6;
    let cute_rss = peak_rss_mib();
    drop(nam);

    reset_peak_rss();
    let agent = raw_agent();
    let start = Instant::now();
    let mut response = agent.get(&url).call().expect("raw N4");
    let mut reader = response.body_mut().as_reader();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).expect("raw N4 read");
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let elapsed = start.elapsed();
    assert_eq!(total, BIG_SIZE);
    let raw_mbs = BIG_SIZE as f64 / elapsed.as_secs_f64() / 1e6;
    let raw_rss = peak_rss_mib();
    vec![
        Figure::new("N4", "cute", cute_mbs, "MB/s"),
        Figure::new("N4", "cute", cute_rss, "MiB_peak_rss"),
        Figure::new("N4", "raw", raw_mbs, "MB/s"),
        Figure::new("N4", "raw", raw_rss, "MiB_peak_rss"),
    ]
}

/// N5 child: an application that does one GET and quits.
pub(crate) fn startup_child(url: &str) -> i32 {
    let app = CoreApplication::new();
    let nam = NetworkAccessManager::new();
    nam.finished().connect(|reply: &NetworkReply| {
        let ok = reply.error() == NetworkError::NoError && !reply.read_all().is_empty();
        CoreApplication::exit(if ok { 0 } else { 1 });
    });
    nam.get(&NetworkRequest::new(url));
    Timer::single_shot(Duration::from_secs(30), || CoreApplication::exit(2));
    app.exec()
}

/// N5 raw child: one ureq GET.
pub(crate) fn startup_raw_child(url: &str) -> i32 {
    if raw_get(&raw_agent(), url) > 0 { 0 } else { 1 }
}

/// N5: whole-process runs of the two children; wall time per process.
pub(crate) fn startup(target: &Target) -> Vec<Figure> {
    const RUNS: u32 = 40;
    let exe = std::env::current_exe().expect("own executable");
    let url = target.url(SMALL);
    let time = |mode: &str| {
        let start = Instant::now();
        for _ in 0..RUNS {
            let status = Command::new(&exe).args([mode, url.as_str()]).status().expect("spawn N5 child");
            assert!(status.success(), "N5 {mode} child failed: {status}");
        }
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS)
    };
    let cute = time("n5-child");
    let raw = time("n5-raw-child");
    vec![Figure::new("N5", "cute", cute, "ms/process"), Figure::new("N5", "raw", raw, "ms/process")]
}

/// N6: 10,000 GETs at once with the default per-host limit.
pub(crate) fn queued_10k(target: &Target) -> Vec<Figure> {
    let url = target.url(SMALL);
    let mut figures = Vec::new();
    // Two sizes: 10,000, and 100,000 (the scale a crawler queues at once).
    for (n, name) in [(10_000, "N6"), (100_000, "N6_100k")] {
        reset_peak_rss();
        let (rate, peak_threads) = burst(&url, n);
        let rss = peak_rss_mib();
        figures.push(Figure::new(name, "cute", rate, "req/s"));
        figures.push(Figure::new(name, "cute", rss, "MiB_peak_rss"));
        figures.push(Figure::new(name, "cute", peak_threads as f64, "threads_peak"));
    }
    figures
}

/// Serves the in-process httpbin for a parent benchmark process: prints the base URL,
/// then serves until stdin closes.
pub(crate) fn serve() -> i32 {
    let server = match cute_httpbin::Httpbin::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cute-bench serve: {e}");
            return 1;
        }
    };
    println!("{}", server.base_url());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    0
}

/// A child process running `cute-bench serve`; killed on drop.
pub(crate) struct ServerProcess {
    child: std::process::Child,
    pub(crate) base: String,
}

impl ServerProcess {
    pub(crate) fn start() -> std::io::Result<ServerProcess> {
        use std::io::BufRead;
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("serve")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let base = line.trim().to_owned();
        if !base.starts_with("http://") {
            let _ = child.kill();
            return Err(std::io::Error::other(format!("unexpected server banner {base:?}")));
        }
        Ok(ServerProcess { child, base })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw hyper 1 client (hyper-util's pooled client over HTTP/1.1, on a tokio runtime with
/// two worker threads), the candidate transport measured beside ureq: `n` GETs of `url`,
/// `parallel` at a time (1: sequential). Returns requests per second.
pub(crate) fn raw_hyper(url: &str, n: u32, parallel: usize) -> f64 {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let uri: hyper::Uri = url.parse().expect("a URI");
    runtime.block_on(async move {
        let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (client, uri) = (client.clone(), uri.clone());
            let permit = semaphore.clone().acquire_owned().await.expect("a permit");
            let task = async move {
                let response = client.get(uri).await.expect("raw hyper GET");
                assert_eq!(response.status(), 200);
                let body = response.into_body().collect().await.expect("raw hyper body").to_bytes();
                assert!(!body.is_empty());
                drop(permit);
            };
            if parallel == 1 {
                task.await;
            } else {
                tasks.push(tokio::spawn(task));
            }
        }
        for task in tasks {
            task.await.expect("a request task");
        }
        f64::from(n) / start.elapsed().as_secs_f64()
    })
}
