//! The core under load. Eight threads emit to signals owned by this thread's loop while
//! slots on the loop connect and disconnect slots and drop and recreate the objects that
//! own the signals. Eight threads also post closures to a loop running nested
//! `EventLoop::exec`s. Every value and every closure is accounted for exactly once.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::run_until;
use cute_core::{Connection, ConnectionType, Emitter, EventLoop, LoopHandle, Signal};
use cute_testkit::Watchdog;

const SENDERS: usize = 8;

/// (sender, sequence number)
type Msg = (usize, u64);

/// Runs what is already queued on this thread's loop (bounded).
fn flush_loop() {
    for _ in 0..100 {
        if EventLoop::process_events(Duration::ZERO) == 0 {
            break;
        }
    }
}

/// Flow control for a sender: posts a closure to the loop and waits until it has run, so
/// the sender stays at most one batch ahead of the loop. Bounded: a stuck loop fails the
/// test instead of hanging it.
fn round_trip(handle: &LoopHandle) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    handle
        .post(move || {
            let _ = tx.send(());
        })
        .expect("the loop is alive");
    rx.recv_timeout(Duration::from_secs(60)).expect("the loop answered within 60 s");
}

/// A small deterministic generator (xorshift64*), so a failing run can be replayed.
struct Rng(Cell<u64>);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(Cell::new(seed | 1))
    }

    fn below(&self, n: usize) -> usize {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Slots that come and go beside the counting slot: they count calls and own a token, so a
/// leaked closure shows up.
#[derive(Default)]
struct Extras {
    connections: RefCell<Vec<Connection>>,
    tokens: RefCell<Vec<Weak<()>>>,
    calls: Cell<u64>,
    connected: Cell<u64>,
    disconnected: Cell<u64>,
}

impl Extras {
    /// Connects an extra slot of a random kind to `signal`, unless 32 are connected.
    fn connect(self: &Rc<Self>, signal: &Signal<Msg>, rng: &Rng) {
        {
            let mut connections = self.connections.borrow_mut();
            connections.retain(Connection::is_connected);
            if connections.len() >= 32 {
                return;
            }
        }
        let token = Rc::new(());
        self.tokens.borrow_mut().push(Rc::downgrade(&token));
        let me = Rc::downgrade(self);
        let slot = move |_: &Msg| {
            let _token = &token;
            if let Some(me) = me.upgrade() {
                me.calls.set(me.calls.get() + 1);
            }
        };
        let connection = match rng.below(4) {
            0 => signal.connect(slot),
            1 => signal.connect_with(ConnectionType::Queued, slot),
            2 => signal.connect_once(slot),
            _ => signal.connect_once_with(ConnectionType::Queued, slot),
        };
        self.connections.borrow_mut().push(connection);
        self.connected.set(self.connected.get() + 1);
    }

    /// Disconnects a random extra slot (connected or not).
    fn disconnect_one(&self, rng: &Rng) {
        let victim = {
            let mut connections = self.connections.borrow_mut();
            if connections.is_empty() {
                return;
            }
            let i = rng.below(connections.len());
            connections.swap_remove(i)
        };
        if victim.disconnect() {
            self.disconnected.set(self.disconnected.get() + 1);
        }
    }

    fn live_tokens(&self) -> usize {
        self.tokens.borrow().iter().filter(|t| t.upgrade().is_some()).count()
    }
}

// ---------------------------------------------------------------------------------------
// Objects dropped and recreated under load
// ---------------------------------------------------------------------------------------

/// An object owning a signal; other threads hold its emitter.
struct Obj {
    generation: u64,
    value_changed: Signal<Msg>,
}

/// The current emitter of each object slot, with its object's generation.
type Registry = Arc<Mutex<Vec<(u64, Emitter<Msg>)>>>;

/// What a sender did with one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// `emit` accepted it, through the emitter of this generation.
    Accepted(u64),
    /// `emit` failed and handed the value back.
    Returned(u64),
}

