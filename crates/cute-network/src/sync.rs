//! Locking without poisoning (private): a panic on another thread (a caught worker panic)
//! must not make the manager's shared state unusable; every lock here guards plain data
//! that stays consistent between statements.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
