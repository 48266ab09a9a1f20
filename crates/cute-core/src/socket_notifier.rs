//! [`SocketNotifier`] (Qt's `QSocketNotifier`): a signal when a file descriptor is ready,
//! level-triggered as in Qt, several notifiers (read, write, exception) on one descriptor.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

use mio::Interest;
use mio::unix::SourceFd;

use crate::Signal;
use crate::io::IoWatcher;
use crate::readiness::Readiness;

/// What a [`SocketNotifier`] watches for (Qt's `QSocketNotifier::Type`).
#[doc(alias = "QSocketNotifier::Type")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketNotifierType {
    /// Data to read, a connection to accept, the end of the stream, or an error.
    Read,
    /// Room to write, or an error.
    Write,
    /// Out-of-band (priority) data.
    Exception,
}

/// Emits [`activated`](Self::activated) on the loop when a file descriptor is ready to be
/// read, written, or has exceptional data (Qt's `QSocketNotifier`): for sockets, pipes,
/// terminals and anything else the poller takes, owned by the application.
///
/// As in Qt, it is **level-triggered**: while the descriptor stays ready (data left
/// unread), `activated` is emitted again each round; read what is there in the slot, or
/// [`set_enabled(false)`](Self::set_enabled) until you will. Several notifiers may watch
/// one descriptor (a read and a write notifier, say); each is enabled on its own, and a
/// disabled notifier costs the loop nothing. A notifier may be dropped at any time, in its
/// own slot too. The descriptor is not closed by the notifier.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use cute_core::{CoreApplication, SocketNotifier, SocketNotifierType, Timer};
///
/// let app = CoreApplication::new();
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// ours.set_nonblocking(true).unwrap();
/// let notifier = SocketNotifier::new(ours.as_raw_fd(), SocketNotifierType::Read).unwrap();
/// notifier.activated().connect(move |_fd| {
///     let mut line = [0u8; 16];
///     let n = (&ours).read(&mut line).unwrap();
///     println!("got {:?}", String::from_utf8_lossy(&line[..n]));
///     CoreApplication::quit();
/// });
/// theirs.write_all(b"hello").unwrap();
/// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
/// assert_eq!(app.exec(), 0);
/// ```
#[doc(alias = "QSocketNotifier")]
pub struct SocketNotifier {
    inner: Rc<Notifier>,
}

struct Notifier {
    fd: RawFd,
    kind: SocketNotifierType,
    enabled: Cell<bool>,
    activated: Signal<RawFd>,
}

/// The notifiers of one descriptor, and its registration with the loop.
#[derive(Default)]
struct Watched {
    notifiers: Vec<Weak<Notifier>>,
    /// Registered with this interest, while some notifier is enabled.
    watcher: Option<(IoWatcher, Interest)>,
}

thread_local! {
    /// This thread's watched descriptors.
    static WATCHED: RefCell<HashMap<RawFd, Watched>> = RefCell::new(HashMap::new());
}

impl fmt::Debug for SocketNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketNotifier")
            .field("socket", &self.inner.fd)
            .field("type", &self.inner.kind)
            .field("enabled", &self.inner.enabled.get())
            .finish()
    }
}

impl SocketNotifier {
    /// A notifier for `socket` on the current thread's loop, enabled.
    ///
    /// # Errors
    ///
    /// What the poller says: `socket` is not a valid descriptor, or it cannot be polled
    /// (a regular file).
    pub fn new(socket: RawFd, kind: SocketNotifierType) -> io::Result<SocketNotifier> {
        let inner =
            Rc::new(Notifier { fd: socket, kind, enabled: Cell::new(true), activated: Signal::new() });
        WATCHED.with(|w| w.borrow_mut().entry(socket).or_default().notifiers.push(Rc::downgrade(&inner)));
        if let Err(e) = update(socket) {
            forget(&inner);
            return Err(e);
        }
        Ok(SocketNotifier { inner })
    }

    /// Emitted with the descriptor when it is ready for what the notifier watches.
    pub fn activated(&self) -> &Signal<RawFd> {
        &self.inner.activated
    }

    /// The descriptor watched (Qt's `socket`).
    pub fn socket(&self) -> RawFd {
        self.inner.fd
    }

