//! W1–W5 of the shared workloads, for cute and for the raw Rust floor, plus the idle check.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cute_core::{EventLoop, Signal, Thread, Timer};

use crate::{Figure, alloc_count};

const EMITS: u64 = 10_000_000;
const QUEUED: u64 = 1_000_000;
const ROUND_TRIPS: u32 = 100_000;
const ZERO_TIMERS: u32 = 100_000;

fn per_op_ns(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

/// W1/W2: one signal carrying an i64 with `slots` direct slots adding it to a counter.
pub(crate) fn emit(slots: usize) -> Vec<Figure> {
    let name = if slots == 1 { "W1" } else { "W2" };
    let sig = Signal::<i64>::new();
    let counter = Rc::new(Cell::new(0i64));
    for _ in 0..slots {
        let c = counter.clone();
        sig.connect(move |v| c.set(c.get() + v));
    }
    let start = Instant::now();
    for i in 0..EMITS as i64 {
        sig.emit(black_box(&i));
    }
    let cute = start.elapsed();
    let expected = slots as i64 * (EMITS as i64 - 1) * EMITS as i64 / 2;
    assert_eq!(counter.get(), expected, "{name}: wrong sum");

    // The raw floor: Rc<RefCell<Vec<Box<dyn FnMut>>>>.
    type RawSlots = Rc<RefCell<Vec<Box<dyn FnMut(&i64)>>>>;
    let raw: RawSlots = Rc::default();
    let counter = Rc::new(Cell::new(0i64));
    for _ in 0..slots {
        let c = counter.clone();
        raw.borrow_mut().push(Box::new(move |v| c.set(c.get() + v)));
    }
    let raw = black_box(raw);
    let start = Instant::now();
    for i in 0..EMITS as i64 {
        for slot in raw.borrow_mut().iter_mut() {
            slot(black_box(&i));
        }
    }
    let raw_time = start.elapsed();
    assert_eq!(counter.get(), expected, "{name} raw: wrong sum");
    vec![
        Figure::new(name, "cute", per_op_ns(cute, EMITS), "ns/emit"),
        Figure::new(name, "raw", per_op_ns(raw_time, EMITS), "ns/emit"),
    ]
}

/// W1r/W2r (cute's own): W1 and W2 with receiver-bound slots (`connect_to`), beside the
/// plain ones in the same run: what binding a slot to a receiver costs an emission.
pub(crate) fn emit_bound(slots: usize) -> Vec<Figure> {
    let name = if slots == 1 { "W1r" } else { "W2r" };
    let run = |bound: bool| {
        let sig = Signal::<i64>::new();
        let counter = Rc::new(Cell::new(0i64));
        for _ in 0..slots {
            if bound {
                sig.connect_to(&counter, |c, v| c.set(c.get() + v));
            } else {
                let c = counter.clone();
                sig.connect(move |v| c.set(c.get() + v));
            }
        }
        let start = Instant::now();
        for i in 0..EMITS as i64 {
            sig.emit(black_box(&i));
        }
        let elapsed = start.elapsed();
        assert_eq!(counter.get(), slots as i64 * (EMITS as i64 - 1) * EMITS as i64 / 2, "{name}: wrong sum");
        per_op_ns(elapsed, EMITS)
    };
    let plain = run(false);
    let bound = run(true);
    vec![Figure::new(name, "plain", plain, "ns/emit"), Figure::new(name, "bound", bound, "ns/emit")]
}

/// W3: a worker thread emits 1,000,000 i64 to a signal whose slot runs on this loop; the
/// loop quits once all arrived.
pub(crate) fn queued_xthread() -> Vec<Figure> {
    let event_loop = EventLoop::new();
    let sig = Signal::<i64>::new();
    let received = Rc::new(Cell::new(0u64));
    let sum = Rc::new(Cell::new(0i64));
    let (r, s, l) = (received.clone(), sum.clone(), event_loop.clone());
    sig.connect(move |v| {
        s.set(s.get() + v);
        r.set(r.get() + 1);
        if r.get() == QUEUED {
            l.quit();
        }
    });
    let emitter = sig.emitter();
    let start = Instant::now();
    let worker = std::thread::spawn(move || {
        for i in 0..QUEUED as i64 {
            emitter.emit(i).expect("the loop is alive");
        }
    });
    event_loop.exec();
    let elapsed = start.elapsed();
    worker.join().unwrap();
    assert_eq!(received.get(), QUEUED);
    assert_eq!(sum.get(), (QUEUED as i64 - 1) * QUEUED as i64 / 2);
    let cute = QUEUED as f64 / elapsed.as_secs_f64() / 1e6;
    vec![Figure::new("W3", "cute", cute, "Mevents/s"), Figure::new("W3", "raw", raw_queued(), "Mevents/s")]
}

/// The W3 floor: crossbeam + mio with a coalesced wake, no framework.
fn raw_queued() -> f64 {
    let mut poll = mio::Poll::new().unwrap();
    let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
    let pending = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::unbounded::<i64>();
    let (w, p) = (waker.clone(), pending.clone());
    let start = Instant::now();
    let worker = std::thread::spawn(move || {
        for i in 0..QUEUED as i64 {
            tx.send(i).unwrap();
            if !p.load(Ordering::SeqCst) && !p.swap(true, Ordering::SeqCst) {
                w.wake().unwrap();
            }
        }
    });
    let mut events = mio::Events::with_capacity(8);
    let (mut got, mut sum) = (0u64, 0i64);
    while got < QUEUED {
        poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
        pending.store(false, Ordering::SeqCst);
        while let Ok(v) = rx.try_recv() {
            sum += v;
            got += 1;
        }
    }
    let elapsed = start.elapsed();
    worker.join().unwrap();
    assert_eq!(sum, (QUEUED as i64 - 1) * QUEUED as i64 / 2);
    QUEUED as f64 / elapsed.as_secs_f64() / 1e6
}

/// W4: main loop → worker thread → main loop over queued delivery, one at a time.
pub(crate) fn pingpong() -> Vec<Figure> {
    let event_loop = EventLoop::new();
    let pong = Signal::<u32>::new();
    let pong_emitter = pong.emitter();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let worker = Thread::start_with(move || {
        let ping = Rc::new(Signal::<u32>::new());
        ping.connect(move |n| pong_emitter.emit(*n).expect("main loop alive"));
        tx.send(ping.emitter()).unwrap();
        // Keep the worker's signal alive for the thread's lifetime.
        Timer::single_shot(Duration::from_secs(24 * 3600), move || drop(ping));
    })
    .expect("spawn worker");
    let ping = rx.recv().unwrap();
    let last = Rc::new(Cell::new(0u32));
    let (l, p, q) = (last.clone(), ping.clone(), event_loop.clone());
    pong.connect(move |n| {
        assert_eq!(*n, l.get() + 1, "W4: lost or reordered round trip");
        l.set(*n);
        if *n < ROUND_TRIPS {
            p.emit(n + 1).expect("worker alive");
        } else {
            q.quit();
        }
    });
    let start = Instant::now();
    ping.emit(1).unwrap();
    event_loop.exec();
    let elapsed = start.elapsed();
    assert_eq!(last.get(), ROUND_TRIPS);
    drop(worker);
    let cute = elapsed.as_secs_f64() * 1e6 / f64::from(ROUND_TRIPS);
    vec![
        Figure::new("W4", "cute", cute, "us/roundtrip"),
        Figure::new("W4", "raw", raw_pingpong(), "us/roundtrip"),
    ]
}

/// The W4 floor: two mio loops and two crossbeam channels with coalesced wakes.
fn raw_pingpong() -> f64 {
    struct Side {
        poll: mio::Poll,
        waker: Arc<mio::Waker>,
        pending: Arc<AtomicBool>,
    }
    fn side() -> Side {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        Side { poll, waker, pending: Arc::new(AtomicBool::new(false)) }
    }
    fn send(tx: &crossbeam_channel::Sender<u32>, w: &mio::Waker, p: &AtomicBool, v: u32) {
        tx.send(v).unwrap();
        if !p.load(Ordering::SeqCst) && !p.swap(true, Ordering::SeqCst) {
            w.wake().unwrap();
        }
    }
    fn recv(s: &mut Side, rx: &crossbeam_channel::Receiver<u32>, events: &mut mio::Events) -> u32 {
        loop {
            s.pending.store(false, Ordering::SeqCst);
            if let Ok(v) = rx.try_recv() {
                return v;
            }
            s.poll.poll(events, Some(Duration::from_secs(10))).unwrap();
        }
    }
    let mut main = side();
    let mut other = side();
    let (to_worker, worker_rx) = crossbeam_channel::unbounded::<u32>();
    let (to_main, main_rx) = crossbeam_channel::unbounded::<u32>();
    let (mw, mp) = (main.waker.clone(), main.pending.clone());
    let (ow, op) = (other.waker.clone(), other.pending.clone());
    let worker = std::thread::spawn(move || {
        let mut events = mio::Events::with_capacity(8);
        loop {
            let v = recv(&mut other, &worker_rx, &mut events);
            send(&to_main, &mw, &mp, v);
            if v == ROUND_TRIPS {
                break;
            }
        }
    });
    let mut events = mio::Events::with_capacity(8);
    let start = Instant::now();
    for i in 1..=ROUND_TRIPS {
        send(&to_worker, &ow, &op, i);
        assert_eq!(recv(&mut main, &main_rx, &mut events), i);
    }
    let elapsed = start.elapsed();
    worker.join().unwrap();
    elapsed.as_secs_f64() * 1e6 / f64::from(ROUND_TRIPS)
}

/// W5: a 0 ms single-shot timer whose slot re-arms it, 100,000 times.
pub(crate) fn zero_timer() -> Vec<Figure> {
    let event_loop = EventLoop::new();
    let timer = Rc::new(Timer::new());
    timer.set_single_shot(true);
    let count = Rc::new(Cell::new(0u32));
    let (t, c, l) = (Rc::downgrade(&timer), count.clone(), event_loop.clone());
    timer.timeout().connect(move |_| {
        c.set(c.get() + 1);
        if c.get() < ZERO_TIMERS {
            t.upgrade().unwrap().start();
        } else {
            l.quit();
        }
    });
    let start = Instant::now();
    timer.start();
    event_loop.exec();
    let elapsed = start.elapsed();
    assert_eq!(count.get(), ZERO_TIMERS);
    let cute = elapsed.as_secs_f64() * 1e6 / f64::from(ZERO_TIMERS);
    vec![Figure::new("W5", "cute", cute, "us/iter"), Figure::new("W5", "raw", raw_zero_timer(), "us/iter")]
}

/// The W5 floor: a binary heap of deadlines and a zero-timeout poll per iteration.
fn raw_zero_timer() -> f64 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(8);
    let mut heap = BinaryHeap::new();
    let start = Instant::now();
    heap.push(Reverse(Instant::now()));
    let mut n = 0;
    while n < ZERO_TIMERS {
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(d)| *d <= now) {
            heap.pop();
            n += 1;
            heap.push(Reverse(Instant::now()));
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ZERO_TIMERS)
}

