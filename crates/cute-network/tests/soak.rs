//! Soak: thousands of requests of every outcome (successes, HTTP errors, redirects,
//! authentication answered and refused, resets, timeouts, aborts) from one manager, at most
//! 100 in flight. Every reply must finish exactly once with the error its fault implies, and
//! the run must leak nothing: no thread, no file descriptor, no steadily growing memory.
//!
//! `soak_short` runs in CI; `soak_full` (100,000 requests) is run by hand:
//! `cargo test --release --test soak -- --ignored --nocapture soak_full`.
//!
//! Hand-written HTTP is confined to the fault servers below and only serves to inject faults.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use cute_core::{EventLoop, SignalSpy};
use cute_httpbin::Httpbin;
use cute_network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use cute_testkit::{CONNECTION_LIMIT, Connection, Responder, Watchdog, hang};

/// The most requests in flight at once; more are issued from `finished` slots.
const MAX_IN_FLIGHT: usize = 100;

/// The transfer timeout that ends requests to the hanging server.
const HANG_TIMEOUT: Duration = Duration::from_millis(300);

/// The test functions of this binary: libtest runs each on a thread named after it, so a
/// thread with one of these names (truncated to Linux's 15 bytes) that appears during a
/// measurement is the harness starting the next test, not a leak.
const TEST_NAMES: [&str; 3] =
    ["soak_short", "soak_full", "abort_does_not_cut_a_connection_another_request_reuses"];

/// The soak tests measure process-wide figures: they run one at a time.
fn soak_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// The schedule
// ---------------------------------------------------------------------------------------

/// What a request does, and so how it must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// httpbin `/get`.
    Get,
    /// httpbin `/bytes/20000`.
    Bytes,
    /// httpbin `/gzip`, decoded.
    Gzip,
    /// httpbin `/status/404`.
    NotFound,
    /// httpbin `/status/500`.
    ServerError,
    /// httpbin `/redirect/3`, followed to `/get`.
    Redirect,
    /// `/basic-auth/u/p`: the slot answers u/p (or the manager's cache does).
    AuthAnswered,
    /// `/basic-auth/u/other`: the slot answers u/wrong, then aborts when asked again.
    AuthAborted,
    /// `/basic-auth/u/other` on a second manager whose slot sets nothing.
    AuthUnanswered,
    /// The fault server resets the connection mid-body.
    Reset,
    /// The fault server never answers: the 300 ms transfer timeout ends it.
    Hang,
    /// An endless body; the first `ready_read` aborts the reply.
    EndlessAbort,
}

/// How often each kind comes, per mille. Hangs are few: each holds one of the hanging
/// host's 6 connections for 300 ms, so that host serves 20 a second at most.
const WEIGHTS: [(Kind, u64); 12] = [
    (Kind::Get, 177),
    (Kind::Bytes, 140),
    (Kind::Gzip, 100),
    (Kind::NotFound, 80),
    (Kind::ServerError, 80),
    (Kind::Redirect, 100),
    (Kind::AuthAnswered, 100),
    (Kind::AuthAborted, 40),
    (Kind::AuthUnanswered, 30),
    (Kind::Reset, 60),
    (Kind::Hang, 8),
    (Kind::EndlessAbort, 85),
];

const _: () = {
    let mut sum = 0;
    let mut i = 0;
    while i < WEIGHTS.len() {
        sum += WEIGHTS[i].1;
        i += 1;
    }
    assert!(sum == 1000);
};

impl Kind {
    /// The kind of request number `id`: a fixed pseudo-random schedule (splitmix64).
    fn of(id: usize) -> Kind {
        let mut z = (id as u64).wrapping_add(0x5EED).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let mut roll = (z ^ (z >> 31)) % 1000;
        for (kind, weight) in WEIGHTS {
            if roll < weight {
                return kind;
            }
            roll -= weight;
        }
        unreachable!("the weights add up to 1000")
    }

