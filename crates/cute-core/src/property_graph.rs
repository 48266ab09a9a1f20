//! The dependency graph behind property bindings: plumbing, private to the crate.
//!
//! Each property is a node. A binding's node lists the nodes its last evaluation read (its
//! *sources*, `Weak`, in the order they were read); every node lists the nodes that read it
//! (its *observers*, `Weak` too). Only the binding closures, which capture property
//! handles, hold anything strongly, so the graph itself never keeps a node alive.
//!
//! A change runs in two phases (the "push-pull" scheme of Reactively and Leptos):
//!
//! 1. **Push.** [`value_changed`] marks the direct observers of the changed node `Dirty` and
//!    everything further downstream `Check` (maybe stale), iteratively, stopping at nodes
//!    already marked: their downstream is marked already. Marked nodes whose `changed`
//!    signal has slots are queued for notification. No binding runs in this phase.
//! 2. **Pull.** [`ensure_clean`] brings a node up to date: a `Check` node first brings its
//!    sources up to date, in order, and becomes `Dirty` only if one of them really changed;
//!    a `Dirty` node re-runs its binding. It walks an explicit stack, not the call stack,
//!    so a chain of any length costs no recursion. Every read pulls, and [`flush`] pulls
//!    each queued node before emitting its signal; so a binding never sees a stale value
//!    (no glitch) and runs at most once per change.
//!
//! The graph is kept acyclic: each node has a *level* above the levels of its sources, and
//! a new edge that would close a loop is found by raising levels downstream of it (which
//! reaches the edge's source exactly when there is a path back), and refused.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

/// How up to date a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum State {
    /// Its value is current.
    #[default]
    Clean,
    /// Something upstream changed: its sources must be brought up to date to know.
    Check,
    /// A source changed: its binding must run again.
    Dirty,
}

/// A node of the graph: implemented by a property's shared state.
pub(crate) trait Node {
    /// The node's graph bookkeeping.
    fn core(&self) -> &NodeCore;
    /// Runs the node's binding and commits its result (calling [`value_changed`] if the
    /// value changed); a node without a binding just becomes clean. `this` is the node.
    fn recompute(&self, this: &Rc<dyn Node>);
    /// Emits the node's `changed` signal with its current value.
    fn emit_changed(&self);
    /// Whether the node's `changed` signal has slots.
    fn is_observed(&self) -> bool;
}

/// The graph bookkeeping of one node.
#[derive(Default)]
pub(crate) struct NodeCore {
    state: Cell<State>,
    /// The node's binding is running.
    busy: Cell<bool>,
    /// The node is in the notification queue (or being notified).
    queued: Cell<bool>,
    /// Above the level of every source; 0 for a node without sources.
    level: Cell<u32>,
    /// Bumped on each change of the value.
    version: Cell<u64>,
    /// The version the `changed` slots were last told about.
    notified: Cell<u64>,
    /// What the binding read on its last evaluation, in order.
    sources: RefCell<Vec<Weak<dyn Node>>>,
    /// The nodes whose bindings read this one.
    observers: RefCell<Vec<Weak<dyn Node>>>,
}

impl NodeCore {
    pub(crate) fn state(&self) -> State {
        self.state.get()
    }

    pub(crate) fn set_clean(&self) {
        self.state.set(State::Clean);
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.busy.get()
    }

