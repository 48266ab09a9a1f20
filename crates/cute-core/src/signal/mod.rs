//! Typed signals and their connections.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use crate::connection::{Connection, Link};
use crate::dispatcher;
use crate::emitter::{Deliver, Emitter, EmitterParts};

pub(crate) mod next;
mod slot;

pub(crate) use slot::Mode;
use slot::{ACTIVE, Owner, PLAIN, SharedFn, Shots, Slot, SlotFn, receiver_gone};

/// How a slot is invoked when its signal is emitted (Qt's `Qt::ConnectionType`).
///
/// A [`Signal`] lives on one thread and its slots run there, so `Auto` always means
/// `Direct`. To emit from another thread, take an [`Emitter`]: its emissions are queued to
/// the signal's loop, which is what Qt's `AutoConnection` does across threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ConnectionType {
    /// Direct on the signal's own thread, which is the only thread a slot can run on.
    #[default]
    Auto,
    /// The slot runs inside `emit`, before `emit` returns.
    Direct,
    /// The slot runs on a later round of the thread's event loop, with a clone of the
    /// emitted value. A call still pending when the connection is disconnected is dropped
    /// (Qt delivers it anyway).
    Queued,
}

/// [`SignalInner::flags`] bit: `pending` has slots, or `slots` has slots that no longer
/// belong there.
const DEFERRED: u8 = 1;
/// [`SignalInner::flags`] bit: [`Signal::block_signals`] is on.
const BLOCKED: u8 = 2;
/// The list length below which [`Signal::connect_to`] does not look for slots whose receiver
/// is gone.
const SWEEP_MIN: usize = 16;

pub(crate) struct SignalInner<T: 'static> {
    /// The connected slots in connection order. An emission walks this list under a shared
    /// borrow (nested emissions share it too); while any emission is walking it, connects
    /// go to `pending` and disconnected slots stay in place, skipped by their state, until
    /// the last emission ends and [`settle`](Self::settle)s. So slots connected during an
    /// emission are not called by it, and nothing an emission walks is ever moved.
    slots: RefCell<Vec<Rc<Slot<T>>>>,
    /// Slots connected while an emission was walking `slots`, in connection order.
    pending: RefCell<Vec<Rc<Slot<T>>>>,
    /// [`DEFERRED`] and [`BLOCKED`], in one byte so that `emit` tests both with one load:
    /// a blocked signal costs the hot path nothing.
    flags: Cell<u8>,
    /// When the list reaches this length, the next receiver-bound connect drops the slots
    /// whose receiver is gone (so a long-lived signal that is rarely emitted does not
    /// collect the slots of dead receivers); doubled after each sweep.
    sweep_at: Cell<usize>,
    /// The sending half of this signal's emitters, once the first is taken.
    source: RefCell<Option<EmitterParts<T>>>,
    /// Single-shot queued slots taken out of `slots` whose call has not run yet, so that
    /// `disconnect_all` and dropping the signal still cancel them.
    scheduled_once: RefCell<Vec<Weak<Slot<T>>>>,
}

