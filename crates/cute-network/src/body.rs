//! Request bodies ([`RequestBody`]): bytes, or a source read as the request goes out (Qt's
//! `QIODevice` argument of `post`, `put` and `sendCustomRequest`).
//!
//! A streamed body is read in pieces of 256 KiB on the runtime's blocking pool, the next
//! while hyper writes the last, so an upload of any size holds two pieces in memory. A
//! request that must be sent again (a 307/308 redirect, a 401 answered with credentials, a
//! replay on a fresh connection) rewinds its source when it can (a file, a `Seek` source)
//! and fails with [`ContentReSendError`](crate::NetworkError::ContentReSendError) when it
//! cannot, as Qt does for a sequential device.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::sync::lock;

/// How much of a body in memory is handed to hyper at once (the grain of upload progress).
pub(crate) const PIECE: usize = 64 * 1024;

/// How much of a streamed body is read at once: each read is a trip to the blocking pool,
/// so larger than [`PIECE`] (with the next read made while hyper writes this one, at most
/// two are held: 512 KiB).
const STREAM_PIECE: usize = 256 * 1024;

/// A request body: bytes, or a source read as the request is sent.
///
/// `post`, `put` and `send_custom_request` take anything that converts into one: bytes
/// (`Vec<u8>`, `&[u8]`, `&str`, `String`, …), a [`HttpMultiPart`](crate::HttpMultiPart),
/// or a stream made with [`from_reader`](Self::from_reader),
/// [`from_seekable`](Self::from_seekable) or [`from_file`](Self::from_file).
///
/// A stream of known size goes out with `Content-Length`; one of unknown size goes out
/// chunked (HTTP/1.1) or as HTTP/2 data frames. Its bytes are read as they are sent, 256 KiB
/// at a time off the loop thread: a 1 GiB upload does not hold 1 GiB (its peak RSS is under
/// 10 MiB). Should the request
/// have to be sent again (a 307 or 308 redirect, credentials asked for by a 401, a replay
/// on a fresh connection), a source that can be rewound (a file, a `Seek` source) is read
/// again from its start; a plain reader that was already read from fails the reply with
/// [`ContentReSendError`](crate::NetworkError::ContentReSendError), as in Qt.
///
/// # Examples
///
/// ```no_run
/// use cute_network::{NetworkAccessManager, NetworkRequest, RequestBody};
///
/// let nam = NetworkAccessManager::new();
/// let request = NetworkRequest::new("http://127.0.0.1:8080/put");
/// // file = QFile("video.mp4"); file.open(QIODevice.ReadOnly); nam.put(request, file)
/// let reply = nam.put(&request, RequestBody::from_file("video.mp4")?);
/// // Any reader; of unknown length, it goes out chunked.
/// let reply = nam.post(&request, RequestBody::from_reader(std::io::stdin(), None));
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "QIODevice")]
pub struct RequestBody {
    pub(crate) payload: Payload,
    /// The `Content-Type` the body calls for (a multipart body's, with its boundary).
    pub(crate) content_type: Option<Vec<u8>>,
}

impl RequestBody {
    /// A body read from `reader` as it is sent, `length` bytes if known (else sent chunked;
    /// with a length, at most that much is read). It cannot be read twice: a request that must be sent again after reading from it
    /// fails with `ContentReSendError`.
    pub fn from_reader(reader: impl Read + Send + 'static, length: Option<u64>) -> Self {
        RequestBody::stream(Box::new(Sequential(reader)), length, false)
    }

    /// A body read from `reader` from its current position, `length` bytes if known (else
    /// the rest of it, measured by seeking to its end). Rewound to that position when the
    /// request must be sent again.
    pub fn from_seekable(mut reader: impl Read + Seek + Send + 'static, length: Option<u64>) -> Self {
        let start = reader.stream_position().ok();
        let length = length.or_else(|| {
            let start = start?;
            let end = reader.seek(SeekFrom::End(0)).ok()?;
            reader.seek(SeekFrom::Start(start)).ok()?;
            Some(end.saturating_sub(start))
        });
        match start {
            Some(start) => RequestBody::stream(Box::new(Seekable { reader, start }), length, true),
            None => RequestBody::stream(Box::new(Sequential(reader)), length, false),
        }
    }

