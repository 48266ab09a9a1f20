//! The server's stop signal, shared by the accept loop, the connections and the endpoints
//! that wait (`/delay`, `/drip`) or stream (`/bytes`, `/big.bin`, ...).

use std::time::Duration;

use tokio::sync::watch;

/// The sending half: held by [`crate::Httpbin`], fired once when it drops.
#[derive(Debug)]
pub(crate) struct Trigger(watch::Sender<bool>);

/// The receiving half: a cheap-to-clone view of the "the server is stopping" flag that
/// sleeping endpoints wake up for at once.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

/// A new, unfired signal.
pub(crate) fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    /// Sets the flag and wakes every [`Shutdown::wait`] and [`Shutdown::sleep`] in progress.
    pub(crate) fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Whether [`Trigger::trigger`] has been called.
    pub(crate) fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the server stops (at once if it already has, or if the [`Trigger`] is
    /// gone).
    pub(crate) async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the trigger was dropped: the server is gone, which is a stop too.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration` unless the server stops first. Returns `true` when the full
    /// duration elapsed, `false` when the sleep was cut short by shutdown.
    pub(crate) async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.wait() => false,
            () = tokio::time::sleep(duration) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::channel;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn sleep_runs_to_completion_without_trigger() {
        let (_trigger, shutdown) = channel();
        assert!(shutdown.sleep(Duration::from_millis(5)).await);
        assert!(shutdown.sleep(Duration::ZERO).await);
        assert!(!shutdown.is_set());
    }

    #[tokio::test]
    async fn trigger_cuts_a_sleep_short() {
        let (trigger, shutdown) = channel();
        let other = shutdown.clone();
        let started = Instant::now();
        let sleeper = tokio::spawn(async move { other.sleep(Duration::from_secs(10)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        trigger.trigger();
        assert!(!sleeper.await.unwrap());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(shutdown.is_set());
        assert!(!shutdown.sleep(Duration::from_secs(10)).await);
    }

    #[tokio::test]
    async fn a_dropped_trigger_counts_as_a_stop() {
        let (trigger, shutdown) = channel();
        drop(trigger);
        assert!(!shutdown.sleep(Duration::from_secs(10)).await);
    }
}
