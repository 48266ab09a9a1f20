//! The request body as ureq reads it, reporting upload progress to the loop.

use std::io::{self, Read};
use std::sync::Arc;

use cute_core::Emitter;

use crate::protocol::{Event, ReplyEvent};

/// Progress is reported at least every this many bytes (and at the end).
const PROGRESS_STEP: usize = 64 * 1024;

/// A request body being sent.
pub(crate) struct Upload {
    data: Arc<Vec<u8>>,
    position: usize,
    reported: usize,
    id: u64,
    events: Emitter<Event>,
}

impl Upload {
    pub(crate) fn new(id: u64, events: Emitter<Event>, data: Arc<Vec<u8>>) -> Self {
        Upload { data, position: 0, reported: 0, id, events }
    }
}

impl Read for Upload {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        let total = self.data.len();
        if self.position == total && self.reported < total || self.position - self.reported >= PROGRESS_STEP {
            self.reported = self.position;
            let progress = ReplyEvent::UploadProgress { sent: self.position as u64, total: total as u64 };
            // A vanished loop shows as a failed request elsewhere; the body may go on.
            let _ = self.events.emit(Event::reply(self.id, progress));
        }
        Ok(n)
    }
}
