//! An HTTP(S) request: sent with hyper over a connection of the manager's, then the Qt
//! parts done here: server and proxy authentication, cookies, the redirect policy, and
//! delivery of the final response.

use http_body::Body as _;
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::{Method, Request, Response, StatusCode};
use url::Url;

use super::classify;
use super::connect::{self, Established, Sender};
use super::connections::{Lease, PoolKey};
use super::headers;
use super::job::Job;
use super::redirect::{self, Decision};
use super::stop::{Outcome, Stop, fail};
use super::transfer::{self, announce, drain, in_time};
use super::upload::{Progress, UploadBody};
use crate::auth::challenge::{basic_header, choose, parse_challenges};
use crate::auth::state::{AuthState, Challenged, Next};
use crate::body::Payload;
use crate::error::{Failure, NetworkError};
use crate::protocol::{Answer, Challenger, Credentials, Origin, Question, ReplyEvent};
use crate::request::RedirectPolicy;

/// How often a request the server did not process is sent again.
const MAX_RESENDS: u32 = 3;

/// Where the proxy credentials being sent came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxySource {
    /// The manager's cache (accepted before).
    Cache,
    /// The application, just now: cached once the proxy accepts them.
    Asked,
}

/// The request as it goes out on this hop.
struct Outgoing {
    method: Method,
    url: Url,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Option<Payload>,
    /// Certificate errors the application said to ignore (`ignore_ssl_errors`).
    ssl_ignored: Vec<crate::ssl::SslErrorKind>,
}

/// A response and the connection it came on (until it goes back to the pool).
struct Exchanged {
    response: Response<Incoming>,
    connection: Option<Established>,
    encrypted: connect::Encrypted,
    forward_proxy: bool,
    key: PoolKey,
}

impl Exchanged {
    /// Gives the connection back to the pool if the response's body is already complete
    /// (an empty 401, say), so other requests can use it while this one waits.
    fn release_if_done(&mut self, job: &Job) {
        if self.response.body().is_end_stream()
            && let Some(connection) = self.connection.take()
        {
            job.net.connections.checkin(&self.key, connection);
        }
    }
}

