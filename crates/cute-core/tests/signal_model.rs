//! Model-based property test of `Signal` emission on one thread.
//!
//! Random programs run against the real [`Signal`] and against a plain model of the
//! emission semantics documented on `Signal` and `ConnectionType`. A program is a list
//! of slot scripts (record, connect a new slot, disconnect a slot or itself, emit
//! recursively, disconnect everything, drop the signal's owner, drop or replace a
//! receiver, check a connection), the connections made at start, and top-level steps
//! (emit, `process_events` rounds, disconnect, drop or recreate the owner, drop or replace
//! a receiver). Connections are direct, `Auto`, queued, single-shot, queued single-shot,
//! and bound to one of a few receivers (`connect_to`, direct or queued). The two call logs
//! must be identical and nothing may panic. After every step, no closure of a slot whose
//! receiver is gone may survive longer than documented; once everything is dropped, no
//! slot closure and no receiver may survive.

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
/// The program holds this many receivers (`Rc`s) for receiver-bound slots.
const RECEIVERS: usize = 3;
/// The list length at which a receiver-bound connect made outside an emission first drops
/// the slots whose receiver is gone (`SWEEP_MIN` in `signal.rs`; doubled after a sweep).
/// Observable here because a queued bound slot still listed is posted by an emission
/// even though its receiver is gone (and then not called): `Round::dispatched` counts it.
const SWEEP_MIN: usize = 16;

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
    /// `connect_to(&receiver, ..)`, to the program's receiver `k` (nothing if it has none).
    Bound(usize),
    /// `connect_to_with(ConnectionType::Queued, &receiver, ..)`, likewise.
    BoundQueued(usize),
}

impl Kind {
    /// The program's receiver a connection of this kind binds to.
    fn receiver(self) -> Option<usize> {
        match self {
            Kind::Bound(k) | Kind::BoundQueued(k) => Some(k % RECEIVERS),
            _ => None,
        }
    }
}

/// What a slot does each time it is called, in script order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Log the call (slot id, emitted value, `receivers()` if the owner is reachable, the
    /// receiver a bound slot was called with).
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
    /// Drop the program's `Rc` of receiver `k` (a bound slot of it that is running keeps
    /// it alive until it returns).
    DropReceiver(usize),
    /// Replace receiver `k` by a new one (the old one's connections stay with the old one).
    RecreateReceiver(usize),
    /// Log `Connection::is_connected()` of connection `j % connections made so far`.
    IsConnected(usize),
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
    /// As [`Action::DropReceiver`].
    DropReceiver(usize),
    /// As [`Action::RecreateReceiver`].
    RecreateReceiver(usize),
    /// As [`Action::IsConnected`].
    IsConnected(usize),
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
    /// `receiver`: the id (creation order) of the receiver a bound slot was called with.
    Call {
        slot: usize,
        seq: u32,
        depth: u32,
        receivers: Option<usize>,
        receiver: Option<usize>,
    },
    Disconnect {
        slot: usize,
        was_connected: bool,
    },
    Connected {
        slot: usize,
        connected: bool,
    },
    Round {
        dispatched: usize,
    },
    End {
        connected: Vec<bool>,
        receivers: Option<usize>,
    },
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        2 => Just(Kind::Direct),
        2 => Just(Kind::Auto),
        2 => Just(Kind::Queued),
        2 => Just(Kind::Once),
        2 => Just(Kind::QueuedOnce),
        3 => (0..RECEIVERS).prop_map(Kind::Bound),
        2 => (0..RECEIVERS).prop_map(Kind::BoundQueued),
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
        2 => (0..RECEIVERS).prop_map(Action::DropReceiver),
        1 => (0..RECEIVERS).prop_map(Action::RecreateReceiver),
        1 => (0..MAX_SLOTS).prop_map(Action::IsConnected),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => Just(Step::Emit),
        3 => Just(Step::ProcessEvents),
        1 => (0..MAX_SLOTS).prop_map(Step::Disconnect),
        1 => Just(Step::DropOwner),
        1 => Just(Step::Recreate),
        2 => (0..RECEIVERS).prop_map(Step::DropReceiver),
        1 => (0..RECEIVERS).prop_map(Step::RecreateReceiver),
        1 => (0..MAX_SLOTS).prop_map(Step::IsConnected),
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
    /// The receiver object (by id) of a bound slot.
    receiver: Option<usize>,
    /// Connected as far as the signal knows (its `ACTIVE` bit): a bound slot whose
    /// receiver is gone stays active until something takes it out, but counts as
    /// disconnected everywhere it can be observed (see [`Model::connected`]).
    active: bool,
    /// Its closure is running, so a recursive emission skips it.
    running: bool,
    /// A queued single-shot slot has been scheduled.
    fired: bool,
}

