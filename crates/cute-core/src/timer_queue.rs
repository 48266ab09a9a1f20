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

use crate::timer::TimerShared;

/// What a due timer does.
pub(crate) enum Fire {
    /// Emit the `timeout` signal of a [`Timer`](crate::Timer); `done` when it will not
    /// fire again (a single-shot timer).
    Timer { owner: Weak<TimerShared>, done: bool },
    /// Run a [`Timer::single_shot`](crate::Timer::single_shot) callback.
    Once(Box<dyn FnOnce()>),
}

enum Target {
    Timer(Weak<TimerShared>),
    Once(Box<dyn FnOnce()>),
}

struct Entry {
    seq: u64,
    deadline: Instant,
    interval: Duration,
    repeat: bool,
    target: Target,
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

    fn insert(&mut self, deadline: Instant, interval: Duration, repeat: bool, target: Target) -> usize {
        let seq = self.seq();
        let key = self.entries.insert(Entry { seq, deadline, interval, repeat, target });
        self.heap.push(Reverse((deadline, seq, key)));
        key
    }

    pub(crate) fn start_timer(
        &mut self,
        interval: Duration,
        repeat: bool,
        owner: Weak<TimerShared>,
    ) -> usize {
        let deadline = Instant::now() + interval;
        self.insert(deadline, interval, repeat, Target::Timer(owner))
    }

    pub(crate) fn start_once(&mut self, delay: Duration, f: Box<dyn FnOnce()>) {
        let deadline = Instant::now() + delay;
        self.insert(deadline, delay, false, Target::Once(f));
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

    pub(crate) fn deadline(&self, key: usize) -> Option<Instant> {
        self.entries.get(key).map(|e| e.deadline)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
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
        if self.entries[key].repeat {
            let next_seq = self.seq();
            let entry = &mut self.entries[key];
            let interval = entry.interval;
            let mut next = deadline + interval;
            if next <= now {
                next = if interval.is_zero() {
                    now
                } else {
                    let missed = (now - deadline).as_nanos() / interval.as_nanos();
                    let skip = u64::try_from(missed + 1).unwrap_or(u64::MAX);
                    deadline
                        + Duration::from_nanos(
                            u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX).saturating_mul(skip),
                        )
                };
            }
            entry.seq = next_seq;
            entry.deadline = next;
            self.heap.push(Reverse((next, next_seq, key)));
            match &entry.target {
                Target::Timer(owner) => Some(Fire::Timer { owner: owner.clone(), done: false }),
                Target::Once(_) => unreachable!("single-shot callbacks never repeat"),
            }
        } else {
            let entry = self.entries.remove(key);
            Some(match entry.target {
                Target::Timer(owner) => Fire::Timer { owner, done: true },
                Target::Once(f) => Fire::Once(f),
            })
        }
    }
}