    /// What it watches for (Qt's `type`).
    pub fn kind(&self) -> SocketNotifierType {
        self.inner.kind
    }

    /// Whether it is enabled (Qt's `isEnabled`).
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.get()
    }

    /// Enables or disables it (Qt's `setEnabled`): a disabled notifier does not emit and
    /// the loop stops watching for what only it wanted.
    pub fn set_enabled(&self, enabled: bool) {
        if self.inner.enabled.replace(enabled) != enabled
            && let Err(e) = update(self.inner.fd)
        {
            log::warn!("cute: socket notifier for {}: {e}", self.inner.fd);
        }
    }
}

impl Drop for SocketNotifier {
    fn drop(&mut self) {
        forget(&self.inner);
    }
}

/// Removes a notifier from its descriptor's list, and the descriptor's registration when
/// it was the last.
fn forget(notifier: &Rc<Notifier>) {
    let fd = notifier.fd;
    let removed = WATCHED.try_with(|w| {
        let mut watched = w.borrow_mut();
        let entry = watched.get_mut(&fd)?;
        entry.notifiers.retain(|n| n.strong_count() > 0 && !std::ptr::eq(n.as_ptr(), Rc::as_ptr(notifier)));
        if entry.notifiers.is_empty() { watched.remove(&fd) } else { None }
    });
    match removed {
        Ok(Some(entry)) => {
            if let Some((watcher, _)) = entry.watcher {
                let _ = watcher.deregister(&mut SourceFd(&fd));
            }
        }
        Ok(None) => {
            let _ = update(fd);
        }
        Err(_) => {}
    }
}

/// The interest the enabled notifiers of `fd` want.
fn wanted(notifiers: &[Weak<Notifier>]) -> Option<Interest> {
    notifiers
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|n| n.enabled.get())
        .map(|n| match n.kind {
            SocketNotifierType::Read => Interest::READABLE,
            SocketNotifierType::Write => Interest::WRITABLE,
            SocketNotifierType::Exception => Interest::PRIORITY,
        })
        .reduce(|a, b| a | b)
}

/// Registers, re-registers or deregisters `fd` for what its notifiers want now.
fn update(fd: RawFd) -> io::Result<()> {
    WATCHED.with(|w| {
        let mut watched = w.borrow_mut();
        let Some(entry) = watched.get_mut(&fd) else { return Ok(()) };
        match (wanted(&entry.notifiers), entry.watcher.as_mut()) {
            (None, None) => Ok(()),
            (None, Some(_)) => {
                let (watcher, _) = entry.watcher.take().expect("checked");
                watcher.deregister(&mut SourceFd(&fd))
            }
            (Some(interest), Some((watcher, current))) => {
                if *current != interest {
                    watcher.reregister(&mut SourceFd(&fd), interest)?;
                    *current = interest;
                }
                Ok(())
            }
            (Some(interest), None) => {
                let watcher = IoWatcher::new(&mut SourceFd(&fd), interest, move |ready| activate(fd, ready))?;
                entry.watcher = Some((watcher, interest));
                Ok(())
            }
        }
    })
}

/// `fd` is ready: emit the enabled notifiers it concerns, then ask the poller to report
/// what still holds (level-triggered, as Qt's notifiers are).
fn activate(fd: RawFd, ready: Readiness) {
    let notifiers: Vec<Rc<Notifier>> = WATCHED.with(|w| {
        w.borrow()
            .get(&fd)
            .map(|e| e.notifiers.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    });
    for notifier in &notifiers {
        let concerned = match notifier.kind {
            SocketNotifierType::Read => ready.readable || ready.read_closed || ready.error,
            SocketNotifierType::Write => ready.writable || ready.write_closed || ready.error,
            SocketNotifierType::Exception => ready.priority,
        };
        // Disabled (or dropped) by an earlier slot of this round: not any more.
        if concerned && notifier.enabled.get() && Rc::strong_count(notifier) > 1 {
            notifier.activated.emit(&fd);
        }
    }
    drop(notifiers);
    WATCHED.with(|w| {
        if let Some(Watched { watcher: Some((watcher, interest)), .. }) = w.borrow().get(&fd)
            && let Err(e) = watcher.rearm(&mut SourceFd(&fd), *interest)
        {
            log::debug!("cute: re-arming the notifier for {fd}: {e}");
        }
    });
}
