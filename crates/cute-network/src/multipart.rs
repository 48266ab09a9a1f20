//! MIME multipart bodies ([`HttpMultiPart`], [`HttpPart`]: Qt's `QHttpMultiPart` and
//! `QHttpPart`), streamed: parts from files or readers are read as the request goes out.

use std::fmt;
use std::io;
use std::sync::Arc;

use base64::Engine as _;

use crate::body::{Payload, RequestBody, Source};
use crate::request::KnownHeaders;

/// The kind of a multipart body (Qt's `QHttpMultiPart::ContentType`): the subtype in its
/// `Content-Type`.
#[doc(alias = "QHttpMultiPart::ContentType")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MultiPartType {
    /// `multipart/mixed` (Qt's default).
    #[default]
    MixedType,
    /// `multipart/related`.
    RelatedType,
    /// `multipart/form-data`: an HTML form with fields and files.
    FormDataType,
    /// `multipart/alternative`.
    AlternativeType,
}

impl MultiPartType {
    fn subtype(self) -> &'static str {
        match self {
            MultiPartType::MixedType => "mixed",
            MultiPartType::RelatedType => "related",
            MultiPartType::FormDataType => "form-data",
            MultiPartType::AlternativeType => "alternative",
        }
    }
}

/// One part of a [`HttpMultiPart`] (Qt's `QHttpPart`): its headers and its body, bytes or
/// a stream (a file part is read from disk as it is sent, never held whole).
///
/// # Examples
///
/// ```no_run
/// use cute_network::{HttpPart, KnownHeaders, RequestBody};
///
/// let mut text = HttpPart::new();
/// text.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="text""#);
/// text.set_body("my text");
///
/// let mut image = HttpPart::new();
/// image.set_header(KnownHeaders::ContentTypeHeader, "image/jpeg");
/// image.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="image"; filename="image.jpg""#);
/// image.set_body_device(RequestBody::from_file("image.jpg")?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "QHttpPart")]
#[derive(Default)]
pub struct HttpPart {
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Option<Payload>,
}

impl HttpPart {
    /// A part without headers or body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a known header (Qt's `setHeader`), replacing one of the same name.
    pub fn set_header(&mut self, header: KnownHeaders, value: impl fmt::Display) {
        self.set_raw_header(header.name(), value.to_string());
    }

    /// Sets a header by name (Qt's `setRawHeader`), replacing one of the same name
    /// (case-insensitive).
    pub fn set_raw_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_vec(), value.as_ref().to_vec()));
    }

    /// Sets the body to `bytes` (Qt's `setBody`).
    pub fn set_body(&mut self, bytes: impl Into<Vec<u8>>) {
        self.body = Some(RequestBody::from(bytes).payload);
    }

    /// Sets the body to a stream, read as the request is sent (Qt's `setBodyDevice`):
    /// [`RequestBody::from_file`], [`from_reader`](RequestBody::from_reader) or
    /// [`from_seekable`](RequestBody::from_seekable).
    pub fn set_body_device(&mut self, body: RequestBody) {
        self.body = Some(body.payload);
    }
}

impl fmt::Debug for HttpPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.headers.iter().map(|(n, _)| String::from_utf8_lossy(n)).collect();
        f.debug_struct("HttpPart")
            .field("headers", &names)
            .field("size", &self.body.as_ref().map(Payload::size))
            .finish()
    }
}

/// A MIME multipart body (Qt's `QHttpMultiPart`), passed to `post`, `put` or
/// `send_custom_request` like any body.
///
/// As in Qt, the request's `Content-Type` becomes `multipart/<type>; boundary="<boundary>"`
/// unless the caller set one, and `MIME-Version: 1.0` is added unless set. The boundary is
/// Qt's `boundary_.oOo._` followed by 32 random characters. The body is streamed: parts
/// from files or readers are read as it goes out (a 1 GiB file part does not hold 1 GiB),
/// its `Content-Length` is known when every part's size is, and it is sent again after a
/// 307/308 or a 401 when every part can be rewound (bytes and files can).
///
/// # Examples
///
/// ```no_run
/// use cute_network::{HttpMultiPart, HttpPart, KnownHeaders, MultiPartType, NetworkAccessManager, NetworkRequest, RequestBody};
///
/// // multi_part = QHttpMultiPart(QHttpMultiPart.ContentType.FormDataType)
/// let mut multi_part = HttpMultiPart::new(MultiPartType::FormDataType);
/// let mut text = HttpPart::new();
/// text.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="text""#);
/// text.set_body("my text");
/// multi_part.append(text);
/// let mut file = HttpPart::new();
/// file.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="file"; filename="notes.txt""#);
/// file.set_body_device(RequestBody::from_file("notes.txt")?);
/// multi_part.append(file);
///
/// let nam = NetworkAccessManager::new();
/// let reply = nam.post(&NetworkRequest::new("http://127.0.0.1:8080/post"), multi_part);
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "QHttpMultiPart")]
pub struct HttpMultiPart {
    kind: MultiPartType,
    boundary: Vec<u8>,
    parts: Vec<HttpPart>,
}

