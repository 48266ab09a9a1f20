//! HTTP caching as Qt 6's manager does it with a cache set (private): what a request takes
//! from the cache ([`plan`]), which responses are stored ([`storable`]), and what a 304
//! does to a stored response ([`revalidated`]). The store is `disk_cache.rs`; the reply's
//! side (answering, writing as the body arrives) is `reply/cached.rs`.
//!
//! Qt's rules, and where this does better (RFC 9111):
//! - Freshness: `Cache-Control: max-age`, else `Expires`, computed when the response is
//!   stored (less its `Age`, which Qt ignores); without either, Qt's heuristic: a tenth of
//!   the time between `Last-Modified` and `Date`. An `Expires` that is not a date means
//!   already expired (Qt treats it as absent).
//! - A stale entry is revalidated with `If-None-Match` (its `ETag`) and
//!   `If-Modified-Since` (its `Last-Modified`); a 304 updates the entry's headers and
//!   answers from the cache.
//! - `no-store` (response or request) is never stored; a stored `no-cache` is always
//!   revalidated, as is every entry when the request says `no-cache`, `max-age=0` or
//!   `Pragma: no-cache` (Qt ignores the request's).
//! - Only GET responses are stored (Qt also stores a POST's with `max-age`, under the URL a
//!   later GET would be answered from); POST, PUT, DELETE and custom verbs remove the URL's
//!   entry, as in Qt. Statuses: those cacheable by default (200, 203, 204, 404, 405, 410,
//!   414, 501), others only with an explicit lifetime; never 206 or a 3xx.
//! - `Vary` (which Qt ignores): the request's values of the named headers are kept and must
//!   match; `Vary: *`, or on `Cookie` or `Authorization` (which the manager adds itself), is
//!   not stored. `Accept-Encoding` always counts, as it decides whether the body was
//!   decoded.
//! - `Set-Cookie` and hop-by-hop headers are not stored.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::cache_meta::NetworkCacheMetaData;
use crate::disk_cache::NetworkDiskCache;
use crate::protocol::MetaData;
use crate::request::{Attribute, AttributeValue, CacheLoadControl, NetworkRequest, Operation};

/// What a GET or HEAD does with the cache.
pub(crate) enum Plan {
    /// Go to the network, adding these headers (validators, or `no-cache`).
    Network(Vec<(Vec<u8>, Vec<u8>)>),
    /// Answer from the cache.
    Serve(Box<Hit>),
    /// `AlwaysCache` and nothing usable stored: fail, sending nothing.
    Missing,
}

/// A stored response that answers a request.
pub(crate) struct Hit {
    pub(crate) meta: NetworkCacheMetaData,
    pub(crate) body: Vec<u8>,
}

/// The request headers by which an application makes its own conditional request: the
/// cache stays out of it.
const CONDITIONAL: [&str; 5] =
    ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range"];

/// The headers the cache adds to revalidate.
pub(crate) const VALIDATORS: [&str; 2] = ["if-none-match", "if-modified-since"];

/// Response headers that describe the connection, not the response: never stored.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "set-cookie",
    "set-cookie2",
];

/// Statuses stored without an explicit lifetime (RFC 9110's heuristically cacheable ones,
/// the redirects left out).
const CACHEABLE_BY_DEFAULT: [u16; 8] = [200, 203, 204, 404, 405, 410, 414, 501];

