//! Bodies as streams: ready_read, read buffer back-pressure, progress, uploads, timeouts,
//! and the per-host queue.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{fetch, run_until, wait};
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use cute_testkit::Watchdog;

/// (bytes so far, total if known), as `download_progress` reports it.
type Progress = (u64, Option<u64>);

#[test]
fn streaming_reader_sees_every_byte_and_progress_reaches_the_total() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    const SIZE: u64 = 5 * 1024 * 1024;
    let reply = nam.get(&NetworkRequest::new(server.url(&format!("/bytes/{SIZE}"))));
    let received = Rc::new(Cell::new(0u64));
    let r = received.clone();
    reply.ready_read().connect(move |reply| r.set(r.get() + reply.read_all().len() as u64));
    let progress: Rc<RefCell<Vec<Progress>>> = Rc::default();
    let p = progress.clone();
    reply.download_progress().connect(move |step| p.borrow_mut().push(*step));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(received.get() + reply.read_all().len() as u64, SIZE);
    let progress = progress.borrow();
    assert_eq!(progress.last(), Some(&(SIZE, Some(SIZE))));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows");
}

#[test]
fn read_buffer_size_bounds_what_is_buffered() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    const SIZE: u64 = 4 * 1024 * 1024;
    const LIMIT: u64 = 100 * 1024;
    let mut req = NetworkRequest::new(server.url(&format!("/bytes/{SIZE}")));
    req.set_read_buffer_size(LIMIT);
    let reply = nam.get(&req);
    let buffered = Rc::new(RefCell::new(Vec::new()));
    let total = Rc::new(Cell::new(0u64));
    let (b, t) = (buffered.clone(), total.clone());
    reply.ready_read().connect(move |reply| {
        b.borrow_mut().push(reply.bytes_available());
        // A slow consumer that reads only here, a little each time: freeing buffer space
        // lets more data in, and ready_read comes again (Qt's behaviour).
        t.set(t.get() + reply.read(16 * 1024).len() as u64);
    });
    let done = run_until(Duration::from_secs(30), || reply.is_finished());
    assert!(done, "stalled after {} of {SIZE} bytes: {reply:?}", total.get());
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    total.set(total.get() + reply.read_all().len() as u64);
    assert_eq!(total.get(), SIZE);
    // Every ready_read but the last saw at most the limit buffered; the last one, emitted
    // just before finished, announces everything the worker had handed over (at most the
    // 1 MiB hand-off budget), so that all of the body is readable at finished.
    let buffered = buffered.borrow();
    let (last, before) = buffered.split_last().expect("ready_read was emitted");
    let peak = before.iter().copied().max().unwrap_or(0);
    assert!(peak <= LIMIT, "buffered {peak} with a limit of {LIMIT}");
    assert!(*last <= LIMIT + 1024 * 1024, "the final ready_read announced {last} bytes");
}

#[test]
fn a_tiny_read_buffer_read_only_in_ready_read_completes() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    // More than the 1 MiB hand-off budget, so the worker must wait for the reader.
    const SIZE: u64 = 2 * 1024 * 1024;
    let mut req = NetworkRequest::new(server.url(&format!("/stream-bytes/{SIZE}?chunk_size=3000")));
    req.set_read_buffer_size(1000);
    let reply = nam.get(&req);
    let body = Rc::new(RefCell::new(Vec::new()));
    let b = body.clone();
    reply.ready_read().connect(move |reply| b.borrow_mut().extend(reply.read(700)));
    // At finished, everything not read yet is readable.
    let finished_with: Rc<Cell<Option<u64>>> = Rc::default();
    let (f, b) = (finished_with.clone(), body.clone());
    reply.finished().connect(move |reply| f.set(Some(b.borrow().len() as u64 + reply.bytes_available())));
    let done = run_until(Duration::from_secs(30), || reply.is_finished());
    assert!(done, "stalled after {} of {SIZE} bytes: {reply:?}", body.borrow().len());
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    body.borrow_mut().extend(reply.read_all());
    assert_eq!(body.borrow().len() as u64, SIZE);
    assert_eq!(finished_with.get(), Some(SIZE));
}

