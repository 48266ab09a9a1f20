//! The hasher of the manager's reply table (private).

use std::hash::Hasher;

/// Hashes the manager's own request ids (sequential `u64`s, never chosen by a peer) with
/// one multiplication: SipHash, the default, costs more than the rest of a lookup and
/// buys resistance to chosen keys, which sequential ids do not need.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