/// Runs the request to the end (the final response delivered, or a stop).
pub(crate) async fn run(job: &Job) -> Outcome<()> {
    let mut out = Outgoing {
        method: job.method.clone(),
        // A known HSTS host is reached over https only.
        url: job.net.hsts.upgrade(job.url()).unwrap_or_else(|| job.url().clone()),
        // The application's, then what the manager's cache adds (see `http_cache.rs`).
        headers: job.headers().iter().chain(job.request.cache_headers()).cloned().collect(),
        body: job.body.as_deref().cloned(),
        ssl_ignored: Vec::new(),
    };
    let mut hops = 0u32;
    let mut auth = AuthState::new(job.id, &out.url, job.request.reuses_credentials());
    let proxy = job.proxy_url().map(Origin::of);
    // Proxy credentials: the cache's first (sent pre-emptively), else those in the proxy's
    // URL, then asked for.
    let mut proxy_credentials = proxy
        .as_ref()
        .and_then(|p| job.cache().proxy_get(p))
        .or_else(|| job.settings.proxy.as_ref().and_then(|p| p.credentials()))
        .map(|c| (c, ProxySource::Cache));
    loop {
        job.check_aborted()?;
        let authorization = auth.header(&out.method, &out.url, &job.credentials);
        let for_proxy = proxy_credentials.as_ref().map(|(c, _)| c);
        let (mut resent, mut replayed) = (0, false);
        let sent = loop {
            let sent = send(job, &out, authorization.clone(), for_proxy).await;
            if matches!(sent, Err(Stop::Unprocessed(_))) && resent < MAX_RESENDS {
                // Never sent, or an HTTP/2 server did not process it (a stream refused, as
                // servers do to streams opened before the client learnt their limit; a
                // connection going away): send it again, whatever the method (RFC 9113
                // §8.7).
                log::debug!("request {}: not processed by the server, sending it again", job.id);
                resent += 1;
            } else if let Err(Stop::SslErrors(errors)) = &sent
                && out.ssl_ignored.len() < 8
            {
                // Qt's sslErrors: the application may let the handshake go on.
                let errors = errors.clone();
                let Answer::SslErrors(ignored) = job.ask(Question::SslErrors(errors.clone())).await? else {
                    break sent;
                };
                if !errors.iter().all(|e| ignored.contains(&e.error())) {
                    break sent;
                }
                log::debug!("request {}: certificate errors ignored as the application asked", job.id);
                out.ssl_ignored.extend(errors.iter().map(crate::ssl::SslError::error));
            } else if !replayed && closed_before_responding(&sent) && is_idempotent(&out.method) {
                // The server closed the connection (an idle keep-alive connection it had
                // dropped, usually) before answering: replay once, as Qt, browsers and
                // curl do.
                log::debug!("request {}: connection closed before any response, replaying once", job.id);
                replayed = true;
            } else {
                break sent;
            }
        };
        let sent = sent.map_err(|stop| match stop {
            Stop::Unprocessed(failure) => Stop::Failed(failure),
            stop => stop,
        });
        let challenge = match sent {
            Err(Stop::ProxyAuthenticationRequired { realm }) => Some((realm, None)),
            Ok(exchanged)
                if exchanged.response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED
                    && exchanged.forward_proxy =>
            {
                // Plain http through the proxy: its 407 is an ordinary response.
                let values = exchanged.response.headers().get_all(hyper::header::PROXY_AUTHENTICATE);
                let challenges = parse_challenges(values.iter().filter_map(|v| v.to_str().ok()));
                let realm = choose(&challenges).map(|c| c.realm().to_owned()).unwrap_or_default();
                Some((realm, Some(exchanged)))
            }
            Ok(exchanged) => {
                if let (Some((credentials, source @ ProxySource::Asked)), Some(proxy)) =
                    (&mut proxy_credentials, &proxy)
                {
                    // The proxy let the request through: it accepted them.
                    job.cache().proxy_insert(proxy.clone(), credentials.clone());
                    *source = ProxySource::Cache;
                }
                match answer(job, &mut out, &mut auth, &mut hops, exchanged).await? {
                    Step::Done => return Ok(()),
                    Step::Again => continue,
                }
            }
            Err(stop) => return Err(stop),
        };
        // The proxy wants credentials: ask, every time (as Qt does).
        let Some((realm, refusal)) = challenge else { unreachable!("only a challenge gets here") };
        let failed = proxy_credentials.take();
        if let (Some((_, ProxySource::Cache)), Some(proxy)) = (&failed, &proxy) {
            job.cache().proxy_forget(proxy);
        }
        let failed = failed.map(|(credentials, _)| credentials);
        let question = Question::Credentials { realm, from: Challenger::Proxy, failed };
        match credentials(job.ask(question).await?) {
            Some(credentials) => {
                proxy_credentials = Some((credentials, ProxySource::Asked));
                if let Some(refusal) = refusal {
                    finish_with(job, refusal).await;
                }
            }
            None => match refusal {
                // The 407 is the answer: its body readable, then ProxyAuthenticationRequiredError.
                Some(refusal) => return deliver(job, &out.url, refusal, None).await,
                None => return Err(Stop::ProxyAuthenticationRequired { realm: String::new() }),
            },
        }
    }
}

/// What to do after a response.
enum Step {
    Done,
    Again,
}