#[test]
fn read_consumes_in_order() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/html"));
    let whole = {
        let again = fetch(&nam, server.url("/html"));
        again.read_all()
    };
    let mut pieces = Vec::new();
    while reply.bytes_available() > 0 {
        pieces.extend(reply.read(10));
    }
    assert_eq!(pieces, whole);
    assert!(reply.at_end());
    assert!(reply.read(10).is_empty());
}

#[test]
fn upload_progress_reports_the_body() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let body = vec![b'x'; 300 * 1024];
    let mut req = NetworkRequest::new(server.url("/post"));
    req.set_header(KnownHeaders::ContentTypeHeader, "application/octet-stream");
    let reply = nam.post(&req, body.clone());
    let spy = SignalSpy::new(reply.upload_progress());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError);
    let steps = spy.take_all();
    assert_eq!(steps.last(), Some(&(body.len() as u64, Some(body.len() as u64))));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["data"].as_str().map(str::len), Some(body.len()));
}

#[test]
fn transfer_timeout_from_the_manager_ends_a_stalled_reply() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    nam.set_transfer_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let reply = fetch(&nam, server.url("/delay/5"));
    assert_eq!(reply.error(), NetworkError::TimeoutError);
    assert!(reply.error().is_timeout());
    assert!(start.elapsed() >= Duration::from_millis(200));
    // A request's own timeout wins: zero disables it, so this one waits for the server.
    let mut req = NetworkRequest::new(server.url("/delay/0.5"));
    req.set_transfer_timeout(Duration::ZERO);
    let patient = nam.get(&req);
    wait(&patient);
    assert_eq!(patient.error(), NetworkError::NoError, "{}", patient.error_string());
}

#[test]
fn dripping_body_is_not_a_timeout_while_bytes_keep_coming() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    // 10 bytes over 1 s: a byte every ~100 ms, well inside a 400 ms inactivity timeout.
    let mut req = NetworkRequest::new(server.url("/drip?duration=1&numbytes=10"));
    req.set_transfer_timeout(Duration::from_millis(400));
    let reply = nam.get(&req);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"**********");
}

#[test]
fn per_host_limit_queues_the_rest() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    nam.set_max_connections_per_host(1).unwrap();
    let start = Instant::now();
    let replies: Vec<NetworkReply> =
        (0..4).map(|_| nam.get(&NetworkRequest::new(server.url("/delay/0.1")))).collect();
    assert_eq!(nam.live_replies(), 4);
    for reply in &replies {
        wait(reply);
        assert_eq!(reply.error(), NetworkError::NoError);
    }
    // One at a time: at least four delays back to back.
    assert!(start.elapsed() >= Duration::from_millis(400), "{:?}", start.elapsed());
    // The runtime's I/O threads, not a thread per request.
    assert!(nam.worker_threads() <= 2);
    assert!(nam.set_max_connections_per_host(0).is_err());
}

#[test]
fn ten_thousand_requests_queue_without_a_thread_each() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    const N: usize = 10_000;
    let done = Rc::new(Cell::new(0usize));
    let failed = Rc::new(Cell::new(0usize));
    let (d, f) = (done.clone(), failed.clone());
    nam.finished().connect(move |reply| {
        d.set(d.get() + 1);
        if reply.error() != NetworkError::NoError {
            f.set(f.get() + 1);
        }
    });
    let req = NetworkRequest::new(server.url("/tiny.txt"));
    let replies: Vec<NetworkReply> = (0..N).map(|_| nam.get(&req)).collect();
    let mut peak_workers = 0;
    let deadline = Instant::now() + Duration::from_secs(100);
    while done.get() < N && Instant::now() < deadline {
        cute_core::EventLoop::process_events(Duration::from_millis(50));
        peak_workers = peak_workers.max(nam.worker_threads());
    }
    assert_eq!(done.get(), N);
    assert_eq!(failed.get(), 0);
    assert!(peak_workers <= cute_network::DEFAULT_CONNECTIONS_PER_HOST, "{peak_workers} workers");
    assert!(replies.iter().all(|r| r.read_all() == b"a"));
}

