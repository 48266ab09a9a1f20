//! The deadline heap behind [`Timer`](crate::Timer) (private plumbing).
//!
//! A binary heap of `(deadline, sequence, key)` with lazy deletion: stopping a timer removes
//! its slab entry and leaves the heap item behind, to be skipped when it surfaces (its
//! sequence no longer matches the entry's). Start, stop and fire are `O(log n)`; the heap is
//! rebuilt when stale items outnumber live ones, so restarting a timer in a tight loop (a
//! transfer timeout restarted on every chunk) cannot grow it without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Weak;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::clock;

/// What the heap tells a timer when it expires: the heap knows timers only through this,
/// so it does not depend on the timer type above it.
pub(crate) trait Expire {
    fn expire(&self, expiry: Expiry);
}

/// Whether an expiry is the timer's last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// A repeating timer: re-armed, it fires again.
    Again,
    /// A single-shot timer: no longer in the heap.
    Last,
}

/// Whether a timer fires once or repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recurrence {
    Once,
    Repeat,
}

/// What a due timer does.
pub(crate) enum Fire {
    /// Tell a timer it expired (a [`Timer`](crate::Timer) emits `timeout`).
    Timer(Weak<dyn Expire>, Expiry),
    /// Run a [`Timer::single_shot`](crate::Timer::single_shot) callback.
    Once(Box<dyn FnOnce()>),
}

impl Fire {
    /// Does what the expiry calls for (nothing for a timer that is gone).
    #[inline]
    pub(crate) fn run(self) {
        match self {
            Fire::Timer(timer, expiry) => {
                if let Some(timer) = timer.upgrade() {
                    timer.expire(expiry);
                }
            }
            Fire::Once(f) => f(),
        }
    }
}

enum Target {
    Timer(Weak<dyn Expire>),
    Once(Box<dyn FnOnce()>),
}

struct Entry {
    seq: u64,
    deadline: Instant,
    interval: Duration,
    recurrence: Recurrence,
    target: Target,
}

/// How far ahead a deadline too large for the clock (`Duration::MAX`, "never") is put:
/// about a century, which no program waits out.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `start + delay`, with a delay too large for the clock clamped to [`FAR_FUTURE`].
pub(crate) fn after(start: Instant, delay: Duration) -> Instant {
    start.checked_add(delay.min(FAR_FUTURE)).unwrap_or(start)
}

#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    entries: Slab<Entry>,
    next_seq: u64,
    stale: usize,
}

impl TimerQueue {
    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Sequence numbers below the returned value belong to timers started before now.
    pub(crate) fn seq_limit(&self) -> u64 {
        self.next_seq
    }

    fn insert(
        &mut self,
        deadline: Instant,
        interval: Duration,
        recurrence: Recurrence,
        target: Target,
    ) -> usize {
        let seq = self.seq();
        let key = self.entries.insert(Entry { seq, deadline, interval, recurrence, target });
        self.heap.push(Reverse((deadline, seq, key)));
        key
    }

    pub(crate) fn start_timer(
        &mut self,
        interval: Duration,
        recurrence: Recurrence,
        timer: Weak<dyn Expire>,
    ) -> usize {
        let deadline = after(clock::now(), interval);
        self.insert(deadline, interval, recurrence, Target::Timer(timer))
    }

    /// Schedules a single-shot callback; returns its key and sequence number, which together
    /// name it for [`is_once_pending`](Self::is_once_pending) and
    /// [`cancel_once`](Self::cancel_once) (a key alone is reused once the entry is gone).
    pub(crate) fn start_once(&mut self, delay: Duration, f: Box<dyn FnOnce()>) -> (usize, u64) {
        let deadline = after(clock::now(), delay);
        let seq = self.next_seq;
        let key = self.insert(deadline, delay, Recurrence::Once, Target::Once(f));
        (key, seq)
    }

    /// Whether the single-shot callback `(key, seq)` is still waiting to run.
    pub(crate) fn is_once_pending(&self, key: usize, seq: u64) -> bool {
        self.entries.get(key).is_some_and(|e| e.seq == seq && matches!(e.target, Target::Once(_)))
    }

    /// Removes the single-shot callback `(key, seq)` if it has not run; returns it, for the
    /// caller to drop once the queue is no longer borrowed (its captured state may do
    /// anything when dropped, including starting or stopping timers).
    pub(crate) fn cancel_once(&mut self, key: usize, seq: u64) -> Option<Box<dyn FnOnce()>> {
        if !self.is_once_pending(key, seq) {
            return None;
        }
        let entry = self.entries.remove(key);
        self.stale += 1;
        if self.stale > 1024 && self.stale > self.entries.len() {
            self.compact();
        }
        match entry.target {
            Target::Once(f) => Some(f),
            Target::Timer(_) => None,
        }
    }