/// The loop side of the churn test.
struct World {
    objects: RefCell<Vec<Rc<Obj>>>,
    /// The current emitter of each object slot, with its generation, for the senders.
    registry: Registry,
    next_generation: Cell<u64>,
    /// Generations whose object was dropped.
    dropped: RefCell<HashSet<u64>>,
    /// Per sender, per sequence number: (times delivered, generation delivered through).
    delivered: RefCell<Vec<Vec<(u8, u64)>>>,
    delivered_per_generation: RefCell<HashMap<u64, u64>>,
    /// (sender, generation) -> last sequence number delivered.
    last: RefCell<HashMap<(usize, u64), u64>>,
    duplicates: Cell<u64>,
    disorder: Cell<u64>,
    deliveries: Cell<u64>,
    churning: Cell<bool>,
    recreated: Cell<u64>,
    rng: Rng,
    extras: Rc<Extras>,
}

const OBJECTS: usize = 4;
/// The churn slot acts on every this many deliveries.
const CHURN_EVERY: u64 = 16;

impl World {
    fn new(per_sender: u64) -> Rc<World> {
        let world = Rc::new(World {
            objects: RefCell::new(Vec::new()),
            registry: Arc::new(Mutex::new(Vec::new())),
            next_generation: Cell::new(0),
            dropped: RefCell::new(HashSet::new()),
            delivered: RefCell::new(vec![vec![(0, 0); per_sender as usize]; SENDERS]),
            delivered_per_generation: RefCell::new(HashMap::new()),
            last: RefCell::new(HashMap::new()),
            duplicates: Cell::new(0),
            disorder: Cell::new(0),
            deliveries: Cell::new(0),
            churning: Cell::new(true),
            recreated: Cell::new(0),
            rng: Rng::new(0x5eed_c0de),
            extras: Rc::default(),
        });
        for _ in 0..OBJECTS {
            let (obj, emitter) = world.make_object();
            world.objects.borrow_mut().push(obj);
            world.registry.lock().unwrap().push(emitter);
        }
        world
    }

    /// A new object with the counting slot and the churn slot connected.
    fn make_object(self: &Rc<Self>) -> (Rc<Obj>, (u64, Emitter<Msg>)) {
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let obj = Rc::new(Obj { generation, value_changed: Signal::new() });
        let world = Rc::downgrade(self);
        obj.value_changed.connect(move |&(sender, seq): &Msg| {
            if let Some(world) = world.upgrade() {
                world.count(generation, sender, seq);
            }
        });
        let world = Rc::downgrade(self);
        obj.value_changed.connect(move |_: &Msg| {
            if let Some(world) = world.upgrade() {
                world.churn();
            }
        });
        let emitter = obj.value_changed.emitter();
        (obj, (generation, emitter))
    }

    fn count(&self, generation: u64, sender: usize, seq: u64) {
        self.deliveries.set(self.deliveries.get() + 1);
        *self.delivered_per_generation.borrow_mut().entry(generation).or_default() += 1;
        let mut delivered = self.delivered.borrow_mut();
        let entry = &mut delivered[sender][seq as usize];
        entry.0 = entry.0.saturating_add(1);
        entry.1 = generation;
        if entry.0 > 1 {
            self.duplicates.set(self.duplicates.get() + 1);
        }
        if let Some(prev) = self.last.borrow_mut().insert((sender, generation), seq)
            && prev >= seq
        {
            self.disorder.set(self.disorder.get() + 1);
        }
    }

    /// From a slot: connect or disconnect extra slots, or drop and recreate an object
    /// (possibly the one whose signal is being emitted).
    fn churn(self: &Rc<Self>) {
        if !self.churning.get() || !self.deliveries.get().is_multiple_of(CHURN_EVERY) {
            return;
        }
        match self.rng.below(8) {
            0..=2 => {
                let target = self.objects.borrow()[self.rng.below(OBJECTS)].clone();
                self.extras.connect(&target.value_changed, &self.rng);
            }
            3..=4 => self.extras.disconnect_one(&self.rng),
            _ => self.recreate(self.rng.below(OBJECTS)),
        }
    }

