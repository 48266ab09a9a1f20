//! Model-based property test of `Signal` emission on one thread.
//!
//! Random programs run against the real [`Signal`] and against a plain model of the
//! emission semantics documented on `Signal` and `ConnectionType`. A program is a list
//! of slot scripts (record, connect a new slot, disconnect a slot or itself, emit
//! recursively, disconnect everything, drop the signal's owner), the connections made at
//! start, and top-level steps (emit, `process_events` rounds, disconnect, drop or
//! recreate the owner). Connections are direct, `Auto`, queued, single-shot and queued
//! single-shot. The two call logs must be identical and nothing may panic. Once
//! everything is dropped, no slot closure may survive.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use cute_core::{Connection, ConnectionType, EventLoop, Signal};
use cute_testkit::Watchdog;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// At most this many connections per program; further `ConnectNew`s do nothing.
const MAX_SLOTS: usize = 24;
/// Recursive emissions nest at most this deep.
const MAX_DEPTH: u32 = 3;
/// At most this many recursive emissions per program.
const FUEL: u32 = 32;
/// At most this many slot scripts per program.
const MAX_SCRIPTS: usize = 5;

/// How a slot is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `connect`
    Direct,
    /// `connect_with(ConnectionType::Auto, ..)`
    Auto,
    /// `connect_with(ConnectionType::Queued, ..)`
    Queued,
    /// `connect_once`
    Once,
    /// `connect_once_with(ConnectionType::Queued, ..)`
    QueuedOnce,
}

/// What a slot does each time it is called, in script order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Log the call (slot id, emitted value, `receivers()` if the owner is reachable).
    Record,
    /// Connect a new slot running script `script % scripts.len()`.
    ConnectNew { script: usize, kind: Kind },
    /// Disconnect connection `j % connections made so far` and log the result.
    Disconnect(usize),
    /// Disconnect this slot's own connection and log the result.
    DisconnectSelf,
    /// Emit the signal again, one level deeper (bounded by depth and fuel).
    EmitRecursive,
    /// `disconnect_all()`.
    DisconnectAll,
    /// Drop the holder's `Rc` of the signal's owner.
    DropOwner,
}

/// A top-level step of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Emit with the step's index as the value.
    Emit,
    /// One `EventLoop::process_events(Duration::ZERO)` round.
    ProcessEvents,
    /// As [`Action::Disconnect`].
    Disconnect(usize),
    /// As [`Action::DropOwner`].
    DropOwner,
    /// Drop the owner (if any) and make a new one with the initial connections.
    Recreate,
}

#[derive(Debug, Clone)]
struct Program {
    scripts: Vec<Vec<Action>>,
    /// Connections made whenever an owner is created: (script, kind).
    initial: Vec<(usize, Kind)>,
    steps: Vec<Step>,
}

/// The emitted value: which top-level step emitted, and the recursion depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Val {
    seq: u32,
    depth: u32,
}

/// One observable event. The real run and the model must produce the same sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Call { slot: usize, seq: u32, depth: u32, receivers: Option<usize> },
    Disconnect { slot: usize, was_connected: bool },
    Round { dispatched: usize },
    End { connected: Vec<bool>, receivers: Option<usize> },
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Direct),
        Just(Kind::Auto),
        Just(Kind::Queued),
        Just(Kind::Once),
        Just(Kind::QueuedOnce),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    // Shrinks towards `Record`, the simplest action.
    prop_oneof![
        6 => Just(Action::Record),
        3 => (0..MAX_SCRIPTS, kind()).prop_map(|(script, kind)| Action::ConnectNew { script, kind }),
        2 => (0..MAX_SLOTS).prop_map(Action::Disconnect),
        1 => Just(Action::DisconnectSelf),
        3 => Just(Action::EmitRecursive),
        1 => Just(Action::DisconnectAll),
        1 => Just(Action::DropOwner),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => Just(Step::Emit),
        3 => Just(Step::ProcessEvents),
        1 => (0..MAX_SLOTS).prop_map(Step::Disconnect),
        1 => Just(Step::DropOwner),
        1 => Just(Step::Recreate),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (vec(vec(action(), 0..5), 1..=MAX_SCRIPTS), vec((0..MAX_SCRIPTS, kind()), 1..6), vec(step(), 1..12))
        .prop_map(|(scripts, initial, steps)| Program { scripts, initial, steps })
}