impl<T: 'static> SignalInner<T> {
    #[inline]
    fn mark_deferred(&self) {
        self.flags.set(self.flags.get() | DEFERRED);
    }

    #[inline]
    fn is_deferred(&self) -> bool {
        self.flags.get() & DEFERRED != 0
    }

    /// Clears [`DEFERRED`]; returns whether it was set.
    fn take_deferred(&self) -> bool {
        let flags = self.flags.get();
        self.flags.set(flags & !DEFERRED);
        flags & DEFERRED != 0
    }

    fn set_blocked(&self, block: bool) -> bool {
        let flags = self.flags.get();
        self.flags.set(if block { flags | BLOCKED } else { flags & !BLOCKED });
        flags & BLOCKED != 0
    }

    fn cancel_scheduled_once(&self) {
        for slot in self.scheduled_once.borrow_mut().drain(..) {
            if let Some(slot) = slot.upgrade() {
                slot.deactivate();
            }
        }
    }

    /// Brings the list up to date (drops slots that left it, appends the pending ones),
    /// unless an emission is walking it: then the last emission to end does it.
    #[inline(never)]
    fn settle(&self) {
        let removed = match self.slots.try_borrow_mut() {
            Ok(mut slots) => self.settle_locked(&mut slots),
            Err(_) => return,
        };
        // Dropped after the borrow ends: a slot's captured state may do anything when
        // dropped, including using this signal.
        drop(removed);
    }

    /// [`settle`](Self::settle) under the caller's borrow; returns the slots taken out, for
    /// the caller to drop once the borrow is released.
    fn settle_locked(&self, slots: &mut Vec<Rc<Slot<T>>>) -> Vec<Rc<Slot<T>>> {
        if !self.take_deferred() {
            return Vec::new();
        }
        let mut removed: Vec<Rc<Slot<T>>> = slots.extract_if(.., |s| !s.is_listed()).collect();
        for slot in self.pending.borrow_mut().drain(..) {
            if slot.is_listed() {
                slots.push(slot);
            } else {
                // Connected and disconnected during one emission: dropped by the caller too.
                removed.push(slot);
            }
        }
        removed
    }

    // Always inlined into `Signal::emit` (the hot path: a flag test and the walk); the
    // rest is out of line. Left to the compiler, adding the blocked flag made it stop
    // inlining this, which cost W1 15 instructions an emission.
    #[inline(always)]
    pub(crate) fn emit(&self, value: &T) {
        if self.flags.get() != 0 {
            return self.emit_flagged(value);
        }
        self.walk(value);
        if self.is_deferred() {
            self.settle();
        }
    }

    /// An emission while the signal is blocked (it delivers nothing), or while the list is
    /// not settled: inside another emission (or after a panic cut one short). Slots
    /// connected since then are in `pending`; this emission calls those connected before it
    /// started, after the listed ones.
    #[cold]
    #[inline(never)]
    fn emit_flagged(&self, value: &T) {
        if self.flags.get() & BLOCKED != 0 {
            log::trace!("emission dropped: the signal is blocked");
            return;
        }
        self.settle(); // does nothing inside another emission
        let pending = self.pending.borrow().len();
        self.walk(value);
        // `pending` only grows while an emission walks the list, so these indices hold.
        for i in 0..pending {
            let slot = self.pending.borrow().get(i).cloned();
            if let Some(slot) = slot {
                self.dispatch(&slot, value);
            }
        }
        if self.is_deferred() {
            self.settle();
        }
    }

    /// Calls the listed slots, under a shared borrow of the list.
    #[inline(always)]
    fn walk(&self, value: &T) {
        // Never fails: the list is borrowed mutably only by `add` and `settle`, which run
        // no user code meanwhile.
        let Ok(slots) = self.slots.try_borrow() else { return };
        for slot in slots.iter() {
            self.dispatch(slot, value);
        }
    }

    #[inline(always)]
    fn dispatch(&self, slot: &Rc<Slot<T>>, value: &T) {
        let state = slot.state.get();
        if state == ACTIVE | PLAIN {
            slot.call(value);
        } else if state & ACTIVE != 0 {
            self.emit_special(slot, value);
        }
    }

    /// Single-shot and queued slots, kept out of the hot loop.
    #[cold]
    #[inline(never)]
    fn emit_special(&self, slot: &Rc<Slot<T>>, value: &T) {
        if let Some(shared) = &slot.shared {
            shared(value);
            return;
        }
        match slot.mode {
            Mode::Direct => {
                slot.disconnect(); // single shot: disconnected before it runs
                slot.call(value);
            }
            Mode::Queued(clone) => {
                // Cloned first: a panicking `clone` leaves the slot untouched.
                let value = clone(value);
                if slot.shots == Shots::Once {
                    if slot.fired.replace(true) {
                        return;
                    }
                    // Out of the list now; `active` stays set until the call runs, so a
                    // disconnect before delivery still cancels it.
                    self.remove();
                    let mut scheduled = self.scheduled_once.borrow_mut();
                    scheduled.retain(|w| w.upgrade().is_some_and(|s| s.is_active()));
                    scheduled.push(Rc::downgrade(slot));
                }
                let slot = slot.clone();
                dispatcher::current().post_local(Box::new(move || {
                    let run = if slot.shots == Shots::Once { slot.deactivate() } else { slot.is_active() };
                    if run {
                        slot.call(&value);
                    }
                }));
            }
        }
    }
}

impl<T: 'static> Owner for SignalInner<T> {
    /// A slot left the list (it was disconnected, or its single-shot call is scheduled).
    fn remove(&self) {
        self.mark_deferred();
        self.settle();
    }
}