    fn recreate(self: &Rc<Self>, index: usize) {
        let (obj, emitter) = self.make_object();
        self.registry.lock().unwrap()[index] = emitter;
        let old = std::mem::replace(&mut self.objects.borrow_mut()[index], obj);
        self.dropped.borrow_mut().insert(old.generation);
        self.recreated.set(self.recreated.get() + 1);
        drop(old); // outside every borrow: this may drop the signal and its slots
    }

    fn live_generations(&self) -> Vec<u64> {
        self.objects.borrow().iter().map(|o| o.generation).collect()
    }
}

#[test]
fn objects_dropped_and_recreated_under_load_account_for_every_value() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    let per_sender: u64 = if cfg!(debug_assertions) { 20_000 } else { 100_000 };
    let world = World::new(per_sender);
    let finished = AtomicUsize::new(0);

    let sent: Vec<Vec<Sent>> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let registry = world.registry.clone();
                let handle = LoopHandle::current();
                let finished = &finished;
                scope.spawn(move || {
                    let mut outcome = Vec::with_capacity(per_sender as usize);
                    let mut emitters = registry.lock().unwrap().clone();
                    for seq in 0..per_sender {
                        if seq % 64 == 63 {
                            round_trip(&handle);
                        }
                        // Refresh now and then: in between, a dropped object's emitter fails.
                        if seq % 16 == 0 {
                            emitters.clone_from(&registry.lock().unwrap());
                        }
                        let (generation, emitter) = &emitters[(seq as usize + sender) % OBJECTS];
                        match emitter.emit((sender, seq)) {
                            Ok(()) => outcome.push(Sent::Accepted(*generation)),
                            Err(e) => {
                                assert_eq!(e.into_inner(), (sender, seq), "the very value is handed back");
                                outcome.push(Sent::Returned(*generation));
                            }
                        }
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                    outcome
                })
            })
            .collect();
        assert!(
            run_until(Duration::from_secs(100), || finished.load(Ordering::SeqCst) == SENDERS),
            "the senders did not finish"
        );
        senders.into_iter().map(|s| s.join().unwrap()).collect()
    });

    // Stop churning, then wait for everything accepted by a live object to arrive.
    world.churning.set(false);
    let live = world.live_generations();
    let expected_live =
        sent.iter().flatten().filter(|s| matches!(s, Sent::Accepted(g) if live.contains(g))).count();
    let delivered_live = || {
        let per_generation = world.delivered_per_generation.borrow();
        live.iter().map(|g| per_generation.get(g).copied().unwrap_or(0)).sum::<u64>() as usize
    };
    assert!(
        run_until(Duration::from_secs(10), || delivered_live() >= expected_live),
        "lost values sent to live objects: {} of {expected_live} arrived",
        delivered_live()
    );
    EventLoop::process_events(Duration::from_millis(10));

    // Every value: delivered exactly once through the generation it was sent to, or handed
    // back by a failed emit of a dropped object, or accepted by an object dropped before
    // delivering it (the documented race with the end of a signal).
    let dropped_generations = world.dropped.borrow().clone();
    let delivered = world.delivered.borrow();
    let (mut arrived, mut returned, mut lost_with_signal) = (0u64, 0u64, 0u64);
    for (sender, outcomes) in sent.iter().enumerate() {
        assert_eq!(outcomes.len() as u64, per_sender);
        for (seq, outcome) in outcomes.iter().enumerate() {
            let (times, through) = delivered[sender][seq];
            match *outcome {
                Sent::Returned(generation) => {
                    assert_eq!(times, 0, "value {sender}/{seq} was handed back and also delivered");
                    assert!(
                        dropped_generations.contains(&generation),
                        "emit failed for {sender}/{seq} although object generation {generation} is alive"
                    );
                    returned += 1;
                }
                Sent::Accepted(generation) => match times {
                    0 => {
                        assert!(
                            dropped_generations.contains(&generation),
                            "value {sender}/{seq} accepted by live generation {generation} never arrived"
                        );
                        lost_with_signal += 1;
                    }
                    1 => {
                        assert_eq!(
                            through, generation,
                            "value {sender}/{seq} arrived through another object"
                        );
                        arrived += 1;
                    }
                    n => panic!("value {sender}/{seq} delivered {n} times"),
                },
            }
        }
    }
    drop(delivered);
    assert_eq!(world.duplicates.get(), 0);
    assert_eq!(world.disorder.get(), 0, "per-sender order broken within one object");
    assert_eq!(arrived + returned + lost_with_signal, SENDERS as u64 * per_sender);
    assert_eq!(world.deliveries.get(), arrived);
    assert!(world.recreated.get() > 0 && returned > 0, "the churn did not happen");
    eprintln!(
        "churn: {arrived} delivered, {returned} handed back, {lost_with_signal} dropped with their signal; \
         {} objects recreated, {} extra slots connected, {} disconnected, {} extra calls",
        world.recreated.get(),
        world.extras.connected.get(),
        world.extras.disconnected.get(),
        world.extras.calls.get()
    );

    // Teardown: dropping every object makes every emitter fail and frees every slot.
    let registry = world.registry.clone();
    let extras = world.extras.clone();
    let weak_world = Rc::downgrade(&world);
    let objects = std::mem::take(&mut *world.objects.borrow_mut());
    drop(objects);
    drop(world);
    flush_loop();
    assert!(weak_world.upgrade().is_none(), "the world leaked");
    extras.connections.borrow_mut().clear();
    assert_eq!(extras.live_tokens(), 0, "extra slot closures leaked");
    for (generation, emitter) in registry.lock().unwrap().iter() {
        let value = (usize::MAX, *generation);
        assert_eq!(emitter.emit(value).unwrap_err().into_inner(), value);
    }
}

