//! Receiver-bound connections ([`Signal::connect_to`]): Qt's context object, for slots that
//! are methods of an object held in an `Rc`.

use std::rc::Rc;

use crate::connection::Connection;
use crate::signal::{ConnectionType, Mode, Signal, mode_for};

impl<T: 'static> Signal<T> {
    /// Connects a slot bound to `receiver`, called with the receiver and the value on every
    /// emission while the receiver lives (Qt's `connect(sender, signal, context, functor)`,
    /// PyQt's bound-method slot `sig.connect(self.on_x)`).
    ///
    /// The slot holds only a `Weak` to the receiver, so an object can connect its own
    /// methods to signals it owns (its manager's, its timer's) without a reference cycle,
    /// and without an `upgrade` in every slot. A method `fn on_x(&self, value: &T)`
    /// connects in one line: `signal.connect_to(&this, Self::on_x)`. (The method takes
    /// `&T` exactly: `&String` for a `Signal<String>`, where clippy's `ptr_arg` lint would
    /// suggest `&str`; allow that lint on such methods.)
    ///
    /// Once the receiver is dropped the slot is never called again, and the connection is
    /// disconnected: [`Connection::is_connected`] and [`receivers`](Self::receivers) say
    /// so at once, and the slot's closure (with what it captured) is freed at the next
    /// emission at the latest (or the next receiver-bound connect to this signal, once its
    /// list has grown; or [`disconnect`](Connection::disconnect),
    /// [`disconnect_all`](Self::disconnect_all), or dropping the signal).
    ///
    /// Dropping the receiver inside a slot is safe, including inside the receiver's own
    /// slot: the running slot finishes with its own strong reference, and the receiver's
    /// later slots in the same emission are skipped.
    ///
    /// # Threading
    ///
    /// The receiver stays on the signal's thread (nothing here needs it to be `Send`).
    /// Another thread reaches it through the signal's [`Emitter`](crate::Emitter): the
    /// value is emitted on the signal's loop, where the receiver-bound slot runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use cute_core::Signal;
    ///
    /// struct Manager {
    ///     finished: Signal<String>,
    /// }
    ///
    /// struct Example {
    ///     nam: Manager,
    ///     log: RefCell<Vec<String>>,
    /// }
    ///
    /// impl Example {
    ///     fn new() -> Rc<Example> {
    ///         let this = Rc::new(Example {
    ///             nam: Manager { finished: Signal::new() },
    ///             log: RefCell::default(),
    ///         });
    ///         // self.nam.finished.connect(self.on_finished)
    ///         this.nam.finished.connect_to(&this, Self::on_finished);
    ///         this
    ///     }
    ///
    ///     fn on_finished(&self, url: &String) {
    ///         self.log.borrow_mut().push(url.clone());
    ///     }
    /// }
    ///
    /// let ex = Example::new();
    /// ex.nam.finished.emit(&"https://example.com".to_string());
    /// assert_eq!(*ex.log.borrow(), ["https://example.com"]);
    ///
    /// // The receiver going away disconnects it.
    /// let signal = Signal::<i32>::new();
    /// let receiver = Rc::new(RefCell::new(Vec::new()));
    /// let connection = signal.connect_to(&receiver, |r, v| r.borrow_mut().push(*v));
    /// signal.emit(&1);
    /// drop(receiver);
    /// assert!(!connection.is_connected());
    /// assert_eq!(signal.receivers(), 0);
    /// signal.emit(&2); // calls nothing; frees the slot
    /// ```
    #[doc(alias = "QObject::connect")]
    #[doc(alias = "context")]
    pub fn connect_to<R, F>(&self, receiver: &Rc<R>, slot: F) -> Connection
    where
        R: 'static,
        F: FnMut(&R, &T) + 'static,
    {
        self.add_bound(Mode::Direct, receiver, slot)
    }

    /// [`connect_to`](Self::connect_to) with an explicit [`ConnectionType`].
    ///
    /// A `Queued` slot runs on a later loop round with a clone of the value, if the
    /// receiver is still alive then: a receiver dropped between the emission and the
    /// delivery is not called (Qt drops such a call too).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use cute_core::{ConnectionType, EventLoop, Signal};
    ///
    /// let sig = Signal::<u32>::new();
    /// let total = Rc::new(Cell::new(0));
    /// sig.connect_to_with(ConnectionType::Queued, &total, |t, v| t.set(t.get() + v));
    /// sig.emit(&5);
    /// assert_eq!(total.get(), 0); // not yet: queued
    /// EventLoop::process_events(Duration::ZERO);
    /// assert_eq!(total.get(), 5);
    /// ```
    #[doc(alias = "QObject::connect")]
    pub fn connect_to_with<R, F>(&self, kind: ConnectionType, receiver: &Rc<R>, slot: F) -> Connection
    where
        T: Clone,
        R: 'static,
        F: FnMut(&R, &T) + 'static,
    {
        self.add_bound(mode_for(kind), receiver, slot)
    }
}
