//! Query strings and form bodies as Qt builds them ([`UrlQuery`], Qt's `QUrlQuery`), and the
//! `QUrl` helpers a ported script reaches for ([`UrlExt`]).

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use url::Url;

/// What Qt's fully encoded form percent-encodes in a query value: controls, space,
/// non-ASCII (as UTF-8), `%`, `#`, the characters a URL may not carry (`"<>\^`{|}` and
/// `[]`), and the pair delimiter `&`. `+`, `=`, `/`, `?`, `:`, `@` and the other
/// sub-delimiters stay as written.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A key also has its `=` encoded.
const KEY: &AsciiSet = &VALUE.add(b'=');

/// A query string as a list of key/value pairs (Qt's `QUrlQuery`), to build a URL's query
/// or an `application/x-www-form-urlencoded` body the way Qt does.
///
/// Keys and values are held decoded. [`to_string`](ToString::to_string) (Qt's
/// `toString(QUrl::FullyEncoded)`) encodes them as Qt does: a space becomes `%20`, never
/// `+`, and a `+` stays a `+`. A server decoding the result as a form (httpbin, most web
/// frameworks) reads that `+` as a space, exactly as with Qt: to send a literal plus, write
/// `%2B` in the value, or use [`to_form_encoded`](Self::to_form_encoded), which encodes it.
/// (`url::form_urlencoded` writes a space as `+`; Qt users expect `%20`.)
///
/// # Examples
///
/// ```
/// use cute_network::{KnownHeaders, NetworkRequest, UrlQuery};
///
/// // query = QUrlQuery(); query.addQueryItem("name", "Peter Pan"); query.addQueryItem("age", "34")
/// let mut query = UrlQuery::new();
/// query.add_query_item("name", "Peter Pan");
/// query.add_query_item("age", "34");
/// // data = query.toString(QUrl.ComponentFormattingOption.FullyEncoded).encode()
/// let data = query.to_string().into_bytes();
/// assert_eq!(data, b"name=Peter%20Pan&age=34");
///
/// // In a URL: url.setQuery(query)
/// let mut request = NetworkRequest::new("https://example.com/search");
/// request.set_query(&query);
/// assert_eq!(request.url().unwrap().as_str(), "https://example.com/search?name=Peter%20Pan&age=34");
///
/// // Reading one back.
/// let parsed = UrlQuery::parse("q=caf%C3%A9&page=2&page=3");
/// assert_eq!(parsed.query_item_value("q"), Some("café"));
/// assert_eq!(parsed.all_query_item_values("page"), ["2", "3"]);
/// ```
#[doc(alias = "QUrlQuery")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlQuery {
    items: Vec<(String, String)>,
    value_delimiter: char,
    pair_delimiter: char,
}

impl Default for UrlQuery {
    fn default() -> Self {
        UrlQuery { items: Vec::new(), value_delimiter: '=', pair_delimiter: '&' }
    }
}