fn config() -> ProptestConfig {
    // No regression files: the interesting cases are pinned as plain tests below.
    let cases = std::env::var("CUTE_MODEL_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct MSlot {
    script: usize,
    kind: Kind,
    /// `Connection::is_connected()`
    active: bool,
    /// Its closure is running, so a recursive emission skips it.
    running: bool,
    /// A queued single-shot slot has been scheduled.
    fired: bool,
}

struct Model<'p> {
    program: &'p Program,
    /// Every slot ever connected, by id (connection order over the whole program).
    slots: Vec<MSlot>,
    /// The current signal's connection list.
    list: Vec<usize>,
    /// The current signal exists. At most one signal exists at a time: the old one is
    /// destroyed before `Recreate` makes a new one.
    alive: bool,
    /// The holder has the owner.
    holder: bool,
    /// Emissions in progress, each holding an `Rc` of the owner.
    frames: usize,
    /// Queued calls, in posting order.
    pending: VecDeque<(usize, Val)>,
    fuel: u32,
    log: Vec<Event>,
}

impl<'p> Model<'p> {
    fn run(program: &'p Program) -> Vec<Event> {
        let mut m = Model {
            program,
            slots: Vec::new(),
            list: Vec::new(),
            alive: false,
            holder: false,
            frames: 0,
            pending: VecDeque::new(),
            fuel: FUEL,
            log: Vec::new(),
        };
        m.recreate();
        for (seq, step) in program.steps.iter().enumerate() {
            match *step {
                Step::Emit => {
                    if m.holder {
                        m.emit(Val { seq: seq as u32, depth: 0 });
                    }
                }
                Step::ProcessEvents => {
                    m.round();
                }
                Step::Disconnect(j) => m.disconnect_logged(j),
                Step::DropOwner => m.drop_owner(),
                Step::Recreate => m.recreate(),
            }
        }
        m.finish();
        m.log
    }

    fn recreate(&mut self) {
        self.drop_owner();
        self.alive = true;
        self.holder = true;
        self.list.clear();
        for &(script, kind) in &self.program.initial {
            self.connect(script, kind);
        }
    }

    fn connect(&mut self, script: usize, kind: Kind) {
        if self.slots.len() >= MAX_SLOTS {
            return;
        }
        let script = script % self.program.scripts.len();
        self.list.push(self.slots.len());
        self.slots.push(MSlot { script, kind, active: true, running: false, fired: false });
    }

    fn receivers(&self) -> Option<usize> {
        self.holder.then_some(self.list.len())
    }

    fn emit(&mut self, value: Val) {
        self.frames += 1;
        // Slots connected during the emission are not part of it.
        let snapshot = self.list.clone();
        for id in snapshot {
            // Slots disconnected during the emission are not called after that point.
            if !self.slots[id].active {
                continue;
            }
            match self.slots[id].kind {
                Kind::Direct | Kind::Auto => self.invoke(id, value),
                Kind::Once => {
                    // Single shot: disconnected before it runs.
                    self.disconnect(id);
                    self.invoke(id, value);
                }
                Kind::Queued => self.pending.push_back((id, value)),
                Kind::QueuedOnce => {
                    if std::mem::replace(&mut self.slots[id].fired, true) {
                        continue;
                    }
                    // Leaves the list (`receivers()` drops) but stays connected until the
                    // call is delivered, so a disconnect before delivery cancels it.
                    self.list.retain(|&s| s != id);
                    self.pending.push_back((id, value));
                }
            }
        }
        self.frames -= 1;
        self.maybe_destroy();
    }

