//! The one response body type of the server: a buffer built in advance, pseudo-random bytes
//! generated frame by frame, or frames handed over by a producer task (`/drip`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::shutdown::Shutdown;
use crate::stream::Prng;

/// A response body. Its [`Body::size_hint`] is exact for everything but the chunked
/// `/stream-bytes`, so hyper frames the others with `Content-Length`.
#[derive(Debug)]
pub(crate) struct Payload(Kind);

#[derive(Debug)]
enum Kind {
    /// The whole body (`None` once sent, or when empty).
    Full(Option<Bytes>),
    /// Generated on demand, `chunk` bytes a frame; fails once the server shuts down.
    Generated {
        prng: Prng,
        chunk: usize,
        /// Whether the length is announced (else the body goes out chunked).
        known: bool,
        shutdown: Shutdown,
    },
    /// Frames from a producer task, which must send exactly `remaining` bytes in all.
    Channel { rx: mpsc::Receiver<Bytes>, remaining: u64 },
}

impl Payload {
    /// A body of `data`.
    pub(crate) fn full(data: impl Into<Bytes>) -> Payload {
        let data: Bytes = data.into();
        Payload(Kind::Full((!data.is_empty()).then_some(data)))
    }

    /// No body.
    pub(crate) fn empty() -> Payload {
        Payload(Kind::Full(None))
    }

    /// The bytes of `prng` in frames of `chunk` bytes (clamped to `1..=`[`Prng::BLOCK`]), with
    /// an exact size hint when `known`.
    pub(crate) fn generated(prng: Prng, chunk: usize, known: bool, shutdown: Shutdown) -> Payload {
        Payload(Kind::Generated { prng, chunk: chunk.clamp(1, Prng::BLOCK), known, shutdown })
    }

    /// The frames received on `rx`, `len` bytes in all. Fewer bytes than that (the producer
    /// gave up) end the body with an error, so the client sees a truncated response.
    pub(crate) fn channel(rx: mpsc::Receiver<Bytes>, len: u64) -> Payload {
        Payload(Kind::Channel { rx, remaining: len })
    }
}

/// The error that cuts a body short.
fn cut_short(why: &str) -> io::Error {
    io::Error::other(format!("cute-httpbin: body cut short: {why}"))
}

impl Body for Payload {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let frame = match &mut self.get_mut().0 {
            Kind::Full(data) => data.take().map(Ok),
            Kind::Generated { prng, chunk, shutdown, .. } => {
                if prng.remaining() > 0 && shutdown.is_set() {
                    Some(Err(cut_short("the server is shutting down")))
                } else {
                    prng.next_chunk(*chunk).map(Ok)
                }
            }
            Kind::Channel { rx, remaining } => match rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(data)) => {
                    *remaining = remaining.saturating_sub(data.len() as u64);
                    Some(Ok(data))
                }
                Poll::Ready(None) if *remaining == 0 => None,
                Poll::Ready(None) => Some(Err(cut_short("the producer stopped"))),
            },
        };
        Poll::Ready(frame.map(|result| result.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(data) => data.is_none(),
            Kind::Generated { prng, .. } => prng.remaining() == 0,
            Kind::Channel { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Generated { prng, known: true, .. } => SizeHint::with_exact(prng.remaining()),
            Kind::Generated { known: false, .. } => SizeHint::default(),
            Kind::Channel { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Payload;
    use crate::shutdown;
    use crate::stream::Prng;
    use bytes::Bytes;
    use hyper::body::Body;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    /// Polls `body` once, as hyper would.
    fn poll(body: &mut Payload) -> Poll<Option<std::io::Result<Bytes>>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(body).poll_frame(&mut cx).map(|f| f.map(|r| r.map(|f| f.into_data().unwrap())))
    }

    #[test]
    fn full_bodies_are_one_frame_with_an_exact_size() {
        let mut body = Payload::full(&b"abc"[..]);
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream());
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(d))) if d == "abc"));
        assert!(body.is_end_stream());
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
        assert!(Payload::full(Vec::new()).is_end_stream());
        assert!(Payload::empty().is_end_stream());
    }

    #[test]
    fn generated_bodies_honour_the_chunk_size_and_the_length() {
        let (_trigger, shutdown) = shutdown::channel();
        let mut body = Payload::generated(Prng::new(1, 2500), 1000, false, shutdown);
        assert_eq!(body.size_hint().exact(), None);
        let mut sizes = Vec::new();
        while let Poll::Ready(Some(Ok(data))) = poll(&mut body) {
            sizes.push(data.len());
        }
        assert_eq!(sizes, [1000, 1000, 500]);
        assert!(body.is_end_stream());
    }

    #[test]
    fn generated_bodies_fail_after_shutdown() {
        let (trigger, shutdown) = shutdown::channel();
        let mut body = Payload::generated(Prng::new(1, 1 << 30), 16, true, shutdown);
        assert_eq!(body.size_hint().exact(), Some(1 << 30));
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(d))) if d.len() == 16));
        trigger.trigger();
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Err(_)))));
    }

    #[test]
    fn channel_bodies_fail_when_the_producer_stops_early() {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut body = Payload::channel(rx, 2);
        assert!(poll(&mut body).is_pending());
        tx.try_send(Bytes::from_static(b"*")).unwrap();
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(d))) if d == "*"));
        assert_eq!(body.size_hint().exact(), Some(1));
        drop(tx);
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Err(_)))));

        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut body = Payload::channel(rx, 1);
        tx.try_send(Bytes::from_static(b"*")).unwrap();
        drop(tx);
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        assert!(body.is_end_stream());
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
    }
}