/// A receiver object. It lives while the program holds it or one of its bound slots is
/// running (the slot holds a strong reference while it runs).
#[derive(Debug)]
struct MReceiver {
    held: bool,
    running: usize,
}

struct Model<'p> {
    program: &'p Program,
    /// Every slot ever connected, by id (connection order over the whole program).
    slots: Vec<MSlot>,
    /// The current signal's connection list: the slots it would call, in order (a bound
    /// slot whose receiver is gone stays on it until an emission or a sweep finds it).
    list: Vec<usize>,
    /// The current signal exists. At most one signal exists at a time: the old one is
    /// destroyed before `Recreate` makes a new one.
    alive: bool,
    /// The holder has the owner.
    holder: bool,
    /// Emissions in progress, each holding an `Rc` of the owner (and borrowing its list).
    frames: usize,
    /// Every receiver object ever made, by id (creation order).
    receivers: Vec<MReceiver>,
    /// The receiver the program holds in each of its places.
    held: [Option<usize>; RECEIVERS],
    /// The current signal's list length that makes a bound connect sweep.
    sweep_at: usize,
    /// Queued calls, in posting order.
    pending: VecDeque<(usize, Val)>,
    fuel: u32,
    log: Vec<Event>,
    /// After each top-level step: the slots whose receiver is gone that may still have
    /// their closure (the real run's must be among them).
    may_live: Vec<Vec<usize>>,
}