    pub(crate) fn source_count(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Unlinks the node `me` (this core's owner) from its sources' observer lists and
    /// forgets them: its binding is gone, or it is being dropped.
    pub(crate) fn unlink_sources(&self, me: *const ()) {
        let sources = std::mem::take(&mut *self.sources.borrow_mut());
        for source in sources.iter().filter_map(Weak::upgrade) {
            // Never borrowed while user code runs, so this borrow cannot fail.
            if let Ok(mut observers) = source.core().observers.try_borrow_mut() {
                observers.retain(|w| w.as_ptr() as *const () != me && w.strong_count() > 0);
            }
        }
    }
}

fn id(node: &Rc<dyn Node>) -> *const () {
    Rc::as_ptr(node) as *const ()
}

fn weak_id(node: &Weak<dyn Node>) -> *const () {
    node.as_ptr() as *const ()
}

/// One binding evaluation in progress.
struct Frame {
    /// The nodes read so far, each once, in order.
    reads: Vec<Rc<dyn Node>>,
    /// A node whose binding is running was read: a binding loop.
    looped: bool,
}

/// This thread's property runtime.
#[derive(Default)]
struct Runtime {
    /// The binding evaluations in progress, innermost last.
    frames: RefCell<Vec<Frame>>,
    /// Open update groups.
    group_depth: Cell<usize>,
    /// Flushes in progress.
    flushing: Cell<usize>,
    /// Nodes whose `changed` slots are to be told.
    pending: RefCell<VecDeque<Weak<dyn Node>>>,
}

thread_local! {
    static RUNTIME: Runtime = Runtime::default();
}

/// The result of running a binding under dependency tracking.
pub(crate) struct Tracked<R> {
    pub(crate) value: R,
    /// What the binding read, each once, in order.
    pub(crate) reads: Vec<Rc<dyn Node>>,
    /// The binding read a node whose own binding was running (itself, or a node that is
    /// computing the value this binding is asked for).
    pub(crate) looped: bool,
}

/// Pops the frame and clears `busy`, also when the binding panics (the node then stays
/// `Dirty`, so it runs again on the next read).
struct FrameGuard<'a> {
    core: Option<&'a NodeCore>,
}

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        let frame = RUNTIME.with(|rt| rt.frames.borrow_mut().pop());
        if let Some(core) = self.core {
            core.busy.set(false);
        }
        // The reads are dropped outside the borrow: one may be the last handle of a
        // property made inside the binding, whose drop runs user code.
        drop(frame);
    }
}

/// Runs `f`, recording the nodes it reads. `core` is the node whose binding `f` is: it is
/// `busy` (and `Dirty`) meanwhile.
pub(crate) fn track<R>(core: Option<&NodeCore>, f: impl FnOnce() -> R) -> Tracked<R> {
    if let Some(core) = core {
        debug_assert!(!core.busy.get(), "a binding evaluated while it runs");
        core.busy.set(true);
        core.state.set(State::Dirty);
    }
    RUNTIME.with(|rt| rt.frames.borrow_mut().push(Frame { reads: Vec::new(), looped: false }));
    let guard = FrameGuard { core };
    let value = f();
    let frame = RUNTIME.with(|rt| rt.frames.borrow_mut().pop()).expect("the frame pushed above");
    if let Some(core) = guard.core {
        core.busy.set(false);
    }
    std::mem::forget(guard);
    Tracked { value, reads: frame.reads, looped: frame.looped }
}

/// A read of `node`'s value: brings it up to date and, inside a binding, records it as a
/// dependency of that binding.
pub(crate) fn read(node: &Rc<dyn Node>) {
    let core = node.core();
    if core.busy.get() {
        // Its binding is running, so a binding it (indirectly) reads reads it: a loop.
        RUNTIME.with(|rt| {
            if let Some(frame) = rt.frames.borrow_mut().last_mut() {
                frame.looped = true;
            }
        });
        return;
    }
    if core.state.get() != State::Clean {
        ensure_clean(node);
    }
    let outermost = RUNTIME.with(|rt| {
        let mut frames = rt.frames.borrow_mut();
        match frames.last_mut() {
            Some(frame) => {
                let me = id(node);
                if !frame.reads.iter().any(|r| id(r) == me) {
                    frame.reads.push(node.clone());
                }
                false
            }
            None => true,
        }
    });
    if outermost {
        deliver_leftovers();
    }
}

/// Brings `node` up to date outside any binding's tracking (for accessors that are not
/// reads), then delivers what its bindings queued.
pub(crate) fn pull(node: &Rc<dyn Node>) {
    ensure_clean(node);
    deliver_leftovers();
}

/// Delivers notifications queued by a binding that wrote a property (which it should not),
/// once the outermost evaluation is over: unless a binding runs, a group is open, or a
/// flush is in progress (which delivers them itself).
pub(crate) fn deliver_leftovers() {
    let flush_now = RUNTIME.with(|rt| {
        rt.frames.borrow().is_empty()
            && rt.group_depth.get() == 0
            && rt.flushing.get() == 0
            && !rt.pending.borrow().is_empty()
    });
    if flush_now {
        flush();
    }
}

