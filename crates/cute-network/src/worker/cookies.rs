//! The manager's cookie jar (private): RFC 6265 rules through `cookie_store`, as browsers
//! and Qt scope cookies (host and path, not port).

use std::sync::Mutex;

use cookie_store::{CookieStore, RawCookie};
use hyper::HeaderMap;
use url::Url;

use crate::sync::lock;

/// The cookies of one manager, shared by its requests for the manager's life.
#[derive(Debug, Default)]
pub(crate) struct Cookies {
    store: Mutex<CookieStore>,
}

impl Cookies {
    /// The `Cookie` header for a request to `url`, if the jar has cookies for it.
    pub(crate) fn header_for(&self, url: &Url) -> Option<String> {
        let store = lock(&self.store);
        let pairs: Vec<String> =
            store.get_request_values(url).map(|(name, value)| format!("{name}={value}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Keeps the cookies a response from `url` sets (its `Set-Cookie` headers).
    pub(crate) fn store_from(&self, url: &Url, headers: &HeaderMap) {
        let cookies: Vec<RawCookie<'static>> = headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| RawCookie::parse(value.to_owned()).ok())
            .collect();
        if !cookies.is_empty() {
            lock(&self.store).store_response_cookies(cookies.into_iter(), url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_follow_host_and_path_not_port() {
        let jar = Cookies::default();
        let mut headers = HeaderMap::new();
        headers.append(hyper::header::SET_COOKIE, "a=1; Path=/".parse().unwrap());
        headers.append(hyper::header::SET_COOKIE, "b=2; Path=/deep".parse().unwrap());
        jar.store_from(&Url::parse("http://127.0.0.1:8080/x").unwrap(), &headers);
        assert_eq!(jar.header_for(&Url::parse("http://127.0.0.1:9999/").unwrap()).as_deref(), Some("a=1"));
        let deep = jar.header_for(&Url::parse("http://127.0.0.1:8080/deep/er").unwrap()).unwrap();
        assert!(deep.contains("a=1") && deep.contains("b=2"), "{deep}");
        assert_eq!(jar.header_for(&Url::parse("http://localhost/").unwrap()), None);
    }
}
