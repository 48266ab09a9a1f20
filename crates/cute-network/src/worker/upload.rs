//! The request body as hyper sends it, reporting upload progress to the loop.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cute_core::Emitter;
use http_body::{Body, Frame, SizeHint};

use crate::protocol::{Event, ReplyEvent};

/// A body is handed to hyper in pieces of at most this size, so progress can be reported
/// as it goes out.
const PIECE: usize = 64 * 1024;

/// Progress is reported at most this often (Qt's throttle), and at the end.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where upload progress goes.
#[derive(Clone)]
pub(crate) struct Progress {
    pub(crate) id: u64,
    pub(crate) events: Emitter<Event>,
}

/// A request body (possibly empty), sent in pieces.
pub(crate) struct UploadBody {
    data: Bytes,
    progress: Option<Progress>,
    sent: usize,
    reported: usize,
    reported_at: Option<Instant>,
}

impl UploadBody {
    pub(crate) fn empty() -> Self {
        UploadBody { data: Bytes::new(), progress: None, sent: 0, reported: 0, reported_at: None }
    }

    /// `data`, reporting progress to `progress`.
    pub(crate) fn new(data: &Arc<Vec<u8>>, progress: Progress) -> Self {
        // A view of the shared body: no copy however often the request is sent again.
        let data = Bytes::from_owner(SharedBody(data.clone()));
        UploadBody { data, progress: Some(progress), sent: 0, reported: 0, reported_at: None }
    }

    fn report(&mut self) {
        let total = self.data.len();
        let last = self.sent == total && self.reported < total;
        let due =
            self.sent > self.reported && self.reported_at.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
        if let Some(progress) = &self.progress
            && (last || due)
        {
            self.reported = self.sent;
            self.reported_at = Some(Instant::now());
            let event = ReplyEvent::UploadProgress { sent: self.sent as u64, total: total as u64 };
            // A vanished loop shows as a failed request elsewhere; the body may go on.
            let _ = progress.events.emit(Event::reply(progress.id, event));
        }
    }
}

/// A shared request body as the owner of the bytes a [`Bytes`] shows.
struct SharedBody(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Body for UploadBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.sent == this.data.len() {
            return Poll::Ready(None);
        }
        let end = (this.sent + PIECE).min(this.data.len());
        let piece = this.data.slice(this.sent..end);
        this.sent = end;
        this.report();
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.data.len()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.data.len() - self.sent) as u64)
    }
}