#[test]
fn download_progress_is_throttled_like_qts() {
    // 20 bytes over one second, one every 50 ms: every byte is announced by ready_read,
    // download_progress at most every 100 ms, plus the final one.
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/drip?numbytes=20&duration=1")));
    let progress = SignalSpy::new(reply.download_progress());
    let reads = SignalSpy::new(reply.ready_read());
    let started = Instant::now();
    wait(&reply);
    let elapsed = started.elapsed();
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all().len(), 20);
    let emitted = progress.take_all();
    assert_eq!(emitted.last(), Some(&(20, Some(20))), "the final progress: {emitted:?}");
    let allowed = (elapsed.as_millis() / 100) as usize + 2;
    assert!(emitted.len() <= allowed, "{} progress signals in {elapsed:?}: {emitted:?}", emitted.len());
    assert!(reads.count() > emitted.len(), "ready_read is not throttled: {} reads", reads.count());
}

#[test]
fn a_failed_request_reports_zero_progress_for_both_directions() {
    // Qt: a request that fails before anything arrived ends with downloadProgress(0, 0),
    // and, as it had a body of which nothing was sent, uploadProgress(0, 0).
    let _dog = Watchdog::new(Duration::from_secs(60));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(format!("http://127.0.0.1:{port}/post"));
    request.set_header(KnownHeaders::ContentTypeHeader, "text/plain");
    let reply = nam.post(&request, b"body".to_vec());
    let order: Rc<RefCell<Vec<String>>> = Rc::default();
    let o = order.clone();
    reply.download_progress().connect(move |p| o.borrow_mut().push(format!("download {p:?}")));
    let o = order.clone();
    reply.upload_progress().connect(move |p| o.borrow_mut().push(format!("upload {p:?}")));
    let o = order.clone();
    reply.finished().connect(move |_| o.borrow_mut().push("finished".into()));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ConnectionRefusedError);
    assert_eq!(*order.borrow(), ["download (0, Some(0))", "upload (0, Some(0))", "finished"]);

    // An abort ends without progress, as in Qt.
    let reply = nam.get(&NetworkRequest::new(format!("http://127.0.0.1:{port}/")));
    let progress = SignalSpy::new(reply.download_progress());
    reply.abort();
    assert_eq!(progress.count(), 0);
}

#[test]
fn an_aborted_reply_discards_what_it_buffered() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/drip?numbytes=10&duration=1")));
    let buffered = Rc::new(Cell::new(0));
    let b = buffered.clone();
    reply.ready_read().connect(move |reply| {
        // Leave the bytes unread, and abort.
        b.set(reply.bytes_available());
        reply.abort();
    });
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::OperationCanceledError);
    assert!(buffered.get() > 0, "something was buffered before the abort");
    assert_eq!(reply.bytes_available(), 0);
    assert!(reply.read_all().is_empty(), "Qt discards a canceled reply's data");
}

#[test]
fn results_the_loop_has_not_taken_in_hold_the_runners_back() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    // Counts the requests the server answered.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = answered.clone();
    let server = cute_testkit::Responder::start(move |mut connection| {
        while connection.read_head().is_some() {
            a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ok = cute_testkit::response("200 OK", &[], b"ok");
            if std::io::Write::write_all(&mut connection, &ok).is_err() {
                return;
            }
        }
    });
    let nam = NetworkAccessManager::new();
    const N: usize = 3000;
    let replies: Vec<NetworkReply> =
        (0..N).map(|i| nam.get(&NetworkRequest::new(server.url(&format!("/{i}"))))).collect();
    let count = || answered.load(std::sync::atomic::Ordering::SeqCst);
    // The loop does not run: after 2,048 results nobody takes in, the runners wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count() < 2048 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(count(), 2048, "the runners did not get as far as the backlog allows");
    let overran = Instant::now() + Duration::from_millis(500);
    while count() == 2048 && Instant::now() < overran {
        std::thread::yield_now();
    }
    assert_eq!(count(), 2048, "requests ran with 2,048 results not taken in");
    // Once the loop runs, everything finishes.
    assert!(run_until(Duration::from_secs(60), || replies.iter().all(NetworkReply::is_finished)));
    assert!(replies.iter().all(|r| r.error() == NetworkError::NoError));
    assert_eq!(count(), N);
}