// ---------------------------------------------------------------------------------------
// One long-lived signal: nothing may be lost
// ---------------------------------------------------------------------------------------

/// A value emitted from a slot on the loop thread, not by a sender.
const LOCAL: usize = usize::MAX;

#[test]
fn long_lived_signal_delivers_everything_exactly_once_while_slots_churn() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    const PER_SENDER: u64 = 50_000;
    let sig = Rc::new(Signal::<Msg>::new());

    // The counting slot, connected first: strictly the next value of each sender.
    let next = Rc::new(RefCell::new(vec![0u64; SENDERS]));
    let received = Rc::new(Cell::new(0u64));
    let local_received = Rc::new(Cell::new(0u64));
    let mismatches = Rc::new(RefCell::new(Vec::new()));
    let (n, r, lr, m) = (next.clone(), received.clone(), local_received.clone(), mismatches.clone());
    let counter = sig.connect(move |&(sender, seq): &Msg| {
        if sender == LOCAL {
            lr.set(lr.get() + 1);
            return;
        }
        let mut next = n.borrow_mut();
        if seq != next[sender] {
            m.borrow_mut().push((sender, seq, next[sender]));
        }
        next[sender] = seq + 1;
        r.set(r.get() + 1);
    });

    // The churn slot: connects and disconnects extra slots, and now and then emits the
    // signal recursively with a local value.
    let extras: Rc<Extras> = Rc::default();
    let local_emitted = Rc::new(Cell::new(0u64));
    let (weak_sig, x, le) = (Rc::downgrade(&sig), extras.clone(), local_emitted.clone());
    let (rng, ticks) = (Rng::new(0x00de_c0de), Cell::new(0u64));
    sig.connect(move |&(sender, _): &Msg| {
        if sender == LOCAL {
            return;
        }
        ticks.set(ticks.get() + 1);
        if !ticks.get().is_multiple_of(CHURN_EVERY) {
            return;
        }
        let Some(sig) = weak_sig.upgrade() else { return };
        match rng.below(8) {
            0..=3 => x.connect(&sig, &rng),
            4..=6 => x.disconnect_one(&rng),
            _ => {
                le.set(le.get() + 1);
                sig.emit(&(LOCAL, le.get()));
            }
        }
    });

    let emitter = sig.emitter();
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let emitter = emitter.clone();
            scope.spawn(move || {
                for seq in 0..PER_SENDER {
                    emitter.emit((sender, seq)).expect("the signal is alive");
                }
            });
        }
        let total = SENDERS as u64 * PER_SENDER;
        assert!(
            run_until(Duration::from_secs(100), || received.get() >= total),
            "lost deliveries: {} of {total}",
            received.get()
        );
    });
    // Nothing extra arrives afterwards.
    EventLoop::process_events(Duration::from_millis(10));
    flush_loop();
    let mismatches = mismatches.borrow();
    assert!(
        mismatches.is_empty(),
        "out of order, lost or duplicated (sender, got, expected): {mismatches:?}"
    );
    assert_eq!(received.get(), SENDERS as u64 * PER_SENDER);
    assert!(next.borrow().iter().all(|&n| n == PER_SENDER));
    assert_eq!(local_received.get(), local_emitted.get());
    assert!(counter.is_connected());
    assert!(extras.connected.get() > 100 && extras.disconnected.get() > 0, "the churn did not happen");
    eprintln!(
        "long-lived: {} delivered; {} extra slots connected, {} disconnected, {} extra calls, {} local emits",
        received.get(),
        extras.connected.get(),
        extras.disconnected.get(),
        extras.calls.get(),
        local_emitted.get()
    );

    drop(sig);
    flush_loop();
    extras.connections.borrow_mut().clear();
    assert_eq!(extras.live_tokens(), 0, "extra slot closures leaked");
    assert_eq!(emitter.emit((0, 0)).unwrap_err().into_inner(), (0, 0));
}

