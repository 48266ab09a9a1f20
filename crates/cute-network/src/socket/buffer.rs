//! A socket's byte queue: chunks appended at the back, bytes taken from the front, with
//! the line and peek operations Qt's `QIODevice` offers.

use std::collections::VecDeque;

/// Bytes in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Bytes {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the front chunk already taken.
    offset: usize,
    len: usize,
}

impl Bytes {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, chunk: Vec<u8>) {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    /// The front bytes, in one slice (the front chunk's rest).
    pub(crate) fn front(&self) -> &[u8] {
        self.chunks.front().map_or(&[], |c| &c[self.offset..])
    }

    /// Drops `n` bytes from the front.
    pub(crate) fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let front = self.chunks.front().map_or(0, Vec::len) - self.offset;
            if n < front {
                self.offset += n;
                return;
            }
            n -= front;
            self.chunks.pop_front();
            self.offset = 0;
        }
    }

    /// Up to `max` bytes from the front, without taking them.
    pub(crate) fn peek(&self, max: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(max.min(self.len));
        let mut skip = self.offset;
        for chunk in &self.chunks {
            let part = &chunk[skip..];
            skip = 0;
            let want = max - out.len();
            out.extend_from_slice(&part[..want.min(part.len())]);
            if out.len() == max {
                break;
            }
        }
        out
    }

    /// Takes up to `max` bytes from the front.
    pub(crate) fn take(&mut self, max: usize) -> Vec<u8> {
        if self.offset == 0 && self.chunks.front().is_some_and(|c| c.len() <= max) && self.chunks.len() == 1 {
            // The whole of one chunk: handed over, not copied.
            self.len = 0;
            return self.chunks.pop_front().unwrap_or_default();
        }
        let out = self.peek(max);
        self.consume(out.len());
        out
    }

    /// Where the first `\n` is, counted from the front, if there is one.
    pub(crate) fn find_newline(&self) -> Option<usize> {
        let mut seen = 0;
        let mut skip = self.offset;
        for chunk in &self.chunks {
            let part = &chunk[skip..];
            skip = 0;
            if let Some(i) = part.iter().position(|&b| b == b'\n') {
                return Some(seen + i);
            }
            seen += part.len();
        }
        None
    }

    /// A line with its `\n` (at most `max` bytes), or everything if there is no newline.
    pub(crate) fn take_line(&mut self, max: usize) -> Vec<u8> {
        let end = self.find_newline().map_or(self.len, |i| i + 1);
        self.take(end.min(max))
    }

    pub(crate) fn clear(&mut self) {
        *self = Bytes::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_chunks() {
        let mut bytes = Bytes::default();
        bytes.push(b"hel".to_vec());
        bytes.push(Vec::new());
        bytes.push(b"lo\nwor".to_vec());
        bytes.push(b"ld\n".to_vec());
        assert_eq!(bytes.len(), 12);
        assert_eq!(bytes.peek(4), b"hell");
        assert_eq!(bytes.find_newline(), Some(5));
        assert_eq!(bytes.take_line(100), b"hello\n");
        assert_eq!(bytes.take_line(3), b"wor", "a line longer than asked comes in parts");
        assert_eq!(bytes.front(), b"ld\n");
        assert_eq!(bytes.take(100), b"ld\n");
        assert!(bytes.is_empty());
        assert_eq!(bytes.take_line(10), b"");
        bytes.push(b"no newline".to_vec());
        assert_eq!(bytes.find_newline(), None);
        bytes.consume(3);
        assert_eq!(bytes.take_line(100), b"newline");
    }
}
