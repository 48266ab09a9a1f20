//! Server authentication across the retries of one request: which credentials to send
//! next, and what a 401 means.
//!
//! Qt's order: credentials in the URL, then the manager's cache (never the cache twice in a
//! row for a realm), then the application, through `authentication_required`. This module
//! decides; the worker does the asking ([`Challenged::Ask`]) and the sending.

use std::sync::Mutex;

use hyper::Method;
use hyper::http;
use url::Url;

use super::cache::{CredentialCache, Presented};
use super::challenge::{Chosen, basic_header, choose, parse_challenges};
use super::digest::cnonce;
use crate::protocol::{Credentials, Origin};
use crate::sync::lock;

/// Where the credentials being tried came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Url,
    Cache,
    Asked,
}

/// The credentials in use for an origin, and how they are presented.
struct Attempt {
    /// The challenge answered (its scheme and realm).
    challenge: Chosen,
    credentials: Credentials,
    source: Source,
}

/// What to do about a 401.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Challenged {
    /// Send the request again with the credentials now chosen.
    Retry,
    /// Give up: the 401 is the response.
    Deliver,
    /// Ask the application for credentials for `realm` (`failed`: the ones just rejected
    /// for it), then call [`AuthState::answered`].
    Ask { realm: String, failed: Option<Credentials> },
}

/// What to do once the application answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Retry,
    Deliver,
}

/// The authentication state of one request (reset when a redirect leaves the origin).
/// Holds passwords: no `Debug`, and nothing here is logged but realms and schemes.
pub(crate) struct AuthState {
    /// The request's id, for the log.
    id: u64,
    url_credentials: Option<Credentials>,
    tried_url: bool,
    current: Option<Attempt>,
    /// The challenge the application is being asked about.
    asking: Option<Chosen>,
    /// Realms whose cached credentials this request looked up after a challenge (a
    /// pre-emptive send does not count).
    cache_tried: Vec<String>,
    /// The Digest nonce last used and how many times (the `nc` sent with it).
    nonce_count: Option<(String, u32)>,
    /// The current credentials were already retried once after a `stale=true` 401.
    stale_retried: bool,
    /// The manager's cache may be used (Qt's `AuthenticationReuseAttribute`, `Automatic`).
    reuse: bool,
}

impl AuthState {
    pub(crate) fn new(id: u64, url: &Url, reuse: bool) -> Self {
        AuthState {
            id,
            url_credentials: url_credentials(url),
            tried_url: false,
            current: None,
            asking: None,
            cache_tried: Vec::new(),
            nonce_count: None,
            stale_retried: false,
            reuse,
        }
    }

    /// The Authorization header for the next attempt (`method` on `url`): current
    /// credentials, else cached Basic credentials for the origin (pre-emptive, as Qt does on
    /// a known host; Digest waits for the server's nonce).
    pub(crate) fn header(
        &mut self,
        method: &Method,
        url: &Url,
        cache: &Mutex<CredentialCache>,
    ) -> Option<String> {
        if self.current.is_none()
            && self.reuse
            && let Some((realm, credentials)) = lock(cache).preemptive(&Origin::of(url))
        {
            let challenge = Chosen::Basic { realm };
            self.current = Some(Attempt { challenge, credentials, source: Source::Cache });
        }
        let attempt = self.current.as_ref()?;
        let Credentials { user, password } = &attempt.credentials;
        let Chosen::Digest(digest) = &attempt.challenge else {
            return Some(basic_header(user, password));
        };
        let nc = match &mut self.nonce_count {
            Some((nonce, count)) if *nonce == digest.nonce => {
                *count += 1;
                *count
            }
            other => {
                *other = Some((digest.nonce.clone(), 1));
                1
            }
        };
        Some(digest.authorization(user, password, method.as_str(), request_target(url), nc, &cnonce()))
    }

