//! [`Readiness`]: what the poller says an I/O source is ready for (plumbing shared by the
//! loop and its sources).

/// What a source is ready for, as the poller reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Reading will not block (data, a connection to accept, or the end of the stream).
    pub readable: bool,
    /// Writing will not block.
    pub writable: bool,
    /// The source has an error pending (read it with `take_error`).
    pub error: bool,
    /// The peer closed its writing half: reads will reach the end.
    pub read_closed: bool,
    /// Writing can no longer succeed (the peer is gone).
    pub write_closed: bool,
    /// Out-of-band or other priority data (Qt's `Exception` notifier type).
    pub priority: bool,
}

impl Readiness {
    pub(crate) fn of(event: &mio::event::Event) -> Readiness {
        Readiness {
            readable: event.is_readable(),
            writable: event.is_writable(),
            error: event.is_error(),
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
            priority: event.is_priority(),
        }
    }

    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Readiness::default()
    }

    /// Both readinesses together.
    pub fn union(self, other: Readiness) -> Readiness {
        Readiness {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
            error: self.error || other.error,
            read_closed: self.read_closed || other.read_closed,
            write_closed: self.write_closed || other.write_closed,
            priority: self.priority || other.priority,
        }
    }
}
