//! Known headers as typed values ([`KnownHeaderValue`]), as Qt's `header()` returns them in
//! a `QVariant`: a length as a number, dates as times, cookies as cookie lists.

use std::time::SystemTime;

use url::Url;

use crate::cookie::{NetworkCookie, RawForm};
use crate::request::KnownHeaders;

/// A known header's value, typed (Qt's `QVariant` from `header()`).
///
/// | header | value |
/// |---|---|
/// | `ContentLengthHeader` | `Int` |
/// | `LastModifiedHeader`, `IfModifiedSinceHeader` | `Date` (an HTTP date) |
/// | `LocationHeader` | `Url` (resolved against the reply's URL) |
/// | `CookieHeader`, `SetCookieHeader` | `Cookies` |
/// | `IfMatchHeader`, `IfNoneMatchHeader` | `List` (the entity tags) |
/// | the others | `Text` |
///
/// # Examples
///
/// ```
/// use cute_network::{KnownHeaderValue, KnownHeaders, NetworkRequest};
///
/// let mut request = NetworkRequest::new("http://example.com/");
/// request.set_header_value(KnownHeaders::ContentLengthHeader, KnownHeaderValue::Int(42));
/// assert_eq!(request.header(KnownHeaders::ContentLengthHeader).as_deref(), Some("42"));
/// assert_eq!(request.header_value(KnownHeaders::ContentLengthHeader), Some(KnownHeaderValue::Int(42)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum KnownHeaderValue {
    /// Text, as sent.
    Text(String),
    /// A number.
    Int(u64),
    /// A point in time.
    Date(SystemTime),
    /// A URL.
    Url(Url),
    /// Cookies (`Cookie`: name and value each; `Set-Cookie`: every attribute).
    Cookies(Vec<NetworkCookie>),
    /// A comma-separated list.
    List(Vec<String>),
}

impl KnownHeaderValue {
    /// The typed value of `header` from its raw value (several values joined by `", "`,
    /// `Set-Cookie`'s by `"\n"`); `base` resolves a relative `Location`. `None` if the raw
    /// value does not parse as the header's type.
    pub(crate) fn parse(header: KnownHeaders, raw: &[u8], base: Option<&Url>) -> Option<KnownHeaderValue> {
        use KnownHeaders::*;
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        Some(match header {
            ContentLengthHeader => KnownHeaderValue::Int(text.parse().ok()?),
            LastModifiedHeader | IfModifiedSinceHeader => {
                KnownHeaderValue::Date(httpdate::parse_http_date(text).ok()?)
            }
            LocationHeader => KnownHeaderValue::Url(match base {
                Some(base) => base.join(text).ok()?,
                None => Url::parse(text).ok()?,
            }),
            SetCookieHeader => KnownHeaderValue::Cookies(NetworkCookie::parse_cookies(raw)),
            CookieHeader => KnownHeaderValue::Cookies(
                text.split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .map(|(name, value)| NetworkCookie::new(name.trim(), value.trim()))
                    .collect(),
            ),
            IfMatchHeader | IfNoneMatchHeader => KnownHeaderValue::List(
                text.split(',').map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_owned).collect(),
            ),
            ContentTypeHeader | ContentDispositionHeader | UserAgentHeader | ServerHeader | ETagHeader => {
                KnownHeaderValue::Text(text.to_owned())
            }
        })
    }

    /// The value as `header` is written on the wire.
    pub(crate) fn format(&self, header: KnownHeaders) -> String {
        match self {
            KnownHeaderValue::Text(text) => text.clone(),
            KnownHeaderValue::Int(n) => n.to_string(),
            KnownHeaderValue::Date(at) => httpdate::fmt_http_date(*at),
            KnownHeaderValue::Url(url) => url.as_str().to_owned(),
            KnownHeaderValue::Cookies(cookies) => {
                let (form, separator) = match header {
                    KnownHeaders::SetCookieHeader => (RawForm::Full, "\n"),
                    _ => (RawForm::NameAndValueOnly, "; "),
                };
                let forms: Vec<String> = cookies
                    .iter()
                    .map(|c| String::from_utf8_lossy(&c.to_raw_form(form)).into_owned())
                    .collect();
                forms.join(separator)
            }
            KnownHeaderValue::List(items) => items.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn each_known_header_parses_to_its_type_and_formats_back() {
        let date = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let raw = b"Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            KnownHeaderValue::parse(KnownHeaders::LastModifiedHeader, raw, None),
            Some(KnownHeaderValue::Date(date))
        );
        assert_eq!(KnownHeaderValue::Date(date).format(KnownHeaders::LastModifiedHeader).as_bytes(), raw);
        assert_eq!(
            KnownHeaderValue::parse(KnownHeaders::ContentLengthHeader, b" 12 ", None),
            Some(KnownHeaderValue::Int(12))
        );
        assert_eq!(KnownHeaderValue::parse(KnownHeaders::ContentLengthHeader, b"twelve", None), None);
        let base = Url::parse("http://h.example/a/b").unwrap();
        assert_eq!(
            KnownHeaderValue::parse(KnownHeaders::LocationHeader, b"../c", Some(&base)),
            Some(KnownHeaderValue::Url(Url::parse("http://h.example/c").unwrap()))
        );
        let Some(KnownHeaderValue::Cookies(cookies)) =
            KnownHeaderValue::parse(KnownHeaders::CookieHeader, b"a=1; b=2", None)
        else {
            panic!("cookies")
        };
        assert_eq!(
            cookies.iter().map(|c| (c.name(), c.value())).collect::<Vec<_>>(),
            [("a", "1"), ("b", "2")]
        );
        assert_eq!(KnownHeaderValue::Cookies(cookies).format(KnownHeaders::CookieHeader), "a=1; b=2");
        assert_eq!(
            KnownHeaderValue::parse(KnownHeaders::IfNoneMatchHeader, br#""x", W/"y""#, None),
            Some(KnownHeaderValue::List(vec![r#""x""#.to_owned(), r#"W/"y""#.to_owned()]))
        );
    }
}