/// Handles a response: a 401 (retry with credentials, or deliver it), a redirect (follow
/// it, refuse it, or keep it), or the final response.
async fn answer(
    job: &Job,
    out: &mut Outgoing,
    auth: &mut AuthState,
    hops: &mut u32,
    exchanged: Exchanged,
) -> Outcome<Step> {
    let mut exchanged = exchanged;
    let status = exchanged.response.status().as_u16();
    if status == 401 {
        exchanged.release_if_done(job);
        let next = match auth.on_challenge(&out.url, exchanged.response.headers(), &job.credentials) {
            Challenged::Retry => Next::Retry,
            Challenged::Deliver => Next::Deliver,
            Challenged::Ask { realm, failed } => {
                let question = Question::Credentials { realm, from: Challenger::Server, failed };
                auth.answered(credentials(job.ask(question).await?))
            }
        };
        return match next {
            Next::Retry => {
                finish_with(job, exchanged).await;
                Ok(Step::Again)
            }
            Next::Deliver => deliver(job, &out.url, exchanged, None).await.map(|()| Step::Done),
        };
    }
    auth.accepted(&out.url, &job.credentials);

    let location = exchanged.response.headers().get(hyper::header::LOCATION).map(|v| v.as_bytes());
    let decided =
        redirect::decide(status, location, &out.url, &out.method, job.policy, *hops, job.max_redirects());
    let hop = match decided {
        Ok(Decision::Deliver) => return deliver(job, &out.url, exchanged, None).await.map(|()| Step::Done),
        Ok(Decision::Keep(target)) => {
            return deliver(job, &out.url, exchanged, Some(target)).await.map(|()| Step::Done);
        }
        Ok(Decision::Follow(hop)) => hop,
        Err(failure) => {
            // A redirect refused or failed: the reply keeps the 3xx's status and headers,
            // as in Qt.
            announce(job, &mut exchanged.response, &out.url, exchanged.encrypted.clone(), None)?;
            return Err(failure.into());
        }
    };
    *hops += 1;
    if job.policy == RedirectPolicy::UserVerifiedRedirectPolicy {
        exchanged.release_if_done(job);
        let answer = job.ask(Question::Redirect(hop.target.clone())).await?;
        if !matches!(answer, Answer::Redirect { allowed: true }) {
            return deliver(job, &out.url, exchanged, Some(hop.target)).await.map(|()| Step::Done);
        }
    } else {
        job.emit(ReplyEvent::Redirected(hop.target.clone()))?;
    }
    finish_with(job, exchanged).await;
    hop.rewrite(&mut out.method, &mut out.body, &mut out.headers);
    // The cache's validators are for the URL it holds, not the next one.
    let validators = crate::http_cache::VALIDATORS;
    if !job.request.cache_headers().is_empty() {
        out.headers.retain(|(name, _)| !validators.iter().any(|v| name.eq_ignore_ascii_case(v.as_bytes())));
    }
    if hop.is_cross_origin() {
        // Never hand the first origin's credentials to another origin, nor what the
        // application accepted of its certificate.
        *auth = AuthState::new(job.id, &hop.target, job.request.reuses_credentials());
        out.ssl_ignored.clear();
    }
    out.url = job.net.hsts.upgrade(&hop.target).unwrap_or(hop.target);
    Ok(Step::Again)
}

/// Delivers the final response; its connection serves later requests once the body is in.
async fn deliver(job: &Job, url: &Url, exchanged: Exchanged, redirect_target: Option<Url>) -> Outcome<()> {
    let Exchanged { mut response, connection, encrypted, key, .. } = exchanged;
    let status = response.status();
    let announced = announce(job, &mut response, url, encrypted, redirect_target)?;
    transfer::body(job, response.into_body(), &announced).await?;
    if let Some(connection) = connection {
        job.net.connections.checkin(&key, connection);
    }
    transfer::http_error(status, url, &announced)
}

/// Drops a response we do not deliver (a retried 401, a redirect followed), keeping its
/// connection when its body could be read off.
async fn finish_with(job: &Job, exchanged: Exchanged) {
    let Exchanged { response, connection, key, .. } = exchanged;
    if drain(job, response.into_body()).await
        && let Some(connection) = connection
    {
        job.net.connections.checkin(&key, connection);
    }
}

/// Whether a send failed because the connection closed or was reset before a response.
fn closed_before_responding(sent: &Outcome<Exchanged>) -> bool {
    matches!(sent, Err(Stop::Failed(failure)) if failure.error == NetworkError::RemoteHostClosedError)
}

/// Methods a request may be replayed with (RFC 9110 §9.2.2): never a POST or a PATCH.
fn is_idempotent(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::PUT, Method::DELETE, Method::OPTIONS, Method::TRACE].contains(method)
}

/// The credentials in an answer, if the application gave some.
fn credentials(answer: Answer) -> Option<Credentials> {
    match answer {
        Answer::Credentials(credentials) => credentials,
        Answer::Redirect { .. } | Answer::SslErrors(_) => None,
    }
}