/// What the cache does for a request, at `now`.
pub(crate) fn plan(
    cache: Option<&NetworkDiskCache>,
    request: &NetworkRequest,
    operation: Operation,
    now: SystemTime,
) -> Plan {
    let control = request.cache_load_control();
    // `file:` and `data:` are read as they are, whatever the attribute says (Qt's rule).
    let Some(url) = request.url().filter(|u| matches!(u.scheme(), "http" | "https")) else {
        return Plan::Network(Vec::new());
    };
    match control {
        CacheLoadControl::AlwaysNetwork if request.has_raw_header("cache-control") => {
            return Plan::Network(Vec::new());
        }
        CacheLoadControl::AlwaysNetwork => {
            return Plan::Network(vec![
                (b"Cache-Control".to_vec(), b"no-cache".to_vec()),
                (b"Pragma".to_vec(), b"no-cache".to_vec()),
            ]);
        }
        CacheLoadControl::AlwaysCache => {
            // Qt: a GET, answered whatever the entry's age.
            let entry = cache.and_then(|c| c.entry(url));
            return match entry {
                Some(entry) if operation == Operation::GetOperation && same_variant(&entry.meta, request) => {
                    match entry.body() {
                        Some(body) => Plan::Serve(Box::new(Hit { meta: entry.meta, body })),
                        None => Plan::Missing,
                    }
                }
                _ => Plan::Missing,
            };
        }
        CacheLoadControl::PreferNetwork | CacheLoadControl::PreferCache => {}
    }
    let Some(cache) = cache else { return Plan::Network(Vec::new()) };
    // Ranges are not stored; an application's own conditional request is its business.
    if request.has_raw_header("range") || CONDITIONAL.iter().any(|h| request.has_raw_header(h)) {
        return Plan::Network(Vec::new());
    }
    let Some(entry) = cache.entry(url) else { return Plan::Network(Vec::new()) };
    let meta = &entry.meta;
    if !meta.save_to_disk() || !same_variant(meta, request) {
        return Plan::Network(Vec::new());
    }
    let stored = directives(meta.header("cache-control"));
    let asked = directives(request.raw_header("cache-control").as_deref());
    let pragma = request.raw_header("pragma").is_some_and(|p| p.eq_ignore_ascii_case(b"no-cache"));
    let revalidate =
        has(&stored, "no-cache") || has(&asked, "no-cache") || value(&asked, "max-age") == Some(0) || pragma;
    let fresh = is_fresh(meta, now);
    let usable = !revalidate
        && match control {
            CacheLoadControl::PreferCache => {
                meta.expiration_date().is_none_or(|at| now <= at)
                    && (fresh || !has(&stored, "must-revalidate"))
            }
            _ => fresh,
        };
    if usable {
        // A HEAD is answered from the entry's metadata: its body is not read.
        let body = if operation == Operation::HeadOperation { Some(Vec::new()) } else { entry.body() };
        if let Some(body) = body {
            return Plan::Serve(Box::new(Hit { meta: entry.meta, body }));
        }
    }
    let mut validators = Vec::new();
    if let Some(etag) = meta.header("etag") {
        validators.push((b"If-None-Match".to_vec(), etag.to_vec()));
    }
    if let Some(modified) = meta.header("last-modified") {
        validators.push((b"If-Modified-Since".to_vec(), modified.to_vec()));
    }
    Plan::Network(validators)
}

/// Whether the entry is fresh at `now`: before its expiration date, or without one, by
/// Qt's heuristic (a tenth of the time from `Last-Modified` to `Date`, against the age
/// since `Date` or the `Age` sent, whichever is more).
fn is_fresh(meta: &NetworkCacheMetaData, now: SystemTime) -> bool {
    if let Some(at) = meta.expiration_date() {
        return now <= at;
    }
    let date = meta.header("date").and_then(http_date);
    let (Some(modified), Some(date)) = (meta.last_modified(), date) else { return false };
    let lifetime = date.duration_since(modified).unwrap_or_default() / 10;
    let age = now.duration_since(date).unwrap_or_default().max(age_header(meta.header("age")));
    lifetime > age
}

/// Whether the stored entry is the one a request revalidated: its variant, and the
/// validators the request sent are the entry's (another reply may have stored another
/// response for the URL meanwhile).
pub(crate) fn validated_by(meta: &NetworkCacheMetaData, request: &NetworkRequest) -> bool {
    let sent = |name: &str| {
        request
            .cache_headers()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    };
    same_variant(meta, request)
        && sent("if-none-match") == meta.header("etag")
        && sent("if-modified-since") == meta.header("last-modified")
}

