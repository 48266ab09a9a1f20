//! Awaiting a reply: [`NetworkReply::finished_future`], and `reply.await` through
//! `IntoFuture` (qasync's `await reply`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use cute_core::NextEmission;

use super::NetworkReply;

impl NetworkReply {
    /// A future that resolves to the reply once it has finished: at once if it already
    /// has, else when [`finished`](Self::finished) is emitted (after the manager's
    /// `finished`, as that signal's slots see it). `reply.await` does the same (qasync's
    /// `await reply`); read the outcome from the reply as in a `finished` slot.
    ///
    /// The future is `!Send`, as the reply is: await it on the manager's thread, in a task
    /// of [`spawn_local`](cute_core::spawn_local) or in [`block_on`](cute_core::block_on).
    /// Every reply finishes (success, error, abort, timeout, the manager dropped), so it
    /// always resolves while the loop runs; bound it with
    /// [`timeout`](cute_core::timeout) all the same if the server may hang.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{block_on, spawn_local, timeout};
    /// use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest};
    /// # let server = cute_httpbin::Httpbin::start().unwrap();
    /// # let url = server.url("/get");
    ///
    /// let nam = NetworkAccessManager::new();
    /// let reply = block_on(nam.get(&NetworkRequest::new(url)).finished_future());
    /// assert_eq!(reply.error(), NetworkError::NoError);
    ///
    /// // In a task, `.await` on the reply itself.
    /// # let url = server.url("/status/404");
    /// let reply = nam.get(&NetworkRequest::new(url));
    /// let status = spawn_local(async move { reply.await.status_code() });
    /// assert_eq!(block_on(timeout(Duration::from_secs(30), status)).unwrap().unwrap(), Some(404));
    /// ```
    pub fn finished_future(&self) -> ReplyFinished {
        let next = if self.is_finished() { None } else { Some(self.finished().next()) };
        ReplyFinished { reply: self.clone(), next }
    }
}

/// The future of [`NetworkReply::finished_future`] (and of `reply.await`): the reply, once
/// it has finished.
#[must_use = "futures do nothing unless awaited"]
pub struct ReplyFinished {
    reply: NetworkReply,
    /// The `finished` emission awaited (`None`: finished already).
    next: Option<NextEmission<NetworkReply>>,
}

impl Future for ReplyFinished {
    type Output = NetworkReply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<NetworkReply> {
        if let Some(next) = self.next.as_mut() {
            // `None` (the signal can no longer emit) cannot happen while we hold the reply;
            // the reply is returned either way.
            if Pin::new(next).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.next = None;
        }
        Poll::Ready(self.reply.clone())
    }
}

impl IntoFuture for NetworkReply {
    type Output = NetworkReply;
    type IntoFuture = ReplyFinished;

    /// See [`NetworkReply::finished_future`].
    fn into_future(self) -> ReplyFinished {
        self.finished_future()
    }
}

impl IntoFuture for &NetworkReply {
    type Output = NetworkReply;
    type IntoFuture = ReplyFinished;

    /// See [`NetworkReply::finished_future`].
    fn into_future(self) -> ReplyFinished {
        self.finished_future()
    }
}

impl fmt::Debug for ReplyFinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyFinished").field("finished", &self.next.is_none()).finish_non_exhaustive()
    }
}