    /// Removes a timer; its heap item goes stale.
    pub(crate) fn stop(&mut self, key: usize) {
        if self.entries.try_remove(key).is_some() {
            self.stale += 1;
            if self.stale > 1024 && self.stale > self.entries.len() {
                self.compact();
            }
        }
    }

    fn compact(&mut self) {
        let entries = &self.entries;
        self.heap.retain(|Reverse((_, seq, key))| entries.get(*key).is_some_and(|e| e.seq == *seq));
        self.stale = 0;
        log::trace!("timer heap compacted to {} items", self.heap.len());
    }

    /// Changes whether an active timer repeats; takes effect at its next expiry.
    pub(crate) fn set_recurrence(&mut self, key: usize, recurrence: Recurrence) {
        if let Some(entry) = self.entries.get_mut(key)
            && matches!(entry.target, Target::Timer(_))
        {
            entry.recurrence = recurrence;
        }
    }

    pub(crate) fn deadline(&self, key: usize) -> Option<Instant> {
        self.entries.get(key).map(|e| e.deadline)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Moves every deadline from the clock that read `from` to the one that reads `to` at
    /// the same moment, keeping the time left (a deadline already passed is due at `to`).
    /// For a fake clock's installation ending: what was due in 1 s of fake time is due in
    /// 1 s of real time.
    pub(crate) fn rebase(&mut self, from: Instant, to: Instant) {
        let moved = |deadline: Instant| after(to, deadline.saturating_duration_since(from));
        for (_, entry) in &mut self.entries {
            entry.deadline = moved(entry.deadline);
        }
        let entries = &self.entries;
        let heap: Vec<_> = std::mem::take(&mut self.heap)
            .into_iter()
            .filter_map(|Reverse((_, seq, key))| {
                entries.get(key).filter(|e| e.seq == seq).map(|e| Reverse((e.deadline, seq, key)))
            })
            .collect();
        self.heap = BinaryHeap::from(heap);
        self.stale = 0;
    }

    /// The earliest live deadline, dropping stale heap items on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, seq, key))) = self.heap.peek() {
            if self.entries.get(key).is_some_and(|e| e.seq == seq) {
                return Some(deadline);
            }
            self.heap.pop();
            self.stale = self.stale.saturating_sub(1);
        }
        None
    }

    /// Pops the next timer due at `now` that was started before `limit` (so a timer
    /// restarted by its own slot waits for the next round). Repeating timers are re-armed
    /// without drift: the next deadline is the previous one plus the interval, skipping
    /// missed periods (one `timeout` per overrun, as in Qt).
    pub(crate) fn pop_due(&mut self, now: Instant, limit: u64) -> Option<Fire> {
        let deadline = self.next_deadline()?;
        let Reverse((_, seq, key)) = *self.heap.peek()?;
        if deadline > now || seq >= limit {
            return None;
        }
        self.heap.pop();
        if self.entries[key].recurrence == Recurrence::Repeat {
            let next_seq = self.seq();
            let entry = &mut self.entries[key];
            let interval = entry.interval;
            let mut next = after(deadline, interval);
            if next <= now {
                next = if interval.is_zero() {
                    now
                } else {
                    let missed = (now - deadline).as_nanos() / interval.as_nanos();
                    let skip = u64::try_from(missed + 1).unwrap_or(u64::MAX);
                    after(
                        deadline,
                        Duration::from_nanos(
                            u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX).saturating_mul(skip),
                        ),
                    )
                };
            }
            entry.seq = next_seq;
            entry.deadline = next;
            self.heap.push(Reverse((next, next_seq, key)));
            match &entry.target {
                Target::Timer(timer) => Some(Fire::Timer(timer.clone(), Expiry::Again)),
                Target::Once(_) => unreachable!("single-shot callbacks never repeat"),
            }
        } else {
            let entry = self.entries.remove(key);
            Some(match entry.target {
                Target::Timer(timer) => Fire::Timer(timer, Expiry::Last),
                Target::Once(f) => Fire::Once(f),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    struct Nobody;

    impl Expire for Nobody {
        fn expire(&self, _: Expiry) {}
    }

    /// A timer that is gone (the heap must not care).
    fn gone() -> Weak<dyn Expire> {
        Weak::<Nobody>::new()
    }

    use Recurrence::{Once, Repeat};

    #[test]
    fn interval_timers_keep_their_phase_when_serviced_late() {
        let mut q = TimerQueue::default();
        let key = q.start_timer(10 * MS, Repeat, gone());
        let d0 = q.deadline(key).unwrap();
        // Serviced 3 ms late: the next deadline is still d0 + 10 ms, not now + 10 ms.
        assert!(matches!(q.pop_due(d0 + 3 * MS, u64::MAX), Some(Fire::Timer(_, Expiry::Again))));
        assert_eq!(q.deadline(key), Some(d0 + 10 * MS));
        assert!(q.pop_due(d0 + 3 * MS, u64::MAX).is_none(), "fires once per period");
        // 3.5 periods late: one expiry, then the next deadline on the original grid.
        let d1 = d0 + 10 * MS;
        assert!(q.pop_due(d1 + 35 * MS, u64::MAX).is_some());
        assert!(q.pop_due(d1 + 35 * MS, u64::MAX).is_none());
        assert_eq!(q.deadline(key), Some(d1 + 40 * MS));
    }

    #[test]
    fn pop_due_respects_deadline_then_start_order_and_the_round_limit() {
        let mut q = TimerQueue::default();
        let a = q.start_timer(Duration::ZERO, Repeat, gone());
        let limit = q.seq_limit();
        let b = q.start_timer(Duration::ZERO, Once, gone());
        let now = Instant::now() + MS;
        assert!(q.pop_due(now, limit).is_some()); // a
        // a was re-armed (new sequence) and b started after the limit: neither is due now.
        assert!(q.pop_due(now, limit).is_none());
        assert!(q.pop_due(now, u64::MAX).is_some());
        assert!(q.pop_due(now, u64::MAX).is_some());
        assert_eq!(q.len(), 1, "the single-shot one is gone");
        q.stop(a);
        q.stop(b); // already gone: no-op
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn stale_entries_are_compacted() {
        let mut q = TimerQueue::default();
        let keys: Vec<usize> =
            (0..10).map(|_| q.start_timer(Duration::from_secs(60), Once, gone())).collect();
        for _ in 0..500 {
            for &k in &keys {
                q.stop(k);
            }
            for _ in &keys {
                q.start_timer(Duration::from_secs(60), Once, gone());
            }
        }
        assert!(q.heap.len() < 2100, "heap grew to {}", q.heap.len());
        assert_eq!(q.len(), 10);
    }

    #[test]
    fn a_single_shot_is_named_by_key_and_sequence_so_a_reused_key_is_not_cancelled() {
        let mut q = TimerQueue::default();
        let (key, seq) = q.start_once(Duration::ZERO, Box::new(|| {}));
        assert!(q.is_once_pending(key, seq));
        assert!(matches!(q.pop_due(Instant::now() + MS, u64::MAX), Some(Fire::Once(_))));
        assert!(!q.is_once_pending(key, seq), "ran");
        // The slab hands the key to the next entry; the old handle must not reach it.
        let (key2, seq2) = q.start_once(Duration::from_secs(60), Box::new(|| {}));
        assert_eq!(key2, key);
        assert!(!q.is_once_pending(key, seq));
        assert!(q.cancel_once(key, seq).is_none());
        assert!(q.cancel_once(key2, seq2).is_some());
        assert!(q.cancel_once(key2, seq2).is_none(), "once");
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
        // A timer's key is not a single shot's.
        let t = q.start_timer(MS, Once, gone());
        assert!(!q.is_once_pending(t, q.seq_limit() - 1));
    }

    #[test]
    fn rebase_keeps_the_time_left_and_the_order() {
        let mut q = TimerQueue::default();
        let from = Instant::now();
        let to = from + Duration::from_secs(3600);
        let a = q.start_timer(30 * MS, Once, gone());
        let b = q.start_timer(10 * MS, Repeat, gone());
        let c = q.start_timer(20 * MS, Once, gone());
        q.stop(c); // a stale heap item, dropped by the rebuild
        let left = |q: &TimerQueue, k| q.deadline(k).unwrap().saturating_duration_since(from);
        let (a_left, b_left) = (left(&q, a), left(&q, b));
        q.rebase(from, to);
        assert_eq!(q.deadline(a), Some(to + a_left));
        assert_eq!(q.deadline(b), Some(to + b_left));
        assert_eq!(q.next_deadline(), q.deadline(b));
        // Overdue deadlines are due at once on the new clock.
        q.rebase(to + Duration::from_secs(1), from);
        assert_eq!(q.deadline(a), Some(from));
        assert_eq!(q.len(), 2);
    }
}