/// The idle check. First a loop with nothing to do for one second (a single-shot timer
/// ends it): its CPU use, which must be zero, as it sleeps in the poller. Then a loop woken
/// by a 10 ms interval timer 100 times: CPU time and allocations per wake (none).
pub(crate) fn idle() -> Vec<Figure> {
    let event_loop = EventLoop::new();
    // Warm up (a first short sleep in the poller) so first-touch costs are not counted.
    let l = event_loop.clone();
    Timer::single_shot(Duration::from_millis(50), move || l.quit());
    event_loop.exec();

    let l = event_loop.clone();
    Timer::single_shot(Duration::from_secs(1), move || l.quit());
    let cpu_before = cpu_time();
    let start = Instant::now();
    event_loop.exec();
    let quiet_cpu = (cpu_time() - cpu_before).as_secs_f64() / start.elapsed().as_secs_f64() * 100.0;

    let timer = Timer::new();
    timer.set_interval(Duration::from_millis(10));
    let wakes = Rc::new(Cell::new(0u64));
    let (w, l) = (wakes.clone(), event_loop.clone());
    timer.timeout().connect(move |_| {
        w.set(w.get() + 1);
        if w.get() == 100 {
            l.quit();
        }
    });
    timer.start();
    let cpu_before = cpu_time();
    let allocs_before = alloc_count();
    event_loop.exec();
    let allocs = alloc_count() - allocs_before;
    let cpu = cpu_time() - cpu_before;
    timer.stop();

    // A loop woken from another thread every 10 ms: after each message it polls its channel
    // for up to 50 µs before sleeping (see ARCHITECTURE.md, "Busy polling"); this is what
    // that costs a loop that gets only occasional cross-thread traffic.
    let handle = event_loop.handle();
    let stop = Arc::new(AtomicBool::new(false));
    let poster = {
        let (stop, handle) = (stop.clone(), handle.clone());
        std::thread::spawn(move || {
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(10));
                if stop.load(Ordering::SeqCst) || handle.post(|| {}).is_err() {
                    return;
                }
            }
            let _ = handle.quit();
        })
    };
    let cpu_before = cpu_time();
    event_loop.exec();
    stop.store(true, Ordering::SeqCst);
    let _ = poster.join();
    let xthread_cpu = cpu_time() - cpu_before;
    vec![
        Figure::new("idle", "cute", quiet_cpu, "cpu_percent"),
        Figure::new("idle_xthread", "cute", xthread_cpu.as_secs_f64() * 1e6 / 101.0, "us_cpu/wake"),
        Figure::new("idle", "cute", cpu.as_secs_f64() * 1e6 / wakes.get() as f64, "us_cpu/wake"),
        Figure::new("idle", "cute", allocs as f64 / wakes.get() as f64, "allocs/wake"),
    ]
}

/// CPU time of the calling thread in nanoseconds, from /proc/thread-self/schedstat (Linux;
/// the scheduler's own count, not the 10 ms ticks of /proc/self/stat).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_nanos(ns)
}
