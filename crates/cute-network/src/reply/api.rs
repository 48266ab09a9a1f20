//! What the application calls on a reply: reading the body, the response's metadata and
//! attributes, aborting, and the reply's signals.

use std::fmt;
use std::rc::Rc;

use cute_core::Signal;
use url::Url;

use super::read_buffer::Admit;
use super::{NetworkReply, Phase};
use crate::error::NetworkError;
use crate::request::{Attribute, AttributeValue, KnownHeaders, NetworkRequest, Operation, redact};

impl fmt::Debug for NetworkReply {
    /// Shows the URL (password redacted), state and status; never credentials or the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("NetworkReply")
            .field("url", &self.inner.url().as_ref().map(redact))
            .field("operation", &self.inner.operation)
            .field("phase", &state.phase)
            .field("status", &state.meta().status)
            .field("error", &state.error)
            .field("bytes_available", &state.body().available())
            .finish()
    }
}

impl PartialEq for NetworkReply {
    /// Two handles are equal when they refer to the same reply.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for NetworkReply {}

impl NetworkReply {
    /// The error the reply finished with ([`NoError`](NetworkError::NoError) while running
    /// or on success).
    pub fn error(&self) -> NetworkError {
        self.inner.state.borrow().error
    }

    /// A human-readable description of the error (Qt's `errorString`), e.g. `Error
    /// transferring http://host/x - server replied: Not Found`.
    pub fn error_string(&self) -> String {
        match &*self.inner.state.borrow().error_string {
            "" => "Unknown error".to_owned(),
            message => message.to_owned(),
        }
    }

    /// Reads and removes everything buffered (Qt's `readAll`).
    pub fn read_all(&self) -> Vec<u8> {
        self.inner.watch();
        let mut out = Vec::new();
        loop {
            self.inner.state.borrow_mut().body_mut().take_all(&mut out);
            // Everything admitted is taken by the next turn: no ready_read is due for it.
            self.inner.admit(Admit::WithinLimit);
            if self.bytes_available() == 0 {
                return out;
            }
        }
    }

    /// Reads and removes up to `max` buffered bytes (Qt's `read`).
    pub fn read(&self, max: usize) -> Vec<u8> {
        self.inner.watch();
        let out = self.inner.state.borrow_mut().body_mut().take(max);
        self.inner.admit_after_read();
        out
    }

    /// Up to `max` buffered bytes, left to be read (Qt's `peek`).
    pub fn peek(&self, max: usize) -> Vec<u8> {
        self.inner.watch();
        self.inner.state.borrow().body().peek(max).to_vec()
    }

    /// Reads one line, its `\n` included (Qt's `readLine`): up to the first `\n` buffered,
    /// or, if none is, everything buffered (the rest of a body that does not end with one,
    /// or a line still arriving: see [`can_read_line`](Self::can_read_line)).
    #[doc(alias = "readLine")]
    pub fn read_line(&self) -> Vec<u8> {
        self.inner.watch();
        let length = self.inner.state.borrow().body().line_length();
        match length {
            Some(length) => self.read(length),
            None => self.read(usize::MAX),
        }
    }

    /// Whether a whole line can be read (Qt's `canReadLine`): a `\n` is buffered, or the
    /// reply finished with bytes left.
    #[doc(alias = "canReadLine")]
    pub fn can_read_line(&self) -> bool {
        self.inner.watch();
        let state = self.inner.state.borrow();
        state.body().line_length().is_some()
            || (state.phase == Phase::Finished && state.body().available() > 0)
    }

    /// Closes the reply for reading (Qt's `close`): unread data is thrown away and a reply
    /// still running is aborted (it finishes with
    /// [`OperationCanceledError`](crate::NetworkError::OperationCanceledError), as in Qt).
    pub fn close(&self) {
        self.abort();
        self.inner.close();
    }

    /// The number of bytes that can be read now (Qt's `bytesAvailable`).
    pub fn bytes_available(&self) -> u64 {
        self.inner.watch();
        self.inner.state.borrow().body().available()
    }

    /// True when finished and everything was read (Qt's `atEnd`).
    pub fn at_end(&self) -> bool {
        let state = self.inner.state.borrow();
        state.phase == Phase::Finished && state.body().is_drained()
    }

