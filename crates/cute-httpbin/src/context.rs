//! What an endpoint needs to know about a request, gathered once from hyper's `Request`.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::{Method, Request, Version};

/// A request with its body read, its target split and its headers copied out.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The request method.
    pub(crate) method: Method,
    /// The request target as sent (origin-form `/path?query`, or absolute-form; over
    /// HTTP/2 the `:path`).
    pub(crate) target: String,
    /// The path part of the target, still percent-encoded.
    pub(crate) path: String,
    /// The query pairs, decoded, in order (a key may repeat).
    pub(crate) query: Vec<(String, String)>,
    /// The request headers in order (those of one name together), names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    /// The client's IP address, as text.
    pub(crate) origin: String,
    /// The full request body.
    pub(crate) body: Bytes,
    /// Whether the client spoke HTTP/1.0 (no chunked encoding for it).
    pub(crate) http10: bool,
    /// The address the server listens on, for requests without a `Host` header.
    pub(crate) local: SocketAddr,
    /// The HTTP/2 `:authority`, which stands for `Host` there.
    pub(crate) authority: Option<String>,
    /// Whether the request came over TLS.
    pub(crate) tls: bool,
}

impl Ctx {
    /// Copies what the endpoints need out of `request` and reads its body to the end, so the
    /// connection stays usable for the next request whatever the endpoint does.
    pub(crate) async fn read(
        request: Request<Incoming>,
        remote: SocketAddr,
        local: SocketAddr,
        tls: bool,
    ) -> Result<Ctx, hyper::Error> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let http2 = parts.version == Version::HTTP_2;
        let target = match parts.uri.path_and_query() {
            Some(path) if http2 => path.as_str().to_owned(),
            _ => parts.uri.to_string(),
        };
        let authority = if http2 { parts.uri.authority().map(|a| a.as_str().to_owned()) } else { None };
        let path_and_query = strip_scheme_and_authority(&target);
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), parse_pairs(query.as_bytes())),
            None => (path_and_query.to_owned(), Vec::new()),
        };
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect();
        Ok(Ctx {
            method: parts.method,
            target,
            path: if path.is_empty() { "/".to_owned() } else { path },
            query,
            headers,
            origin: remote.ip().to_string(),
            body,
            http10: parts.version <= Version::HTTP_10,
            local,
            authority,
            tls,
        })
    }

    /// The first value of the header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of the query parameter `name`.
    pub(crate) fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The `Host` the client addressed (HTTP/2's `:authority`), or the listening address
    /// when it sent none.
    pub(crate) fn host(&self) -> String {
        match self.header("Host").or(self.authority.as_deref()) {
            Some(host) if !host.is_empty() => host.to_owned(),
            _ => self.local.to_string(),
        }
    }

    /// `https` over TLS, else `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The full URL of the request, rebuilt from the `Host` header and the request target.
    pub(crate) fn url(&self) -> String {
        if self.target.starts_with("http://") || self.target.starts_with("https://") {
            self.target.clone()
        } else {
            format!("{}://{}{}", self.scheme(), self.host(), self.target)
        }
    }

    /// Whether the method is `HEAD` (hyper then sends the headers only).
    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }

    /// Whether the method is `GET` or `HEAD`.
    pub(crate) fn is_get(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// Parses `application/x-www-form-urlencoded` pairs (a query string or a form body).
pub(crate) fn parse_pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input).into_owned().collect()
}

/// `/path?q` from an absolute-form target `http://host/path?q`; other targets unchanged.
fn strip_scheme_and_authority(target: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return rest.find('/').map_or("/", |i| &rest[i..]);
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::{parse_pairs, strip_scheme_and_authority};

    #[test]
    fn absolute_form_targets_lose_their_authority() {
        assert_eq!(strip_scheme_and_authority("http://h:1/get?a=1"), "/get?a=1");
        assert_eq!(strip_scheme_and_authority("http://h:1"), "/");
        assert_eq!(strip_scheme_and_authority("/x"), "/x");
    }

    #[test]
    fn pairs_are_decoded() {
        let pairs = parse_pairs(b"a=1&b=x+y&a=%2F");
        assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "x y".into()), ("a".into(), "/".into())]);
    }
}