#[test]
fn a_body_nobody_watches_reports_progress_on_the_way_and_arrives_whole() {
    // No ready_read slot and no read buffer limit: the body is gathered on the runtime and
    // handed over once, and download_progress still tells how it is coming along.
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/drip?numbytes=10&duration=1")));
    let progress = SignalSpy::new(reply.download_progress());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"**********");
    let emitted = progress.take_all();
    assert_eq!(emitted.last(), Some(&(10, Some(10))), "{emitted:?}");
    let on_the_way = emitted.iter().filter(|(n, _)| (1..10).contains(n)).count();
    assert!(on_the_way >= 2, "progress while the body came: {emitted:?}");
    assert!(emitted.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows: {emitted:?}");
}

#[test]
fn watching_a_body_half_way_hands_over_what_came_and_streams_the_rest() {
    // A ready_read slot connected while the body is being gathered: what came so far is
    // handed over at once, then the rest in chunks, every byte once and in order.
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/drip?numbytes=10&duration=1")));
    // The first progress reported while the body comes, and what the first read took.
    let seen = Rc::new(Cell::new(0u64));
    let s = seen.clone();
    reply.download_progress().connect(move |&(received, _)| {
        if s.get() == 0 && (1..10).contains(&received) {
            s.set(received);
        }
    });
    let read: Rc<RefCell<Vec<u8>>> = Rc::default();
    let first_read = Rc::new(Cell::new(None::<usize>));
    let connected = Cell::new(false);
    // Connect from the loop once some progress came, as an application reacting to it.
    let done = run_until(Duration::from_secs(30), || {
        if seen.get() > 0 && !connected.replace(true) {
            let (r, f) = (read.clone(), first_read.clone());
            reply.ready_read().connect(move |reply| {
                let chunk = reply.read_all();
                if f.get().is_none() {
                    f.set(Some(chunk.len()));
                }
                r.borrow_mut().extend_from_slice(&chunk);
            });
        }
        reply.is_finished()
    });
    assert!(done, "{reply:?}");
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    read.borrow_mut().extend_from_slice(&reply.read_all());
    assert_eq!(&*read.borrow(), b"**********");
    let first = first_read.get().expect("ready_read came after the slot was connected");
    assert!(
        first as u64 >= seen.get(),
        "the first ready_read hands over what was gathered: {first} bytes, {} reported before",
        seen.get()
    );
    assert!(first < 10, "the rest came after, in chunks: the first read took {first}");
}

#[test]
fn a_body_cut_half_way_keeps_what_came_watched_or_not() {
    use cute_testkit::Responder;
    use std::io::Write;
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Responder::start(|mut c| {
        c.read_head();
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        let _ = c.write_all(&[b'x'; 1000]);
        c.close();
    });
    let nam = NetworkAccessManager::new();
    for watched in [false, true] {
        let reply = nam.get(&NetworkRequest::new(server.url("/cut")));
        let streamed: Rc<RefCell<Vec<u8>>> = Rc::default();
        if watched {
            let s = streamed.clone();
            reply.ready_read().connect(move |reply| s.borrow_mut().extend(reply.read_all()));
        }
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::RemoteHostClosedError, "{}", reply.error_string());
        streamed.borrow_mut().extend(reply.read_all());
        assert_eq!(*streamed.borrow(), vec![b'x'; 1000], "watched: {watched}");
    }
}