impl<'p> Model<'p> {
    fn run(program: &'p Program) -> (Vec<Event>, Vec<Vec<usize>>) {
        let mut m = Model {
            program,
            slots: Vec::new(),
            list: Vec::new(),
            alive: false,
            holder: false,
            frames: 0,
            receivers: Vec::new(),
            held: [None; RECEIVERS],
            sweep_at: SWEEP_MIN,
            pending: VecDeque::new(),
            fuel: FUEL,
            log: Vec::new(),
            may_live: Vec::new(),
        };
        for k in 0..RECEIVERS {
            m.recreate_receiver(k);
        }
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
                Step::DropReceiver(k) => m.drop_receiver(k),
                Step::RecreateReceiver(k) => m.recreate_receiver(k),
                Step::IsConnected(j) => m.is_connected_logged(j),
            }
            m.may_live.push(m.dead_slots_that_may_live());
        }
        m.finish();
        (m.log, m.may_live)
    }

    fn recreate(&mut self) {
        self.drop_owner();
        self.alive = true;
        self.holder = true;
        self.list.clear();
        self.sweep_at = SWEEP_MIN;
        for &(script, kind) in &self.program.initial {
            self.connect(script, kind);
        }
    }

    fn drop_receiver(&mut self, k: usize) {
        if let Some(r) = self.held[k % RECEIVERS].take() {
            self.receivers[r].held = false;
        }
    }

    fn recreate_receiver(&mut self, k: usize) {
        self.drop_receiver(k);
        self.held[k % RECEIVERS] = Some(self.receivers.len());
        self.receivers.push(MReceiver { held: true, running: 0 });
    }

    /// The slot is not bound, or its receiver lives.
    fn receiver_alive(&self, id: usize) -> bool {
        self.slots[id].receiver.is_none_or(|r| self.receivers[r].held || self.receivers[r].running > 0)
    }

    /// `Connection::is_connected()`.
    fn connected(&self, id: usize) -> bool {
        self.slots[id].active && self.receiver_alive(id)
    }

    fn connect(&mut self, script: usize, kind: Kind) {
        if self.slots.len() >= MAX_SLOTS {
            return;
        }
        let receiver = match kind.receiver() {
            None => None,
            // No receiver in that place: nothing to bind to.
            Some(k) => match self.held[k] {
                None => return,
                Some(r) => Some(r),
            },
        };
        // A bound connect outside an emission first drops the slots whose receiver is
        // gone, once the list is long enough.
        if receiver.is_some() && self.frames == 0 && self.list.len() >= self.sweep_at {
            for id in self.list.clone() {
                if !self.receiver_alive(id) {
                    self.slots[id].active = false;
                }
            }
            let slots = &self.slots;
            self.list.retain(|&id| slots[id].active);
            self.sweep_at = (2 * self.list.len()).max(SWEEP_MIN);
        }
        let script = script % self.program.scripts.len();
        self.list.push(self.slots.len());
        self.slots.push(MSlot { script, kind, receiver, active: true, running: false, fired: false });
    }

    /// `Signal::receivers()`, if the owner is reachable.
    fn receivers(&self) -> Option<usize> {
        self.holder.then(|| self.list.iter().filter(|&&id| self.receiver_alive(id)).count())
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
                Kind::Direct | Kind::Auto | Kind::Bound(_) => self.call(id, value),
                Kind::Once => {
                    // Single shot: disconnected before it runs.
                    self.disconnect(id);
                    self.call(id, value);
                }
                // Posted even if the receiver is gone: the delivery finds that out.
                Kind::Queued | Kind::BoundQueued(_) => self.pending.push_back((id, value)),
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

    /// Calls a slot's closure: nothing if it is already running (no re-entry); a bound
    /// slot whose receiver is gone is disconnected instead of called.
    fn call(&mut self, id: usize, value: Val) {
        if self.slots[id].running {
            return;
        }
        if !self.receiver_alive(id) {
            self.disconnect(id);
            return;
        }
        self.slots[id].running = true;
        let receiver = self.slots[id].receiver;
        if let Some(r) = receiver {
            self.receivers[r].running += 1;
        }
        let program = self.program;
        for action in &program.scripts[self.slots[id].script] {
            match *action {
                Action::Record => self.log.push(Event::Call {
                    slot: id,
                    seq: value.seq,
                    depth: value.depth,
                    receivers: self.receivers(),
                    receiver,
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
                Action::DropReceiver(k) => self.drop_receiver(k),
                Action::RecreateReceiver(k) => self.recreate_receiver(k),
                Action::IsConnected(j) => self.is_connected_logged(j),
            }
        }
        if let Some(r) = receiver {
            self.receivers[r].running -= 1;
        }
        self.slots[id].running = false;
    }

    /// `Connection::disconnect`: whether the slot was connected. A bound slot whose
    /// receiver is gone was not (it is taken out all the same).
    fn disconnect(&mut self, id: usize) -> bool {
        let was_active = std::mem::replace(&mut self.slots[id].active, false);
        if was_active && self.alive {
            self.list.retain(|&s| s != id);
        }
        was_active && self.receiver_alive(id)
    }

    fn disconnect_logged(&mut self, j: usize) {
        if self.slots.is_empty() {
            return;
        }
        let slot = j % self.slots.len();
        let was_connected = self.disconnect(slot);
        self.log.push(Event::Disconnect { slot, was_connected });
    }

    fn is_connected_logged(&mut self, j: usize) {
        if !self.slots.is_empty() {
            let slot = j % self.slots.len();
            self.log.push(Event::Connected { slot, connected: self.connected(slot) });
        }
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
                self.call(id, value);
            }
        }
        self.log.push(Event::Round { dispatched });
        dispatched
    }

    /// The bound slots whose receiver is gone whose closure may survive (outside any
    /// emission): those still on the list, which no emission has reached since (the
    /// documentation promises them freed "at the next emission at the latest"), and those
    /// a queued call still holds.
    fn dead_slots_that_may_live(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&id| !self.receiver_alive(id))
            .filter(|&id| self.slots[id].active || self.pending.iter().any(|&(p, _)| p == id))
            .collect()
    }

    fn finish(&mut self) {
        for _ in 0..64 {
            if self.round() == 0 {
                break;
            }
        }
        let connected = (0..self.slots.len()).map(|id| self.connected(id)).collect();
        self.log.push(Event::End { connected, receivers: self.receivers() });
    }
}

