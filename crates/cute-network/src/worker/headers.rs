//! The request headers as Qt 6 sends them: its defaults, added when the caller did not set
//! the header, and the length of the body, which the caller cannot get wrong.
//!
//! | header | value | when |
//! |---|---|---|
//! | `Accept-Encoding` | `zstd, br, gzip, deflate` (what is decoded; the body is then decoded) | not set by the caller; a caller's value turns decoding off |
//! | `Accept-Language` | the locale's, as Qt derives it: `de-DE,en,*`, `en-GB,*`, `en,*` for the C locale | not set by the caller |
//! | `User-Agent` | `Mozilla/5.0` | not set by the caller |
//! | `Connection` | `Keep-Alive` | not set by the caller |
//! | `Content-Length` | the body's length (`0` for a POST, PUT or PATCH without one) | always: the caller's is replaced |
//! | `Content-Type` | `application/x-www-form-urlencoded`, with a warning | a POST, PUT or PATCH without one |
//!
//! No `Accept` is sent unless the caller sets one.
//!
//! Responses are held to Qt's limits: at most 100 header fields, none over 100 KiB; the
//! head as a whole at most 128 KiB. Beyond a limit the reply fails with ProtocolFailure.

use std::sync::OnceLock;

use hyper::header::HeaderValue;

use crate::error::{Failure, NetworkError};

/// The codings the worker decodes, strongest first, as Qt 6 built with zstd and brotli
/// offers them.
pub(crate) const ACCEPT_ENCODING: &str = "zstd, br, gzip, deflate";

/// Qt's default `User-Agent`.
pub(crate) const USER_AGENT: &str = "Mozilla/5.0";

/// Qt's default `Connection` header.
pub(crate) const CONNECTION: &str = "Keep-Alive";

/// The most header fields a response may have (Qt's limit).
pub(crate) const MAX_RESPONSE_FIELDS: usize = 100;

/// The largest response header field, name and value (Qt's limit).
pub(crate) const MAX_RESPONSE_FIELD_SIZE: usize = 100 * 1024;

/// The largest response head as a whole (status line and fields): more than Qt's largest
/// field, less than its 100 fields at their largest.
pub(crate) const MAX_RESPONSE_HEAD: usize = 120 * 1024;

/// Checks a response's fields against Qt's limits: beyond them the response fails loudly
/// (ProtocolFailure) instead of losing headers.
pub(crate) fn check_response_fields(headers: &hyper::HeaderMap) -> Result<(), Failure> {
    if headers.len() > MAX_RESPONSE_FIELDS {
        return Err(Failure::new(
            NetworkError::ProtocolFailure,
            format!(
                "Protocol error: the response has {} header fields, more than {MAX_RESPONSE_FIELDS}",
                headers.len()
            ),
        ));
    }
    if let Some((name, value)) =
        headers.iter().find(|(name, value)| name.as_str().len() + value.len() > MAX_RESPONSE_FIELD_SIZE)
    {
        return Err(Failure::new(
            NetworkError::ProtocolFailure,
            format!(
                "Protocol error: response header field {name} of {} bytes exceeds {MAX_RESPONSE_FIELD_SIZE}",
                name.as_str().len() + value.len()
            ),
        ));
    }
    Ok(())
}

/// Whether `headers` holds header `name` (case-insensitive).
pub(crate) fn has(headers: &[(Vec<u8>, Vec<u8>)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
}

/// The `Accept-Language` Qt sends on this system, read once from the environment (a
/// header value is a cheap clone: no copy per request).
pub(crate) fn accept_language() -> HeaderValue {
    static VALUE: OnceLock<HeaderValue> = OnceLock::new();
    VALUE
        .get_or_init(|| {
            let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .find(|value| !value.is_empty());
            // Only letters, digits, `-`, `,` and `*`: always a valid value.
            HeaderValue::from_str(&accept_language_for(locale.as_deref()))
                .unwrap_or(HeaderValue::from_static("en,*"))
        })
        .clone()
}

/// Qt's rule: the locale's name with `-` for `_` (`de_DE.UTF-8` → `de-DE`); `en,*` for the
/// C locale, `<name>,*` for English ones, `<name>,en,*` for the others.
pub(crate) fn accept_language_for(locale: Option<&str>) -> String {
    // `de_DE.UTF-8@euro`: drop the codeset and the modifier.
    let name = locale.unwrap_or("C").split(['.', '@']).next().unwrap_or("").replace('_', "-");
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    match name.as_str() {
        _ if !valid => "en,*".to_owned(),
        "C" | "POSIX" => "en,*".to_owned(),
        english if english == "en" || english.starts_with("en-") => format!("{english},*"),
        other => format!("{other},en,*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_follows_qt() {
        assert_eq!(accept_language_for(None), "en,*");
        assert_eq!(accept_language_for(Some("C")), "en,*");
        assert_eq!(accept_language_for(Some("C.UTF-8")), "en,*");
        assert_eq!(accept_language_for(Some("POSIX")), "en,*");
        assert_eq!(accept_language_for(Some("de_DE.UTF-8")), "de-DE,en,*");
        assert_eq!(accept_language_for(Some("de_DE.UTF-8@euro")), "de-DE,en,*");
        assert_eq!(accept_language_for(Some("en_GB.UTF-8")), "en-GB,*");
        assert_eq!(accept_language_for(Some("fr")), "fr,en,*");
        assert_eq!(accept_language_for(Some("x\r\ny")), "en,*", "never a header injection");
    }

    #[test]
    fn response_field_limits_are_qts() {
        use hyper::header::{HeaderMap, HeaderName, HeaderValue};
        let mut fields = HeaderMap::new();
        for i in 0..MAX_RESPONSE_FIELDS {
            fields.append(
                HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        assert!(check_response_fields(&fields).is_ok(), "100 fields are fine");
        fields.append("x-one-more", HeaderValue::from_static("v"));
        assert_eq!(check_response_fields(&fields).unwrap_err().error, NetworkError::ProtocolFailure);

        let mut big = HeaderMap::new();
        big.insert("x-big", HeaderValue::from_str(&"a".repeat(MAX_RESPONSE_FIELD_SIZE - 10)).unwrap());
        assert!(check_response_fields(&big).is_ok(), "just under 100 KiB is fine");
        big.insert("x-big", HeaderValue::from_str(&"a".repeat(MAX_RESPONSE_FIELD_SIZE)).unwrap());
        assert!(check_response_fields(&big).unwrap_err().message.contains("header field"));
    }

    #[test]
    fn header_lookup_ignores_case() {
        let headers = vec![(b"Accept-Encoding".to_vec(), b"gzip".to_vec())];
        assert!(has(&headers, "accept-encoding"));
        assert!(!has(&headers, "accept"));
    }
}
