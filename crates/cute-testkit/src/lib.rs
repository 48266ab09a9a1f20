//! Test support shared by cute's crates, the facade's tests and the fuzz harness.
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

mod watchdog;

pub use watchdog::Watchdog;
