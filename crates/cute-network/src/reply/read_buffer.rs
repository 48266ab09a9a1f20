//! A reply's body buffer (private): what the application can read, and what is held back
//! because the read buffer is full (Qt's `setReadBufferSize`).
//!
//! Held bytes are not acknowledged to the worker (the reply releases only admitted bytes
//! from the hand-off budget), so a full read buffer stops the transfer: back-pressure from
//! the application's reads to the socket, with bounded memory end to end.

use std::collections::VecDeque;

/// The most reserved up front from a `Content-Length` (a lying server cannot make us
/// allocate more than this before sending it).
const RESERVE_LIMIT: u64 = 256 * 1024 * 1024;

/// How far held bytes may be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Up to the read buffer's limit.
    WithinLimit,
    /// All of them (the reply finished: nothing more will come).
    All,
}

#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    /// Bytes the application can read: `buffer[offset..]`. One contiguous vector, so
    /// `read_all` of a body read whole hands the vector over without copying, and growing
    /// it (by `realloc`, which moves large blocks without copying) never holds the body
    /// twice.
    buffer: Vec<u8>,
    offset: usize,
    available: u64,
    /// Bytes received while the read buffer was full. The front chunk may be partly
    /// admitted already, up to `held_offset`.
    held: VecDeque<Vec<u8>>,
    held_offset: usize,
    /// The read buffer size; `None` is unlimited.
    limit: Option<u64>,
    /// Bytes pushed in all.
    received: u64,
    /// The body length announced in advance, if any.
    expected: Option<u64>,
}

