//! Test support shared by cute's crates, the facade's tests and the fuzz harness: a
//! [`Watchdog`] for tests that could hang, a scripted raw-HTTP [`Responder`] for fault
//! injection (the one place hand-written HTTP lives), and [`ModuleGraph`], which keeps a
//! crate's modules free of import circles.
//!
//! Standard library only, so every crate of the workspace (and `fuzz/`) can use it as a
//! dev-dependency without a cycle.
//!
//! ```
//! use std::time::Duration;
//! use cute_testkit::Watchdog;
//!
//! let watchdog = Watchdog::new(Duration::from_secs(60)); // aborts the process if a test hangs
//! // ... the test ...
//! drop(watchdog); // disarmed
//! ```

mod module_graph;
mod responder;
mod watchdog;

pub use module_graph::ModuleGraph;
pub use responder::{
    CONNECTION_LIMIT, Connection, Head, MAX_HEAD, Responder, always, answering_then_open, hang, recording,
    response,
};
pub use watchdog::Watchdog;