    /// Runs a slot's script unless the slot is already running (no re-entry).
    fn invoke(&mut self, id: usize, value: Val) {
        if self.slots[id].running {
            return;
        }
        self.slots[id].running = true;
        let program = self.program;
        for action in &program.scripts[self.slots[id].script] {
            match *action {
                Action::Record => self.log.push(Event::Call {
                    slot: id,
                    seq: value.seq,
                    depth: value.depth,
                    receivers: self.receivers(),
                }),
                Action::ConnectNew { script, kind } => {
                    if self.holder {
                        self.connect(script, kind);
                    }
                }
                Action::Disconnect(j) => self.disconnect_logged(j),
                Action::DisconnectSelf => {
                    let was_connected = self.disconnect(id);
                    self.log.push(Event::Disconnect { slot: id, was_connected });
                }
                Action::EmitRecursive => {
                    if value.depth < MAX_DEPTH && self.holder && self.fuel > 0 {
                        self.fuel -= 1;
                        self.emit(Val { seq: value.seq, depth: value.depth + 1 });
                    }
                }
                Action::DisconnectAll => {
                    if self.holder {
                        self.disconnect_all();
                    }
                }
                Action::DropOwner => self.drop_owner(),
            }
        }
        self.slots[id].running = false;
    }

    /// `Connection::disconnect`.
    fn disconnect(&mut self, id: usize) -> bool {
        let was_connected = std::mem::replace(&mut self.slots[id].active, false);
        if was_connected && self.alive {
            self.list.retain(|&s| s != id);
        }
        was_connected
    }

    fn disconnect_logged(&mut self, j: usize) {
        if self.slots.is_empty() {
            return;
        }
        let slot = j % self.slots.len();
        let was_connected = self.disconnect(slot);
        self.log.push(Event::Disconnect { slot, was_connected });
    }

    fn disconnect_all(&mut self) {
        for id in std::mem::take(&mut self.list) {
            self.slots[id].active = false;
        }
        // Scheduled queued single-shot slots are off the list but cancelled too.
        for slot in &mut self.slots {
            slot.active = false;
        }
    }

    fn drop_owner(&mut self) {
        self.holder = false;
        self.maybe_destroy();
    }

    /// The signal dies with the last `Rc` of its owner: the holder's, or an emission's.
    fn maybe_destroy(&mut self) {
        if self.alive && !self.holder && self.frames == 0 {
            self.alive = false;
            self.disconnect_all();
        }
    }

    /// One loop round: the queued calls posted before it, in order.
    fn round(&mut self) -> usize {
        let dispatched = self.pending.len();
        for _ in 0..dispatched {
            let (id, value) = self.pending.pop_front().expect("counted");
            let run = if self.slots[id].kind == Kind::QueuedOnce {
                std::mem::replace(&mut self.slots[id].active, false)
            } else {
                self.slots[id].active
            };
            if run {
                self.invoke(id, value);
            }
        }
        self.log.push(Event::Round { dispatched });
        dispatched
    }

    fn finish(&mut self) {
        for _ in 0..64 {
            if self.round() == 0 {
                break;
            }
        }
        let connected = self.slots.iter().map(|s| s.active).collect();
        self.log.push(Event::End { connected, receivers: self.receivers() });
    }
}

// ---------------------------------------------------------------------------------------
// The real thing
// ---------------------------------------------------------------------------------------

struct Owner {
    changed: Signal<Val>,
}

/// Shared by every slot closure (each captures an `Rc` of it, as Qt-style code does).
struct Real {
    program: Program,
    holder: RefCell<Option<Rc<Owner>>>,
    conns: RefCell<Vec<Connection>>,
    /// One per slot closure: the closure owns the `Rc`.
    tokens: RefCell<Vec<Weak<()>>>,
    owners: RefCell<Vec<Weak<Owner>>>,
    fuel: Cell<u32>,
    log: RefCell<Vec<Event>>,
}

impl Real {
    fn owner(&self) -> Option<Rc<Owner>> {
        self.holder.borrow().clone()
    }

    fn push(&self, event: Event) {
        self.log.borrow_mut().push(event);
    }

    fn drop_owner(&self) {
        let owner = self.holder.borrow_mut().take();
        drop(owner); // outside the borrow: this may drop the signal and its slots
    }

    fn recreate(self: &Rc<Self>) {
        self.drop_owner();
        let owner = Rc::new(Owner { changed: Signal::new() });
        self.owners.borrow_mut().push(Rc::downgrade(&owner));
        for &(script, kind) in &self.program.initial {
            self.connect(&owner, script, kind);
        }
        *self.holder.borrow_mut() = Some(owner);
    }

