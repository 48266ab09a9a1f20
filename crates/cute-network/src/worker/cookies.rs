//! The manager's cookie jar as its requests use it (private): the jar the manager holds
//! now, swappable with `set_cookie_jar` (a request reads it when it is sent).

use std::sync::Mutex;

use hyper::HeaderMap;
use url::Url;

use crate::cookie::NetworkCookieJar;
use crate::sync::lock;

/// The manager's jar, shared by its requests for the manager's life.
#[derive(Debug, Default)]
pub(crate) struct Cookies {
    jar: Mutex<NetworkCookieJar>,
}

impl Cookies {
    /// The jar in use (a handle: clones share the cookies).
    pub(crate) fn jar(&self) -> NetworkCookieJar {
        lock(&self.jar).clone()
    }

    /// Uses `jar` from now on.
    pub(crate) fn set_jar(&self, jar: NetworkCookieJar) {
        *lock(&self.jar) = jar;
    }

    /// The `Cookie` header for a request to `url`, if the jar has cookies for it.
    pub(crate) fn header_for(&self, url: &Url) -> Option<String> {
        self.jar().header_for(url)
    }

    /// Keeps the cookies a response from `url` sets (its `Set-Cookie` headers).
    pub(crate) fn store_from(&self, url: &Url, headers: &HeaderMap) {
        self.jar().store_from(url, headers);
    }
}
