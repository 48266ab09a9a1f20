//! Bodies produced over time or generated on the fly: `/bytes`, `/stream-bytes`, `/big.bin`,
//! `/drip`. They never hold a large body in memory and stop when the server shuts down.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::body::Payload;
use crate::response::{self, Reply};
use crate::shutdown::Shutdown;

/// The seed of `/bytes` when the query has none, so that bodies are reproducible.
pub(crate) const DEFAULT_SEED: u64 = 0x5eed_c0de_cafe_f00d;

/// The bytes `/drip` sends, as many as one frame carries at most.
static STARS: [u8; 4096] = [b'*'; 4096];

/// Turns any seed (zero included) into a valid, well-mixed xorshift state (splitmix64).
fn mix_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    match z ^ (z >> 31) {
        0 => 1,
        state => state,
    }
}

/// A generator of `len` pseudo-random bytes (four interleaved xorshift64 generators),
/// produced one [`Prng::BLOCK`] at a time and handed out as zero-copy slices of it. The output
/// depends only on the seed, never on the chunk sizes asked for.
pub(crate) struct Prng {
    lanes: [u64; 4],
    remaining: u64,
    block: Bytes,
    pos: usize,
}

impl std::fmt::Debug for Prng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prng").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl Prng {
    /// Size of a generated block (a multiple of 32), and the largest chunk handed out.
    pub(crate) const BLOCK: usize = 64 * 1024;

    /// `len` bytes from `seed`.
    pub(crate) fn new(seed: u64, len: u64) -> Prng {
        let first = mix_seed(seed);
        let lanes = [first, mix_seed(first), mix_seed(first ^ 0xa5a5), mix_seed(first.rotate_left(17))];
        Prng { lanes, remaining: len, block: Bytes::new(), pos: 0 }
    }

    /// How many bytes are still to come.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Generates the next block into a fresh buffer (the previous one may still be queued
    /// for writing).
    fn refill(&mut self) {
        let mut block = vec![0; Prng::BLOCK];
        let mut lanes = self.lanes;
        for chunk in block.chunks_exact_mut(32) {
            for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact_mut(8)) {
                let mut x = *lane;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *lane = x;
                word.copy_from_slice(&x.to_le_bytes());
            }
        }
        self.lanes = lanes;
        self.block = Bytes::from(block);
        self.pos = 0;
    }

    /// The next `max` bytes (clamped to `1..=`[`Prng::BLOCK`]), fewer at the end; `None` once
    /// all have been produced.
    pub(crate) fn next_chunk(&mut self, max: usize) -> Option<Bytes> {
        let n = (max.clamp(1, Prng::BLOCK) as u64).min(self.remaining) as usize;
        if n == 0 {
            return None;
        }
        if self.pos == self.block.len() {
            self.refill();
        }
        let available = self.block.len() - self.pos;
        let chunk = if n <= available {
            self.pos += n;
            self.block.slice(self.pos - n..self.pos)
        } else {
            // The chunk straddles two blocks: join the tail of this one and the head of the next.
            let mut joined = BytesMut::with_capacity(n);
            joined.extend_from_slice(&self.block[self.pos..]);
            self.refill();
            self.pos = n - available;
            joined.extend_from_slice(&self.block[..self.pos]);
            joined.freeze()
        };
        self.remaining -= n as u64;
        Some(chunk)
    }
}

/// The parameters of a `/drip` request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drip {
    /// Status code of the response.
    pub(crate) code: u16,
    /// Wait before the first byte.
    pub(crate) delay: Duration,
    /// Time over which the bytes are spread.
    pub(crate) duration: Duration,
    /// How many `*` bytes to send.
    pub(crate) numbytes: u64,
    /// Headers only (a `HEAD` request): no producer is started.
    pub(crate) head: bool,
}

/// A duration in seconds from the query, refusing negative and non-finite values and capping
/// absurd ones at `max` seconds.
pub(crate) fn seconds(text: &str, max: f64) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(max)))
}

/// The `/drip` response: waits `delay` (answering 503 if the server stops meanwhile), then
/// answers with a `Content-Length` of `numbytes` and a body that a producer task feeds one
/// tick at a time, each tick's bytes a frame of their own that hyper writes and flushes as
/// it comes, so the client really sees them arrive over time.
pub(crate) async fn drip(drip: Drip, shutdown: &Shutdown) -> Reply {
    if !shutdown.sleep(drip.delay).await {
        return response::empty(503);
    }
    let content_type = Some("application/octet-stream");
    if matches!(drip.code, 100..=199 | 204 | 304) {
        return response::stream(drip.code, content_type, Payload::empty(), None);
    }
    // Capacity 1: the producer runs at most one frame ahead of the socket.
    let (tx, rx) = mpsc::channel(1);
    if !drip.head && drip.numbytes > 0 {
        tokio::spawn(drip_bytes(tx, drip.numbytes, drip.duration, shutdown.clone()));
    }
    response::stream(drip.code, content_type, Payload::channel(rx, drip.numbytes), Some(drip.numbytes))
}

/// Sends `numbytes` stars on `tx`, byte `i` due at `i * duration / numbytes`; gives up when
/// the client goes away (the body is dropped) or the server stops (the body then fails).
async fn drip_bytes(tx: mpsc::Sender<Bytes>, numbytes: u64, duration: Duration, shutdown: Shutdown) {
    let pause = duration.div_f64(numbytes as f64);
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < numbytes {
        // Send every byte that is due now, in as few frames as possible.
        let due = if pause.is_zero() {
            numbytes
        } else {
            (start.elapsed().as_secs_f64() / pause.as_secs_f64()).floor() as u64 + 1
        };
        let due = due.clamp(sent + 1, numbytes);
        while sent < due {
            let n = (due - sent).min(STARS.len() as u64) as usize;
            if tx.send(Bytes::from_static(&STARS[..n])).await.is_err() {
                return;
            }
            sent += n as u64;
        }
        if sent < numbytes {
            let next = pause.mul_f64(sent as f64);
            if !shutdown.sleep(next.saturating_sub(start.elapsed())).await {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_SEED, Prng, seconds};
    use std::time::Duration;

    fn read_with(seed: u64, len: u64, step: usize) -> Vec<u8> {
        let mut prng = Prng::new(seed, len);
        let mut out = Vec::new();
        while let Some(chunk) = prng.next_chunk(step) {
            assert!(chunk.len() == step.min(Prng::BLOCK) || prng.remaining() == 0);
            out.extend_from_slice(&chunk);
        }
        out
    }

    #[test]
    fn output_does_not_depend_on_chunk_sizes() {
        let a = read_with(DEFAULT_SEED, 200_003, 7);
        let b = read_with(DEFAULT_SEED, 200_003, 8192);
        let c = read_with(DEFAULT_SEED, 200_003, 1 << 20);
        assert_eq!(a.len(), 200_003);
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_ne!(a, read_with(1, 200_003, 8192));
        assert_eq!(read_with(0, 10, 3).len(), 10);
        assert!(read_with(0, 0, 3).is_empty());
    }

    #[test]
    fn seconds_are_validated_and_capped() {
        assert_eq!(seconds("1.5", 10.0), Some(Duration::from_millis(1500)));
        assert_eq!(seconds("99", 10.0), Some(Duration::from_secs(10)));
        assert_eq!(seconds("-1", 10.0), None);
        assert_eq!(seconds("NaN", 10.0), None);
        assert_eq!(seconds("inf", 10.0), None);
        assert_eq!(seconds("x", 10.0), None);
    }
}
