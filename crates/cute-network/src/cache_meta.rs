//! [`NetworkCacheMetaData`] (Qt's `QNetworkCacheMetaData`): what a cache keeps about a
//! response beside its body, and its JSON form in an entry's file.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use url::Url;

use crate::request::{Attribute, AttributeValue};

/// What a cache keeps about a response beside its body (Qt's `QNetworkCacheMetaData`).
#[doc(alias = "QNetworkCacheMetaData")]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkCacheMetaData {
    url: Option<Url>,
    raw_headers: Vec<(Vec<u8>, Vec<u8>)>,
    last_modified: Option<SystemTime>,
    expiration_date: Option<SystemTime>,
    save_to_disk: bool,
    attributes: HashMap<Attribute, AttributeValue>,
    /// The request's values of the headers the response varies on (`Vary`, and
    /// `Accept-Encoding` always): a request with other values is another variant.
    pub(crate) varying: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl NetworkCacheMetaData {
    /// Metadata for `url`, to be saved to disk.
    pub fn new(url: Url) -> Self {
        NetworkCacheMetaData { url: Some(url), save_to_disk: true, ..Self::default() }
    }

    /// The URL the entry is for.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    /// Whether it has a URL (Qt's `isValid`).
    pub fn is_valid(&self) -> bool {
        self.url.is_some()
    }

    /// The response headers kept.
    pub fn raw_headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.raw_headers
    }

    /// Sets the response headers kept.
    pub fn set_raw_headers(&mut self, headers: Vec<(Vec<u8>, Vec<u8>)>) {
        self.raw_headers = headers;
    }

    /// The response's `Last-Modified`.
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }

    /// Sets the response's `Last-Modified`.
    pub fn set_last_modified(&mut self, at: Option<SystemTime>) {
        self.last_modified = at;
    }

    /// When the entry stops being fresh.
    pub fn expiration_date(&self) -> Option<SystemTime> {
        self.expiration_date
    }

    /// Sets when the entry stops being fresh.
    pub fn set_expiration_date(&mut self, at: Option<SystemTime>) {
        self.expiration_date = at;
    }

    /// Whether the entry may be written to disk (Qt's `saveToDisk`).
    pub fn save_to_disk(&self) -> bool {
        self.save_to_disk
    }

    /// Sets whether the entry may be written to disk.
    pub fn set_save_to_disk(&mut self, save: bool) {
        self.save_to_disk = save;
    }

    /// The reply attributes kept with the response (Qt's `attributes`): its status code
    /// and reason phrase, which a reply answered from the cache reports.
    pub fn attributes(&self) -> &HashMap<Attribute, AttributeValue> {
        &self.attributes
    }

    /// Sets the reply attributes kept with the response.
    pub fn set_attributes(&mut self, attributes: HashMap<Attribute, AttributeValue>) {
        self.attributes = attributes;
    }

    /// The first response header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.raw_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| &v[..])
    }

    pub(crate) fn to_json(&self, size: u64) -> Value {
        let secs =
            |at: Option<SystemTime>| at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let attributes: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(attribute, value)| {
                let value = match value {
                    AttributeValue::Int(n) => json!({ "int": n }),
                    AttributeValue::Bool(b) => json!({ "bool": b }),
                    AttributeValue::Bytes(b) => json!({ "bytes": text(b) }),
                    AttributeValue::Url(u) => json!({ "url": u.as_str() }),
                };
                ((*attribute as i64).to_string(), value)
            })
            .collect();
        json!({
            "url": self.url.as_ref().map(Url::as_str),
            "headers": self.raw_headers.iter().map(|(n, v)| [text(n), text(v)]).collect::<Vec<_>>(),
            "last_modified": secs(self.last_modified),
            "expires": secs(self.expiration_date),
            "attributes": attributes,
            "varying": self.varying.iter().map(|(n, v)| json!([text(n), v.as_deref().map(text)])).collect::<Vec<_>>(),
            "size": size,
        })
    }

    /// The metadata, and the body's length, from an entry's first line.
    pub(crate) fn from_json(value: &Value) -> Option<(Self, u64)> {
        let time = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        };
        let bytes = |v: &Value| v.as_str().map(|s| s.as_bytes().to_vec());
        let headers = value
            .get("headers")?
            .as_array()?
            .iter()
            .filter_map(|pair| Some((bytes(pair.get(0)?)?, bytes(pair.get(1)?)?)))
            .collect();
        let attributes = value
            .get("attributes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(code, v)| {
                let attribute = Attribute::from_code(code.parse().ok()?)?;
                let value = if let Some(n) = v.get("int").and_then(Value::as_i64) {
                    AttributeValue::Int(n)
                } else if let Some(b) = v.get("bool").and_then(Value::as_bool) {
                    AttributeValue::Bool(b)
                } else if let Some(b) = v.get("bytes").and_then(bytes) {
                    AttributeValue::Bytes(b)
                } else {
                    AttributeValue::Url(Url::parse(v.get("url")?.as_str()?).ok()?)
                };
                Some((attribute, value))
            })
            .collect();
        let varying = value
            .get("varying")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|pair| Some((bytes(pair.get(0)?)?, pair.get(1).and_then(bytes))))
            .collect();
        let meta = NetworkCacheMetaData {
            url: Url::parse(value.get("url")?.as_str()?).ok(),
            raw_headers: headers,
            last_modified: time("last_modified"),
            expiration_date: time("expires"),
            save_to_disk: true,
            attributes,
            varying,
        };
        Some((meta, value.get("size")?.as_u64()?))
    }
}
