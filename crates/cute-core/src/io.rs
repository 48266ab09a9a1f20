//! I/O sources on the loop: any [`mio::event::Source`] (a socket, a pipe, a raw file
//! descriptor through [`mio::unix::SourceFd`]) registered with the thread's poller, its
//! readiness handed to a closure on the loop's thread ([`IoWatcher`]). The loop's own
//! sockets, [`SocketNotifier`](crate::SocketNotifier) and cute-network's sockets are built
//! on it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use crate::dispatcher::{self, IoHandler, LoopCore};
use crate::readiness::Readiness;

/// A source registered with the current thread's loop: its readiness runs `handler` on the
/// loop's thread, between the loop's other events (calloop's `Generic` source, the
/// machinery under Qt's `QSocketNotifier`).
///
/// Readiness is **edge-triggered**, as mio reports it: the handler hears of a change once,
/// and should read (or write) until the call would block; data left unread is not reported
/// again until more arrives. [`rearm`](Self::rearm) asks the poller to report readiness
/// that still holds ([`SocketNotifier`](crate::SocketNotifier) uses it for Qt's
/// level-triggered behaviour).
///
/// Dropping the watcher stops the handler at once (events already polled are dropped
/// too); the source stays registered with the poller until it is
/// [`deregister`](Self::deregister)ed or closed (mio's sockets deregister themselves when
/// dropped). A handler may drop its own watcher, register others, or run a nested loop;
/// readiness that arrives while the handler runs is held and delivered after it returns.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use cute_core::{CoreApplication, IoWatcher, Timer};
/// use cute_core::mio::{Interest, unix::SourceFd};
///
/// let app = CoreApplication::new();
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// ours.set_nonblocking(true).unwrap();
/// let fd = ours.as_raw_fd();
/// let watcher = IoWatcher::new(&mut SourceFd(&fd), Interest::READABLE, move |ready| {
///     if ready.readable {
///         let mut buf = [0u8; 64];
///         let n = (&ours).read(&mut buf).unwrap_or(0);
///         assert_eq!(&buf[..n], b"ping");
///         CoreApplication::quit();
///     }
/// })
/// .unwrap();
/// theirs.write_all(b"ping").unwrap();
/// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
/// assert_eq!(app.exec(), 0);
/// drop(watcher);
/// ```
pub struct IoWatcher {
    token: usize,
    core: Weak<LoopCore>,
    /// Shared with the loop's registry, which calls it.
    slot: Rc<Slot>,
}

/// A watcher's handler, as the loop holds it.
struct Slot {
    handler: RefCell<Box<dyn FnMut(Readiness)>>,
    /// Readiness that came while the handler ran (delivered when it returns).
    held: Cell<Readiness>,
    /// The watcher was dropped: never call the handler again.
    gone: Cell<bool>,
}

impl IoHandler for Slot {
    fn ready(&self, readiness: Readiness) {
        if self.gone.get() {
            return;
        }
        let Ok(mut handler) = self.handler.try_borrow_mut() else {
            // The handler is running further up the stack (a nested loop): after it.
            self.held.set(self.held.get().union(readiness));
            return;
        };
        handler(readiness);
        loop {
            let held = self.held.take();
            if held.is_empty() || self.gone.get() {
                break;
            }
            handler(held);
        }
    }
}

impl fmt::Debug for IoWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoWatcher").field("token", &self.token).finish()
    }
}

impl IoWatcher {
    /// Registers `source` with the current thread's loop for `interest`; `handler` runs
    /// with each readiness it reports.
    ///
    /// # Errors
    ///
    /// What the poller says: the source is already registered (with this or another
    /// loop), or the system is out of resources.
    pub fn new(
        source: &mut (impl mio::event::Source + ?Sized),
        interest: mio::Interest,
        handler: impl FnMut(Readiness) + 'static,
    ) -> io::Result<IoWatcher> {
        let core = dispatcher::try_current()?;
        let slot = Rc::new(Slot {
            handler: RefCell::new(Box::new(handler)),
            held: Cell::new(Readiness::default()),
            gone: Cell::new(false),
        });
        let token = core.register_io(source, interest, slot.clone())?;
        Ok(IoWatcher { token, core: Rc::downgrade(&core), slot })
    }

    /// Changes what the source is watched for. Readiness that still holds is reported
    /// again.
    ///
    /// # Errors
    ///
    /// What the poller says (the source is not registered, the loop is gone).
    pub fn reregister(
        &self,
        source: &mut (impl mio::event::Source + ?Sized),
        interest: mio::Interest,
    ) -> io::Result<()> {
        self.core()?.reregister_io(self.token, source, interest)
    }

    /// Asks the poller to report readiness that still holds (the same interest again):
    /// level-triggered behaviour for one round.
    ///
    /// # Errors
    ///
    /// As [`reregister`](Self::reregister).
    pub fn rearm(
        &self,
        source: &mut (impl mio::event::Source + ?Sized),
        interest: mio::Interest,
    ) -> io::Result<()> {
        self.reregister(source, interest)
    }

    /// Takes the source off the poller; the watcher stays, and [`reregister`] is not
    /// possible afterwards (make a new watcher).
    ///
    /// [`reregister`]: Self::reregister
    ///
    /// # Errors
    ///
    /// What the poller says (the source was not registered).
    pub fn deregister(&self, source: &mut (impl mio::event::Source + ?Sized)) -> io::Result<()> {
        self.core()?.deregister_io(source)
    }

    fn core(&self) -> io::Result<Rc<LoopCore>> {
        self.core.upgrade().ok_or_else(|| io::Error::other("the thread's event loop is gone"))
    }

    /// How many sources the current thread's loop watches.
    pub fn count() -> usize {
        dispatcher::existing().map_or(0, |core| core.io_sources())
    }
}

impl Drop for IoWatcher {
    fn drop(&mut self) {
        self.slot.gone.set(true);
        if let Some(core) = self.core.upgrade() {
            core.forget_io(self.token);
        }
    }
}