impl ReadBuffer {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        ReadBuffer { limit, ..ReadBuffer::default() }
    }

    /// The body length announced in advance, for reserving it at the first chunk.
    pub(crate) fn expect(&mut self, total: Option<u64>) {
        self.expected = total;
    }

    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// Bytes the application can read now.
    pub(crate) fn available(&self) -> u64 {
        self.available
    }

    /// Nothing readable and nothing held.
    pub(crate) fn is_drained(&self) -> bool {
        self.available == 0 && self.held.is_empty()
    }

    pub(crate) fn set_limit(&mut self, limit: Option<u64>) {
        self.limit = limit;
    }

    /// Takes a received chunk; returns the bytes that became readable (the rest is held).
    pub(crate) fn push(&mut self, chunk: Vec<u8>) -> u64 {
        let n = chunk.len() as u64;
        self.received += n;
        if self.held.is_empty() && n <= self.room() {
            self.append(chunk);
            n
        } else {
            self.held.push_back(chunk);
            self.admit(Admit::WithinLimit)
        }
    }

    /// Moves held bytes into the buffer as far as `how` allows; a chunk that does not fit
    /// whole is split. Returns the bytes moved.
    pub(crate) fn admit(&mut self, how: Admit) -> u64 {
        let mut admitted = 0u64;
        while let Some(chunk) = self.held.pop_front() {
            let start = self.held_offset;
            let rest = (chunk.len() - start) as u64;
            let take = match how {
                Admit::All => rest,
                Admit::WithinLimit => rest.min(self.room()),
            };
            if take == 0 {
                self.held.push_front(chunk);
                break;
            }
            admitted += take;
            if start == 0 && take == rest {
                self.append(chunk);
                continue;
            }
            // `take` is at most `rest`, a length in memory.
            let end = start + take as usize;
            self.append_slice(&chunk[start..end]);
            if end < chunk.len() {
                self.held_offset = end;
                self.held.push_front(chunk);
                break;
            }
            self.held_offset = 0;
        }
        admitted
    }

    /// Moves everything readable into `out` (handing the buffer itself over when `out` is
    /// empty and nothing was read from the buffer yet: no copy).
    pub(crate) fn take_all(&mut self, out: &mut Vec<u8>) {
        let offset = std::mem::take(&mut self.offset);
        if out.is_empty() && offset == 0 {
            *out = std::mem::take(&mut self.buffer);
        } else {
            out.extend_from_slice(&self.buffer[offset..]);
            self.buffer.clear();
        }
        self.available = 0;
        self.compact();
    }

    /// Throws away everything buffered, readable and held; returns the held bytes dropped
    /// (not yet acknowledged to the worker).
    pub(crate) fn clear(&mut self) -> u64 {
        let held: u64 = self.held.iter().map(|c| c.len() as u64).sum::<u64>() - self.held_offset as u64;
        self.held.clear();
        self.held_offset = 0;
        self.buffer = Vec::new();
        self.offset = 0;
        self.available = 0;
        held
    }

    /// Removes and returns up to `max` readable bytes.
    pub(crate) fn take(&mut self, max: usize) -> Vec<u8> {
        let start = self.offset;
        let take = (self.buffer.len() - start).min(max);
        let out = self.buffer[start..start + take].to_vec();
        self.offset += take;
        self.available -= take as u64;
        self.compact();
        out
    }

    /// Up to `max` readable bytes, left readable.
    pub(crate) fn peek(&self, max: usize) -> &[u8] {
        let readable = &self.buffer[self.offset..];
        &readable[..readable.len().min(max)]
    }

    /// How many readable bytes make the first line, its `\n` included, if one is there.
    pub(crate) fn line_length(&self) -> Option<usize> {
        self.buffer[self.offset..].iter().position(|&b| b == b'\n').map(|at| at + 1)
    }

    /// How many more bytes the read buffer takes now.
    fn room(&self) -> u64 {
        match self.limit {
            None => u64::MAX,
            Some(limit) => limit.saturating_sub(self.available),
        }
    }

    fn append(&mut self, chunk: Vec<u8>) {
        if !self.buffer.is_empty() {
            return self.append_slice(&chunk);
        }
        let n = chunk.len();
        self.offset = 0;
        let first = self.received == n as u64;
        let announced = self.expected.filter(|&t| first && self.limit.is_none() && t > 2 * n as u64);
        // The start of a body of known size: reserve for all of it (bounded), so buffering
        // it whole needs no reallocation. If that much memory is not to be had, the buffer
        // grows as the data arrives instead.
        let wanted = announced.map(|t| usize::try_from(t.min(RESERVE_LIMIT)).unwrap_or(0).max(n));
        if let Some(wanted) = wanted
            && self.buffer.try_reserve_exact(wanted).is_ok()
        {
            self.buffer.extend_from_slice(&chunk);
        } else {
            if let Some(wanted) = wanted {
                log::debug!("cannot reserve {wanted} bytes for the announced body: growing as it arrives");
            }
            // Take the chunk as it is (also the case of a streaming reader keeping up:
            // nothing unread).
            self.buffer = chunk;
        }
        self.available += n as u64;
    }

    /// Appends a copy of `bytes`.
    fn append_slice(&mut self, bytes: &[u8]) {
        if self.buffer.is_empty() {
            self.offset = 0;
        }
        self.buffer.extend_from_slice(bytes);
        self.available += bytes.len() as u64;
    }

    /// Drops consumed bytes once they dominate the buffer.
    fn compact(&mut self) {
        if self.offset == self.buffer.len() {
            self.buffer.clear();
            self.offset = 0;
            if self.buffer.capacity() > 1024 * 1024 {
                self.buffer = Vec::new();
            }
        } else if self.offset > 64 * 1024 && self.offset * 2 > self.buffer.len() {
            self.buffer.drain(..self.offset);
            self.offset = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(range: std::ops::Range<u8>) -> Vec<u8> {
        range.collect()
    }

    #[test]
    fn unlimited_admits_everything_and_hands_the_first_chunk_over_without_a_copy() {
        let mut buffer = ReadBuffer::new(None);
        let chunk = bytes(0..100);
        let address = chunk.as_ptr();
        assert_eq!(buffer.push(chunk), 100);
        let mut out = Vec::new();
        buffer.take_all(&mut out);
        assert_eq!(out.as_ptr(), address, "copied");
        assert_eq!(out, bytes(0..100));
        assert!(buffer.is_drained());
        assert_eq!(buffer.received(), 100);
    }

    #[test]
    fn a_limit_splits_the_chunk_that_does_not_fit_and_holds_the_rest() {
        let mut buffer = ReadBuffer::new(Some(10));
        assert_eq!(buffer.push(bytes(0..4)), 4);
        assert_eq!(buffer.push(bytes(4..12)), 6, "only what fits under the limit");
        assert_eq!(buffer.available(), 10);
        assert_eq!(buffer.push(bytes(12..15)), 0, "held behind the full buffer");
        assert_eq!(buffer.take(5), bytes(0..5));
        assert_eq!(buffer.admit(Admit::WithinLimit), 5, "the split chunk's 2, then 3 of the next");
        assert_eq!(buffer.available(), 10);
        assert!(!buffer.is_drained());
        let mut out = Vec::new();
        buffer.take_all(&mut out);
        assert_eq!(out, bytes(5..15));
        assert!(buffer.is_drained());
        assert_eq!(buffer.received(), 15);
    }

    #[test]
    fn admitting_all_ignores_the_limit() {
        let mut buffer = ReadBuffer::new(Some(3));
        assert_eq!(buffer.push(bytes(0..5)), 3);
        assert_eq!(buffer.push(bytes(5..9)), 0);
        assert_eq!(buffer.admit(Admit::WithinLimit), 0);
        assert_eq!(buffer.admit(Admit::All), 6);
        assert_eq!(buffer.take(100), bytes(0..9));
    }

    #[test]
    fn clearing_drops_readable_and_held_bytes() {
        let mut buffer = ReadBuffer::new(Some(4));
        assert_eq!(buffer.push(bytes(0..6)), 4);
        assert_eq!(buffer.push(bytes(6..9)), 0);
        assert_eq!(buffer.clear(), 5, "2 of the first chunk and 3 of the second were held");
        assert!(buffer.is_drained());
        assert_eq!(buffer.take(10), Vec::<u8>::new());
        assert_eq!(buffer.received(), 9, "what was received still counts");
    }

    #[test]
    fn raising_the_limit_lets_held_bytes_in() {
        let mut buffer = ReadBuffer::new(Some(2));
        assert_eq!(buffer.push(bytes(0..6)), 2);
        buffer.set_limit(None);
        assert_eq!(buffer.admit(Admit::WithinLimit), 4);
        assert_eq!(buffer.limit, None);
        assert_eq!(buffer.take(6), bytes(0..6));
    }

    #[test]
    fn an_announced_length_is_reserved_at_the_first_chunk_unless_limited() {
        let mut buffer = ReadBuffer::new(None);
        buffer.expect(Some(10_000));
        buffer.push(vec![1; 100]);
        let mut out = Vec::new();
        buffer.take_all(&mut out);
        assert!(out.capacity() >= 10_000, "capacity {}", out.capacity());

        let mut limited = ReadBuffer::new(Some(50_000));
        limited.expect(Some(10_000));
        let chunk = vec![1; 100];
        let address = chunk.as_ptr();
        limited.push(chunk);
        let mut out = Vec::new();
        limited.take_all(&mut out);
        assert_eq!(out.as_ptr(), address, "no reservation: the chunk itself");
    }

    #[test]
    fn reading_in_small_steps_compacts_the_buffer() {
        let mut buffer = ReadBuffer::new(None);
        buffer.push(vec![7; 200 * 1024]);
        let mut read = 0;
        while buffer.available() > 0 {
            read += buffer.take(1000).len();
            assert!(buffer.offset <= 64 * 1024 || buffer.offset * 2 <= buffer.buffer.len());
        }
        assert_eq!(read, 200 * 1024);
        assert!(buffer.buffer.is_empty());
    }
}