    fn connect(self: &Rc<Self>, owner: &Owner, script: usize, kind: Kind) {
        let id = self.conns.borrow().len();
        if id >= MAX_SLOTS {
            return;
        }
        let script = script % self.program.scripts.len();
        let token = Rc::new(());
        self.tokens.borrow_mut().push(Rc::downgrade(&token));
        let ctx = self.clone();
        let slot = move |value: &Val| {
            let _token = &token;
            ctx.run_script(id, script, *value);
        };
        let sig = &owner.changed;
        let conn = match kind {
            Kind::Direct => sig.connect(slot),
            Kind::Auto => sig.connect_with(ConnectionType::Auto, slot),
            Kind::Queued => sig.connect_with(ConnectionType::Queued, slot),
            Kind::Once => sig.connect_once(slot),
            Kind::QueuedOnce => sig.connect_once_with(ConnectionType::Queued, slot),
        };
        self.conns.borrow_mut().push(conn);
    }

    fn run_script(self: &Rc<Self>, id: usize, script: usize, value: Val) {
        for action in &self.program.scripts[script] {
            match *action {
                Action::Record => {
                    let receivers = self.owner().map(|o| o.changed.receivers());
                    self.push(Event::Call { slot: id, seq: value.seq, depth: value.depth, receivers });
                }
                Action::ConnectNew { script, kind } => {
                    if let Some(owner) = self.owner() {
                        self.connect(&owner, script, kind);
                    }
                }
                Action::Disconnect(j) => self.disconnect_logged(j),
                Action::DisconnectSelf => {
                    let conn = self.conns.borrow()[id].clone();
                    let was_connected = conn.disconnect();
                    self.push(Event::Disconnect { slot: id, was_connected });
                }
                Action::EmitRecursive => {
                    if value.depth < MAX_DEPTH
                        && let Some(owner) = self.owner()
                        && self.fuel.get() > 0
                    {
                        self.fuel.set(self.fuel.get() - 1);
                        owner.changed.emit(&Val { seq: value.seq, depth: value.depth + 1 });
                    }
                }
                Action::DisconnectAll => {
                    if let Some(owner) = self.owner() {
                        owner.changed.disconnect_all();
                    }
                }
                Action::DropOwner => self.drop_owner(),
            }
        }
    }

    fn disconnect_logged(&self, j: usize) {
        let conn = {
            let conns = self.conns.borrow();
            if conns.is_empty() {
                return;
            }
            let slot = j % conns.len();
            (slot, conns[slot].clone())
        };
        let was_connected = conn.1.disconnect();
        self.push(Event::Disconnect { slot: conn.0, was_connected });
    }

    fn round(&self) -> usize {
        let dispatched = EventLoop::process_events(Duration::ZERO);
        self.push(Event::Round { dispatched });
        dispatched
    }
}

/// What survived the end of a run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Leaks {
    slot_closures: usize,
    owners: usize,
    context: bool,
}

/// Runs anything a previous (failed, shrinking) case left queued on this thread's loop.
fn flush_loop() {
    for _ in 0..64 {
        if EventLoop::process_events(Duration::ZERO) == 0 {
            break;
        }
    }
}

fn run_real(program: &Program) -> (Vec<Event>, Leaks) {
    flush_loop();
    let ctx = Rc::new(Real {
        program: program.clone(),
        holder: RefCell::new(None),
        conns: RefCell::new(Vec::new()),
        tokens: RefCell::new(Vec::new()),
        owners: RefCell::new(Vec::new()),
        fuel: Cell::new(FUEL),
        log: RefCell::new(Vec::new()),
    });
    ctx.recreate();
    for (seq, step) in program.steps.iter().enumerate() {
        match *step {
            Step::Emit => {
                if let Some(owner) = ctx.owner() {
                    owner.changed.emit(&Val { seq: seq as u32, depth: 0 });
                }
            }
            Step::ProcessEvents => {
                ctx.round();
            }
            Step::Disconnect(j) => ctx.disconnect_logged(j),
            Step::DropOwner => ctx.drop_owner(),
            Step::Recreate => ctx.recreate(),
        }
    }
    for _ in 0..64 {
        if ctx.round() == 0 {
            break;
        }
    }
    let connected = ctx.conns.borrow().iter().map(Connection::is_connected).collect();
    let receivers = ctx.owner().map(|o| o.changed.receivers());
    ctx.push(Event::End { connected, receivers });
    let log = ctx.log.take();

    // Tear down: drop the owner (which breaks the slot -> context -> owner cycle), run
    // anything still queued, drop the connections and the context.
    let tokens = ctx.tokens.take();
    let owners = ctx.owners.take();
    let weak_ctx = Rc::downgrade(&ctx);
    ctx.drop_owner();
    flush_loop();
    ctx.conns.take();
    drop(ctx);
    let leaks = Leaks {
        slot_closures: tokens.iter().filter(|t| t.upgrade().is_some()).count(),
        owners: owners.iter().filter(|o| o.upgrade().is_some()).count(),
        context: weak_ctx.upgrade().is_some(),
    };
    (log, leaks)
}