// ---------------------------------------------------------------------------------------
// The real thing
// ---------------------------------------------------------------------------------------

struct Owner {
    changed: Signal<Val>,
}

/// A receiver of bound slots; `id` in creation order.
struct Receiver {
    id: usize,
}

/// Shared by every slot closure (each captures an `Rc` of it, as Qt-style code does).
struct Real {
    program: Program,
    holder: RefCell<Option<Rc<Owner>>>,
    conns: RefCell<Vec<Connection>>,
    /// One per slot closure: the closure owns the `Rc`.
    tokens: RefCell<Vec<Weak<()>>>,
    /// Per slot: the receiver it is bound to.
    bound_to: RefCell<Vec<Option<Weak<Receiver>>>>,
    owners: RefCell<Vec<Weak<Owner>>>,
    /// The receivers the program holds.
    held: RefCell<[Option<Rc<Receiver>>; RECEIVERS]>,
    /// Every receiver ever made, by id.
    receivers: RefCell<Vec<Weak<Receiver>>>,
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

    fn drop_receiver(&self, k: usize) {
        let receiver = self.held.borrow_mut()[k % RECEIVERS].take();
        drop(receiver);
    }

    fn recreate_receiver(&self, k: usize) {
        self.drop_receiver(k);
        let receiver = Rc::new(Receiver { id: self.receivers.borrow().len() });
        self.receivers.borrow_mut().push(Rc::downgrade(&receiver));
        self.held.borrow_mut()[k % RECEIVERS] = Some(receiver);
    }

    /// The bound slots whose receiver is gone and whose closure survives.
    fn dead_slots_alive(&self) -> Vec<usize> {
        let tokens = self.tokens.borrow();
        let bound_to = self.bound_to.borrow();
        (0..tokens.len())
            .filter(|&id| bound_to[id].as_ref().is_some_and(|r| r.strong_count() == 0))
            .filter(|&id| tokens[id].strong_count() > 0)
            .collect()
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
        let receiver = match kind.receiver() {
            None => None,
            Some(k) => match self.held.borrow()[k].clone() {
                None => return,
                receiver => receiver,
            },
        };
        let script = script % self.program.scripts.len();
        let token = Rc::new(());
        self.tokens.borrow_mut().push(Rc::downgrade(&token));
        self.bound_to.borrow_mut().push(receiver.as_ref().map(Rc::downgrade));
        let ctx = self.clone();
        let run = move |value: &Val, receiver: Option<usize>| {
            let _token = &token;
            ctx.run_script(id, script, *value, receiver);
        };
        let sig = &owner.changed;
        let conn = match (kind, receiver) {
            (Kind::Direct, _) => sig.connect(move |v| run(v, None)),
            (Kind::Auto, _) => sig.connect_with(ConnectionType::Auto, move |v| run(v, None)),
            (Kind::Queued, _) => sig.connect_with(ConnectionType::Queued, move |v| run(v, None)),
            (Kind::Once, _) => sig.connect_once(move |v| run(v, None)),
            (Kind::QueuedOnce, _) => sig.connect_once_with(ConnectionType::Queued, move |v| run(v, None)),
            (Kind::Bound(_), Some(r)) => sig.connect_to(&r, move |r: &Receiver, v| run(v, Some(r.id))),
            (Kind::BoundQueued(_), Some(r)) => {
                sig.connect_to_with(ConnectionType::Queued, &r, move |r: &Receiver, v| run(v, Some(r.id)))
            }
            (Kind::Bound(_) | Kind::BoundQueued(_), None) => unreachable!("bound kinds have a receiver"),
        };
        self.conns.borrow_mut().push(conn);
    }