// ---------------------------------------------------------------------------------------
// Posted closures and nested loops
// ---------------------------------------------------------------------------------------

/// Nested loops at most this deep.
const MAX_NESTING: usize = 12;
/// The exit code of every nested loop.
const NESTED_CODE: i32 = 7;

/// A running nested loop.
struct Nested {
    id: u64,
    event_loop: EventLoop,
    /// `Posted::done` when it was first asked to quit while it was the innermost loop.
    quit_at: Option<usize>,
}

#[derive(Default)]
struct Nesting {
    /// The running nested loops, innermost last.
    stack: Vec<Nested>,
    next_id: u64,
    started: u64,
    deepest: usize,
    quits: u64,
    /// The most closures run between quitting the innermost loop and its return (the rest
    /// of its round, and any loops nested meanwhile).
    most_run_after_quit: usize,
    bad_codes: u64,
    bad_unwinds: u64,
}

thread_local! {
    static NESTING: RefCell<Nesting> = RefCell::default();
}

/// Shared by the senders' closures (which are `Send`, so no `Rc` here).
struct Posted {
    ran: Vec<AtomicU8>,
    done: AtomicUsize,
    /// Per sender, the next index expected to start (closures from one thread run in
    /// posting order, even across nested loops).
    next: Vec<AtomicUsize>,
    disorder: AtomicUsize,
    total: usize,
}

impl Posted {
    /// Bookkeeping for closure `index` of `sender`; the last closure to run quits every
    /// nested loop so they all unwind.
    fn mark(&self, sender: usize, index: usize, per_sender: usize) {
        let key = sender * per_sender + index;
        self.ran[key].fetch_add(1, Ordering::SeqCst);
        if self.next[sender].swap(index + 1, Ordering::SeqCst) != index {
            self.disorder.fetch_add(1, Ordering::SeqCst);
        }
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
            NESTING.with(|n| {
                for nested in &n.borrow().stack {
                    nested.event_loop.exit(NESTED_CODE);
                }
            });
        }
    }

    fn all_done(&self) -> bool {
        self.done.load(Ordering::SeqCst) == self.total
    }
}