/// The real signal behaves exactly as documented. Written out rather than with
/// `proptest!` so that one watchdog covers every case and the shrinking.
#[test]
fn emission_matches_the_documented_model() {
    let _dog = Watchdog::new(Duration::from_secs(300));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&program(), |program| {
        let (real, leaks) = run_real(&program);
        prop_assert_eq!(real, Model::run(&program));
        prop_assert_eq!(leaks, Leaks::default());
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
}

// ---------------------------------------------------------------------------------------
// Pinned cases
// ---------------------------------------------------------------------------------------

fn counting_queued_once(sig: &Signal<i32>) -> (Connection, Rc<Cell<u32>>) {
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let conn = sig.connect_once_with(ConnectionType::Queued, move |_: &i32| h.set(h.get() + 1));
    (conn, hits)
}

#[test]
fn disconnecting_a_scheduled_queued_single_shot_cancels_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let (conn, hits) = counting_queued_once(&sig);
    sig.emit(&1);
    assert_eq!(sig.receivers(), 0);
    assert!(conn.is_connected(), "scheduled, not yet delivered");
    assert!(conn.disconnect());
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(hits.get(), 0);
}

#[test]
fn disconnect_all_cancels_a_scheduled_queued_single_shot() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let (conn, hits) = counting_queued_once(&sig);
    sig.emit(&1);
    sig.disconnect_all();
    assert!(!conn.is_connected(), "disconnect_all disconnects every slot");
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(hits.get(), 0, "a call pending when the connection is cut is dropped");
}

#[test]
fn dropping_the_signal_cancels_a_scheduled_queued_single_shot() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let (conn, hits) = counting_queued_once(&sig);
    sig.emit(&1);
    drop(sig);
    assert!(!conn.is_connected(), "false once its signal is dropped");
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(hits.get(), 0, "a call pending when the signal dies is dropped");
}

#[test]
fn dropping_the_signal_cancels_a_pending_queued_call() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let conn = sig.connect_with(ConnectionType::Queued, move |_: &i32| h.set(h.get() + 1));
    sig.emit(&1);
    drop(sig);
    assert!(!conn.is_connected());
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(hits.get(), 0);
}

/// A hand-written program exercising most of the model at once, compared like the
/// property test (useful when changing the model).
#[test]
fn a_hand_written_program_matches_the_model() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    use Action::*;
    let program = Program {
        scripts: vec![
            vec![Record, EmitRecursive, Record],
            vec![Record, ConnectNew { script: 0, kind: Kind::Queued }, Disconnect(0)],
            vec![Record, DisconnectSelf, EmitRecursive],
            vec![Record, DropOwner, EmitRecursive, Record],
        ],
        initial: vec![
            (0, Kind::Direct),
            (1, Kind::Once),
            (2, Kind::Auto),
            (0, Kind::QueuedOnce),
            (1, Kind::Queued),
        ],
        steps: vec![
            Step::Emit,
            Step::ProcessEvents,
            Step::Emit,
            Step::Recreate,
            Step::Emit,
            Step::Disconnect(3),
            Step::Emit,
            Step::ProcessEvents,
            Step::DropOwner,
            Step::Emit,
        ],
    };
    let (real, leaks) = run_real(&program);
    assert_eq!(real, Model::run(&program));
    assert_eq!(leaks, Leaks::default());
    assert!(real.len() > 20, "the program does something: {real:#?}");
}