/// The metadata to store a response under, or `None` if it is not stored.
pub(crate) fn storable(
    request: &NetworkRequest,
    operation: Operation,
    url: &Url,
    status: u16,
    reason: &str,
    headers: &hyper::HeaderMap,
    now: SystemTime,
) -> Option<NetworkCacheMetaData> {
    if operation != Operation::GetOperation
        || !request.saves_to_cache()
        || !matches!(url.scheme(), "http" | "https")
    {
        return None;
    }
    if status == 206 || (100..200).contains(&status) || (300..400).contains(&status) {
        return None;
    }
    let control = directives(joined(headers, "cache-control").as_deref());
    let asked = directives(request.raw_header("cache-control").as_deref());
    if has(&control, "no-store") || has(&asked, "no-store") {
        return None;
    }
    let explicit = value(&control, "max-age").is_some() || headers.contains_key(hyper::header::EXPIRES);
    if !explicit && !CACHEABLE_BY_DEFAULT.contains(&status) {
        return None;
    }
    let mut varying: Vec<Vec<u8>> = Vec::new();
    for name in joined(headers, "vary").unwrap_or_default().split(|b| *b == b',') {
        let name = name.trim_ascii().to_ascii_lowercase();
        if name == b"*" || name == b"cookie" || name == b"authorization" || name == b"proxy-authorization" {
            return None;
        }
        if !name.is_empty() && !varying.contains(&name) {
            varying.push(name);
        }
    }
    if !varying.iter().any(|n| n == b"accept-encoding") {
        varying.push(b"accept-encoding".to_vec());
    }
    let mut meta = NetworkCacheMetaData::new(url.clone());
    meta.set_raw_headers(
        headers
            .iter()
            .filter(|(name, value)| keeps(name.as_str(), value.as_bytes()))
            .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    );
    meta.set_attributes(HashMap::from([
        (Attribute::HttpStatusCodeAttribute, AttributeValue::Int(i64::from(status))),
        (Attribute::HttpReasonPhraseAttribute, AttributeValue::Bytes(reason.as_bytes().to_vec())),
    ]));
    meta.varying = varying
        .into_iter()
        .map(|name| {
            let value = request.raw_header(&name);
            (name, value)
        })
        .collect();
    set_freshness(&mut meta, now);
    Some(meta)
}

/// The entry after a 304 at `now`: the 304's headers replace the stored ones of the same
/// name (except those describing the body, which a 304 does not carry: Qt's rule), and
/// the freshness is computed again; status, reason and variant stay.
pub(crate) fn revalidated(
    old: &NetworkCacheMetaData,
    headers: &hyper::HeaderMap,
    now: SystemTime,
) -> NetworkCacheMetaData {
    let mut merged: Vec<(Vec<u8>, Vec<u8>)> = old.raw_headers().to_vec();
    for name in headers.keys() {
        let name = name.as_str();
        let body_describing = ["content-encoding", "content-range", "content-type"].contains(&name)
            && old.header(name).is_some();
        if body_describing || name == "content-length" {
            continue;
        }
        let values: Vec<_> = headers.get_all(name).iter().filter(|v| keeps(name, v.as_bytes())).collect();
        if values.is_empty() {
            continue;
        }
        merged.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
        merged.extend(values.into_iter().map(|v| (name.as_bytes().to_vec(), v.as_bytes().to_vec())));
    }
    let mut meta = old.clone();
    meta.set_raw_headers(merged);
    set_freshness(&mut meta, now);
    meta
}

/// The reply's metadata for an entry answering at `url`: its status, reason and headers,
/// the body's length as the total, marked as from the cache.
pub(crate) fn reply_meta(entry: &NetworkCacheMetaData, body_length: usize) -> MetaData {
    let attribute = |a: Attribute| entry.attributes().get(&a);
    let status = attribute(Attribute::HttpStatusCodeAttribute)
        .and_then(AttributeValue::as_int)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let reason = attribute(Attribute::HttpReasonPhraseAttribute)
        .and_then(AttributeValue::as_str)
        .map_or_else(|| status.to_string(), str::to_owned);
    let mut headers = hyper::HeaderMap::new();
    for (name, value) in entry.raw_headers() {
        if let (Ok(name), Ok(value)) =
            (hyper::header::HeaderName::from_bytes(name), hyper::header::HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let original_length =
        entry.header("content-length").and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok());
    MetaData {
        status: Some(status),
        reason,
        headers,
        encrypted: entry.url().is_some_and(|u| u.scheme() == "https"),
        total: Some(body_length as u64),
        original_length,
        url: entry.url().cloned(),
        from_cache: true,
        ..MetaData::default()
    }
}

/// Whether a response header is stored.
fn keeps(name: &str, value: &[u8]) -> bool {
    if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return false;
    }
    // Qt drops 1xx warnings (they describe one delivery, not the response).
    !(name.eq_ignore_ascii_case("warning") && value.first() == Some(&b'1'))
}