/// One exchange: a connection of the manager's (an idle one, or a new one), the request as
/// Qt sends it, and the response's head.
async fn send(
    job: &Job,
    out: &Outgoing,
    authorization: Option<String>,
    proxy_credentials: Option<&Credentials>,
) -> Outcome<Exchanged> {
    let settings = &job.settings;
    let route = job.route();
    if let Some(body) = &out.body
        && !body.can_send()
    {
        // Qt's error for a sequential device that would have to be read a second time.
        return fail(
            NetworkError::ContentReSendError,
            "The request had to be sent again, but its upload data cannot be read a second time",
        );
    }
    let wire = job.http2().wire(&out.url);
    // The request's own TLS settings, else the manager's.
    let tls_settings = job.request.tls().unwrap_or(&settings.tls);
    let (tls, ignoring) = if out.ssl_ignored.is_empty() {
        (tls_settings.identity(), None)
    } else {
        let ignoring = tls_settings.config_ignoring(wire, &out.ssl_ignored);
        (tls_settings.identity_ignoring(&out.ssl_ignored), Some(ignoring))
    };
    let key = PoolKey {
        origin: Origin::of(&out.url),
        proxy: settings.proxy.as_ref().map(|p| p.url().to_string()),
        tls,
        wire,
    };
    let connection = match job.net.connections.lease(&key, settings.per_host).await {
        Lease::Ready(connection) => connection,
        Lease::Open { permit, negotiator } => {
            // Boxed: opening a connection (TLS, handshakes) is a large future, and a rare
            // one; kept inline it would make every request's task that large (and tokio
            // moves a task's future several times as it spawns it).
            let opened = Box::pin(connect::connect(connect::Route {
                url: &out.url,
                proxy: settings.proxy.as_ref(),
                proxy_credentials,
                tls: ignoring.as_ref().unwrap_or_else(|| tls_settings.config(wire)),
                wire,
                connect_timeout: settings.connect_timeout,
            }))
            .await;
            let opened = match opened {
                Ok(opened) => opened,
                Err(e) => {
                    if let Some(negotiator) = negotiator {
                        negotiator.failed();
                    }
                    // A certificate refused: the application may ignore its errors.
                    if let connect::ConnectError::Tls(io) = &e
                        && let Some(error) = crate::tls::refused(io)
                    {
                        return Err(Stop::SslErrors(vec![error]));
                    }
                    return Err(classify::connect_error(e, &route));
                }
            };
            let opened = job.net.connections.opened(&key, Established { permit, ..opened });
            if negotiator.is_some() {
                // Tell the scheduler how many requests this origin can take at once.
                let multiplexed = matches!(opened.sender, Sender::Http2(_));
                job.protocol_learned(Origin::of(&out.url), multiplexed);
            }
            drop(negotiator);
            opened
        }
    };
    let request = build(job, out, &connection, authorization, proxy_credentials)?;
    let Established { sender, encrypted, forward_proxy, shared_id, permit } = connection;
    // How a failed exchange ends: a request that never left, or that the server says it
    // did not process, may go again on a new connection.
    let failed = |e: hyper::Error, unsent: bool| {
        if let Some(why) = out.body.as_ref().and_then(Payload::take_failure) {
            // Reading the upload data failed: that is the error, not the connection's.
            return Stop::Failed(Failure::new(NetworkError::UnknownContentError, why));
        }
        if let Some(id) = shared_id
            && !classify::stream_only(&e)
        {
            // The shared connection is failing or going away: later requests open another.
            job.net.connections.forget_shared(&key, id);
        }
        if unsent || classify::unprocessed(&e) {
            return Stop::Unprocessed(classify::hyper_error(&e, &route).into_failure());
        }
        classify::hyper_error(&e, &route)
    };
    let sent = |result: Result<Response<Incoming>, TrySendError<Request<UploadBody>>>| {
        result.map_err(|mut e| {
            let unsent = e.take_message().is_some();
            failed(e.into_error(), unsent)
        })
    };
    let (response, connection) = match sender {
        Sender::Http1(mut sender) => {
            in_time(job, sender.ready()).await?.map_err(|e| failed(e, true))?;
            let response = sent(in_time(job, sender.try_send_request(request)).await?)?;
            let connection = Established {
                sender: Sender::Http1(sender),
                encrypted: encrypted.clone(),
                forward_proxy,
                shared_id,
                permit,
            };
            (response, Some(connection))
        }
        Sender::Http2(mut sender) => {
            // Shared: it stays in the pool, others multiplex on it meanwhile.
            in_time(job, sender.ready()).await?.map_err(|e| failed(e, true))?;
            (sent(in_time(job, sender.try_send_request(request)).await?)?, None)
        }
    };
    headers::check_response_fields(response.headers())?;
    if job.request.saves_cookies() {
        job.net.cookies.store_from(&out.url, response.headers());
    }
    if encrypted.is_some() && out.url.scheme() == "https" {
        job.net.hsts.learn(&out.url, response.headers());
    }
    Ok(Exchanged { response, connection, encrypted, forward_proxy, key })
}