/// Brings `root` up to date (the pull phase), iteratively.
pub(crate) fn ensure_clean(root: &Rc<dyn Node>) {
    if root.core().state.get() == State::Clean || root.core().busy.get() {
        return;
    }
    // Each entry: a node, and the index of its next source to check.
    let mut stack: Vec<(Rc<dyn Node>, usize)> = vec![(root.clone(), 0)];
    while let Some((node, next)) = stack.last_mut() {
        let core = node.core();
        if core.busy.get() {
            // Its binding is running further up the call stack: it reads its sources
            // itself. (Reachable only through a binding that reads a node downstream of
            // itself, which is then refused as a loop.)
            stack.pop();
            continue;
        }
        match core.state.get() {
            State::Clean => {
                stack.pop();
            }
            State::Dirty => {
                let node = node.clone();
                stack.pop();
                node.recompute(&node);
                // A binding that replaced itself while it ran leaves its node dirty: the
                // new binding runs now (once: a binding that always replaces itself stays
                // stale rather than spin).
                if node.core().state.get() == State::Dirty && !node.core().busy.get() {
                    node.recompute(&node);
                }
            }
            State::Check => {
                let source = core.sources.borrow().get(*next).cloned();
                *next += 1;
                match source {
                    // Every source is clean and none changed.
                    None => {
                        core.state.set(State::Clean);
                        stack.pop();
                    }
                    Some(source) => {
                        // A source that is gone cannot change any more.
                        if let Some(source) = source.upgrade()
                            && source.core().state.get() != State::Clean
                            && !source.core().busy.get()
                        {
                            stack.push((source, 0));
                        }
                    }
                }
            }
        }
    }
}

/// The live observers of `node`, pruning the dead ones.
fn live_observers(node: &Rc<dyn Node>) -> Vec<Rc<dyn Node>> {
    let mut observers = node.core().observers.borrow_mut();
    observers.retain(|w| w.strong_count() > 0);
    observers.iter().filter_map(Weak::upgrade).collect()
}

fn queue(node: &Rc<dyn Node>) {
    let core = node.core();
    if !core.queued.replace(true) {
        RUNTIME.with(|rt| rt.pending.borrow_mut().push_back(Rc::downgrade(node)));
    }
}

/// Marks everything downstream of `node` stale (the push phase): its direct observers
/// `direct`, the rest `Check`. Queues the newly stale nodes that have slots, sources before
/// observers (by level; breadth-first among equals).
fn mark_observers(node: &Rc<dyn Node>, direct: State) {
    let mut to_queue = Vec::new();
    let mut next: VecDeque<(Rc<dyn Node>, State)> =
        live_observers(node).into_iter().map(|o| (o, direct)).collect();
    while let Some((node, state)) = next.pop_front() {
        let core = node.core();
        let old = core.state.get();
        if old >= state {
            continue;
        }
        core.state.set(state);
        if old == State::Clean {
            next.extend(live_observers(&node).into_iter().map(|o| (o, State::Check)));
            if node.is_observed() {
                to_queue.push(node);
            }
        }
    }
    to_queue.sort_by_key(|n| n.core().level.get()); // a stable sort
    for node in &to_queue {
        queue(node);
    }
}

/// `node`'s value has changed (by a write or a binding): queues its notification, marks its
/// downstream stale and queues theirs. Flushes nothing; see [`flush_if_idle`].
pub(crate) fn value_changed(node: &Rc<dyn Node>) {
    let core = node.core();
    core.version.set(core.version.get() + 1);
    if node.is_observed() {
        queue(node);
    } else {
        // Nobody to tell: a slot connected later hears of later changes only.
        core.notified.set(core.version.get());
    }
    mark_observers(node, State::Dirty);
}

/// Marks `node` `Dirty` (its binding was replaced) and its downstream `Check`, queueing
/// the observed ones.
pub(crate) fn invalidate(node: &Rc<dyn Node>) {
    let core = node.core();
    if core.state.get() == State::Clean {
        mark_observers(node, State::Check);
    }
    core.state.set(State::Dirty);
}