/// Sets the entry's expiration date and `Last-Modified` from its headers, at `now`.
fn set_freshness(meta: &mut NetworkCacheMetaData, now: SystemTime) {
    let control = directives(meta.header("cache-control"));
    let expiration = if let Some(max_age) = value(&control, "max-age") {
        let age = age_header(meta.header("age"));
        // A lifetime too long to hold counts as 2^31 seconds (RFC 9111 §1.2.2).
        let max_age = Duration::from_secs(max_age.min(1 << 31));
        Some((now + max_age).checked_sub(age).unwrap_or(UNIX_EPOCH))
    } else {
        // An `Expires` that is not a date has expired (RFC 9111 §5.3).
        meta.header("expires").map(|value| http_date(value).unwrap_or(UNIX_EPOCH))
    };
    let modified = meta.header("last-modified").and_then(http_date);
    meta.set_expiration_date(expiration);
    meta.set_last_modified(modified);
}

/// Whether the request is the variant the entry holds.
pub(crate) fn same_variant(meta: &NetworkCacheMetaData, request: &NetworkRequest) -> bool {
    meta.varying.iter().all(|(name, value)| request.raw_header(name) == *value)
}

/// A header's values, joined with `, `.
fn joined(headers: &hyper::HeaderMap, name: &str) -> Option<Vec<u8>> {
    let values: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    (!values.is_empty()).then(|| values.join(&b", "[..]))
}

/// `Cache-Control` directives: names lower-cased, values unquoted.
fn directives(value: Option<&[u8]>) -> Vec<(String, Option<String>)> {
    let Some(value) = value else { return Vec::new() };
    String::from_utf8_lossy(value)
        .split(',')
        .filter_map(|directive| {
            let (name, value) = match directive.split_once('=') {
                Some((name, value)) => (name, Some(value.trim().trim_matches('"').to_owned())),
                None => (directive, None),
            };
            let name = name.trim().to_ascii_lowercase();
            (!name.is_empty()).then_some((name, value))
        })
        .collect()
}

fn has(directives: &[(String, Option<String>)], name: &str) -> bool {
    directives.iter().any(|(n, _)| n == name)
}

/// A directive's number of seconds (`max-age=60`); a malformed one counts as 0.
fn value(directives: &[(String, Option<String>)], name: &str) -> Option<u64> {
    directives
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn age_header(value: Option<&[u8]>) -> Duration {
    let seconds = value.and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok()).unwrap_or(0);
    Duration::from_secs(seconds)
}