    /// Parses the buffered body as JSON (consuming it, like [`read_all`](Self::read_all)).
    ///
    /// # Errors
    ///
    /// The JSON error if the body is not valid JSON for `T`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn slot(reply: &cute_network::NetworkReply) -> Result<(), serde_json::Error> {
    /// let json: serde_json::Value = reply.read_json()?;
    /// println!("Name: {}", json["form"]["name"]);
    /// # Ok(()) }
    /// ```
    pub fn read_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.read_all())
    }

    /// Limits the unread bytes buffered; 0 is unlimited (Qt's `setReadBufferSize`). When
    /// the buffer is full, the transfer pauses until the application reads.
    pub fn set_read_buffer_size(&self, size: u64) {
        self.inner.watch();
        self.inner.state.borrow_mut().set_read_limit((size > 0).then_some(size));
        self.inner.admit_after_read();
    }

    /// The read buffer size (0: unlimited).
    pub fn read_buffer_size(&self) -> u64 {
        self.inner.state.borrow().read_limit.unwrap_or(0)
    }

    /// The HTTP status code, once the headers are in (Qt's `HttpStatusCodeAttribute`).
    pub fn status_code(&self) -> Option<u16> {
        self.inner.state.borrow().meta().status
    }

    /// The HTTP reason phrase (Qt's `HttpReasonPhraseAttribute`), as the server sent it,
    /// e.g. `"NOT FOUND"`; the code itself, e.g. `"599"`, when the server sent none.
    pub fn reason_phrase(&self) -> String {
        self.inner.state.borrow().meta().reason.clone()
    }

    /// A reply attribute (Qt's `attribute`); `None` when it has no value.
    pub fn attribute(&self, attribute: Attribute) -> Option<AttributeValue> {
        let state = self.inner.state.borrow();
        let meta = state.meta();
        match attribute {
            Attribute::HttpStatusCodeAttribute => meta.status.map(|s| AttributeValue::Int(i64::from(s))),
            Attribute::HttpReasonPhraseAttribute => {
                meta.status.map(|_| AttributeValue::Bytes(meta.reason.clone().into_bytes()))
            }
            Attribute::RedirectionTargetAttribute => meta.redirect_target.clone().map(AttributeValue::Url),
            Attribute::ConnectionEncryptedAttribute => Some(AttributeValue::Bool(meta.encrypted)),
            Attribute::Http2WasUsedAttribute => Some(AttributeValue::Bool(meta.http2)),
            Attribute::SourceIsFromCacheAttribute => Some(AttributeValue::Bool(meta.from_cache)),
            // Request attributes: see `request().attribute(..)`.
            Attribute::Http2AllowedAttribute
            | Attribute::Http2DirectAttribute
            | Attribute::DoNotBufferUploadDataAttribute
            | Attribute::CacheLoadControlAttribute
            | Attribute::CacheSaveControlAttribute
            | Attribute::CookieLoadControlAttribute
            | Attribute::CookieSaveControlAttribute
            | Attribute::AuthenticationReuseAttribute
            | Attribute::EmitAllUploadProgressSignalsAttribute => None,
            Attribute::CustomVerbAttribute => {
                self.inner.custom_verb.as_ref().map(|verb| AttributeValue::Bytes(verb.as_bytes().to_vec()))
            }
            Attribute::OriginalContentLengthAttribute => {
                meta.original_length.and_then(|n| i64::try_from(n).ok()).map(AttributeValue::Int)
            }
            Attribute::RedirectPolicyAttribute => Some(AttributeValue::Int(self.inner.policy() as i64)),
        }
    }

    /// A known response header (Qt's `header`).
    pub fn header(&self, header: KnownHeaders) -> Option<String> {
        self.raw_header(header.name()).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// A known response header, typed (Qt's `header` as a `QVariant`): the length as a
    /// number, `Last-Modified` as a time, `Location` as a URL resolved against the reply's,
    /// `Set-Cookie` as cookies; see [`KnownHeaderValue`](crate::KnownHeaderValue).
    pub fn header_value(&self, header: KnownHeaders) -> Option<crate::KnownHeaderValue> {
        let raw = self.raw_header(header.name())?;
        crate::KnownHeaderValue::parse(header, &raw, self.url().as_ref())
    }

    /// A response header by name, case-insensitive; repeated headers are joined with
    /// `", "` (`"\n"` for `Set-Cookie`), as Qt does.
    pub fn raw_header(&self, name: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        let name = hyper::header::HeaderName::from_bytes(name.as_ref()).ok()?;
        let state = self.inner.state.borrow();
        let values: Vec<&[u8]> = state.meta().headers.get_all(&name).iter().map(|v| v.as_bytes()).collect();
        if values.is_empty() {
            return None;
        }
        let separator: &[u8] = if name == hyper::header::SET_COOKIE { b"\n" } else { b", " };
        Some(values.join(separator))
    }

    /// Whether a response header is present.
    pub fn has_raw_header(&self, name: impl AsRef<[u8]>) -> bool {
        self.raw_header(name).is_some()
    }

    /// The response header names, lowercase, each once, in arrival order.
    pub fn raw_header_list(&self) -> Vec<Vec<u8>> {
        self.inner.state.borrow().meta().headers.keys().map(|n| n.as_str().as_bytes().to_vec()).collect()
    }

    /// Every response header as received (name, value), repeats included.
    pub fn raw_header_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let state = self.inner.state.borrow();
        state
            .meta()
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    /// The URL of the reply: the request's, updated as redirects are followed (the final
    /// URL once finished). `None` if the request's URL was invalid.
    pub fn url(&self) -> Option<Url> {
        self.inner.url()
    }

    /// The request this reply answers.
    pub fn request(&self) -> NetworkRequest {
        let mut request = self.inner.request().clone();
        // What the manager's cache added on the wire is not the application's.
        request.set_cache_headers(Vec::new());
        request
    }

    /// The operation (GET, POST, …).
    pub fn operation(&self) -> Operation {
        self.inner.operation
    }

    /// Whether the reply has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Whether the request is still queued or in progress.
    pub fn is_running(&self) -> bool {
        !self.is_finished()
    }

    /// Aborts the request at once (Qt's `abort`): the connection is cut, and
    /// `error_occurred(OperationCanceledError)`, the manager's `finished` and the reply's
    /// `finished` are emitted before `abort` returns. Safe anywhere: before the request
    /// starts, inside any slot (including the authentication slot), and after it finished
    /// (a no-op).
    pub fn abort(&self) {
        if !self.is_finished() {
            self.inner.abort();
        }
    }

    /// For [`UserVerifiedRedirectPolicy`](crate::RedirectPolicy::UserVerifiedRedirectPolicy):
    /// called from a slot of [`redirected`](Self::redirected), lets the redirect be
    /// followed (Qt's `redirectAllowed`).
    pub fn redirect_allowed(&self) {
        self.inner.redirect_allowed.set(true);
    }

    /// Emitted once, when the reply is done. Carries the reply.
    pub fn finished(&self) -> &Signal<NetworkReply> {
        &self.inner.signals().finished
    }

    /// Emitted once before `finished` when the reply fails.
    pub fn error_occurred(&self) -> &Signal<NetworkError> {
        &self.inner.signals().error_occurred
    }

    /// Emitted when new body bytes can be read. Carries the reply.
    ///
    /// A body is gathered whole off the loop thread, and handed over at the end, while
    /// nobody can look at it partially: asking for this signal (to connect to it), setting
    /// a read buffer size, or reading before `finished` makes the rest come in chunks, each
    /// announced here. `download_progress` is emitted as the body arrives either way.
    pub fn ready_read(&self) -> &Signal<NetworkReply> {
        self.inner.watch();
        &self.inner.signals().ready_read
    }

    /// Emitted as the body arrives: (bytes received, total if known). Qt uses −1 for an
    /// unknown total; this is `None`.
    pub fn download_progress(&self) -> &Signal<(u64, Option<u64>)> {
        &self.inner.signals().download_progress
    }

    /// Emitted as the request body is sent: (bytes sent, total).
    pub fn upload_progress(&self) -> &Signal<(u64, Option<u64>)> {
        &self.inner.signals().upload_progress
    }

    /// Emitted for each redirect followed (and, with the user-verified policy, for each
    /// redirect proposed), with the new URL.
    pub fn redirected(&self) -> &Signal<Url> {
        &self.inner.signals().redirected
    }

    /// Emitted when the server's certificate failed verification, with what is wrong with
    /// it (Qt's `sslErrors`; the manager's [`ssl_errors`](crate::NetworkAccessManager::ssl_errors)
    /// follows). Unless a slot calls [`ignore_ssl_errors`](Self::ignore_ssl_errors), the
    /// reply then fails with `SslHandshakeFailedError`. One problem is found at a time: after
    /// one is ignored, the next (a host name mismatch after a self-signed certificate, say)
    /// comes in another emission.
    #[doc(alias = "sslErrors")]
    pub fn ssl_errors(&self) -> &Signal<Vec<crate::SslError>> {
        &self.inner.signals().ssl_errors
    }

    /// Lets the TLS handshake go on in spite of the certificate errors reported for this
    /// reply (Qt's `ignoreSslErrors()`): call it from an `ssl_errors` slot, having decided
    /// the certificate is to be trusted. Never a default: without it nothing is ignored.
    #[doc(alias = "ignoreSslErrors")]
    pub fn ignore_ssl_errors(&self) {
        self.inner.ignore_ssl_errors(None);
    }

    /// Lets the handshake go on in spite of errors of these kinds only (Qt's
    /// `ignoreSslErrors(errors)`): from an `ssl_errors` slot, or right after making the
    /// request for errors expected in advance (a known self-signed server). Matched by kind.
    #[doc(alias = "ignoreSslErrors")]
    pub fn ignore_ssl_errors_list(&self, errors: &[crate::SslError]) {
        self.inner.ignore_ssl_errors(Some(errors.iter().map(crate::SslError::error).collect()));
    }

    /// The server's certificate chain, its own certificate first, in DER, when the response
    /// came over TLS (Qt's `sslConfiguration().peerCertificateChain()`); empty otherwise.
    #[doc(alias = "peerCertificateChain")]
    pub fn peer_certificate_chain(&self) -> Vec<Vec<u8>> {
        self.inner.state.borrow().meta().peer_certificates.as_deref().cloned().unwrap_or_default()
    }

    /// Emitted when the response came over an encrypted (TLS) connection, just before
    /// [`meta_data_changed`](Self::meta_data_changed) (Qt's `encrypted`). Carries the reply.
    pub fn encrypted(&self) -> &Signal<NetworkReply> {
        &self.inner.signals().encrypted
    }

    /// Emitted when the response headers (status, headers, final URL) are in.
    pub fn meta_data_changed(&self) -> &Signal<NetworkReply> {
        &self.inner.signals().meta_data_changed
    }
}
