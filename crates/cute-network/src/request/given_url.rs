//! A request's URL as given ([`RequestUrl`]), and keeping credentials out of logs.

use url::Url;

/// What a request's URL was built from: anything `NetworkRequest::new` accepts.
#[derive(Debug, Clone)]
pub struct RequestUrl(pub(super) Given);

/// A URL as given: parsed, or the text that did not parse (kept for the error message).
#[derive(Debug, Clone)]
pub(super) enum Given {
    Valid(Url),
    Invalid(String),
}

impl RequestUrl {
    pub(super) fn parsed(&self) -> Option<&Url> {
        match &self.0 {
            Given::Valid(url) => Some(url),
            Given::Invalid(_) => None,
        }
    }
}

impl From<&str> for RequestUrl {
    fn from(raw: &str) -> Self {
        match parse(raw) {
            Some(url) => RequestUrl(Given::Valid(url)),
            None => RequestUrl(Given::Invalid(raw.to_owned())),
        }
    }
}

impl From<String> for RequestUrl {
    fn from(raw: String) -> Self {
        match parse(&raw) {
            Some(url) => RequestUrl(Given::Valid(url)),
            None => RequestUrl(Given::Invalid(raw)),
        }
    }
}

impl From<&String> for RequestUrl {
    fn from(raw: &String) -> Self {
        RequestUrl::from(raw.as_str())
    }
}

impl From<Url> for RequestUrl {
    fn from(url: Url) -> Self {
        RequestUrl(Given::Valid(url))
    }
}

impl From<&Url> for RequestUrl {
    fn from(url: &Url) -> Self {
        RequestUrl::from(url.clone())
    }
}

fn parse(raw: &str) -> Option<Url> {
    // The WHATWG parser silently strips tabs and newlines; a URL carrying them is refused
    // instead (it is an injection attempt or a bug), as are NULs.
    if has_forbidden_bytes(raw.as_bytes()) {
        return None;
    }
    Url::parse(raw.trim()).ok()
}

/// CR, LF or NUL: never allowed in a URL, header or verb (no request smuggling).
pub(crate) fn has_forbidden_bytes(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

pub(crate) fn is_secret_header(name: &[u8]) -> bool {
    ["authorization", "proxy-authorization", "cookie", "set-cookie"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
}

pub(super) fn redacted_url(url: &RequestUrl) -> String {
    match &url.0 {
        Given::Valid(u) => redact(u),
        Given::Invalid(raw) => redact_raw(raw),
    }
}

/// A URL string that did not parse, for logs and messages: a password in its userinfo
/// (`scheme://user:password@…`) is replaced.
pub(crate) fn redact_raw(raw: &str) -> String {
    let Some(start) = raw.find("://").map(|i| i + 3) else { return raw.to_owned() };
    let rest = &raw[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return raw.to_owned() };
    let Some(colon) = rest[..at].find(':') else { return raw.to_owned() };
    format!("{}{}:redacted{}", &raw[..start], &rest[..colon], &rest[at..])
}

/// A URL for logs and `Debug`: the password replaced.
pub(crate) fn redact(url: &Url) -> String {
    if url.password().is_some() {
        let mut u = url.clone();
        let _ = u.set_password(Some("redacted"));
        u.to_string()
    } else {
        url.to_string()
    }
}
