//! Emitting a signal from other threads ([`Emitter`], Qt's queued connection across
//! threads): a typed channel per signal, drained on the signal's loop.

use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crossbeam_channel::{Receiver, Sender};

use crate::dispatcher::{self, Message, Source};
use crate::error::PostError;
use crate::event_loop::LoopHandle;

/// Where an emitter's values go on the loop: the signal, which this module knows only
/// through this trait (so the signal stands above it, not beside it).
pub(crate) trait Deliver<T> {
    /// Emits `value` to the slots.
    fn deliver(&self, value: &T);
}

/// The sending half of a signal's emitters, kept by the signal: the typed channel, the
/// drain state, the source's key in its loop's registry, and the loop.
pub(crate) struct EmitterParts<T> {
    tx: Sender<T>,
    flag: Arc<DrainState>,
    key: usize,
    handle: LoopHandle,
}

impl<T: Send + 'static> EmitterParts<T> {
    /// Registers, on the current thread's loop, a source that delivers the values sent
    /// through the returned parts to `target`.
    pub(crate) fn register<S: Deliver<T> + 'static>(target: Weak<S>) -> Self {
        let core = dispatcher::current();
        let (tx, rx) = crossbeam_channel::unbounded();
        let flag = Arc::new(DrainState::default());
        let key = core.register_source(|key| {
            Rc::new(SignalSource { rx, flag: flag.clone(), key, shared: core.shared().clone(), target })
        });
        EmitterParts { tx, flag, key, handle: LoopHandle::from_shared(core.shared().clone()) }
    }

    /// An emitter sending through these parts.
    pub(crate) fn emitter(&self) -> Emitter<T> {
        Emitter { parts: self.clone() }
    }
}

impl<T> EmitterParts<T> {
    /// The source's key in its loop's registry.
    pub(crate) fn key(&self) -> usize {
        self.key
    }
}

impl<T> Clone for EmitterParts<T> {
    fn clone(&self) -> Self {
        EmitterParts {
            tx: self.tx.clone(),
            flag: self.flag.clone(),
            key: self.key,
            handle: self.handle.clone(),
        }
    }
}

/// Whether a `Drain` message is on its way for a source: `IDLE` (none), `SENDING` (a sender
/// has claimed the job and is sending it), `PENDING` (sent, not yet processed), in the low
/// two bits of a word whose upper bits count the loop's drains.
///
/// The middle state closes a gap a plain flag leaves: a sender that finds the flag set must
/// know the `Drain` is already in the loop's channel, or a closure it posts next could
/// overtake its value. Senders that see `SENDING` wait the few nanoseconds until the
/// claiming sender has sent it. The drain count keeps a slow claimer from marking a later
/// sender's claim as sent: once the loop has taken its `Drain` (and counted it), the
/// claimer's `SENDING → PENDING` step fails.
#[derive(Debug, Default)]
pub(crate) struct DrainState(AtomicU64);

const IDLE: u64 = 0;
const SENDING: u64 = 1;
const PENDING: u64 = 2;
const STATE: u64 = 3;

impl DrainState {
    /// After a value was queued: make sure a `Drain` that will see it is in the channel.
    #[inline]
    fn ensure_pending(&self, send: impl FnOnce() -> bool) {
        // Pairs with the fence in `clear`: either the loop's drain sees our value, or we see
        // `IDLE` and send a new `Drain`.
        fence(Ordering::SeqCst);
        let mut spins = 0u32;
        loop {
            let word = self.0.load(Ordering::SeqCst);
            match word & STATE {
                PENDING => return,
                IDLE => {
                    let claimed = word | SENDING;
                    if self.0.compare_exchange(word, claimed, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                        let next = if send() { (word & !STATE) | PENDING } else { word };
                        // Fails if the loop already took the `Drain` and counted it: fine.
                        let _ = self.0.compare_exchange(claimed, next, Ordering::SeqCst, Ordering::SeqCst);
                        return;
                    }
                }
                _ => {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// The loop took the `Drain`: later values need a new one.
    fn clear(&self) {
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |word| {
            Some(((word & !STATE).wrapping_add(STATE + 1)) | IDLE)
        });
        fence(Ordering::SeqCst);
    }
}

/// The loop-side end of a signal's emitters.
struct SignalSource<T: 'static, S> {
    rx: Receiver<T>,
    /// Whether a `Drain` message for this source is on its way to the loop.
    flag: Arc<DrainState>,
    key: usize,
    shared: Arc<dispatcher::Shared>,
    target: Weak<S>,
}

impl<T: 'static, S: Deliver<T>> Source for SignalSource<T, S> {
    fn has_pending(&self) -> bool {
        !self.rx.is_empty()
    }

    fn drain(&self) {
        // Clear first: a value sent after this point comes with a new `Drain` message.
        self.flag.clear();
        let Some(target) = self.target.upgrade() else { return };
        for _ in 0..self.rx.len() {
            let Ok(value) = self.rx.try_recv() else { break };
            // A panicking slot must not strand the values behind it.
            let guard = Reschedule(self);
            target.deliver(&value);
            std::mem::forget(guard);
        }
    }
}

/// On unwind out of a slot, schedules another drain for the values still queued.
struct Reschedule<'a, T: 'static, S>(&'a SignalSource<T, S>);

impl<T: 'static, S> Drop for Reschedule<'_, T, S> {
    fn drop(&mut self) {
        let source = self.0;
        if !source.rx.is_empty() {
            source.flag.ensure_pending(|| source.shared.send(Message::Drain(source.key)).is_ok());
        }
    }
}

/// Emits a [`Signal`](crate::Signal) from any thread: the value is queued to the signal's event loop and
/// emitted there (Qt's queued connection across threads).
///
/// If the signal (or its thread) is gone, [`emit`](Self::emit) hands the value back in a
/// [`PostError`].
///
/// # Threading
///
/// `Send + Sync + Clone` for `T: Send`; cheap to clone. `emit` never blocks: it pushes onto
/// an unbounded channel and wakes the signal's loop only if nobody has since it last
/// looked. Values from one emitter arrive in the order they were emitted.
pub struct Emitter<T> {
    parts: EmitterParts<T>,
}

impl<T> Clone for Emitter<T> {
    fn clone(&self) -> Self {
        Emitter { parts: self.parts.clone() }
    }
}

impl<T> fmt::Debug for Emitter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emitter").field("type", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

impl<T: Send> Emitter<T> {
    /// Queues `value` for emission on the signal's thread.
    ///
    /// # Errors
    ///
    /// [`PostError`] with the value if the signal or its thread's loop no longer exists.
    #[inline]
    pub fn emit(&self, value: T) -> Result<(), PostError<T>> {
        let parts = &self.parts;
        parts.tx.send(value).map_err(|e| PostError(e.0))?;
        // Sending the `Drain` fails only while the signal's thread is shutting down, when
        // the value goes with the signal (documented on `Signal::emitter`).
        parts.flag.ensure_pending(|| parts.handle.shared().send(Message::Drain(parts.key)).is_ok());
        Ok(())
    }

    /// The loop the signal lives on.
    pub fn loop_handle(&self) -> &LoopHandle {
        &self.parts.handle
    }
}