impl<T: 'static> Deliver<T> for SignalInner<T> {
    #[inline]
    fn deliver(&self, value: &T) {
        self.emit(value);
    }
}

impl<T: 'static> Drop for SignalInner<T> {
    fn drop(&mut self) {
        // Slots kept alive by a pending queued call see that they are disconnected.
        for slot in self.slots.get_mut().iter().chain(self.pending.get_mut().iter()) {
            slot.deactivate();
        }
        self.cancel_scheduled_once();
        if let Some(parts) = self.source.get_mut().take()
            && let Some(core) = dispatcher::existing()
        {
            core.unregister_source(parts.key());
        }
    }
}

/// A typed signal: Qt's `signals:` member, as a value.
///
/// Connect closures (`FnMut(&T) + 'static`, free to capture `Rc`/`RefCell` state) with
/// [`connect`](Self::connect); [`emit`](Self::emit) calls them in connection order. A
/// signal is `!Send`: it and its slots live on one thread. Other threads reach it through
/// an [`Emitter`], which queues the value to the signal's event loop.
///
/// # Emission semantics
///
/// - Slots run in connection order; a slot connected twice runs twice.
/// - A slot connected during an emission is not called by that emission.
/// - A slot disconnected during an emission is not called after that point.
/// - A slot may emit recursively, connect, disconnect, quit the loop or drop the object
///   that owns the signal. A slot that is already running is not re-entered by a
///   recursive emission (an `FnMut` cannot be aliased); the other slots are called. The
///   same holds for values from other threads delivered by a nested event loop that such
///   a slot runs. A slot connected with [`connect_reentrant`](Self::connect_reentrant)
///   (an `Fn`) is re-entered, as every Qt slot is.
/// - A panicking slot propagates the panic to the caller of `emit` (and so out of
///   [`exec`](crate::CoreApplication::exec)); the signal stays usable. A slot that returns
///   errors instead ([`try_connect`](Self::try_connect)) has them logged and handed to the
///   slot error hook, and the emission goes on.
/// - A slot bound to a receiver ([`connect_to`](Self::connect_to), Qt's context object)
///   runs only while the receiver lives, and is disconnected once it is gone.
/// - While the signal is blocked ([`block_signals`](Self::block_signals),
///   [`SignalBlocker`](crate::SignalBlocker)), emissions are dropped.
///
/// # Threading
///
/// `!Send` and `!Sync`: a signal, its slots and their captured state stay on the thread
/// that created them, which is what lets slots capture `Rc` and `RefCell` freely. This does
/// not compile:
///
/// ```compile_fail
/// fn needs_send<T: Send>(_: T) {}
/// needs_send(cute_core::Signal::<i32>::new());
/// ```
///
/// Other threads emit through [`Signal::emitter`].
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use cute_core::Signal;
///
/// let value_changed = Signal::<i32>::new();
/// let seen = Rc::new(Cell::new(0));
/// let s = seen.clone();
/// let connection = value_changed.connect(move |v| s.set(s.get() + v));
/// value_changed.emit(&40);
/// value_changed.emit(&2);
/// assert_eq!(seen.get(), 42);
/// connection.disconnect();
/// value_changed.emit(&100);
/// assert_eq!(seen.get(), 42);
/// ```
pub struct Signal<T: 'static> {
    /// Created on first use, so a signal nobody connects to (most of an object's signals,
    /// most of the time) costs no allocation.
    inner: OnceCell<Rc<SignalInner<T>>>,
}

impl<T: 'static> Default for Signal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("type", &std::any::type_name::<T>())
            .field("receivers", &self.receivers())
            .finish()
    }
}