/// Runs a nested loop until a posted closure quits it.
fn nest(posted: &Posted) {
    if posted.all_done() {
        return; // nobody is left to quit it
    }
    let nested = NESTING.with(|n| {
        let mut n = n.borrow_mut();
        if n.stack.len() >= MAX_NESTING {
            return None;
        }
        let id = n.next_id;
        n.next_id += 1;
        n.started += 1;
        let event_loop = EventLoop::new();
        n.stack.push(Nested { id, event_loop: event_loop.clone(), quit_at: None });
        n.deepest = n.deepest.max(n.stack.len());
        Some((id, event_loop))
    });
    let Some((id, event_loop)) = nested else { return };
    let code = event_loop.exec();
    let done = posted.done.load(Ordering::SeqCst);
    NESTING.with(|n| {
        let mut n = n.borrow_mut();
        if code != NESTED_CODE {
            n.bad_codes += 1;
        }
        // Loops unwind innermost first, so ours is on top.
        match n.stack.pop() {
            Some(top) if top.id == id => {
                let after = top.quit_at.map_or(0, |at| done - at);
                n.most_run_after_quit = n.most_run_after_quit.max(after);
            }
            _ => n.bad_unwinds += 1,
        }
    });
}

/// Quits a running nested loop: usually the innermost, sometimes an outer one (which
/// returns once the loops inside it have).
fn quit_one(posted: &Posted, pick: usize) {
    let done = posted.done.load(Ordering::SeqCst);
    NESTING.with(|n| {
        let mut n = n.borrow_mut();
        let depth = n.stack.len();
        if depth == 0 {
            return;
        }
        let i = if pick.is_multiple_of(4) { pick / 4 % depth } else { depth - 1 };
        let nested = &mut n.stack[i];
        nested.event_loop.exit(NESTED_CODE);
        if i == depth - 1 {
            nested.quit_at.get_or_insert(done);
        }
        n.quits += 1;
    });
}

#[test]
fn closures_posted_from_eight_threads_run_exactly_once_across_nested_loops() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    const PER_SENDER: usize = 10_000;
    /// Each sender waits for the loop after this many posts, so rounds stay short and
    /// nested loops come and go while the senders run.
    const BURST: usize = 250;
    let total = SENDERS * PER_SENDER;
    let posted = Arc::new(Posted {
        ran: (0..total).map(|_| AtomicU8::new(0)).collect(),
        done: AtomicUsize::new(0),
        next: (0..SENDERS).map(|_| AtomicUsize::new(0)).collect(),
        disorder: AtomicUsize::new(0),
        total,
    });
    let handle = LoopHandle::current();
    let loop_thread = std::thread::current().id();
    let senders_done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let (handle, posted, senders_done) = (handle.clone(), posted.clone(), &senders_done);
            scope.spawn(move || {
                for index in 0..PER_SENDER {
                    let posted = posted.clone();
                    handle
                        .post(move || {
                            assert_eq!(std::thread::current().id(), loop_thread);
                            posted.mark(sender, index, PER_SENDER);
                            // About 1 in 50 closures nests a loop, 1 in 50 quits one.
                            match (index * 7 + sender * 13) % 100 {
                                0 | 50 => nest(&posted),
                                25 | 75 => quit_one(&posted, index / 100 + sender),
                                _ => {}
                            }
                        })
                        .expect("the loop is alive");
                    if index % BURST == BURST - 1 {
                        round_trip(&handle);
                    }
                }
                senders_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Keep the loop running until every sender is through its last `round_trip` too.
        assert!(
            run_until(Duration::from_secs(100), || posted.all_done()
                && senders_done.load(Ordering::SeqCst) == SENDERS),
            "closures lost: {} of {total} ran",
            posted.done.load(Ordering::SeqCst)
        );
    });
    flush_loop();
    let not_once: Vec<usize> =
        (0..total).filter(|&k| posted.ran[k].load(Ordering::SeqCst) != 1).take(10).collect();
    assert!(not_once.is_empty(), "closures that did not run exactly once: {not_once:?}");
    assert_eq!(posted.done.load(Ordering::SeqCst), total);
    assert_eq!(posted.disorder.load(Ordering::SeqCst), 0, "closures from one thread ran out of order");
    NESTING.with(|n| {
        let n = n.borrow();
        assert!(n.stack.is_empty(), "nested loops still running");
        assert_eq!((n.bad_codes, n.bad_unwinds), (0, 0));
        assert!(n.started > 100 && n.deepest > 1 && n.quits > 100, "little nesting happened");
        eprintln!(
            "nested: {total} closures; {} nested loops started, {} deep at most, {} quit requests, \
             up to {} closures run between quitting the innermost loop and its return",
            n.started, n.deepest, n.quits, n.most_run_after_quit
        );
    });
}