/// Makes `reads` the sources of `node`, unless a new one would close a loop: then returns
/// false and changes nothing.
pub(crate) fn set_sources(node: &Rc<dyn Node>, reads: Vec<Rc<dyn Node>>) -> bool {
    let core = node.core();
    let old: Vec<Weak<dyn Node>> = core.sources.borrow().clone();
    // The common case: a binding read what it read last time.
    if old.len() == reads.len() && old.iter().zip(&reads).all(|(o, r)| weak_id(o) == id(r)) {
        return true;
    }
    let is_old = |r: &Rc<dyn Node>| old.iter().any(|o| weak_id(o) == id(r));
    for new in reads.iter().filter(|r| !is_old(r)) {
        if !can_link(new, node) {
            return false;
        }
    }
    let me = id(node);
    for gone in old.iter().filter(|o| !reads.iter().any(|r| id(r) == weak_id(o))) {
        if let Some(gone) = gone.upgrade() {
            gone.core().observers.borrow_mut().retain(|w| weak_id(w) != me && w.strong_count() > 0);
        }
    }
    for new in reads.iter().filter(|r| !is_old(r)) {
        new.core().observers.borrow_mut().push(Rc::downgrade(node));
    }
    *core.sources.borrow_mut() = reads.iter().map(Rc::downgrade).collect();
    true
}

/// Whether `source` may become a source of `node` without closing a loop; raises levels so
/// that every source stays below its observers.
fn can_link(source: &Rc<dyn Node>, node: &Rc<dyn Node>) -> bool {
    let target = id(source);
    if id(node) == target {
        return false;
    }
    let needed = source.core().level.get() + 1;
    if node.core().level.get() >= needed {
        return true;
    }
    // Raise `node` and whatever must rise with it. If `source` has to rise, it is
    // downstream of `node`: the edge would close a loop. The walk goes on to the end
    // anyway, so the levels stay consistent.
    node.core().level.set(needed);
    let mut acyclic = true;
    let mut stack = vec![node.clone()];
    while let Some(node) = stack.pop() {
        let level = node.core().level.get();
        for observer in live_observers(&node) {
            if id(&observer) == target {
                acyclic = false;
            }
            if observer.core().level.get() <= level {
                observer.core().level.set(level + 1);
                stack.push(observer);
            }
        }
    }
    acyclic
}

/// Clears `queued` once the node has been pulled, also if its binding panics.
struct Unqueue<'a>(&'a NodeCore);

impl Drop for Unqueue<'_> {
    fn drop(&mut self) {
        self.0.queued.set(false);
    }
}

/// Decrements `flushing`, also on a panic.
struct Flushing;

impl Drop for Flushing {
    fn drop(&mut self) {
        RUNTIME.with(|rt| rt.flushing.set(rt.flushing.get() - 1));
    }
}

/// Delivers the queued notifications unless an update group is open or a binding is
/// running (then whoever ends them does).
pub(crate) fn flush_if_idle() {
    let idle = RUNTIME.with(|rt| rt.group_depth.get() == 0 && rt.frames.borrow().is_empty());
    if idle {
        flush();
    }
}

/// Pulls each queued node up to date and emits its `changed` signal if its value changed
/// since its slots were last told. Slots may change properties: a nested flush delivers
/// what they queue, and this one goes on with what is left.
fn flush() {
    RUNTIME.with(|rt| rt.flushing.set(rt.flushing.get() + 1));
    let _flushing = Flushing;
    loop {
        let Some(next) = RUNTIME.with(|rt| rt.pending.borrow_mut().pop_front()) else { break };
        let Some(node) = next.upgrade() else { continue };
        {
            // Still marked queued while it is pulled, so its own recompute does not queue
            // it again.
            let _unqueue = Unqueue(node.core());
            ensure_clean(&node);
        }
        let core = node.core();
        if core.notified.get() != core.version.get() {
            core.notified.set(core.version.get());
            node.emit_changed();
        }
    }
}

/// Opens an update group.
pub(crate) fn begin_group() {
    RUNTIME.with(|rt| rt.group_depth.set(rt.group_depth.get() + 1));
}

/// Closes an update group; the last one to close delivers the notifications (unless the
/// thread is panicking: then the next change does).
pub(crate) fn end_group() {
    let outermost = RUNTIME.with(|rt| {
        let depth = rt.group_depth.get();
        debug_assert!(depth > 0, "an update group ended twice");
        rt.group_depth.set(depth.saturating_sub(1));
        depth == 1
    });
    if outermost && !std::thread::panicking() {
        flush_if_idle();
    }
}
