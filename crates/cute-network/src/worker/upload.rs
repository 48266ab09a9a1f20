//! The request body as hyper sends it, reporting upload progress to the loop.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cute_core::Emitter;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;

use crate::body::{PIECE, Payload, Stream};

use crate::protocol::{Event, ReplyEvent};

/// Progress is reported at most this often (Qt's throttle), and at the end.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where upload progress goes.
#[derive(Clone)]
pub(crate) struct Progress {
    pub(crate) id: u64,
    pub(crate) events: Emitter<Event>,
    /// Every step, not at most one each [`PROGRESS_INTERVAL`] (Qt's
    /// `EmitAllUploadProgressSignalsAttribute`).
    pub(crate) all: bool,
}

/// A request body (possibly empty), sent in pieces.
pub(crate) struct UploadBody {
    kind: Kind,
    progress: Option<Progress>,
    /// Bytes sent, and the total if known.
    sent: u64,
    total: Option<u64>,
    reported: u64,
    reported_at: Option<Instant>,
}

enum Kind {
    /// Bytes in memory, sent in slices.
    Bytes(Bytes),
    /// A stream, read a piece at a time on the blocking pool.
    Stream {
        stream: Arc<Stream>,
        generation: u64,
        reading: Option<JoinHandle<io::Result<Option<Bytes>>>>,
        done: bool,
    },
}

impl UploadBody {
    pub(crate) fn empty() -> Self {
        UploadBody::with(Kind::Bytes(Bytes::new()), None, Some(0))
    }

    /// `payload`, reporting progress to `progress`.
    pub(crate) fn new(payload: &Payload, progress: Progress) -> Self {
        match payload {
            // A view of the shared body: no copy however often the request is sent again.
            Payload::Bytes(data) => {
                let total = data.len() as u64;
                UploadBody::with(
                    Kind::Bytes(Bytes::from_owner(SharedBody(data.clone()))),
                    Some(progress),
                    Some(total),
                )
            }
            Payload::Stream(stream) => {
                let generation = stream.begin();
                let kind = Kind::Stream { stream: stream.clone(), generation, reading: None, done: false };
                UploadBody::with(kind, Some(progress), stream.length)
            }
        }
    }

    fn with(kind: Kind, progress: Option<Progress>, total: Option<u64>) -> Self {
        UploadBody { kind, progress, sent: 0, total, reported: 0, reported_at: None }
    }

    fn report(&mut self, last: bool) {
        let last = last && self.reported < self.sent;
        let all = self.progress.as_ref().is_some_and(|p| p.all);
        let due = self.sent > self.reported
            && (all || self.reported_at.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL));
        if let Some(progress) = &self.progress
            && (last || due)
        {
            self.reported = self.sent;
            self.reported_at = Some(Instant::now());
            let event = ReplyEvent::UploadProgress { sent: self.sent, total: self.total };
            // A vanished loop shows as a failed request elsewhere; the body may go on.
            let _ = progress.events.emit(Event::reply(progress.id, event));
        }
    }

    /// A streamed body's read failed: recorded for the reply's error.
    fn failed(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Kind::Stream { stream, done, .. } = &mut self.kind {
            *done = true;
            stream.fail(why.clone());
        }
        Poll::Ready(Some(Err(io::Error::other(why))))
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
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        let piece = match &mut this.kind {
            Kind::Bytes(data) => {
                let at = this.sent as usize;
                if at == data.len() {
                    return Poll::Ready(None);
                }
                let end = (at + PIECE).min(data.len());
                data.slice(at..end)
            }
            Kind::Stream { done: true, .. } => return Poll::Ready(None),
            Kind::Stream { stream, generation, reading, .. } => {
                // With an announced length, no more than that is read.
                let max = this.total.map_or(usize::MAX, |total| {
                    usize::try_from(total.saturating_sub(this.sent)).unwrap_or(usize::MAX)
                });
                let read = reading.get_or_insert_with(|| {
                    let (stream, generation) = (stream.clone(), *generation);
                    tokio::task::spawn_blocking(move || stream.read_piece(generation, max))
                });
                let result = ready!(Pin::new(read).poll(cx));
                *reading = None;
                match result {
                    Ok(Ok(Some(piece))) => {
                        // Read the next piece while hyper writes this one.
                        let left =
                            this.total.map(|total| total.saturating_sub(this.sent + piece.len() as u64));
                        if left != Some(0) {
                            let max =
                                left.map_or(usize::MAX, |left| usize::try_from(left).unwrap_or(usize::MAX));
                            let (stream, generation) = (stream.clone(), *generation);
                            *reading =
                                Some(tokio::task::spawn_blocking(move || stream.read_piece(generation, max)));
                        }
                        piece
                    }
                    Ok(Ok(None)) => {
                        if let Some(total) = this.total
                            && this.sent < total
                        {
                            return this.failed(format!(
                                "The upload data ended after {} of its announced {total} bytes",
                                this.sent
                            ));
                        }
                        if let Kind::Stream { done, .. } = &mut this.kind {
                            *done = true;
                        }
                        this.report(true);
                        return Poll::Ready(None);
                    }
                    Ok(Err(e)) => return this.failed(format!("Reading the upload data failed: {e}")),
                    Err(e) => return this.failed(format!("Reading the upload data failed: {e}")),
                }
            }
        };
        this.sent += piece.len() as u64;
        // The last piece: hyper does not ask again once it has the announced length.
        let end = this.total == Some(this.sent);
        if end && let Kind::Stream { done, .. } = &mut this.kind {
            *done = true;
        }
        this.report(end);
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Bytes(data) => self.sent as usize == data.len(),
            Kind::Stream { done, .. } => *done || self.total == Some(0),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.total {
            Some(total) => SizeHint::with_exact(total.saturating_sub(self.sent)),
            None => SizeHint::default(),
        }
    }
}