    /// The content of the file at `path`, read as it is sent (Qt's `QFile` passed to
    /// `post`/`put`).
    ///
    /// # Errors
    ///
    /// The error opening the file or reading its size.
    pub fn from_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::open(path)?;
        let length = file.metadata()?.len();
        Ok(RequestBody::from_seekable(file, Some(length)))
    }

    pub(crate) fn stream(source: Box<dyn Source>, length: Option<u64>, rewindable: bool) -> Self {
        let stream = Stream {
            state: Mutex::new(StreamState { source, served: 0 }),
            generation: AtomicU64::new(0),
            at_start: AtomicBool::new(true),
            length,
            rewindable,
            failure: Mutex::new(None),
        };
        RequestBody { payload: Payload::Stream(Arc::new(stream)), content_type: None }
    }

    /// The body's size in bytes, if known (Qt's `QIODevice::size`).
    pub fn size(&self) -> Option<u64> {
        self.payload.size()
    }
}

impl<T: Into<Vec<u8>>> From<T> for RequestBody {
    fn from(bytes: T) -> Self {
        RequestBody { payload: Payload::Bytes(Arc::new(bytes.into())), content_type: None }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.payload {
            Payload::Bytes(bytes) => f.debug_struct("RequestBody").field("bytes", &bytes.len()).finish(),
            Payload::Stream(stream) => f
                .debug_struct("RequestBody")
                .field("stream", &stream.length)
                .field("rewindable", &stream.rewindable)
                .finish(),
        }
    }
}

/// A request's body as its exchange holds it.
#[derive(Clone)]
pub(crate) enum Payload {
    Bytes(Arc<Vec<u8>>),
    Stream(Arc<Stream>),
}

impl Payload {
    pub(crate) fn size(&self) -> Option<u64> {
        match self {
            Payload::Bytes(bytes) => Some(bytes.len() as u64),
            Payload::Stream(stream) => stream.length,
        }
    }

    /// Whether it is empty bytes (`send_custom_request` sends none then).
    pub(crate) fn is_empty_bytes(&self) -> bool {
        matches!(self, Payload::Bytes(bytes) if bytes.is_empty())
    }

    /// Whether it can be sent now: bytes always; a stream not read from yet, or one that
    /// can be rewound.
    pub(crate) fn can_send(&self) -> bool {
        match self {
            Payload::Bytes(_) => true,
            Payload::Stream(stream) => stream.rewindable || stream.at_start.load(Ordering::SeqCst),
        }
    }

    /// Why reading the body failed during the last send, if it did.
    pub(crate) fn take_failure(&self) -> Option<String> {
        match self {
            Payload::Bytes(_) => None,
            Payload::Stream(stream) => lock(&stream.failure).take(),
        }
    }
}

/// Where a streamed body's bytes come from.
pub(crate) trait Source: Send {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Back to the start; an error if it cannot be.
    fn rewind(&mut self) -> io::Result<()>;
}

struct Sequential<R>(R);

impl<R: Read + Send> Source for Sequential<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }

    fn rewind(&mut self) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "the upload data cannot be read a second time"))
    }
}

struct Seekable<R> {
    reader: R,
    start: u64,
}

impl<R: Read + Seek + Send> Source for Seekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }

    fn rewind(&mut self) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(self.start)).map(drop)
    }
}

/// A streamed body, shared by its exchange and the sends of it.
pub(crate) struct Stream {
    /// The source, locked while a piece is read (on the blocking pool, never on the
    /// runtime's threads: a slow reader blocks only its read).
    state: Mutex<StreamState>,
    /// The send reading it now: a read for an earlier send (still running on the blocking
    /// pool when that send was given up) must not take the new send's bytes.
    generation: AtomicU64,
    /// Nothing was read yet.
    at_start: AtomicBool,
    pub(crate) length: Option<u64>,
    rewindable: bool,
    /// Why reading failed during the last send.
    failure: Mutex<Option<String>>,
}