/// The request as it goes on the wire (see `headers.rs` for Qt's defaults). Built on the
/// request's parts directly: Qt's defaults are static values, inserted without a check.
fn build(
    job: &Job,
    out: &Outgoing,
    connection: &Established,
    authorization: Option<String>,
    proxy_credentials: Option<&Credentials>,
) -> Outcome<Request<UploadBody>> {
    use hyper::header::{self, HeaderName, HeaderValue};
    let invalid = |e: &dyn std::fmt::Display| {
        Stop::Failed(Failure::new(
            NetworkError::ProtocolInvalidOperationError,
            format!("Invalid request: {e}"),
        ))
    };
    // HTTP/1.1 to the origin: origin-form, with `Host`. To a proxy (plain http) the
    // absolute form; HTTP/2 takes the whole URI for its pseudo-headers.
    let http2 = matches!(connection.sender, Sender::Http2(_));
    let uri = if connection.forward_proxy || http2 {
        hyper::Uri::try_from(wire_url(&out.url).as_ref())
    } else {
        match &out.url[url::Position::BeforePath..url::Position::AfterQuery] {
            "" => Ok(hyper::Uri::from_static("/")),
            target => hyper::Uri::try_from(target),
        }
    };
    let uri = uri.map_err(|e| invalid(&e))?;
    let sends_form = [Method::POST, Method::PUT, Method::PATCH].contains(&out.method);
    let body = match &out.body {
        Some(payload) => {
            let all = job.request.emits_all_upload_progress();
            UploadBody::new(payload, Progress { id: job.id, events: job.events.clone(), all })
        }
        None => UploadBody::empty(),
    };
    let mut request = Request::new(body);
    *request.method_mut() = out.method.clone();
    *request.uri_mut() = uri;
    let fields = request.headers_mut();
    fields.reserve(out.headers.len() + 8);
    let has = |name: &str| headers::has(&out.headers, name);
    if !http2 && !has("host") {
        let host = HeaderValue::try_from(host_header(&out.url)).map_err(|e| invalid(&e))?;
        fields.insert(header::HOST, host);
    }
    for (name, value) in &out.headers {
        // The body's real length goes out instead: a wrong one would hang the exchange.
        if name.eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        let name = HeaderName::from_bytes(name).map_err(|e| invalid(&e))?;
        let value = HeaderValue::from_bytes(value).map_err(|e| invalid(&e))?;
        fields.append(name, value);
    }
    if !has("accept-encoding") {
        fields.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(headers::ACCEPT_ENCODING));
    }
    if !has("accept-language") {
        fields.insert(header::ACCEPT_LANGUAGE, headers::accept_language());
    }
    if !has("user-agent") {
        fields.insert(header::USER_AGENT, HeaderValue::from_static(headers::USER_AGENT));
    }
    if !http2 && !has("connection") {
        fields.insert(header::CONNECTION, HeaderValue::from_static(headers::CONNECTION));
    }
    if let Some(value) = authorization.filter(|_| !has("authorization")) {
        fields.insert(header::AUTHORIZATION, HeaderValue::try_from(value).map_err(|e| invalid(&e))?);
    }
    if !has("cookie")
        && job.request.loads_cookies()
        && let Some(cookies) = job.net.cookies.header_for(&out.url)
    {
        fields.insert(header::COOKIE, HeaderValue::try_from(cookies).map_err(|e| invalid(&e))?);
    }
    if connection.forward_proxy
        && let Some(Credentials { user, password }) = proxy_credentials
    {
        // Credentials for the proxy go to the proxy only: it strips this header.
        let value = HeaderValue::try_from(basic_header(user, password)).map_err(|e| invalid(&e))?;
        fields.insert(header::PROXY_AUTHORIZATION, value);
    }
    match &out.body {
        Some(payload) => {
            // A stream of unknown length goes out chunked (HTTP/1.1) or in data frames.
            if let Some(length) = payload.size() {
                fields.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
            if sends_form && !has("content-type") {
                // Qt does the same, with a warning.
                log::warn!(
                    "content-type missing in HTTP {}, defaulting to application/x-www-form-urlencoded",
                    out.method
                );
                fields.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
            }
        }
        None if sends_form => {
            fields.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        None => {}
    }
    Ok(request)
}

/// `Host`: the host, and the port when it is not the scheme's default.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The URL as it goes on the wire: no user info, no fragment (a copy only when it has
/// either).
fn wire_url(url: &Url) -> std::borrow::Cow<'_, str> {
    if url.username().is_empty() && url.password().is_none() && url.fragment().is_none() {
        return std::borrow::Cow::Borrowed(url.as_str());
    }
    let mut target = url.clone();
    let _ = target.set_username("");
    let _ = target.set_password(None);
    target.set_fragment(None);
    std::borrow::Cow::Owned(target.into())
}
