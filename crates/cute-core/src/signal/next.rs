//! Signals as futures and streams: [`Signal::next`] and [`Signal::stream`].
//!
//! Each connects a slot that clones the emitted value into an inbox shared with the
//! future; the inbox is closed when the slot's closure is dropped without having
//! delivered (the signal was dropped, or its slots disconnected), so nothing awaits a
//! signal that can no longer emit. Dropping the future disconnects the slot.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use super::Signal;
use crate::connection::Connection;

/// What a slot delivered, shared with the future that waits for it.
struct Inbox<T> {
    values: VecDeque<T>,
    /// The slot is gone: nothing more will come.
    closed: bool,
    waker: Option<Waker>,
}

type SharedInbox<T> = Rc<RefCell<Inbox<T>>>;

fn new_inbox<T>() -> SharedInbox<T> {
    Rc::new(RefCell::new(Inbox { values: VecDeque::new(), closed: false, waker: None }))
}

/// Polls an inbox: the oldest value, `None` once it is closed and empty, or pending.
fn poll_inbox<T>(inbox: &SharedInbox<T>, cx: &mut Context<'_>) -> Poll<Option<T>> {
    let mut inbox = inbox.borrow_mut();
    if let Some(value) = inbox.values.pop_front() {
        return Poll::Ready(Some(value));
    }
    if inbox.closed {
        return Poll::Ready(None);
    }
    if !inbox.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        inbox.waker = Some(cx.waker().clone());
    }
    Poll::Pending
}

/// The slot's end of an inbox: pushes values, and closes the inbox when the slot's closure
/// is dropped.
struct Sender<T>(SharedInbox<T>);

impl<T> Sender<T> {
    fn push(&self, value: T) {
        let waker = {
            let mut inbox = self.0.borrow_mut();
            inbox.values.push_back(value);
            inbox.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut inbox = self.0.borrow_mut();
            inbox.closed = true;
            inbox.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: Clone + 'static> Signal<T> {
    /// A future for the signal's next emission: `Some(value)` (a clone), or `None` if the
    /// signal can no longer emit to it (it was dropped, or
    /// [`disconnect_all`](Self::disconnect_all) was called) (Qt has none; qasync code
    /// awaits a signal the same way).
    ///
    /// The slot is connected now, as a single-shot connection, so an emission after this
    /// call and before the first poll is not missed; dropping the future disconnects it.
    /// As any slot connected during an emission, it is not called by that emission. The
    /// future does not borrow the signal.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{Signal, block_on, spawn_local, timeout};
    ///
    /// let progress = Signal::<u32>::new();
    /// let next = progress.next();
    /// assert_eq!(progress.receivers(), 1);
    /// progress.emit(&7);
    /// assert_eq!(block_on(next), Some(7));
    /// assert_eq!(progress.receivers(), 0);
    ///
    /// // From another thread, through an emitter; bounded with a timeout.
    /// let emitter = progress.emitter();
    /// let next = progress.next();
    /// std::thread::spawn(move || emitter.emit(8).unwrap());
    /// assert_eq!(block_on(timeout(Duration::from_secs(10), next)), Ok(Some(8)));
    ///
    /// // A signal that is dropped ends the wait.
    /// let gone = Signal::<u32>::new();
    /// let next = gone.next();
    /// drop(gone);
    /// assert_eq!(block_on(next), None);
    /// ```
    pub fn next(&self) -> NextEmission<T> {
        let inbox = new_inbox();
        let sender = Sender(inbox.clone());
        let connection = self.connect_once(move |value: &T| sender.push(value.clone()));
        NextEmission { inbox, connection }
    }

    /// A stream of the signal's emissions (clones), in order, from now on: `None` once the
    /// signal can no longer emit to it (dropped, or
    /// [`disconnect_all`](Self::disconnect_all)). Implements
    /// [`futures_core::Stream`](https://docs.rs/futures-core/latest/futures_core/stream/trait.Stream.html);
    /// [`SignalStream::next`] awaits one value without other crates.
    ///
    /// Values emitted while nobody polls are buffered, without bound, until they are read.
    /// Dropping the stream disconnects its slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::{Signal, block_on};
    ///
    /// let ticks = Signal::<u32>::new();
    /// let mut stream = ticks.stream();
    /// for n in 1..=3 {
    ///     ticks.emit(&n);
    /// }
    /// let sum = block_on(async {
    ///     let mut sum = 0;
    ///     for _ in 0..3 {
    ///         sum += stream.next().await.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(sum, 6);
    /// drop(stream);
    /// assert_eq!(ticks.receivers(), 0);
    /// ```
    pub fn stream(&self) -> SignalStream<T> {
        let inbox = new_inbox();
        let sender = Sender(inbox.clone());
        let connection = self.connect(move |value: &T| sender.push(value.clone()));
        SignalStream { inbox, connection }
    }
}

/// The future of [`Signal::next`]: the next emission, or `None` if the signal can no
/// longer emit to it. Dropping it disconnects its slot.
#[must_use = "futures do nothing unless awaited; dropping this disconnects its slot"]
pub struct NextEmission<T> {
    inbox: SharedInbox<T>,
    connection: Connection,
}

impl<T> Future for NextEmission<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        poll_inbox(&self.inbox, cx)
    }
}

impl<T> Drop for NextEmission<T> {
    fn drop(&mut self) {
        self.inbox.borrow_mut().waker = None;
        self.connection.disconnect();
    }
}

impl<T> fmt::Debug for NextEmission<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextEmission").field("connected", &self.connection.is_connected()).finish()
    }
}

/// The stream of [`Signal::stream`]. Dropping it disconnects its slot.
#[must_use = "streams do nothing unless polled; dropping this disconnects its slot"]
pub struct SignalStream<T> {
    inbox: SharedInbox<T>,
    connection: Connection,
}

impl<T> SignalStream<T> {
    /// A future for the next value of the stream (what `StreamExt::next` gives, without
    /// the `futures` crate): `None` once the signal can no longer emit to it.
    #[allow(clippy::should_implement_trait)] // a future, not an iterator step (as StreamExt::next)
    pub fn next(&mut self) -> StreamNext<'_, T> {
        StreamNext { stream: self }
    }

    /// The number of values received and not yet read.
    pub fn len(&self) -> usize {
        self.inbox.borrow().values.len()
    }

    /// Whether no value waits to be read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Stream for SignalStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        poll_inbox(&self.inbox, cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let inbox = self.inbox.borrow();
        (inbox.values.len(), if inbox.closed { Some(inbox.values.len()) } else { None })
    }
}

impl<T> Drop for SignalStream<T> {
    fn drop(&mut self) {
        self.inbox.borrow_mut().waker = None;
        self.connection.disconnect();
    }
}

impl<T> fmt::Debug for SignalStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalStream")
            .field("buffered", &self.len())
            .field("connected", &self.connection.is_connected())
            .finish()
    }
}

/// The future of [`SignalStream::next`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct StreamNext<'a, T> {
    stream: &'a mut SignalStream<T>,
}

impl<T> Future for StreamNext<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        poll_inbox(&self.stream.inbox, cx)
    }
}
