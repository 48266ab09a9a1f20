//! cute: a Qt-style application framework for Rust.
//!
//! This facade re-exports [`cute_core`] at the top level and [`cute_network`] as
//! [`cute::network`](network).
//!
//! ```
//! use std::time::Duration;
//! use cute::{CoreApplication, Timer};
//!
//! let app = CoreApplication::new();
//! Timer::single_shot(Duration::from_millis(1), CoreApplication::quit);
//! assert_eq!(app.exec(), 0);
//! ```

pub use cute_core::*;

/// Network access: `NetworkAccessManager` and friends (the [`cute_network`] crate).
pub mod network {
    pub use cute_network::*;
}

/// The README's examples, compiled and run as doctests so they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The PyQt porting guide's examples, compiled (and, where they need no network, run) as
/// doctests.
#[doc = include_str!("../docs/porting-from-pyqt.md")]
#[cfg(doctest)]
pub struct PortingGuideDoctests;
