//! The JSON bodies shared by several endpoints, shaped like httpbin's.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::context::{Ctx, parse_pairs};

/// `content-type` → `Content-Type`, `x-my-header` → `X-My-Header` (httpbin's spelling).
pub(crate) fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
    out
}

/// The request headers as a JSON object with Title-Cased names; repeated headers are joined
/// with a comma.
pub(crate) fn headers(ctx: &Ctx) -> Value {
    let mut map = Map::new();
    for (name, value) in &ctx.headers {
        let name = title_case(name);
        match map.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                map.insert(name, Value::String(value.clone()));
            }
        }
    }
    Value::Object(map)
}

/// Pairs as a JSON object: `k: v`, or `k: [v1, v2, ...]` when the key repeats.
pub(crate) fn multi_dict(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in pairs {
        match map.get_mut(key) {
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            Some(first) => {
                let first = first.take();
                map.insert(key.clone(), Value::Array(vec![first, Value::String(value.clone())]));
            }
            None => {
                map.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    map
}

/// The fields of `/get`: `args`, `headers`, `origin`, `url`.
pub(crate) fn get_fields(ctx: &Ctx) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("args".into(), Value::Object(multi_dict(&ctx.query)));
    map.insert("headers".into(), headers(ctx));
    map.insert("origin".into(), Value::String(ctx.origin.clone()));
    map.insert("url".into(), Value::String(ctx.url()));
    map
}

/// The fields of `/post` and friends: those of `/get` plus `data`, `files`, `form`, `json`.
pub(crate) fn body_fields(ctx: &Ctx) -> Map<String, Value> {
    let mut map = get_fields(ctx);
    let is_form = ctx.header("Content-Type").is_some_and(|ct| {
        ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
    });
    let multipart = ctx.header("Content-Type").and_then(|ct| multer::parse_boundary(ct).ok());
    let (data, form, files) = if is_form {
        (String::new(), Value::Object(multi_dict(&parse_pairs(&ctx.body))), json!({}))
    } else if let Some((form, files)) = multipart.and_then(|boundary| parse_multipart(&ctx.body, boundary)) {
        (String::new(), Value::Object(multi_dict(&form)), Value::Object(multi_dict(&files)))
    } else {
        (body_as_text(&ctx.body), Value::Object(Map::new()), json!({}))
    };
    let is_form = is_form
        || !form.as_object().is_none_or(Map::is_empty)
        || !files.as_object().is_none_or(Map::is_empty);
    let parsed = if is_form { Value::Null } else { serde_json::from_slice(&ctx.body).unwrap_or(Value::Null) };
    map.insert("data".into(), Value::String(data));
    map.insert("files".into(), files);
    map.insert("form".into(), form);
    map.insert("json".into(), parsed);
    map
}

/// Names and values, in order.
type Pairs = Vec<(String, String)>;

/// The fields and files of a `multipart/form-data` body, as httpbin shows them: a part
/// with a file name is a file (its content as text, or a base64 `data:` URL), any other a
/// form field. `None` if the body is not well-formed multipart.
fn parse_multipart(body: &[u8], boundary: String) -> Option<(Pairs, Pairs)> {
    use futures_util::FutureExt as _;
    let whole = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(whole)]);
    let mut multipart = multer::Multipart::new(stream, boundary);
    let (mut form, mut files) = (Vec::new(), Vec::new());
    // The body is all in memory: every step is ready at once.
    while let Some(field) = multipart.next_field().now_or_never()?.ok()? {
        let name = field.name().unwrap_or("").to_owned();
        let file = field.file_name().is_some();
        let content = field.bytes().now_or_never()?.ok()?;
        if file {
            files.push((name, body_as_text(&content)));
        } else {
            form.push((name, String::from_utf8_lossy(&content).into_owned()));
        }
    }
    Some((form, files))
}

/// The fields of `/anything`: those of `/post` plus `method`.
pub(crate) fn anything_fields(ctx: &Ctx) -> Map<String, Value> {
    let mut map = body_fields(ctx);
    map.insert("method".into(), Value::String(ctx.method.as_str().to_owned()));
    map
}

/// The body as text, or as a base64 `data:` URL when it is not UTF-8 (as httpbin does).
fn body_as_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "data:application/octet-stream;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(body)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{body_as_text, multi_dict, title_case};
    use serde_json::{Value, json};

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("USER-AGENT"), "User-Agent");
        assert_eq!(title_case("x-a-b"), "X-A-B");
        assert_eq!(title_case("host"), "Host");
    }

    #[test]
    fn repeated_keys_become_arrays() {
        let pairs = [("a".to_owned(), "1".to_owned()), ("b".into(), "2".into()), ("a".into(), "3".into())];
        assert_eq!(Value::Object(multi_dict(&pairs)), json!({"a": ["1", "3"], "b": "2"}));
        let three = [("k".to_owned(), "1".to_owned()), ("k".into(), "2".into()), ("k".into(), "3".into())];
        assert_eq!(Value::Object(multi_dict(&three)), json!({"k": ["1", "2", "3"]}));
    }

    #[test]
    fn binary_bodies_become_data_urls() {
        assert_eq!(body_as_text(b"hi"), "hi");
        assert_eq!(body_as_text(&[0xff, 0]), "data:application/octet-stream;base64,/wA=");
    }
}