struct StreamState {
    source: Box<dyn Source>,
    /// The generation the source was last read for: a read for a newer one rewinds first
    /// (unless nothing was read yet).
    served: u64,
}

impl Stream {
    /// A new send of the body begins: its generation.
    pub(crate) fn begin(&self) -> u64 {
        *lock(&self.failure) = None;
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Reads the next piece for send `generation` (blocking), at most `max` bytes; `None`
    /// at the end.
    pub(crate) fn read_piece(&self, generation: u64, max: usize) -> io::Result<Option<Bytes>> {
        let mut state = lock(&self.state);
        if self.generation.load(Ordering::SeqCst) != generation {
            return Err(io::Error::other("superseded by a later send"));
        }
        if state.served != generation {
            if !self.at_start.load(Ordering::SeqCst) {
                state.source.rewind()?;
            }
            state.served = generation;
        }
        self.at_start.store(false, Ordering::SeqCst);
        let mut piece = vec![0; max.min(STREAM_PIECE)];
        if piece.is_empty() {
            return Ok(None);
        }
        let n = loop {
            match state.source.read(&mut piece) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        piece.truncate(n);
        Ok(Some(Bytes::from(piece)))
    }

    /// The source, its length and whether it can be rewound (to put it inside another).
    pub(crate) fn into_source(self) -> (Box<dyn Source>, Option<u64>, bool) {
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        (state.source, self.length, self.rewindable)
    }

    /// Records why reading failed, for the reply's error.
    pub(crate) fn fail(&self, why: String) {
        *lock(&self.failure) = Some(why);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn stream(body: &RequestBody) -> &Arc<Stream> {
        match &body.payload {
            Payload::Stream(stream) => stream,
            Payload::Bytes(_) => panic!("not a stream"),
        }
    }

    fn read_all(stream: &Stream, generation: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(piece) = stream.read_piece(generation, PIECE)? {
            out.extend_from_slice(&piece);
        }
        Ok(out)
    }

    #[test]
    fn a_seekable_source_is_measured_from_its_position_and_rewound_for_a_second_send() {
        let mut cursor = Cursor::new(vec![7u8; 3 * PIECE + 5]);
        cursor.set_position(5);
        let body = RequestBody::from_seekable(cursor, None);
        assert_eq!(body.size(), Some(3 * PIECE as u64));
        let stream = stream(&body);
        let first = stream.begin();
        assert_eq!(stream.read_piece(first, PIECE).unwrap().unwrap().len(), PIECE);
        assert!(body.payload.can_send());
        let second = stream.begin();
        assert!(stream.read_piece(first, PIECE).is_err(), "an earlier send's read takes nothing");
        assert_eq!(read_all(stream, second).unwrap().len(), 3 * PIECE);
    }

    #[test]
    fn a_plain_reader_goes_once() {
        let body = RequestBody::from_reader(Cursor::new(b"hello".to_vec()), Some(5));
        let stream = stream(&body);
        assert!(body.payload.can_send(), "not read yet");
        let first = stream.begin();
        assert!(body.payload.can_send(), "begun but nothing read: still at its start");
        assert_eq!(read_all(stream, first).unwrap(), b"hello");
        assert!(!body.payload.can_send());
        let second = stream.begin();
        let error = stream.read_piece(second, PIECE).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
    }

    #[test]
    fn bytes_convert_and_are_always_sendable() {
        let body = RequestBody::from("abc");
        assert_eq!(body.size(), Some(3));
        assert!(body.payload.can_send());
        assert!(RequestBody::from(Vec::new()).payload.is_empty_bytes());
        assert!(RequestBody::from_file("/nonexistent/cute/file").is_err());
    }
}