impl<T: 'static> Signal<T> {
    /// Creates a signal with no slots.
    pub const fn new() -> Self {
        Signal { inner: OnceCell::new() }
    }

    fn inner(&self) -> &Rc<SignalInner<T>> {
        self.inner.get_or_init(|| {
            Rc::new(SignalInner {
                slots: RefCell::new(Vec::new()),
                pending: RefCell::new(Vec::new()),
                flags: Cell::new(0),
                sweep_at: Cell::new(SWEEP_MIN),
                source: RefCell::new(None),
                scheduled_once: RefCell::new(Vec::new()),
            })
        })
    }

    fn add(&self, shots: Shots, mode: Mode<T>, func: SlotFn<T>) -> Connection {
        self.add_slot(shots, mode, func, None)
    }

    fn add_slot(
        &self,
        shots: Shots,
        mode: Mode<T>,
        func: SlotFn<T>,
        shared: Option<SharedFn<T>>,
    ) -> Connection {
        let plain = shots == Shots::Every && matches!(mode, Mode::Direct) && shared.is_none();
        let slot = Rc::new(Slot {
            state: Cell::new(if plain { ACTIVE | PLAIN } else { ACTIVE }),
            shots,
            fired: Cell::new(false),
            mode,
            func: RefCell::new(func),
            shared,
            signal: Rc::downgrade(self.inner()) as Weak<dyn Owner>,
            receiver: None,
        });
        self.insert(slot, false)
    }

    /// Connects a slot bound to `receiver` (see [`connect_to`](Self::connect_to)): an
    /// ordinary slot, [`PLAIN`] when direct, whose closure holds only a `Weak` to the
    /// receiver and disconnects the slot when it finds the receiver gone. So the hot loop
    /// has no receiver-bound case to test.
    pub(crate) fn add_bound<R: 'static>(
        &self,
        mode: Mode<T>,
        receiver: &Rc<R>,
        mut slot: impl FnMut(&R, &T) + 'static,
    ) -> Connection {
        let plain = matches!(mode, Mode::Direct);
        let bound = Rc::downgrade(receiver);
        let erased: Weak<dyn Any> = bound.clone();
        let signal = Rc::downgrade(self.inner()) as Weak<dyn Owner>;
        let slot = Rc::new_cyclic(|me: &Weak<Slot<T>>| {
            let me = me.clone();
            Slot {
                state: Cell::new(if plain { ACTIVE | PLAIN } else { ACTIVE }),
                shots: Shots::Every,
                fired: Cell::new(false),
                mode,
                func: RefCell::new(Box::new(move |value: &T| match bound.upgrade() {
                    Some(receiver) => slot(&receiver, value),
                    None => receiver_gone(&me),
                })),
                shared: None,
                signal,
                receiver: Some(erased),
            }
        });
        self.insert(slot, true)
    }

    /// Appends a new slot to the list (to `pending` during an emission). `sweep`: first drop
    /// the slots whose receiver is gone, if the list has grown enough since the last sweep
    /// (amortised `O(1)`).
    fn insert(&self, slot: Rc<Slot<T>>, sweep: bool) -> Connection {
        let weak: Weak<dyn Link> = Rc::downgrade(&slot) as Weak<Slot<T>>;
        let inner = self.inner();
        let removed = match inner.slots.try_borrow_mut() {
            Ok(mut slots) => {
                let sweeping = sweep && slots.len() >= inner.sweep_at.get();
                if sweeping {
                    for dead in slots.iter().filter(|s| !s.receiver_alive()) {
                        dead.deactivate();
                        inner.mark_deferred();
                    }
                }
                // Slots pending from an emission a panic cut short go first.
                let removed = inner.settle_locked(&mut slots);
                if sweeping {
                    inner.sweep_at.set((2 * slots.len()).max(SWEEP_MIN));
                }
                slots.push(slot);
                removed
            }
            Err(_) => {
                // An emission is walking the list: not called by it; appended when it ends.
                inner.pending.borrow_mut().push(slot);
                inner.mark_deferred();
                Vec::new()
            }
        };
        // Dropped after the borrow ends: a slot's captured state may use this signal.
        drop(removed);
        Connection::new(weak)
    }

    /// Connects a slot, called directly on every emission (Qt's `AutoConnection`, which is
    /// always direct here because the slot lives on the signal's thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let clicked = cute_core::Signal::<()>::new();
    /// clicked.connect(|_| println!("clicked"));
    /// clicked.emit(&());
    /// ```
    #[doc(alias = "QObject::connect")]
    pub fn connect<F: FnMut(&T) + 'static>(&self, slot: F) -> Connection {
        self.add(Shots::Every, Mode::Direct, Box::new(slot))
    }

    /// Connects a slot with an explicit [`ConnectionType`].
    ///
    /// `Queued` runs the slot on a later loop round with a clone of the value, so `T` must
    /// be `Clone` for this form.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use cute_core::{ConnectionType, EventLoop, Signal};
    ///
    /// let sig = Signal::<String>::new();
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// let l = log.clone();
    /// sig.connect_with(ConnectionType::Queued, move |s: &String| l.borrow_mut().push(s.clone()));
    /// sig.emit(&"hello".to_string());
    /// assert!(log.borrow().is_empty()); // not yet: queued
    /// EventLoop::process_events(Duration::ZERO);
    /// assert_eq!(*log.borrow(), ["hello"]);
    /// ```
    pub fn connect_with<F: FnMut(&T) + 'static>(&self, kind: ConnectionType, slot: F) -> Connection
    where
        T: Clone,
    {
        self.add(Shots::Every, mode_for(kind), Box::new(slot))
    }

    /// Connects a slot that runs once: it is disconnected when the signal is next emitted,
    /// before it runs (Qt's `SingleShotConnection`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let sig = cute_core::Signal::<u8>::new();
    /// let hits = Rc::new(Cell::new(0));
    /// let h = hits.clone();
    /// sig.connect_once(move |_| h.set(h.get() + 1));
    /// sig.emit(&1);
    /// sig.emit(&2);
    /// assert_eq!(hits.get(), 1);
    /// assert_eq!(sig.receivers(), 0);
    /// ```
    pub fn connect_once<F: FnOnce(&T) + 'static>(&self, slot: F) -> Connection {
        self.add(Shots::Once, Mode::Direct, once_fn(slot))
    }

    /// Connects a re-entrant slot: an `Fn` that is called directly on every emission, even
    /// while it is already running. Use it for a slot that runs a nested [`EventLoop`]
    /// (Qt's synchronous-wait idiom) and must still receive this signal's emissions
    /// meanwhile, or that emits its own signal recursively and wants to see it. An `FnMut`
    /// slot connected with [`connect`](Self::connect) cannot be re-entered, so such an
    /// emission skips it (as a recursive emission does). Its state lives in `Cell`s or
    /// `RefCell`s; it must not hold a `RefCell` borrow across anything that can emit.
    ///
    /// [`EventLoop`]: crate::EventLoop
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use cute_core::Signal;
    ///
    /// let depth = Rc::new(Signal::<u32>::new());
    /// let seen = Rc::new(Cell::new(0));
    /// let (d, s) = (Rc::downgrade(&depth), seen.clone());
    /// depth.connect_reentrant(move |&n| {
    ///     s.set(s.get() + 1);
    ///     if n > 0 {
    ///         d.upgrade().unwrap().emit(&(n - 1)); // re-enters this slot
    ///     }
    /// });
    /// depth.emit(&3);
    /// assert_eq!(seen.get(), 4);
    /// ```
    pub fn connect_reentrant<F: Fn(&T) + 'static>(&self, slot: F) -> Connection {
        self.add_slot(Shots::Every, Mode::Direct, Box::new(|_: &T| {}), Some(Box::new(slot)))
    }

    /// [`connect_once`](Self::connect_once) with an explicit [`ConnectionType`].
    pub fn connect_once_with<F: FnOnce(&T) + 'static>(&self, kind: ConnectionType, slot: F) -> Connection
    where
        T: Clone,
    {
        self.add(Shots::Once, mode_for(kind), once_fn(slot))
    }

    /// Calls the connected slots in connection order with `value` (Qt's `emit`).
    #[inline]
    pub fn emit(&self, value: &T) {
        if let Some(inner) = self.inner.get() {
            inner.emit(value);
        }
    }

    /// Disconnects every slot. Emissions in progress call no further slots.
    pub fn disconnect_all(&self) {
        let Some(inner) = self.inner.get() else { return };
        for slot in inner.slots.borrow().iter().chain(inner.pending.borrow().iter()) {
            slot.deactivate();
        }
        inner.cancel_scheduled_once();
        inner.remove();
    }

    /// The number of connected slots (Qt's `receivers()`). Slots bound to a receiver that
    /// is gone ([`connect_to`](Self::connect_to)) are not counted, even before the next
    /// emission frees them.
    pub fn receivers(&self) -> usize {
        let Some(inner) = self.inner.get() else { return 0 };
        let listed =
            |slots: &Vec<Rc<Slot<T>>>| slots.iter().filter(|s| s.is_listed() && s.receiver_alive()).count();
        listed(&inner.slots.borrow()) + listed(&inner.pending.borrow())
    }

    /// Blocks (`true`) or unblocks (`false`) the signal; returns whether it was blocked
    /// before (Qt's `QObject::blockSignals`). While blocked, [`emit`](Self::emit) calls no
    /// slot and queues nothing: the emissions are dropped, not delivered later, as in Qt.
    /// That includes values from other threads that arrive through an [`Emitter`] while
    /// the signal is blocked. Queued calls posted before the signal was blocked still run.
    /// An emission already in progress when a slot blocks the signal goes on to its end.
    ///
    /// Qt blocks every signal of an object at once; here each signal is blocked on its
    /// own. [`SignalBlocker`](crate::SignalBlocker) blocks for a scope and restores the
    /// previous state.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let value_changed = cute_core::Signal::<i32>::new();
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// value_changed.connect(move |v| s.set(*v));
    /// assert!(!value_changed.block_signals(true));
    /// value_changed.emit(&1); // dropped
    /// assert!(value_changed.signals_blocked());
    /// assert!(value_changed.block_signals(false));
    /// value_changed.emit(&2);
    /// assert_eq!(seen.get(), 2);
    /// ```
    #[doc(alias = "blockSignals")]
    #[doc(alias = "QObject::blockSignals")]
    pub fn block_signals(&self, block: bool) -> bool {
        if !block && self.inner.get().is_none() {
            return false; // never blocked: no need to allocate
        }
        let was = self.inner().set_blocked(block);
        if was != block {
            log::trace!("signal {}", if block { "blocked" } else { "unblocked" });
        }
        was
    }

    /// Whether the signal is blocked ([`block_signals`](Self::block_signals); Qt's
    /// `signalsBlocked`).
    #[doc(alias = "signalsBlocked")]
    pub fn signals_blocked(&self) -> bool {
        self.inner.get().is_some_and(|inner| inner.flags.get() & BLOCKED != 0)
    }

    /// A `Send + Clone` handle whose [`emit`](Emitter::emit) queues the value to this
    /// signal's thread, where the signal is emitted on the next loop round. This is how
    /// another thread (a worker, a [`Thread`](crate::Thread)) signals an object.
    ///
    /// Values sent through the emitters of one signal arrive in the order each sending
    /// thread sent them; each is delivered exactly once while the signal lives. An
    /// emission racing with the end of the signal (its drop, or its thread ending) may be
    /// accepted and then dropped with the signal.
    ///
    /// Delivery is batched per signal: one loop message drains every value queued on the
    /// signal so far. So values of one signal never arrive later than closures posted (from
    /// the same thread) after them, but may overtake closures posted *before* them while an
    /// earlier value of the same signal is still pending. To order two kinds of message
    /// strictly, send both through one signal (an enum) or both through
    /// [`LoopHandle::post`](crate::LoopHandle::post).
    ///
    /// A value is emitted like any other when it is drained on the loop: a receiver-bound
    /// slot ([`connect_to`](Self::connect_to)) gets it if its receiver is alive then, and a
    /// value drained while the signal is [blocked](Self::block_signals) is dropped.
    ///
    /// # Panics
    ///
    /// If this thread's event loop cannot be created (file descriptors exhausted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{Signal, SignalSpy};
    ///
    /// let progress = Signal::<u32>::new();
    /// let spy = SignalSpy::new(&progress);
    /// let emitter = progress.emitter();
    /// std::thread::spawn(move || emitter.emit(100).unwrap());
    /// assert!(spy.wait(Duration::from_secs(5)));
    /// assert_eq!(spy.take_first(), Some(100));
    /// ```
    pub fn emitter(&self) -> Emitter<T>
    where
        T: Send,
    {
        let inner = self.inner();
        let mut source = inner.source.borrow_mut();
        source.get_or_insert_with(|| EmitterParts::register(Rc::downgrade(inner))).emitter()
    }
}

pub(crate) fn mode_for<T: Clone>(kind: ConnectionType) -> Mode<T> {
    match kind {
        ConnectionType::Auto | ConnectionType::Direct => Mode::Direct,
        ConnectionType::Queued => Mode::Queued(T::clone),
    }
}

fn once_fn<T: 'static, F: FnOnce(&T) + 'static>(slot: F) -> SlotFn<T> {
    let mut slot = Some(slot);
    Box::new(move |v: &T| {
        if let Some(f) = slot.take() {
            f(v)
        }
    })
}