impl HttpMultiPart {
    /// An empty multipart body of `kind`, with a fresh random boundary.
    pub fn new(kind: MultiPartType) -> Self {
        let mut random = [0u8; 24];
        crate::sync::fill_random(&mut random);
        let mut boundary = b"boundary_.oOo._".to_vec();
        boundary.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(random).as_bytes());
        HttpMultiPart { kind, boundary, parts: Vec::new() }
    }

    /// Appends a part (Qt's `append`).
    pub fn append(&mut self, part: HttpPart) {
        self.parts.push(part);
    }

    /// Sets the kind (Qt's `setContentType`).
    #[doc(alias = "setContentType")]
    pub fn set_content_type(&mut self, kind: MultiPartType) {
        self.kind = kind;
    }

    /// The kind.
    pub fn content_type(&self) -> MultiPartType {
        self.kind
    }

    /// The boundary between parts (Qt's `boundary`).
    pub fn boundary(&self) -> &[u8] {
        &self.boundary
    }

    /// Sets the boundary (Qt's `setBoundary`); an empty one is ignored. It must not occur
    /// in any part: choose it with that in mind.
    pub fn set_boundary(&mut self, boundary: impl Into<Vec<u8>>) {
        let boundary = boundary.into();
        if !boundary.is_empty() {
            self.boundary = boundary;
        }
    }

    /// The `Content-Type` the request gets: `multipart/<type>; boundary="<boundary>"`.
    pub(crate) fn content_type_header(&self) -> Vec<u8> {
        let mut value = format!("multipart/{}; boundary=\"", self.kind.subtype()).into_bytes();
        value.extend_from_slice(&self.boundary);
        value.push(b'"');
        value
    }

    /// The body as a stream of its segments: each part's delimiter and headers, its body,
    /// and the closing delimiter.
    pub(crate) fn into_body(self) -> RequestBody {
        let mut segments = Vec::new();
        let (mut length, mut rewindable) = (Some(0u64), true);
        let mut text = Vec::new();
        for part in self.parts {
            text.extend_from_slice(b"--");
            text.extend_from_slice(&self.boundary);
            text.extend_from_slice(b"\r\n");
            for (name, value) in &part.headers {
                text.extend_from_slice(name);
                text.extend_from_slice(b": ");
                text.extend_from_slice(value);
                text.extend_from_slice(b"\r\n");
            }
            text.extend_from_slice(b"\r\n");
            match part.body {
                None => {}
                Some(Payload::Bytes(bytes)) => text.extend_from_slice(&bytes),
                Some(Payload::Stream(stream)) => {
                    let (source, size, can_rewind) = match Arc::try_unwrap(stream) {
                        Ok(stream) => stream.into_source(),
                        // Not shared: `set_body_device` takes the body by value.
                        Err(_) => unreachable!("a part's stream has one owner"),
                    };
                    length = length.zip(size).map(|(a, b)| a + b);
                    rewindable &= can_rewind;
                    segments.push(Segment::Bytes(std::mem::take(&mut text)));
                    segments.push(Segment::Source(source));
                }
            }
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(b"--");
        text.extend_from_slice(&self.boundary);
        text.extend_from_slice(b"--\r\n");
        segments.push(Segment::Bytes(text));
        let bytes: u64 =
            segments.iter().map(|s| if let Segment::Bytes(b) = s { b.len() as u64 } else { 0 }).sum();
        let length = length.map(|streams| streams + bytes);
        RequestBody::stream(Box::new(Segments { segments, at: 0, offset: 0 }), length, rewindable)
    }
}