impl UrlQuery {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pairs of an encoded query string (Qt's `QUrlQuery(QString)`): split at `&` and
    /// `=`, percent-decoded (invalid UTF-8 replaced), `+` kept as written. A piece without
    /// `=` is a key with an empty value; empty pieces are skipped.
    pub fn parse(query: &str) -> Self {
        let mut parsed = UrlQuery::new();
        parsed.set_query(query);
        parsed
    }

    /// Replaces the pairs with those of the encoded `query` (Qt's `setQuery`), split at the
    /// current delimiters.
    pub fn set_query(&mut self, query: &str) {
        let query = query.strip_prefix('?').unwrap_or(query);
        self.items = query
            .split(self.pair_delimiter)
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (key, value) = piece.split_once(self.value_delimiter).unwrap_or((piece, ""));
                (decode(key), decode(value))
            })
            .collect();
    }

    /// Appends a pair (Qt's `addQueryItem`); `key` and `value` are given decoded.
    #[doc(alias = "addQueryItem")]
    pub fn add_query_item(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.items.push((key.into(), value.into()));
    }

    /// The first value of `key` (Qt's `queryItemValue`, which returns an empty string for a
    /// missing key; here `None`).
    #[doc(alias = "queryItemValue")]
    pub fn query_item_value(&self, key: &str) -> Option<&str> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order (Qt's `allQueryItemValues`).
    #[doc(alias = "allQueryItemValues")]
    pub fn all_query_item_values(&self, key: &str) -> Vec<&str> {
        self.items.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether `key` is present (Qt's `hasQueryItem`).
    #[doc(alias = "hasQueryItem")]
    pub fn has_query_item(&self, key: &str) -> bool {
        self.items.iter().any(|(k, _)| k == key)
    }

    /// Removes the first pair with `key` (Qt's `removeQueryItem`).
    #[doc(alias = "removeQueryItem")]
    pub fn remove_query_item(&mut self, key: &str) {
        if let Some(at) = self.items.iter().position(|(k, _)| k == key) {
            self.items.remove(at);
        }
    }

    /// Removes every pair with `key` (Qt's `removeAllQueryItems`).
    #[doc(alias = "removeAllQueryItems")]
    pub fn remove_all_query_items(&mut self, key: &str) {
        self.items.retain(|(k, _)| k != key);
    }

    /// The pairs, decoded, in order (Qt's `queryItems`).
    #[doc(alias = "queryItems")]
    pub fn query_items(&self) -> &[(String, String)] {
        &self.items
    }

    /// Replaces the pairs (Qt's `setQueryItems`).
    #[doc(alias = "setQueryItems")]
    pub fn set_query_items<K: Into<String>, V: Into<String>>(
        &mut self,
        items: impl IntoIterator<Item = (K, V)>,
    ) {
        self.items = items.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Sets the delimiters between key and value and between pairs (Qt's
    /// `setQueryDelimiters`; `=` and `&` by default). Both must be ASCII punctuation
    /// allowed in a query, as in Qt; others are ignored.
    #[doc(alias = "setQueryDelimiters")]
    pub fn set_query_delimiters(&mut self, value: char, pair: char) {
        let allowed = |c: char| c.is_ascii_punctuation() && !matches!(c, '#' | '%');
        if allowed(value) && allowed(pair) && value != pair {
            self.value_delimiter = value;
            self.pair_delimiter = pair;
        }
    }

    /// The delimiter between a key and its value.
    pub fn query_value_delimiter(&self) -> char {
        self.value_delimiter
    }

    /// The delimiter between pairs.
    pub fn query_pair_delimiter(&self) -> char {
        self.pair_delimiter
    }

    /// As [`to_string`](ToString::to_string), but with `+` encoded as `%2B`, so that a
    /// server decoding it as a form reads a plus as a plus (what browsers send). Not in Qt.
    pub fn to_form_encoded(&self) -> String {
        self.encode(true)
    }

    fn encode(&self, plus: bool) -> String {
        let mut out = String::new();
        for (i, (key, value)) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(self.pair_delimiter);
            }
            self.encode_part(&mut out, key, KEY, plus);
            out.push(self.value_delimiter);
            self.encode_part(&mut out, value, VALUE, plus);
        }
        out
    }

    fn encode_part(&self, out: &mut String, part: &str, set: &'static AsciiSet, plus: bool) {
        let mut start = 0;
        for (at, c) in part.char_indices() {
            let escape =
                (plus && c == '+') || c == self.pair_delimiter || c == self.value_delimiter && set == KEY;
            if escape {
                out.extend(utf8_percent_encode(&part[start..at], set));
                out.push_str(&format!("%{:02X}", c as u32));
                start = at + c.len_utf8();
            }
        }
        out.extend(utf8_percent_encode(&part[start..], set));
    }
}

/// Qt's `toString(QUrl::FullyEncoded)`: the encoded query string.
impl fmt::Display for UrlQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode(false))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for UrlQuery {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(items: I) -> Self {
        let mut query = UrlQuery::new();
        query.set_query_items(items);
        query
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for UrlQuery {
    /// Qt's initializer-list constructor: `UrlQuery::from([("a", "1"), ("b", "x y")])`.
    fn from(items: [(K, V); N]) -> Self {
        items.into_iter().collect()
    }
}

fn decode(part: &str) -> String {
    match percent_decode_str(part).decode_utf8_lossy() {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

/// Qt's `QUrl` conveniences for [`Url`]: `use cute_network::UrlExt;`.
///
/// # Examples
///
/// ```
/// use cute_network::{Url, UrlExt, UrlQuery};
///
/// let mut url = Url::parse("https://user:secret@example.com/files/caf%C3%A9%20menu.pdf").unwrap();
/// assert_eq!(url.file_name(), "café menu.pdf");
/// assert_eq!(url.to_display_string(), "https://user@example.com/files/café menu.pdf");
/// url.set_url_query(&UrlQuery::from([("lang", "fr"), ("q", "a b")]));
/// assert_eq!(url.query(), Some("lang=fr&q=a%20b"));
/// assert_eq!(url.url_query().query_item_value("q"), Some("a b"));
/// ```
pub trait UrlExt {
    /// The last segment of the path, percent-decoded (Qt's `fileName()`): empty when the
    /// path ends with `/`.
    #[doc(alias = "fileName")]
    fn file_name(&self) -> String;

    /// The URL for showing to a person (Qt's `toDisplayString()`): percent-decoded where
    /// that is readable, the password removed.
    #[doc(alias = "toDisplayString")]
    fn to_display_string(&self) -> String;

    /// Sets the query from `query` (Qt's `setQuery(QUrlQuery)`); an empty query removes it.
    #[doc(alias = "setQuery")]
    fn set_url_query(&mut self, query: &UrlQuery);

    /// The query as a [`UrlQuery`] (Qt's `QUrlQuery(url)`).
    fn url_query(&self) -> UrlQuery;
}

impl UrlExt for Url {
    fn file_name(&self) -> String {
        let last = self.path().rsplit('/').next().unwrap_or("");
        decode(last)
    }

    fn to_display_string(&self) -> String {
        let mut shown = self.clone();
        if shown.password().is_some() {
            // Fails only for URLs that cannot have credentials, which have no password.
            let _ = shown.set_password(None);
        }
        decode(shown.as_str())
    }

    fn set_url_query(&mut self, query: &UrlQuery) {
        if query.is_empty() {
            self.set_query(None);
        } else {
            self.set_query(Some(&query.to_string()));
        }
    }

    fn url_query(&self) -> UrlQuery {
        UrlQuery::parse(self.query().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_qt_fully_encoded() {
        let query = UrlQuery::from([
            ("name", "Peter Pan"),
            ("sum", "1+1=2"),
            ("amp", "a&b"),
            ("path", "/a/b?c:d@e"),
            ("odd", "100% #1 <x> \"q\" {y}|[z]^`\\"),
            ("k=ey", "v"),
            ("utf8", "café ☕"),
            ("empty", ""),
        ]);
        assert_eq!(
            query.to_string(),
            "name=Peter%20Pan&sum=1+1=2&amp=a%26b&path=/a/b?c:d@e\
             &odd=100%25%20%231%20%3Cx%3E%20%22q%22%20%7By%7D%7C%5Bz%5D%5E%60%5C\
             &k%3Dey=v&utf8=caf%C3%A9%20%E2%98%95&empty="
        );
        assert_eq!(query.to_form_encoded().split('&').nth(1), Some("sum=1%2B1=2"));
    }

    #[test]
    fn parse_decodes_and_round_trips() {
        let query = UrlQuery::parse("?a=1&b=x%20y&b=z&flag&&c=%E2%98%95&d=1+2");
        assert_eq!(
            query.query_items(),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x y".to_owned()),
                ("b".to_owned(), "z".to_owned()),
                ("flag".to_owned(), String::new()),
                ("c".to_owned(), "☕".to_owned()),
                ("d".to_owned(), "1+2".to_owned()),
            ]
        );
        assert_eq!(UrlQuery::parse(&query.to_string()), query);
    }

    #[test]
    fn items_are_added_looked_up_and_removed_in_order() {
        let mut query = UrlQuery::new();
        assert!(query.is_empty());
        query.add_query_item("a", "1");
        query.add_query_item("b", "2");
        query.add_query_item("a", "3");
        assert_eq!(query.query_item_value("a"), Some("1"));
        assert_eq!(query.query_item_value("missing"), None);
        assert_eq!(query.all_query_item_values("a"), ["1", "3"]);
        assert!(query.has_query_item("b"));
        query.remove_query_item("a");
        assert_eq!(query.to_string(), "b=2&a=3");
        query.remove_all_query_items("a");
        assert_eq!(query.to_string(), "b=2");
        query.clear();
        assert_eq!(query.to_string(), "");
    }

    #[test]
    fn other_delimiters_split_and_are_encoded_inside_values() {
        let mut query = UrlQuery::new();
        query.set_query_delimiters(':', ';');
        query.add_query_item("a", "x;y:z");
        assert_eq!(query.to_string(), "a:x%3By:z");
        query.set_query("p:1;q:2");
        assert_eq!(query.query_item_value("q"), Some("2"));
        // Refused: not punctuation, or the same character twice.
        query.set_query_delimiters('x', ';');
        query.set_query_delimiters(';', ';');
        assert_eq!((query.query_value_delimiter(), query.query_pair_delimiter()), (':', ';'));
    }

    #[test]
    fn url_helpers() {
        let mut url = Url::parse("http://u:p@h.example/dir/na%20me.txt?x=1").unwrap();
        assert_eq!(url.file_name(), "na me.txt");
        assert_eq!(url.to_display_string(), "http://u@h.example/dir/na me.txt?x=1");
        assert_eq!(url.url_query().query_item_value("x"), Some("1"));
        url.set_url_query(&UrlQuery::new());
        assert_eq!(url.query(), None);
        assert_eq!(Url::parse("http://h.example/dir/").unwrap().file_name(), "");
    }
}