    /// Answers a 401: picks the challenge (Digest before Basic) and the credentials to
    /// retry with, or says to ask the application, or to deliver the 401.
    pub(crate) fn on_challenge(
        &mut self,
        url: &Url,
        headers: &http::HeaderMap,
        cache: &Mutex<CredentialCache>,
    ) -> Challenged {
        let values = headers.get_all(http::header::WWW_AUTHENTICATE);
        let challenges = parse_challenges(values.iter().filter_map(|v| v.to_str().ok()));
        let Some(chosen) = choose(&challenges) else {
            log::debug!("request {}: 401 without a supported challenge: finishing without asking", self.id);
            return Challenged::Deliver;
        };
        let realm = chosen.realm().to_owned();
        let scheme = if matches!(chosen, Chosen::Digest(_)) { "Digest" } else { "Basic" };
        log::debug!("request {}: 401 for realm {realm:?}, answering with {scheme}", self.id);
        let origin = Origin::of(url);
        let mut previous = self.current.take();
        // The nonce expired, not the credentials just sent: once, retry them with the new
        // nonce without asking.
        let stale = matches!(&chosen, Chosen::Digest(new) if new.stale)
            && matches!(&previous, Some(p) if matches!(p.challenge, Chosen::Digest(_)) && p.challenge.realm() == realm)
            && !self.stale_retried;
        if stale && let Some(previous) = previous.take() {
            log::debug!("request {}: stale nonce, retrying with the new one", self.id);
            self.stale_retried = true;
            let Attempt { credentials, source, .. } = previous;
            self.current = Some(Attempt { challenge: chosen, credentials, source });
            return Challenged::Retry;
        }
        // Cached credentials for this very realm were rejected: forget them. Credentials
        // sent pre-emptively for another realm of the origin say nothing about this one:
        // they stay cached, and this realm's cache entry is still worth a try.
        if matches!(&previous, Some(p) if p.source == Source::Cache && p.challenge.realm() == realm) {
            lock(cache).forget(&origin, &realm);
        }
        if !self.tried_url {
            self.tried_url = true;
            if let Some(credentials) = self.url_credentials.clone() {
                self.retry_with(chosen, credentials, Source::Url);
                return Challenged::Retry;
            }
        }
        // Each realm's cache entry is tried once per request (Qt: never the cache twice in
        // a row), so a server alternating its realms cannot make us loop.
        if self.reuse && !self.cache_tried.contains(&realm) {
            let cached = lock(cache).get(&origin, &realm);
            if let Some(credentials) = cached {
                self.cache_tried.push(realm.clone());
                self.retry_with(chosen, credentials, Source::Cache);
                return Challenged::Retry;
            }
        }
        // The credentials just sent for this realm failed: the application sees them.
        let failed = previous.filter(|p| p.challenge.realm() == realm).map(|p| p.credentials);
        self.asking = Some(chosen);
        Challenged::Ask { realm, failed }
    }

    /// The application's answer to [`Challenged::Ask`]: credentials to retry with, or none.
    pub(crate) fn answered(&mut self, credentials: Option<Credentials>) -> Next {
        match (self.asking.take(), credentials) {
            (Some(chosen), Some(credentials)) => {
                self.retry_with(chosen, credentials, Source::Asked);
                Next::Retry
            }
            _ => Next::Deliver,
        }
    }

    fn retry_with(&mut self, challenge: Chosen, credentials: Credentials, source: Source) {
        self.stale_retried = false;
        self.current = Some(Attempt { challenge, credentials, source });
    }

    /// The server accepted the current credentials: cache them (Basic ones to be sent
    /// pre-emptively next time).
    pub(crate) fn accepted(&mut self, url: &Url, cache: &Mutex<CredentialCache>) {
        if let Some(attempt) = &self.current
            && attempt.source != Source::Cache
        {
            let presented = match attempt.challenge {
                Chosen::Basic { .. } => Presented::Basic,
                Chosen::Digest(_) => Presented::Digest,
            };
            let realm = attempt.challenge.realm().to_owned();
            lock(cache).insert(Origin::of(url), realm, attempt.credentials.clone(), presented);
        }
    }
}

/// Credentials given in the URL (`http://user:pass@host/`), percent-decoded.
pub(crate) fn url_credentials(url: &Url) -> Option<Credentials> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    Some(Credentials::new(percent_decode(url.username()), percent_decode(url.password().unwrap_or(""))))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The request-target of `url` as it goes to the origin (path and query, origin-form),
/// which a Digest response covers.
pub(crate) fn request_target(url: &Url) -> &str {
    match &url[url::Position::BeforePath..url::Position::AfterQuery] {
        "" => "/",
        target => target,
    }
}
