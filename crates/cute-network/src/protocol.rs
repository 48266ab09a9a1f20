//! What the manager's loop and its workers tell each other (private): the events a worker
//! sends about a reply, the questions it asks the loop and their answers, and the values
//! both sides name (an origin, credentials, a scheme).
//!
//! The bottom of the crate's plumbing: it names no other private module but the error
//! type, so the loop side (manager, reply, scheduler) and the worker side (worker, auth,
//! transport) both stand on it without reaching into each other.

use std::cell::Cell;
use std::fmt;

use url::Url;

use crate::error::Failure;

/// The URL schemes the manager serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
    File,
    Data,
}

impl Scheme {
    /// The scheme of `name` (lowercase, as the URL parser leaves it), if served.
    pub(crate) fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            "file" => Some(Scheme::File),
            "data" => Some(Scheme::Data),
            _ => None,
        }
    }

    pub(crate) fn of(url: &Url) -> Option<Scheme> {
        Scheme::from_name(url.scheme())
    }

    pub(crate) fn is_http(self) -> bool {
        matches!(self, Scheme::Http | Scheme::Https)
    }
}

/// Scheme, host and port: where a request goes. Requests to one origin share a host queue
/// (Qt's per-host connection limit), and credentials are valid for one origin (the path
/// does not matter, as in Qt).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub(crate) fn of(url: &Url) -> Origin {
        Origin {
            scheme: url.scheme().to_owned(),
            host: url.host_str().unwrap_or("").to_ascii_lowercase(),
            port: url.port_or_known_default().unwrap_or(0),
        }
    }
}

/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl Credentials {
    pub(crate) fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { user: user.into(), password: password.into() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

/// A message from a request's task to the manager's loop.
pub(crate) enum Event {
    /// News about reply `id`. The news sits in a `Cell` so the loop can take ownership of
    /// its payload (a body chunk, say) out of the `&Event` a slot receives.
    Reply(u64, Cell<Option<ReplyEvent>>),
    /// A runner found its host's queue empty and stopped: the loop may start another if
    /// requests arrived meanwhile.
    RunnerIdle(Origin),
    /// A request found out whether the origin's server multiplexes requests (HTTP/2) or
    /// not (HTTP/1.1): the scheduler sizes the origin's runners to it.
    Multiplexed(Origin, bool),
}

impl Event {
    pub(crate) fn reply(id: u64, event: ReplyEvent) -> Event {
        Event::Reply(id, Cell::new(Some(event)))
    }
}

/// What a worker reports about its request, in the order it happens.
pub(crate) enum ReplyEvent {
    /// A redirect to this URL is being followed.
    Redirected(Url),
    /// The worker waits for the loop's [`Answer`] (given through the reply's control).
    Question(Question),
    /// The final response's status and headers, at `url`.
    MetaData(Url, Box<MetaData>),
    /// A chunk of the (decoded) body; the loop releases its bytes from the hand-off budget.
    Data(Vec<u8>),
    /// Body bytes received so far (decoded), for `download_progress`, while the body is
    /// gathered whole before it is handed over.
    Progress(u64),
    /// Request body bytes sent so far, of `total`.
    UploadProgress { sent: u64, total: Option<u64> },
    /// The worker is done with the request.
    Finished(Result<(), Failure>),
}

/// What a worker asks the loop.
pub(crate) enum Question {
    /// User-verified redirect policy: may this redirect be followed?
    Redirect(Url),
    /// Credentials for a 401 (the server) or a 407 (the proxy), for `realm`; `failed`
    /// holds the credentials just rejected, if any (the authenticator arrives holding them).
    Credentials { realm: String, from: Challenger, failed: Option<Credentials> },
    /// The server's certificate failed verification: may the handshake go on in spite of
    /// these?
    SslErrors(Vec<crate::ssl::SslError>),
}

/// Who asks for credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenger {
    Server,
    Proxy,
}

/// The loop's answer to a [`Question`].
#[derive(Debug)]
pub(crate) enum Answer {
    Redirect {
        allowed: bool,
    },
    /// The certificate error kinds the application ignores (`ignore_ssl_errors`).
    SslErrors(Vec<crate::ssl::SslErrorKind>),
    /// `None`: nobody gave credentials, give up.
    Credentials(Option<Credentials>),
}

/// A response's status and headers, as the reply keeps them.
#[derive(Debug, Default)]
pub(crate) struct MetaData {
    /// `None` for replies that are not HTTP (`file:`, `data:`).
    pub(crate) status: Option<u16>,
    pub(crate) reason: String,
    /// The response's header fields, as hyper parsed them (handed over, not copied).
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) encrypted: bool,
    /// The server's certificate chain (DER), over TLS.
    pub(crate) peer_certificates: Option<std::sync::Arc<Vec<Vec<u8>>>>,
    /// The response came over HTTP/2.
    pub(crate) http2: bool,
    /// The decoded body length, when known in advance.
    pub(crate) total: Option<u64>,
    /// `Content-Length` as sent (before decoding).
    pub(crate) original_length: Option<u64>,
    /// A redirect that was not followed.
    pub(crate) redirect_target: Option<Url>,
    /// The URL the response is for (set as the reply takes it in).
    pub(crate) url: Option<Url>,
    /// The manager's cache answered (`SourceIsFromCacheAttribute`).
    pub(crate) from_cache: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_ignore_path_and_case_and_fill_in_default_ports() {
        let a = Origin::of(&Url::parse("http://Example.test/a?b").unwrap());
        assert_eq!(a, Origin::of(&Url::parse("http://example.test:80/other").unwrap()));
        assert_ne!(a, Origin::of(&Url::parse("https://example.test/").unwrap()));
        assert_ne!(a, Origin::of(&Url::parse("http://example.test:81/").unwrap()));
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let shown = format!("{:?}", Credentials::new("user7", "passwd7"));
        assert!(shown.contains("user7") && !shown.contains("passwd7"), "{shown}");
    }

    #[test]
    fn schemes() {
        assert_eq!(Scheme::from_name("https"), Some(Scheme::Https));
        assert!(Scheme::Http.is_http() && !Scheme::Data.is_http());
        assert_eq!(Scheme::from_name("ftp"), None);
    }
}

/// How a request goes on the wire (and which connections it may share).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Wire {
    /// HTTP/1.1 (plain http, or HTTP/2 disallowed).
    Http1,
    /// https offering `h2` and `http/1.1` by ALPN: the server picks.
    Negotiated,
    /// HTTP/2 by prior knowledge (h2c over plain http; only `h2` by ALPN over https).
    Http2Direct,
}
