//! One request as both sides hold it (private): the reply on the loop, and its host's
//! queue and runner on the manager's runtime share one [`Exchange`], made once when the
//! request is made. A queued request is this and its reply: nothing is copied for the
//! queue.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use hyper::Method;
use url::Url;

use crate::body::Payload;
use crate::control::Control;
use crate::request::{Http2, NetworkRequest, RedirectPolicy};
use crate::settings::{Settings, unless_zero};

/// A request's limits; `None` is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// No byte moved for this long fails the transfer.
    pub(crate) transfer_timeout: Option<Duration>,
    /// Decoded bytes past which the decompression ratio is checked.
    pub(crate) decompression_threshold: Option<u64>,
    /// The largest (decoded) body accepted.
    pub(crate) max_body: Option<u64>,
}

/// A request as made, with what was decided then.
pub(crate) struct Exchange {
    pub(crate) id: u64,
    /// The request as the application made it (`NetworkReply::request` returns it).
    pub(crate) request: NetworkRequest,
    pub(crate) method: Method,
    /// Boxed: most requests have none, and a queued request's exchange stays 8 bytes
    /// smaller.
    pub(crate) body: Option<Box<Payload>>,
    pub(crate) policy: RedirectPolicy,
    /// What the loop and the request's runner share: abort, budget, answers.
    pub(crate) control: Control,
    /// The manager's settings when the request was made.
    pub(crate) settings: Arc<Settings>,
}

impl Exchange {
    /// The request's URL. Only requests with a valid URL are ever run (the loop refuses
    /// the others); for another, this is `about:invalid`, whose scheme nothing serves.
    pub(crate) fn url(&self) -> &Url {
        static INVALID: LazyLock<Url> =
            LazyLock::new(|| Url::parse("about:invalid").expect("a constant, valid URL"));
        self.request.url().unwrap_or(&INVALID)
    }

    /// The request's headers as the application set them.
    pub(crate) fn headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        self.request.headers()
    }

    /// How the request may use HTTP/2.
    pub(crate) fn http2(&self) -> Http2 {
        self.request.http2()
    }

    /// The request's limits: its own, else the manager's.
    pub(crate) fn limits(&self) -> Limits {
        let request = &self.request;
        Limits {
            transfer_timeout: request.transfer_timeout().map_or(self.settings.transfer_timeout, unless_zero),
            decompression_threshold: u64::try_from(request.decompressed_safety_check_threshold()).ok(),
            max_body: request.maximum_body_size(),
        }
    }

    /// Redirects followed at most.
    pub(crate) fn max_redirects(&self) -> u32 {
        self.request.maximum_redirects_allowed()
    }
}
