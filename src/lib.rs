//! cute: a Qt-style application framework for Rust.
//!
//! This facade re-exports [`cute_core`] at the top level and [`cute_network`] as
//! [`cute::network`](network). The main flow, a PyQt script's `QNetworkAccessManager` GET in
//! Rust (against a local server here, so the example runs offline):
//!
//! ```
//! use cute::CoreApplication;
//! use cute::network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
//!
//! let server = cute_httpbin::Httpbin::start().unwrap();
//! let app = CoreApplication::new();
//! let nam = NetworkAccessManager::new();
//! nam.finished().connect(|reply: &NetworkReply| {
//!     assert_eq!(reply.error(), NetworkError::NoError);
//!     println!("{}", String::from_utf8_lossy(&reply.read_all()));
//!     CoreApplication::quit();
//! });
//! nam.get(&NetworkRequest::new(server.url("/html")));
//! assert_eq!(app.exec(), 0);
//! ```
//!
//! # Threading model
//!
//! Objects live on the thread that created them, as in Qt: a [`Signal`] is `!Send` and its
//! slots run on its thread; other threads reach it through an [`Emitter`] or post closures
//! through a [`LoopHandle`]. Each thread has one event loop (mio `Poll`, a crossbeam channel
//! with a coalesced wake, a timer heap). The [`network::NetworkAccessManager`] lives on its
//! loop's thread and runs its requests as hyper tasks on a network runtime of its own, which
//! hand headers, body chunks and completion back to the loop, where the reply's signals
//! are emitted. See `docs/ARCHITECTURE.md`.
//!
//! # Errors
//!
//! Set-up failures and misuse return `Result`s ([`Error`], [`network::Error`]); request
//! failures are events, as in Qt: [`network::NetworkReply::error`] holds a
//! [`network::NetworkError`] with Qt's name and number once `finished` is emitted.
//!
//! # Features
//!
//! - the core: signals and slots, [`CoreApplication`], [`EventLoop`], [`Timer`], [`Thread`],
//!   [`SignalSpy`];
//! - [`network`]: `NetworkAccessManager` over http, https (rustls), `file:` and `data:`,
//!   with Qt's reply signals, authentication, redirects, timeouts and streaming.

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

pub use cute_core::*;