    fn run_script(self: &Rc<Self>, id: usize, script: usize, value: Val, receiver: Option<usize>) {
        for action in &self.program.scripts[script] {
            match *action {
                Action::Record => {
                    let receivers = self.owner().map(|o| o.changed.receivers());
                    self.push(Event::Call {
                        slot: id,
                        seq: value.seq,
                        depth: value.depth,
                        receivers,
                        receiver,
                    });
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
                Action::DropReceiver(k) => self.drop_receiver(k),
                Action::RecreateReceiver(k) => self.recreate_receiver(k),
                Action::IsConnected(j) => self.is_connected_logged(j),
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

    fn is_connected_logged(&self, j: usize) {
        let conn = {
            let conns = self.conns.borrow();
            if conns.is_empty() {
                return;
            }
            let slot = j % conns.len();
            (slot, conns[slot].clone())
        };
        self.push(Event::Connected { slot: conn.0, connected: conn.1.is_connected() });
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
    receivers: usize,
    context: bool,
}

/// What a real run produced: its log, and after each top-level step the bound slots whose
/// receiver is gone whose closure survives.
struct RealRun {
    log: Vec<Event>,
    dead_alive: Vec<Vec<usize>>,
    leaks: Leaks,
}

/// Runs anything a previous (failed, shrinking) case left queued on this thread's loop.
fn flush_loop() {
    for _ in 0..64 {
        if EventLoop::process_events(Duration::ZERO) == 0 {
            break;
        }
    }
}

fn run_real(program: &Program) -> RealRun {
    flush_loop();
    let ctx = Rc::new(Real {
        program: program.clone(),
        holder: RefCell::new(None),
        conns: RefCell::new(Vec::new()),
        tokens: RefCell::new(Vec::new()),
        bound_to: RefCell::new(Vec::new()),
        owners: RefCell::new(Vec::new()),
        held: RefCell::new(Default::default()),
        receivers: RefCell::new(Vec::new()),
        fuel: Cell::new(FUEL),
        log: RefCell::new(Vec::new()),
    });
    for k in 0..RECEIVERS {
        ctx.recreate_receiver(k);
    }
    ctx.recreate();
    let mut dead_alive = Vec::new();
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
            Step::DropReceiver(k) => ctx.drop_receiver(k),
            Step::RecreateReceiver(k) => ctx.recreate_receiver(k),
            Step::IsConnected(j) => ctx.is_connected_logged(j),
        }
        dead_alive.push(ctx.dead_slots_alive());
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
    let receivers = ctx.receivers.take();
    let weak_ctx = Rc::downgrade(&ctx);
    ctx.drop_owner();
    flush_loop();
    ctx.conns.take();
    drop(ctx);
    let leaks = Leaks {
        slot_closures: tokens.iter().filter(|t| t.upgrade().is_some()).count(),
        owners: owners.iter().filter(|o| o.upgrade().is_some()).count(),
        receivers: receivers.iter().filter(|r| r.upgrade().is_some()).count(),
        context: weak_ctx.upgrade().is_some(),
    };
    RealRun { log, dead_alive, leaks }
}

/// Compares a real run of `program` with the model.
fn check(program: &Program) -> Result<Vec<Event>, TestCaseError> {
    let real = run_real(program);
    let (log, may_live) = Model::run(program);
    prop_assert_eq!(&real.log, &log);
    for (step, (alive, may)) in real.dead_alive.iter().zip(&may_live).enumerate() {
        prop_assert!(
            alive.iter().all(|id| may.contains(id)),
            "after step {}: closures of slots whose receiver is gone still alive: {:?}, \
             of which only {:?} may be",
            step,
            alive,
            may
        );
    }
    prop_assert_eq!(real.leaks, Leaks::default());
    Ok(real.log)
}

/// The real signal behaves exactly as documented. Written out rather than with
/// `proptest!` so that one watchdog covers every case and the shrinking.
#[test]
fn emission_matches_the_documented_model() {
    let _dog = Watchdog::new(Duration::from_secs(300));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&program(), |program| check(&program).map(drop));
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
    let real = check(&program).unwrap_or_else(|e| panic!("{e}"));
    assert!(real.len() > 20, "the program does something: {real:#?}");
}

/// Receiver-bound slots, by hand: receivers dropped at top level, by another slot during
/// an emission (their later slots are skipped), and by their own slot (which keeps its
/// receiver alive until it returns, so a recursive emission meanwhile still calls the
/// receiver's other slots and `is_connected` still holds); queued calls delivered after
/// their receiver died; disconnecting such slots; a replaced receiver.
#[test]
fn a_hand_written_program_with_receivers_matches_the_model() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    use Action::*;
    let program = Program {
        scripts: vec![
            vec![Record],
            vec![Record, DropReceiver(1), Record, IsConnected(2)],
            vec![Record, DropReceiver(2), IsConnected(3), EmitRecursive, Record, IsConnected(3)],
            vec![Record, ConnectNew { script: 0, kind: Kind::Bound(0) }],
        ],
        initial: vec![
            (0, Kind::Bound(0)),
            (1, Kind::Direct),
            (0, Kind::Bound(1)),
            (2, Kind::Bound(2)),
            (0, Kind::BoundQueued(2)),
            (0, Kind::Bound(2)),
            (0, Kind::BoundQueued(0)),
            (3, Kind::Auto),
        ],
        steps: vec![
            Step::Emit,
            Step::DropReceiver(0),
            Step::IsConnected(0),
            Step::ProcessEvents,
            Step::Disconnect(6),
            Step::Emit,
            Step::Disconnect(5),
            Step::RecreateReceiver(0),
            Step::RecreateReceiver(1),
            Step::Recreate,
            Step::Emit,
            Step::RecreateReceiver(2),
            Step::Emit,
            Step::ProcessEvents,
        ],
    };
    let real = check(&program).unwrap_or_else(|e| panic!("{e}"));
    let calls = |receiver| {
        real.iter().filter(|e| matches!(e, Event::Call { receiver: r, .. } if *r == receiver)).count()
    };
    // Receivers 0 and 2, and receiver 3 which replaced receiver 0, are called.
    assert!(calls(Some(0)) > 0 && calls(Some(2)) > 0 && calls(Some(3)) > 0, "{real:#?}");
    // Slot 3 drops its own receiver (2) and emits: slot 5, bound to receiver 2 too, is
    // called by that recursive emission, not by the outer one after slot 3 returns.
    let slot_5: Vec<_> = real.iter().filter(|e| matches!(e, Event::Call { slot: 5, .. })).collect();
    assert!(matches!(slot_5[..], [Event::Call { depth: 1, .. }]), "{real:#?}");
    assert!(real.contains(&Event::Connected { slot: 3, connected: true }), "{real:#?}");
    assert!(real.contains(&Event::Connected { slot: 0, connected: false }), "{real:#?}");
    assert!(real.contains(&Event::Disconnect { slot: 6, was_connected: false }), "{real:#?}");
}

/// A receiver-bound connect made outside an emission, once the list is long enough, drops
/// the slots whose receiver is gone: a queued one is then no longer posted. Here a queued
/// slot drops receiver 0 and connects a slot bound to receiver 1.
#[test]
fn a_bound_connect_on_a_long_list_sweeps_the_slots_of_dead_receivers() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    use Action::*;
    let rounds = |listed: usize| {
        let mut initial = vec![(0, Kind::BoundQueued(0))];
        initial.extend(std::iter::repeat_n((0, Kind::Direct), listed - 2));
        initial.push((1, Kind::Queued));
        let program = Program {
            scripts: vec![vec![], vec![DropReceiver(0), ConnectNew { script: 0, kind: Kind::Bound(1) }]],
            initial,
            steps: vec![Step::Emit, Step::ProcessEvents, Step::Emit, Step::ProcessEvents],
        };
        let real = check(&program).unwrap_or_else(|e| panic!("{e}"));
        real.iter()
            .filter_map(|e| match e {
                Event::Round { dispatched } => Some(*dispatched),
                _ => None,
            })
            .take(2)
            .collect::<Vec<_>>()
    };
    // Too short to sweep: the second emission still posts the dead receiver's slot (its
    // delivery then calls nothing).
    assert_eq!(rounds(SWEEP_MIN - 1), [2, 2]);
    // Long enough: the connect swept it.
    assert_eq!(rounds(SWEEP_MIN), [2, 1]);
}
