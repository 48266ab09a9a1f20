//! The request body as ureq reads it, reporting upload progress to the loop.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cute_core::Emitter;

use crate::protocol::{Event, ReplyEvent};

/// Progress is reported at most this often (Qt's throttle), and at the end.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// A request body being sent.
pub(crate) struct Upload {
    data: Arc<Vec<u8>>,
    position: usize,
    reported: usize,
    reported_at: Option<Instant>,
    id: u64,
    events: Emitter<Event>,
}

impl Upload {
    pub(crate) fn new(id: u64, events: Emitter<Event>, data: Arc<Vec<u8>>) -> Self {
        Upload { data, position: 0, reported: 0, reported_at: None, id, events }
    }
}

impl Read for Upload {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        let total = self.data.len();
        let last = self.position == total && self.reported < total;
        let due = self.position > self.reported
            && self.reported_at.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
        if last || due {
            self.reported = self.position;
            self.reported_at = Some(Instant::now());
            let progress = ReplyEvent::UploadProgress { sent: self.position as u64, total: total as u64 };
            // A vanished loop shows as a failed request elsewhere; the body may go on.
            let _ = self.events.emit(Event::reply(self.id, progress));
        }
        Ok(n)
    }
}