fn http_date(value: &[u8]) -> Option<SystemTime> {
    httpdate::parse_http_date(std::str::from_utf8(value).ok()?.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;

    fn response(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    fn url() -> Url {
        Url::parse("http://example.test/a").unwrap()
    }

    fn stored(pairs: &[(&str, &str)], now: SystemTime) -> Option<NetworkCacheMetaData> {
        let request = NetworkRequest::new(url().as_str());
        storable(&request, Operation::GetOperation, &url(), 200, "OK", &response(pairs), now)
    }

    #[test]
    fn max_age_beats_expires_and_counts_the_age_sent() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let meta =
            stored(&[("cache-control", "public, max-age=60"), ("age", "10"), ("expires", "0")], now).unwrap();
        assert_eq!(meta.expiration_date(), Some(now + Duration::from_secs(50)));
        assert!(is_fresh(&meta, now + Duration::from_secs(50)));
        assert!(!is_fresh(&meta, now + Duration::from_secs(51)));

        let meta = stored(&[("expires", "0")], now).unwrap();
        assert_eq!(meta.expiration_date(), Some(UNIX_EPOCH), "an Expires that is no date has expired");
        let meta = stored(&[("expires", "Thu, 01 Jan 1970 00:16:50 GMT")], now).unwrap();
        assert_eq!(meta.expiration_date(), Some(UNIX_EPOCH + Duration::from_secs(1010)));
    }

    #[test]
    fn the_heuristic_is_a_tenth_of_the_time_since_the_last_change() {
        let date = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let pairs = [
            ("date", httpdate::fmt_http_date(date)),
            ("last-modified", httpdate::fmt_http_date(date - Duration::from_secs(1000))),
        ];
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let meta = stored(&pairs, date).unwrap();
        assert_eq!(meta.expiration_date(), None);
        assert!(is_fresh(&meta, date + Duration::from_secs(99)));
        assert!(!is_fresh(&meta, date + Duration::from_secs(100)));
        let no_date = stored(&pairs[1..], date).unwrap();
        assert!(!is_fresh(&no_date, date), "no Date, no heuristic");
    }

    #[test]
    fn what_is_not_stored() {
        let now = SystemTime::now();
        assert!(stored(&[("cache-control", "no-store")], now).is_none());
        assert!(stored(&[("vary", "*")], now).is_none());
        assert!(stored(&[("vary", "Accept, Cookie")], now).is_none());
        let request = NetworkRequest::new(url().as_str());
        let headers = response(&[]);
        let get = Operation::GetOperation;
        assert!(storable(&request, Operation::PostOperation, &url(), 200, "OK", &headers, now).is_none());
        assert!(storable(&request, get, &url(), 206, "Partial", &headers, now).is_none());
        assert!(storable(&request, get, &url(), 301, "Moved", &headers, now).is_none());
        assert!(storable(&request, get, &url(), 500, "Error", &headers, now).is_none());
        let explicit = response(&[("cache-control", "max-age=5")]);
        assert!(
            storable(&request, get, &url(), 500, "Error", &explicit, now).is_some(),
            "explicitly cacheable"
        );
        assert!(storable(&request, get, &url(), 404, "Not Found", &headers, now).is_some());
        let mut refuses = request.clone();
        refuses.set_attribute(Attribute::CacheSaveControlAttribute, false.into()).unwrap();
        assert!(storable(&refuses, get, &url(), 200, "OK", &headers, now).is_none());

        let kept = stored(&[("set-cookie", "a=b"), ("connection", "close"), ("etag", "\"1\"")], now).unwrap();
        assert_eq!(kept.raw_headers(), [(b"etag".to_vec(), b"\"1\"".to_vec())]);
    }

    #[test]
    fn a_304_updates_the_headers_but_not_those_of_the_body() {
        let now = SystemTime::now();
        let old =
            stored(&[("content-type", "text/plain"), ("etag", "\"1\""), ("cache-control", "max-age=0")], now)
                .unwrap();
        let fresh304 = response(&[
            ("cache-control", "max-age=60"),
            ("content-type", "text/html"),
            ("content-length", "0"),
        ]);
        let new = revalidated(&old, &fresh304, now);
        assert_eq!(new.header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(new.header("cache-control"), Some(&b"max-age=60"[..]));
        assert_eq!(new.header("etag"), Some(&b"\"1\""[..]));
        assert!(new.header("content-length").is_none());
        assert!(is_fresh(&new, now + Duration::from_secs(30)));
        assert_eq!(new.attributes(), old.attributes());
    }

    #[test]
    fn a_304_confirms_only_the_entry_whose_validators_were_sent() {
        let now = SystemTime::now();
        let entry = stored(&[("etag", "\"1\"")], now).unwrap();
        let mut request = NetworkRequest::new(url().as_str());
        request.set_cache_headers(vec![(b"If-None-Match".to_vec(), b"\"1\"".to_vec())]);
        assert!(validated_by(&entry, &request));
        // Another response was stored for the URL meanwhile.
        let replaced = stored(&[("etag", "\"2\"")], now).unwrap();
        assert!(!validated_by(&replaced, &request));
        // Another variant (the request asked for coded bytes).
        let mut coded = request.clone();
        coded.set_raw_header("Accept-Encoding", "gzip");
        assert!(!validated_by(&entry, &coded));
    }

    #[test]
    fn directives_parse_loosely() {
        let parsed = directives(Some(b"Public, MAX-AGE=\"30\", no-cache=\"x\",,"));
        assert!(has(&parsed, "public"));
        assert_eq!(value(&parsed, "max-age"), Some(30));
        assert!(has(&parsed, "no-cache"));
        assert_eq!(value(&directives(Some(b"max-age=abc")), "max-age"), Some(0));
    }
}