impl From<HttpMultiPart> for RequestBody {
    fn from(multi_part: HttpMultiPart) -> Self {
        let content_type = multi_part.content_type_header();
        let mut body = multi_part.into_body();
        body.content_type = Some(content_type);
        body
    }
}

impl fmt::Debug for HttpMultiPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMultiPart")
            .field("kind", &self.kind)
            .field("boundary", &String::from_utf8_lossy(&self.boundary))
            .field("parts", &self.parts)
            .finish()
    }
}

enum Segment {
    Bytes(Vec<u8>),
    Source(Box<dyn Source>),
}

/// The segments of a multipart body, read one after another.
struct Segments {
    segments: Vec<Segment>,
    at: usize,
    offset: usize,
}

impl Source for Segments {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(segment) = self.segments.get_mut(self.at) {
            let n = match segment {
                Segment::Bytes(bytes) => {
                    let n = (bytes.len() - self.offset).min(buf.len());
                    buf[..n].copy_from_slice(&bytes[self.offset..self.offset + n]);
                    self.offset += n;
                    n
                }
                Segment::Source(source) => source.read(buf)?,
            };
            if n > 0 {
                return Ok(n);
            }
            self.at += 1;
            self.offset = 0;
        }
        Ok(0)
    }

    fn rewind(&mut self) -> io::Result<()> {
        for segment in &mut self.segments {
            if let Segment::Source(source) = segment {
                source.rewind()?;
            }
        }
        self.at = 0;
        self.offset = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn read_whole(body: &RequestBody) -> Vec<u8> {
        let Payload::Stream(stream) = &body.payload else { panic!("a multipart body is a stream") };
        let generation = stream.begin();
        let mut out = Vec::new();
        while let Some(piece) = stream.read_piece(generation, usize::MAX).unwrap() {
            out.extend_from_slice(&piece);
        }
        out
    }

    #[test]
    fn parts_are_framed_by_the_boundary_with_their_headers() {
        let mut multi = HttpMultiPart::new(MultiPartType::FormDataType);
        multi.set_boundary("XyZ");
        let mut text = HttpPart::new();
        text.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="a""#);
        text.set_body("one");
        multi.append(text);
        let mut streamed = HttpPart::new();
        streamed.set_raw_header("Content-Disposition", r#"form-data; name="f"; filename="f.txt""#);
        streamed.set_raw_header("content-disposition", r#"form-data; name="g"; filename="g.txt""#);
        streamed.set_body_device(RequestBody::from_seekable(Cursor::new(b"two\r\nlines".to_vec()), None));
        multi.append(streamed);
        assert_eq!(multi.content_type_header(), b"multipart/form-data; boundary=\"XyZ\"");
        let body = RequestBody::from(multi);
        let expected = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n\
                        --XyZ\r\ncontent-disposition: form-data; name=\"g\"; filename=\"g.txt\"\r\n\r\ntwo\r\nlines\r\n\
                        --XyZ--\r\n";
        assert_eq!(body.size(), Some(expected.len() as u64));
        assert_eq!(String::from_utf8(read_whole(&body)).unwrap(), expected);
        // Rewound: the same bytes again.
        assert_eq!(String::from_utf8(read_whole(&body)).unwrap(), expected);
    }

    #[test]
    fn a_part_of_unknown_size_makes_the_whole_unknown_and_a_plain_reader_not_rewindable() {
        let mut multi = HttpMultiPart::new(MultiPartType::MixedType);
        let mut part = HttpPart::new();
        part.set_body_device(RequestBody::from_reader(Cursor::new(vec![1, 2, 3]), None));
        multi.append(part);
        let body = RequestBody::from(multi);
        assert_eq!(body.size(), None);
        assert!(body.payload.can_send());
        read_whole(&body);
        assert!(!body.payload.can_send());
    }

    #[test]
    fn boundaries_are_qts_prefix_and_random() {
        let a = HttpMultiPart::new(MultiPartType::MixedType);
        let b = HttpMultiPart::new(MultiPartType::MixedType);
        assert!(a.boundary().starts_with(b"boundary_.oOo._"));
        assert_eq!(a.boundary().len(), "boundary_.oOo._".len() + 32);
        assert_ne!(a.boundary(), b.boundary());
        let mut c = HttpMultiPart::new(MultiPartType::RelatedType);
        c.set_boundary("");
        assert!(c.boundary().starts_with(b"boundary_.oOo._"), "an empty boundary is ignored");
    }
}