    /// The error the reply must finish with.
    fn expected(self) -> NetworkError {
        match self {
            Kind::Get | Kind::Bytes | Kind::Gzip | Kind::Redirect | Kind::AuthAnswered => {
                NetworkError::NoError
            }
            Kind::NotFound => NetworkError::ContentNotFoundError,
            Kind::ServerError => NetworkError::InternalServerError,
            Kind::AuthAborted | Kind::EndlessAbort => NetworkError::OperationCanceledError,
            Kind::AuthUnanswered => NetworkError::AuthenticationRequiredError,
            Kind::Reset => NetworkError::RemoteHostClosedError,
            Kind::Hang => NetworkError::TimeoutError,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fault servers
// ---------------------------------------------------------------------------------------

/// Announces 100,000 bytes, sends 1,000, then resets the connection: closing a socket with
/// unread data (the request, only peeked at) sends an RST, not an orderly FIN.
fn reset_mid_body(mut stream: Connection) {
    stream.await_request();
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    let _ = stream.write_all(&[b'x'; 1000]);
    // Let the client take the head first, so that the reset lands mid-body.
    thread::sleep(Duration::from_millis(20));
}

/// A close-delimited body that never ends (until the client goes away).
fn endless(mut stream: Connection) {
    if stream.read_head().is_none() {
        return;
    }
    if stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n").is_err() {
        return;
    }
    let deadline = Instant::now() + CONNECTION_LIMIT;
    while Instant::now() < deadline && stream.write_all(b"more data\n").is_ok() {
        thread::sleep(Duration::from_millis(20));
    }
}

/// The servers a soak run talks to.
struct Servers {
    httpbin: Httpbin,
    reset: Responder,
    hang: Responder,
    endless: Responder,
}

impl Servers {
    fn start() -> Servers {
        Servers {
            httpbin: Httpbin::start().expect("start httpbin"),
            reset: Responder::start(reset_mid_body),
            hang: Responder::start(hang),
            endless: Responder::start(endless),
        }
    }

    /// The URL of request `id`; its `soak` query parameter identifies it in every slot.
    fn url(&self, kind: Kind, id: usize) -> String {
        let bin = |path: &str| self.httpbin.url(&format!("{path}?soak={id}"));
        match kind {
            Kind::Get => bin("/get"),
            Kind::Bytes => bin("/bytes/20000"),
            Kind::Gzip => bin("/gzip"),
            Kind::NotFound => bin("/status/404"),
            Kind::ServerError => bin("/status/500"),
            Kind::Redirect => bin("/redirect/3"),
            Kind::AuthAnswered => bin("/basic-auth/u/p"),
            Kind::AuthAborted | Kind::AuthUnanswered => bin("/basic-auth/u/other"),
            Kind::Reset => self.reset.url(&format!("/reset?soak={id}")),
            Kind::Hang => self.hang.url(&format!("/hang?soak={id}")),
            Kind::EndlessAbort => self.endless.url(&format!("/endless?soak={id}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Process figures (Linux /proc)
// ---------------------------------------------------------------------------------------

/// The process's threads (id → name) and open file descriptors (number → target).
#[derive(Debug, Clone)]
struct Snapshot {
    threads: BTreeMap<u32, String>,
    fds: BTreeMap<u32, String>,
}

impl Snapshot {
    fn take() -> Snapshot {
        let mut threads = BTreeMap::new();
        for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else { continue };
            // A thread that exits meanwhile has no comm any more: it is not counted.
            if let Ok(name) = std::fs::read_to_string(entry.path().join("comm")) {
                threads.insert(tid, name.trim_end().to_owned());
            }
        }
        let mut fds = BTreeMap::new();
        for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else { continue };
            let target = std::fs::read_link(entry.path()).map(|p| p.display().to_string());
            fds.insert(fd, target.unwrap_or_else(|_| "?".into()));
        }
        Snapshot { threads, fds }
    }

    /// Threads alive now that were not at `baseline`, other than test-harness threads.
    fn new_threads(&self, baseline: &Snapshot) -> Vec<String> {
        let harness: Vec<&str> = TEST_NAMES.iter().map(|n| &n[..n.len().min(15)]).collect();
        self.threads
            .iter()
            .filter(|(tid, name)| !baseline.threads.contains_key(tid) && !harness.contains(&name.as_str()))
            .map(|(tid, name)| format!("{name} ({tid})"))
            .collect()
    }

    /// Threads with this name.
    fn named(&self, name: &str) -> usize {
        self.threads.values().filter(|n| *n == name).count()
    }

    /// Descriptors open now that were not at `baseline` (number → target), for diagnostics.
    fn new_fds(&self, baseline: &Snapshot) -> Vec<String> {
        self.fds
            .iter()
            .filter(|(fd, target)| baseline.fds.get(fd) != Some(target))
            .map(|(fd, target)| format!("{fd} → {target}"))
            .collect()
    }
}

/// Waits (bounded) until no cute-network worker and no fault connection thread is left, no
/// thread appeared since `baseline`, and no more descriptors are open than at `baseline`
/// (httpbin, in this process, closes its side of each connection asynchronously).
fn settle(baseline: &Snapshot, what: &str) -> Snapshot {
    let limit = Duration::from_secs(10);
    let deadline = Instant::now() + limit;
    loop {
        let now = Snapshot::take();
        let workers = now.named("cute-network-wo"); // "cute-network-worker", truncated
        let faults = now.named("fault-conn");
        let grown = now.new_threads(baseline);
        if workers == 0 && faults == 0 && grown.is_empty() && now.fds.len() <= baseline.fds.len() {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not back to the baseline after {limit:?}: {workers} worker thread(s), {faults} fault \
             connection thread(s), new threads {grown:?}, {} fds (baseline {}), new fds {:?}",
            now.fds.len(),
            baseline.fds.len(),
            now.new_fds(baseline),
        );
        EventLoop::process_events(Duration::from_millis(10));
    }
}

/// The resident set size, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

/// What the slots record. Per-request counters are preallocated, so recording allocates
/// nothing that grows with the run (which would spoil the memory figure).
struct Tally {
    /// Emissions of the manager's `finished`, per request.
    manager_finished: Vec<u8>,
    /// Emissions of the reply's own `finished`, per request.
    own_finished: Vec<u8>,
    issued: usize,
    done: usize,
    in_flight: usize,
    max_in_flight: usize,
    /// The manager's `finished` for a reply this run did not send.
    strays: usize,
    per_kind: BTreeMap<Kind, usize>,
    per_error: HashMap<NetworkError, usize>,
    problems: Vec<String>,
    problem_count: usize,
}

impl Tally {
    fn new(total: usize) -> Tally {
        Tally {
            manager_finished: vec![0; total],
            own_finished: vec![0; total],
            issued: 0,
            done: 0,
            in_flight: 0,
            max_in_flight: 0,
            strays: 0,
            per_kind: BTreeMap::new(),
            per_error: HashMap::new(),
            problems: Vec::new(),
            problem_count: 0,
        }
    }

    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < 20 {
            self.problems.push(text);
        }
    }
}

/// The request number carried in a reply's request URL.
fn soak_id(reply: &NetworkReply) -> Option<usize> {
    let request = reply.request();
    let url = request.url()?;
    url.query_pairs().find(|(k, _)| k == "soak").and_then(|(_, v)| v.parse().ok())
}

/// Two managers (the second only for `AuthUnanswered`) and the schedule's state. Slots hold
/// a `Weak` to it, so dropping the last `Rc` drops the managers.
struct Soak {
    main: NetworkAccessManager,
    unanswered: NetworkAccessManager,
    servers: Rc<Servers>,
    total: usize,
    tally: Rc<RefCell<Tally>>,
    /// Calls of `authentication_required` per request in flight.
    asked: RefCell<HashMap<usize, u32>>,
}

impl Soak {
    fn new(servers: Rc<Servers>, total: usize, tally: Rc<RefCell<Tally>>) -> Rc<Soak> {
        let soak = Rc::new(Soak {
            main: NetworkAccessManager::new(),
            unanswered: NetworkAccessManager::new(),
            servers,
            total,
            tally,
            asked: RefCell::default(),
        });
        for nam in [&soak.main, &soak.unanswered] {
            let weak = Rc::downgrade(&soak);
            nam.finished().connect(move |reply| {
                if let Some(soak) = weak.upgrade() {
                    soak.on_manager_finished(reply);
                }
            });
        }
        let weak = Rc::downgrade(&soak);
        soak.main.authentication_required().connect(move |(reply, auth)| {
            let Some(soak) = weak.upgrade() else { return };
            let Some(id) = soak_id(reply) else { return };
            let calls = {
                let mut asked = soak.asked.borrow_mut();
                let calls = asked.entry(id).or_insert(0);
                *calls += 1;
                *calls
            };
            match Kind::of(id) {
                Kind::AuthAborted if calls >= 2 => reply.abort(),
                Kind::AuthAnswered => {
                    auth.set_user("u");
                    auth.set_password("p");
                }
                Kind::AuthAborted => {
                    // Not "p": the authenticator may hold the cached u/p that just failed,
                    // and setting the same again would end the reply instead of retrying.
                    auth.set_user("u");
                    auth.set_password("wrong");
                }
                kind => soak.tally.borrow_mut().problem(format!("#{id} {kind:?}: asked for credentials")),
            }
        });
        let weak = Rc::downgrade(&soak);
        soak.unanswered.authentication_required().connect(move |(reply, _auth)| {
            let Some(soak) = weak.upgrade() else { return };
            if let Some(id) = soak_id(reply) {
                *soak.asked.borrow_mut().entry(id).or_insert(0) += 1;
            }
        });
        soak
    }

    /// Issues requests until `MAX_IN_FLIGHT` are in flight or all were issued.
    fn issue(self: &Rc<Self>) {
        loop {
            let id = {
                let mut tally = self.tally.borrow_mut();
                if tally.issued >= self.total || tally.in_flight >= MAX_IN_FLIGHT {
                    return;
                }
                let id = tally.issued;
                tally.issued += 1;
                tally.in_flight += 1;
                tally.max_in_flight = tally.max_in_flight.max(tally.in_flight);
                id
            };
            self.send(id);
        }
    }

    fn send(self: &Rc<Self>, id: usize) {
        let kind = Kind::of(id);
        let mut request = NetworkRequest::new(self.servers.url(kind, id));
        if kind == Kind::Hang {
            request.set_transfer_timeout(HANG_TIMEOUT);
        }
        let nam = if kind == Kind::AuthUnanswered { &self.unanswered } else { &self.main };
        let reply = nam.get(&request);
        let reads = Rc::new(Cell::new(0u32));
        if kind == Kind::EndlessAbort {
            let r = reads.clone();
            reply.ready_read().connect(move |reply| {
                r.set(r.get() + 1);
                let _ = reply.read_all();
                reply.abort();
            });
        }
        let weak = Rc::downgrade(self);
        reply.finished().connect(move |reply| {
            if let Some(soak) = weak.upgrade() {
                soak.on_own_finished(id, kind, reply, reads.get());
            }
        });
    }

    fn on_manager_finished(self: &Rc<Self>, reply: &NetworkReply) {
        {
            let mut tally = self.tally.borrow_mut();
            match soak_id(reply) {
                Some(id) if id < self.total => {
                    tally.manager_finished[id] = tally.manager_finished[id].saturating_add(1);
                    if tally.manager_finished[id] == 1 {
                        tally.in_flight -= 1;
                        tally.done += 1;
                    } else {
                        tally.problem(format!("#{id}: the manager's finished emitted again: {reply:?}"));
                    }
                }
                _ => tally.strays += 1,
            }
        }
        self.issue();
    }

    fn on_own_finished(&self, id: usize, kind: Kind, reply: &NetworkReply, reads: u32) {
        let asked = self.asked.borrow_mut().remove(&id).unwrap_or(0);
        let verdict = check(kind, reply, asked, reads);
        let mut tally = self.tally.borrow_mut();
        tally.own_finished[id] = tally.own_finished[id].saturating_add(1);
        if tally.manager_finished[id] != 1 {
            tally.problem(format!("#{id} {kind:?}: own finished without the manager's finished first"));
        }
        *tally.per_kind.entry(kind).or_insert(0) += 1;
        *tally.per_error.entry(reply.error()).or_insert(0) += 1;
        if let Err(problem) = verdict {
            tally.problem(format!("#{id} {kind:?}: {problem} ({}): {reply:?}", reply.error_string()));
        }
    }
}

/// Whether a finished reply is what its kind implies.
fn check(kind: Kind, reply: &NetworkReply, asked: u32, reads: u32) -> Result<(), String> {
    let error = reply.error();
    if error != kind.expected() {
        return Err(format!("finished with {error:?}, expected {:?}", kind.expected()));
    }
    if !reply.is_finished() {
        return Err("finished emitted while is_finished() is false".into());
    }
    let body = reply.read_all();
    let status = reply.status_code();
    let ok = |condition: bool, what: &str| if condition { Ok(()) } else { Err(what.to_owned()) };
    match kind {
        Kind::Get => ok(status == Some(200) && body.starts_with(b"{"), "not a 200 with JSON"),
        Kind::Bytes => ok(status == Some(200) && body.len() == 20_000, "not 20,000 bytes"),
        Kind::Gzip => ok(
            status == Some(200) && String::from_utf8_lossy(&body).contains("\"gzipped\": true"),
            "not the decoded /gzip JSON",
        ),
        Kind::NotFound => ok(status == Some(404), "not a 404"),
        Kind::ServerError => ok(status == Some(500), "not a 500"),
        Kind::Redirect => ok(
            status == Some(200) && reply.url().is_some_and(|u| u.path() == "/get"),
            "the redirects did not end at /get",
        ),
        Kind::AuthAnswered => ok(status == Some(200) && asked <= 1, "not a 200 after at most one question"),
        Kind::AuthAborted => ok(asked == 2, "not aborted on the second question"),
        Kind::AuthUnanswered => ok(status == Some(401) && asked == 1, "not a 401 after one question"),
        Kind::Reset => ok(body.len() <= 1000, "more body than was sent"),
        Kind::Hang => ok(status.is_none(), "a status from a silent server"),
        Kind::EndlessAbort => ok(reads == 1, "not exactly one ready_read before the abort"),
    }
}

/// The figures of a run.
#[derive(Debug)]
struct Report {
    requests: usize,
    duration: Duration,
    per_kind: BTreeMap<Kind, usize>,
    per_error: Vec<(NetworkError, usize)>,
    threads_before: usize,
    threads_after: usize,
    fds_before: usize,
    fds_after: usize,
    rss_warm_kib: u64,
    rss_end_kib: u64,
    rss_after_drop_kib: u64,
    max_in_flight: usize,
    workers_at_end: usize,
    drop_took: Duration,
}

impl Report {
    fn print(&self) {
        let secs = self.duration.as_secs_f64();
        eprintln!(
            "soak: {} requests in {:.2} s: {:.0} req/s",
            self.requests,
            secs,
            self.requests as f64 / secs
        );
        eprintln!("soak: per kind: {:?}", self.per_kind);
        eprintln!("soak: per error: {:?}", self.per_error);
        eprintln!("soak: at most {} in flight", self.max_in_flight);
        eprintln!("soak: threads before {} after {}", self.threads_before, self.threads_after);
        eprintln!("soak: fds before {} after {}", self.fds_before, self.fds_after);
        eprintln!(
            "soak: VmRSS after warm-up {} KiB, at the end {} KiB ({:+.1} %), after dropping the managers {} KiB",
            self.rss_warm_kib,
            self.rss_end_kib,
            (self.rss_end_kib as f64 / self.rss_warm_kib as f64 - 1.0) * 100.0,
            self.rss_after_drop_kib
        );
        eprintln!(
            "soak: {} worker thread(s) before the drop, which took {:?}",
            self.workers_at_end, self.drop_took
        );
    }
}

/// Sends `total` requests through a fresh pair of managers, at most `MAX_IN_FLIGHT` at a
/// time, checking each as it finishes. Returns the tally, VmRSS after a tenth of the run, and
/// the managers (still alive).
fn run(servers: &Rc<Servers>, total: usize, limit: Duration) -> (Rc<RefCell<Tally>>, Option<u64>, Rc<Soak>) {
    let tally = Rc::new(RefCell::new(Tally::new(total)));
    let soak = Soak::new(servers.clone(), total, tally.clone());
    let started = Instant::now();
    soak.issue();
    let mut rss_warm = None;
    loop {
        let done = tally.borrow().done;
        if rss_warm.is_none() && done >= total / 10 {
            rss_warm = Some(rss_kib());
        }
        if done == total {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "{done} of {total} requests finished after {limit:?}: {:?} {:?}",
            soak.main,
            soak.unanswered
        );
        EventLoop::process_events(Duration::from_millis(50));
    }
    assert!(soak.asked.borrow().is_empty(), "questions recorded for unfinished replies");
    (tally, rss_warm, soak)
}

/// Drops the managers (the only `Rc` to them must be `soak`); returns their worker count
/// just before and how long the drop took.
fn drop_managers(soak: Rc<Soak>) -> (usize, Duration) {
    let Soak { main, unanswered, .. } =
        Rc::try_unwrap(soak).ok().expect("the managers are still referenced after the run");
    let workers = main.worker_threads();
    let dropping = Instant::now();
    drop(main);
    drop(unanswered);
    (workers, dropping.elapsed())
}

/// The whole soak: warm-up, baseline, `total` requests, drop, and the leak checks.
/// Resident memory at the end may exceed the figure after warm-up by 10 %, or by
/// `rss_floor_kib` when that is larger (see the memory check at the end).
fn soak(total: usize, limit: Duration, rss_floor_kib: u64) -> Report {
    // The loop's own descriptors (poller, waker) exist before the baseline.
    EventLoop::process_events(Duration::ZERO);
    let servers = Rc::new(Servers::start());
    let initial = Snapshot::take();

    // Warm-up: every kind once or more, through managers that are then dropped, so that
    // what is created once per process (allocator arenas, lazy statics) predates the
    // baseline.
    let (warm_tally, _, warm) = run(&servers, 300, limit);
    drop_managers(warm);
    let warm_tally = warm_tally.borrow();
    assert_eq!(warm_tally.problem_count, 0, "warm-up: {:#?}", warm_tally.problems);
    let baseline = settle(&initial, "after the warm-up");

    let started = Instant::now();
    let (tally, rss_warm, soak) = run(&servers, total, limit);
    let duration = started.elapsed();
    let rss_end = rss_kib();
    let (workers_at_end, drop_took) = drop_managers(soak);
    assert!(
        workers_at_end <= cute_network::DEFAULT_MAX_WORKERS,
        "{workers_at_end} worker threads, above the cap"
    );
    // The managers are gone, so nothing can emit any more: the counts are final.
    let tally = Rc::try_unwrap(tally).ok().expect("the tally is still referenced").into_inner();
    let after = settle(&baseline, "after the run");
    let rss_after_drop = rss_kib();

    let report = Report {
        requests: total,
        duration,
        per_kind: tally.per_kind.clone(),
        per_error: {
            let mut v: Vec<(NetworkError, usize)> = tally.per_error.iter().map(|(e, n)| (*e, *n)).collect();
            v.sort_by_key(|(e, n)| (std::cmp::Reverse(*n), *e as i32));
            v
        },
        threads_before: baseline.threads.len(),
        threads_after: after.threads.len(),
        fds_before: baseline.fds.len(),
        fds_after: after.fds.len(),
        rss_warm_kib: rss_warm.expect("VmRSS after warm-up"),
        rss_end_kib: rss_end,
        rss_after_drop_kib: rss_after_drop,
        max_in_flight: tally.max_in_flight,
        workers_at_end,
        drop_took,
    };
    report.print();

    assert_eq!(
        tally.problem_count, 0,
        "{} problem(s), the first: {:#?}",
        tally.problem_count, tally.problems
    );
    assert_eq!(tally.strays, 0, "finished emitted for replies the run did not send");
    for (id, (m, o)) in tally.manager_finished.iter().zip(&tally.own_finished).enumerate() {
        assert!(*m == 1 && *o == 1, "#{id} {:?}: manager's finished ×{m}, own finished ×{o}", Kind::of(id));
    }
    assert!(tally.max_in_flight <= MAX_IN_FLIGHT);
    for kind in WEIGHTS.map(|(kind, _)| kind).into_iter() {
        assert!(report.per_kind.get(&kind).is_some_and(|n| *n > 0), "the schedule never ran {kind:?}");
    }
    assert!(drop_took < Duration::from_secs(2), "dropping the idle managers took {drop_took:?}");

    // Threads and descriptors: `settle` has checked that none is left over (no new thread
    // but the harness's, no worker, no fault connection, no more fds than at the baseline).
    assert!(after.fds.len() <= baseline.fds.len());
    // The fault servers' own threads end with them (joined; a joined thread's /proc entry
    // can outlive the join for a moment, hence the bounded wait).
    drop(servers);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let gone = Snapshot::take();
        let left = gone.named("fault-accept") + gone.named("fault-conn");
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} fault server thread(s) survived their servers");
        EventLoop::process_events(Duration::from_millis(10));
    }

    // Memory: the end may exceed the warm-up figure by 10 % (issue 5's bound), or by
    // `rss_floor_kib` when that is larger. RSS moves by a few MiB with no leak at all: what
    // is in flight at the moment of measuring (up to 100 replies' buffers, each running
    // worker's 64 KiB read buffer and up to 1 MiB hand-off, the agent's idle connections)
    // and glibc's per-thread arenas, which keep freed memory and return it to the system
    // lazily (observed run to run: -2 % to +2 %). The full soak passes no floor: exactly
    // 10 %. The short CI soak passes 8 MiB, since 10 % of a ~25 MiB process is within
    // that noise; 8 MiB is 4 KiB per request over its 2,000 requests, so a leak of any real
    // size on the request path still fails it.
    let allowed = (report.rss_warm_kib / 10).max(rss_floor_kib);
    assert!(
        report.rss_end_kib <= report.rss_warm_kib + allowed,
        "VmRSS grew from {} KiB after warm-up to {} KiB at the end (allowed +{allowed} KiB)",
        report.rss_warm_kib,
        report.rss_end_kib
    );
    report
}

/// Regression: an abort must not cut a connection another request is using (found by the
/// soak, where aborts from the authentication slot failed 14 of 2,000 unrelated requests). `/auth` answers 401 with an empty body, so ureq pools its connection as soon as
/// the head is read; the authentication slot then starts `/slow`, which takes that pooled
/// connection, and aborts `/auth` once `/slow` reached the server on it. Expected: `/slow`
/// gets its 200. Observed: `/slow` finishes with `RemoteHostClosedError` ("Connection
/// closed: Peer disconnected"): the abort shut down the connection `/auth` had registered
/// with its `Control`, which `/slow` was using by then.
#[test]
fn abort_does_not_cut_a_connection_another_request_reuses() {
    let _lock = soak_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    // (path, connection number) of every request the server reads; `go` releases /slow.
    let (seen_tx, seen) = crossbeam_channel::unbounded::<(String, usize)>();
    let (go_tx, go) = crossbeam_channel::unbounded::<()>();
    let connections = Arc::new(AtomicUsize::new(0));
    let server = Responder::start(move |mut stream| {
        let connection = connections.fetch_add(1, Ordering::SeqCst);
        while let Some(head) = stream.read_head() {
            let path = head.path();
            let _ = seen_tx.send((path.clone(), connection));
            let answer: &[u8] = if path == "/auth" {
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n"
            } else {
                let _ = go.recv_timeout(Duration::from_secs(10));
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nslow body"
            };
            if stream.write_all(answer).is_err() {
                return;
            }
        }
    });

    let nam = Rc::new(NetworkAccessManager::new());
    let slow: Rc<RefCell<Option<NetworkReply>>> = Rc::default();
    let requests: Rc<RefCell<Vec<(String, usize)>>> = Rc::default();
    let (weak, s, r, slow_url) = (Rc::downgrade(&nam), slow.clone(), requests.clone(), server.url("/slow"));
    nam.authentication_required().connect(move |(reply, _auth)| {
        let Some(nam) = weak.upgrade() else { return };
        *s.borrow_mut() = Some(nam.get(&NetworkRequest::new(slow_url.as_str())));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !r.borrow().iter().any(|(path, _)| path == "/slow") {
            assert!(Instant::now() < deadline, "/slow never reached the server");
            r.borrow_mut().extend(seen.try_iter());
            EventLoop::process_events(Duration::from_millis(5));
        }
        reply.abort();
    });
    let auth = nam.get(&NetworkRequest::new(server.url("/auth")));
    if !auth.is_finished() {
        assert!(SignalSpy::new(auth.finished()).wait(Duration::from_secs(20)), "/auth did not finish");
    }
    assert_eq!(auth.error(), NetworkError::OperationCanceledError, "{}", auth.error_string());
    // The precondition: /slow went out on the connection /auth had used (pooled by ureq).
    let on = |wanted: &str| requests.borrow().iter().find(|(path, _)| path == wanted).map(|(_, c)| *c);
    assert_eq!(on("/slow"), on("/auth"), "/slow did not reuse /auth's connection: {:?}", requests.borrow());

    let _ = go_tx.send(());
    let slow = slow.borrow().clone().expect("the slot started /slow");
    if !slow.is_finished() {
        assert!(SignalSpy::new(slow.finished()).wait(Duration::from_secs(20)), "/slow did not finish");
    }
    assert_eq!(
        slow.error(),
        NetworkError::NoError,
        "an abort of another reply cut /slow: {}",
        slow.error_string()
    );
    assert_eq!(slow.read_all(), b"slow body");
}

/// The short soak's allowance for resident-memory noise: growth up to 8 MiB passes even
/// where that is more than 10 % (the full soak has no such floor).
const SHORT_RSS_FLOOR_KIB: u64 = 8 * 1024;

#[test]
fn soak_short() {
    let _lock = soak_lock();
    let _dog = Watchdog::new(Duration::from_secs(120));
    soak(2_000, Duration::from_secs(90), SHORT_RSS_FLOOR_KIB);
}

#[test]
#[ignore = "long: cargo test --release --test soak -- --ignored --nocapture soak_full"]
fn soak_full() {
    let _lock = soak_lock();
    let _dog = Watchdog::new(Duration::from_secs(600));
    soak(100_000, Duration::from_secs(540), 0);
}
