//! Bodies produced over time or generated on the fly: `/bytes`, `/stream-bytes`, `/big.bin`,
//! `/drip`. They never hold a large body in memory and stop when the server shuts down.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::{Request, StatusCode};

use crate::shutdown::Shutdown;

/// The seed of `/bytes` when the query has none, so that bodies are reproducible.
pub(crate) const DEFAULT_SEED: u64 = 0x5eed_c0de_cafe_f00d;

/// Size of the generation buffer, reused for the whole body (a multiple of 8).
const BUFFER: usize = 64 * 1024;

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

/// A `Read` of `len` pseudo-random bytes (four interleaved xorshift64 generators), produced
/// into one reused buffer. The output depends only on the seed, never on how it is read.
/// Reading fails once the server shuts down, which ends the response early.
pub(crate) struct PrngReader {
    lanes: [u64; 4],
    remaining: u64,
    buffer: Vec<u8>,
    pos: usize,
    shutdown: Arc<Shutdown>,
}

impl std::fmt::Debug for PrngReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrngReader").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl PrngReader {
    /// `len` bytes from `seed`.
    pub(crate) fn new(seed: u64, len: u64, shutdown: Arc<Shutdown>) -> PrngReader {
        let first = mix_seed(seed);
        let lanes = [first, mix_seed(first), mix_seed(first ^ 0xa5a5), mix_seed(first.rotate_left(17))];
        PrngReader { lanes, remaining: len, buffer: vec![0; BUFFER], pos: BUFFER, shutdown }
    }

    fn refill(&mut self) {
        let mut lanes = self.lanes;
        for block in self.buffer.chunks_exact_mut(32) {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact_mut(8)) {
                let mut x = *lane;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *lane = x;
                word.copy_from_slice(&x.to_le_bytes());
            }
        }
        self.lanes = lanes;
        self.pos = 0;
    }
}

impl Read for PrngReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || out.is_empty() {
            return Ok(0);
        }
        if self.shutdown.is_set() {
            return Err(io::Error::other("cute-httpbin is shutting down"));
        }
        if self.pos == self.buffer.len() {
            self.refill();
        }
        let available = (self.buffer.len() - self.pos) as u64;
        let n = out.len().min(available.min(self.remaining) as usize);
        out[..n].copy_from_slice(&self.buffer[self.pos..self.pos + n]);
        self.pos += n;
        self.remaining -= n as u64;
        Ok(n)
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
    /// Headers only (a `HEAD` request).
    pub(crate) head: bool,
    /// Whether the client spoke HTTP/1.0.
    pub(crate) http10: bool,
}

/// A duration in seconds from the query, refusing negative and non-finite values and capping
/// absurd ones at `max` seconds.
pub(crate) fn seconds(text: &str, max: f64) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(max)))
}

/// Runs a `/drip` response on the calling (worker) thread: waits, then writes the bytes one
/// tick at a time, flushing each so the client really sees them arrive over time.
///
/// tiny_http buffers a `Response` body until it ends, so this one writes its own response
/// head onto the connection's writer; the body has a `Content-Length`.
pub(crate) fn run_drip(request: Request, drip: &Drip, shutdown: &Shutdown) -> io::Result<()> {
    if !shutdown.sleep(drip.delay) {
        return request.respond(crate::response::empty(503));
    }
    let no_body = matches!(drip.code, 100..=199 | 204 | 304);
    let numbytes = if no_body { 0 } else { drip.numbytes };
    let mut writer = request.into_writer();
    write!(
        writer,
        "HTTP/1.{} {} {}\r\nServer: cute-httpbin\r\nContent-Type: application/octet-stream\r\n",
        if drip.http10 { 0 } else { 1 },
        drip.code,
        StatusCode(drip.code).default_reason_phrase()
    )?;
    if !no_body {
        write!(writer, "Content-Length: {numbytes}\r\n")?;
    }
    writer.write_all(b"\r\n")?;
    writer.flush()?;
    if drip.head || numbytes == 0 {
        return Ok(());
    }
    let pause = drip.duration.div_f64(numbytes as f64);
    let start = Instant::now();
    let stars = [b'*'; 4096];
    let mut sent = 0u64;
    while sent < numbytes {
        // Byte i is due at start + i * pause; send every byte that is due in one write.
        let elapsed = start.elapsed();
        let due = if pause.is_zero() {
            numbytes
        } else {
            (elapsed.as_secs_f64() / pause.as_secs_f64()).floor() as u64 + 1
        };
        let due = due.clamp(sent + 1, numbytes);
        while sent < due {
            let n = (due - sent).min(stars.len() as u64) as usize;
            writer.write_all(&stars[..n])?;
            sent += n as u64;
        }
        writer.flush()?;
        if sent < numbytes {
            let next = pause.mul_f64(sent as f64);
            if !shutdown.sleep(next.saturating_sub(start.elapsed())) {
                return Err(io::Error::other("cute-httpbin is shutting down"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_SEED, PrngReader, seconds};
    use crate::shutdown::Shutdown;
    use std::io::Read;
    use std::sync::Arc;
    use std::time::Duration;

    fn read_with(seed: u64, len: u64, step: usize) -> Vec<u8> {
        let mut reader = PrngReader::new(seed, len, Arc::new(Shutdown::default()));
        let mut out = Vec::new();
        let mut buf = vec![0; step];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn output_does_not_depend_on_read_sizes() {
        let a = read_with(DEFAULT_SEED, 200_003, 7);
        let b = read_with(DEFAULT_SEED, 200_003, 8192);
        assert_eq!(a.len(), 200_003);
        assert_eq!(a, b);
        assert_ne!(a, read_with(1, 200_003, 8192));
        assert_eq!(read_with(0, 10, 3).len(), 10);
    }

    #[test]
    fn reading_fails_after_shutdown() {
        let shutdown = Arc::new(Shutdown::default());
        let mut reader = PrngReader::new(1, 1 << 30, Arc::clone(&shutdown));
        let mut buf = [0; 16];
        assert_eq!(reader.read(&mut buf).unwrap(), 16);
        shutdown.trigger();
        assert!(reader.read(&mut buf).is_err());
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