// ---------------------------------------------------------------------------------------
// Values and closures posted after them
// ---------------------------------------------------------------------------------------

/// `Signal::emitter`: values of one signal never arrive later than closures posted from
/// the same thread after them. (The window where a sender found the drain flag set by
/// another sender that had not yet sent its `Drain` is closed by `DrainState`'s
/// `SENDING` state.)
#[test]
fn emitted_values_arrive_before_closures_posted_after_them() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    const PER_SENDER: u64 = 50_000;
    const CHECK_EVERY: u64 = 4;
    let sig = Signal::<Msg>::new();
    // Per sender, how many values have arrived (they arrive in order).
    let arrived: Arc<Vec<AtomicU64>> = Arc::new((0..SENDERS).map(|_| AtomicU64::new(0)).collect());
    let a = arrived.clone();
    sig.connect(move |&(sender, _): &Msg| {
        a[sender].fetch_add(1, Ordering::SeqCst);
    });
    let late = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new(AtomicUsize::new(0));
    let emitter = sig.emitter();
    let handle = LoopHandle::current();
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let (emitter, handle, arrived, late, checks) =
                (emitter.clone(), handle.clone(), arrived.clone(), late.clone(), checks.clone());
            scope.spawn(move || {
                for seq in 0..PER_SENDER {
                    emitter.emit((sender, seq)).expect("the signal is alive");
                    if seq % CHECK_EVERY == 0 {
                        let (arrived, late, checks) = (arrived.clone(), late.clone(), checks.clone());
                        handle
                            .post(move || {
                                if arrived[sender].load(Ordering::SeqCst) <= seq {
                                    late.fetch_add(1, Ordering::SeqCst);
                                }
                                checks.fetch_add(1, Ordering::SeqCst);
                            })
                            .expect("the loop is alive");
                    }
                }
            });
        }
        let expected = SENDERS * (PER_SENDER / CHECK_EVERY) as usize;
        assert!(run_until(Duration::from_secs(100), || checks.load(Ordering::SeqCst) == expected));
    });
    eprintln!("late: {} of {} checks", late.load(Ordering::SeqCst), checks.load(Ordering::SeqCst));
    assert_eq!(late.load(Ordering::SeqCst), 0, "a value arrived after a closure posted after it");
}

// ---------------------------------------------------------------------------------------
// When a quit takes effect
// ---------------------------------------------------------------------------------------

/// `EventLoop::exit`: "Makes `exec` return `code` once the current event returns": the
/// round ends after the event that asked, and the next queued event waits for the outer
/// loop, so a quit takes effect at once even under load.
#[test]
fn a_loop_quit_from_an_event_returns_before_the_next_event() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    flush_loop();
    let sig = Signal::<()>::new();
    let nested = EventLoop::new();
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let (n, l) = (nested.clone(), log.clone());
    sig.connect_with(ConnectionType::Queued, move |_| {
        l.borrow_mut().push("quit");
        n.quit();
    });
    let l = log.clone();
    sig.connect_with(ConnectionType::Queued, move |_| l.borrow_mut().push("next event"));
    sig.emit(&()); // two events, queued for the next round
    assert_eq!(nested.exec(), 0);
    log.borrow_mut().push("exec returned");
    flush_loop();
    assert_eq!(*log.borrow(), ["quit", "exec returned", "next event"]);
}
