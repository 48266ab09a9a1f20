//! Handles to signal–slot connections ([`Connection`], Qt's `QMetaObject::Connection`, and
//! [`ScopedConnection`], which disconnects when dropped).

use std::fmt;
use std::rc::Weak;

/// Type-erased control over one connection, for [`Connection`]; a signal's slot implements
/// it (so this module does not name the signal above it).
pub(crate) trait Link {
    /// Disconnects; returns whether the slot was connected.
    fn disconnect(&self) -> bool;
    /// Whether the slot is connected (and its receiver, if any, alive).
    fn is_connected(&self) -> bool;
}

/// A handle to one signal–slot connection (Qt's `QMetaObject::Connection`).
///
/// Dropping it does not disconnect (as in Qt); call [`disconnect`](Self::disconnect), or
/// make it a [`ScopedConnection`] with [`scoped`](Self::scoped). It does not keep the
/// signal or the slot alive. `Connection::default()` is connected to nothing.
#[doc(alias = "QMetaObject::Connection")]
#[derive(Clone, Default)]
pub struct Connection {
    link: Option<Weak<dyn Link>>,
}

impl Connection {
    pub(crate) fn new(link: Weak<dyn Link>) -> Self {
        Connection { link: Some(link) }
    }

    /// Disconnects the slot. Returns `true` if it was connected. Safe to call from inside
    /// any slot, including the slot itself, and more than once.
    ///
    /// A slot bound to a receiver that is gone ([`Signal::connect_to`]) counts as
    /// disconnected already: this frees it and returns `false`.
    ///
    /// [`Signal::connect_to`]: crate::Signal::connect_to
    #[doc(alias = "QObject::disconnect")]
    pub fn disconnect(&self) -> bool {
        self.link.as_ref().and_then(Weak::upgrade).is_some_and(|l| l.disconnect())
    }

    /// Whether the slot is still connected: false once disconnected, once its signal is
    /// dropped, and once the receiver of a receiver-bound slot ([`Signal::connect_to`]) is
    /// dropped (even before the next emission frees the slot).
    ///
    /// [`Signal::connect_to`]: crate::Signal::connect_to
    pub fn is_connected(&self) -> bool {
        self.link.as_ref().and_then(Weak::upgrade).is_some_and(|l| l.is_connected())
    }

    /// Makes this a [`ScopedConnection`], which disconnects when dropped (boost.signals2's
    /// `scoped_connection`). [`ScopedConnection::release`] gives the plain handle back.
    ///
    /// # Examples
    ///
    /// ```
    /// let sig = cute_core::Signal::<i32>::new();
    /// {
    ///     let _connection = sig.connect(|v| println!("{v}")).scoped();
    ///     assert_eq!(sig.receivers(), 1);
    /// }
    /// assert_eq!(sig.receivers(), 0);
    /// ```
    #[doc(alias = "scoped_connection")]
    #[must_use = "a scoped connection dropped at once disconnects at once"]
    pub fn scoped(self) -> ScopedConnection {
        ScopedConnection { connection: self }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("connected", &self.is_connected()).finish()
    }
}

/// A [`Connection`] that disconnects its slot when dropped (boost.signals2's
/// `scoped_connection`): keep one in a struct and the slot lives exactly as long as that
/// struct, or in a local to connect for a scope.
///
/// Made by [`Connection::scoped`] or `ScopedConnection::from(connection)`.
/// [`release`](Self::release) turns it back into a plain `Connection`, leaving the slot
/// connected. Dropping it is safe inside a slot of the same signal, including the slot it
/// disconnects.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use cute_core::{ScopedConnection, Signal};
///
/// let sig = Signal::<()>::new();
/// let hits = Rc::new(Cell::new(0));
/// let h = hits.clone();
/// let scoped = ScopedConnection::from(sig.connect(move |_| h.set(h.get() + 1)));
/// sig.emit(&());
/// drop(scoped); // disconnects
/// sig.emit(&());
/// assert_eq!(hits.get(), 1);
///
/// let kept = sig.connect(|_| {}).scoped().release(); // connected for good
/// assert!(kept.is_connected());
/// ```
#[must_use = "a scoped connection dropped at once disconnects at once"]
#[derive(Default)]
pub struct ScopedConnection {
    connection: Connection,
}

impl ScopedConnection {
    /// Gives back the plain [`Connection`], leaving the slot connected: dropping the result
    /// does not disconnect.
    pub fn release(mut self) -> Connection {
        std::mem::take(&mut self.connection)
    }

    /// Disconnects now; see [`Connection::disconnect`].
    pub fn disconnect(&self) -> bool {
        self.connection.disconnect()
    }

    /// See [`Connection::is_connected`].
    pub fn is_connected(&self) -> bool {
        self.connection.is_connected()
    }

    /// The plain handle, for instance to clone it.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
}

impl From<Connection> for ScopedConnection {
    fn from(connection: Connection) -> Self {
        connection.scoped()
    }
}

impl Drop for ScopedConnection {
    fn drop(&mut self) {
        self.connection.disconnect();
    }
}

impl fmt::Debug for ScopedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedConnection").field("connected", &self.is_connected()).finish()
    }
}
