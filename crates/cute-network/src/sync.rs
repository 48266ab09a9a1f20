//! Locking without poisoning (private): a panic on another thread (a caught worker panic)
//! must not make the manager's shared state unusable; every lock here guards plain data
//! that stays consistent between statements.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fills `bytes` with unpredictable bytes: SipHash under the standard library's random
/// keys (a fresh key per 8 bytes), over a counter and the time. For nonces and MIME
/// boundaries, which must not be guessed or repeat; not for keys.
pub(crate) fn fill_random(bytes: &mut [u8]) {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(count);
        hasher.write_usize(i);
        hasher.write_u128(now);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
    }
}
