//! `file:` and `data:` URLs (private), as Qt's file and data backends serve them.

use base64::Engine as _;

use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LAST_MODIFIED};
use hyper::{HeaderMap, Method};

use super::job::Job;
use super::stop::{Outcome, Stop, fail};
use super::transfer::stream_local;
use crate::body::Payload;
use crate::error::{Failure, NetworkError};
use crate::protocol::{MetaData, ReplyEvent};

fn meta(job: &Job, headers: HeaderMap, total: Option<u64>) -> Outcome<()> {
    let meta = MetaData { headers, total, original_length: total, ..MetaData::default() };
    job.emit(ReplyEvent::MetaData(job.url().clone(), Box::new(meta)))
}

/// Qt's answer to a verb a local scheme does not serve.
fn unsupported(job: &Job) -> Outcome<()> {
    fail(
        NetworkError::ProtocolUnknownError,
        format!("Operation {} not supported on {}", job.method, job.url()),
    )
}

/// `file:`: GET and HEAD read the file, PUT writes it; other verbs fail with
/// ProtocolUnknownError. A missing file is ContentNotFoundError, a directory
/// ContentOperationNotPermittedError, one that cannot be read or written
/// ContentAccessDenied. No HTTP status; `Content-Length` and `Last-Modified` as Qt sets
/// them.
pub(crate) async fn file(job: &Job) -> Outcome<()> {
    let Ok(path) = job.url().to_file_path() else {
        return fail(
            NetworkError::ProtocolInvalidOperationError,
            format!("Request for opening non-local file {}", job.url()),
        );
    };
    let shown = path.display().to_string();
    if path.is_dir() {
        return fail(
            NetworkError::ContentOperationNotPermittedError,
            format!("Cannot open {shown}: Path is a directory"),
        );
    }
    match job.method {
        Method::GET | Method::HEAD => read_file(job, &path, &shown).await,
        Method::PUT => write_file(job, &path, &shown).await,
        _ => unsupported(job),
    }
}

async fn read_file(job: &Job, path: &std::path::Path, shown: &str) -> Outcome<()> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        let error = match e.kind() {
            std::io::ErrorKind::NotFound => NetworkError::ContentNotFoundError,
            std::io::ErrorKind::PermissionDenied => NetworkError::ContentAccessDenied,
            _ => NetworkError::ProtocolFailure,
        };
        Stop::Failed(Failure::new(error, format!("Error opening {shown}: {e}")))
    })?;
    let metadata = file.metadata().await.ok();
    let length = metadata.as_ref().map(|m| m.len());
    let mut headers = HeaderMap::new();
    if let Some(length) = length {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(modified) = metadata.and_then(|m| m.modified().ok())
        && let Ok(value) = HeaderValue::try_from(httpdate::fmt_http_date(modified))
    {
        headers.insert(LAST_MODIFIED, value);
    }
    meta(job, headers, length)?;
    if job.method == Method::HEAD {
        return Ok(());
    }
    stream_local(job, file).await
}

/// PUT: the body becomes the file's content (created or truncated).
async fn write_file(job: &Job, path: &std::path::Path, shown: &str) -> Outcome<()> {
    use tokio::io::AsyncWriteExt as _;
    let denied = |e: std::io::Error| {
        Stop::Failed(Failure::new(NetworkError::ContentAccessDenied, format!("Error opening {shown}: {e}")))
    };
    let write_error = |e: std::io::Error| {
        Stop::Failed(Failure::new(
            NetworkError::ProtocolFailure,
            format!("Write error writing to {shown}: {e}"),
        ))
    };
    let mut file = tokio::fs::File::create(path).await.map_err(denied)?;
    let total = match job.body.as_deref() {
        None => 0,
        Some(Payload::Bytes(body)) => {
            let written = async {
                file.write_all(body).await?;
                file.flush().await
            };
            written.await.map_err(write_error)?;
            body.len() as u64
        }
        Some(Payload::Stream(stream)) => {
            // Read a piece at a time off the runtime, as an upload does.
            let generation = stream.begin();
            let mut total = 0u64;
            loop {
                job.check_aborted()?;
                let stream = stream.clone();
                let piece = tokio::task::spawn_blocking(move || stream.read_piece(generation, usize::MAX))
                    .await
                    .map_err(std::io::Error::other)
                    .and_then(|read| read)
                    .map_err(|e| {
                        Stop::Failed(Failure::new(
                            NetworkError::UnknownContentError,
                            format!("Reading the upload data failed: {e}"),
                        ))
                    })?;
                let Some(piece) = piece else { break };
                file.write_all(&piece).await.map_err(write_error)?;
                total += piece.len() as u64;
            }
            file.flush().await.map_err(write_error)?;
            total
        }
    };
    job.emit(ReplyEvent::UploadProgress { sent: total, total: Some(total) })?;
    meta(job, HeaderMap::new(), Some(0))
}

/// `data:[<mediatype>][;base64],<data>` (RFC 2397), GET/HEAD.
pub(crate) async fn data(job: &Job) -> Outcome<()> {
    if job.method != Method::GET && job.method != Method::HEAD {
        return unsupported(job);
    }
    let invalid = || {
        Stop::Failed(Failure::new(
            NetworkError::ProtocolInvalidOperationError,
            format!("Invalid URI: {}", job.url()),
        ))
    };
    let rest = &job.url().as_str()["data:".len()..];
    let (header, payload) = rest.split_once(',').ok_or_else(invalid)?;
    let payload = payload.split('#').next().unwrap_or("");
    let decoded: Vec<u8> = percent_decode(payload);
    let (media, is_base64) = match header.strip_suffix(";base64") {
        Some(media) => (media, true),
        None => (header, false),
    };
    let body = if is_base64 {
        let text: Vec<u8> = decoded.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&text))
            .map_err(|_| invalid())?
    } else {
        decoded
    };
    let media = if media.is_empty() {
        "text/plain;charset=US-ASCII".to_owned()
    } else if media.starts_with(';') {
        format!("text/plain{media}")
    } else {
        String::from_utf8_lossy(&percent_decode(media)).into_owned()
    };
    let mut headers = HeaderMap::new();
    // A media type that cannot be a header value (a control character) is left out.
    if let Ok(media) = HeaderValue::try_from(media) {
        headers.insert(CONTENT_TYPE, media);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    meta(job, headers, Some(body.len() as u64))?;
    if job.method == Method::HEAD {
        return Ok(());
    }
    stream_local(job, &body[..]).await
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The value of an ASCII hex digit (`u8::from_str_radix` would also accept a sign).
fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}
