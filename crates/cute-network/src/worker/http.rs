//! An HTTP(S) request on a worker: sent with ureq, then the Qt parts done here (ureq runs
//! with redirects off and statuses as responses): server and proxy authentication, the
//! redirect policy, and delivery of the final response.

use std::sync::Arc;

use ureq::http::{self, Method};
use url::Url;

use super::classify;
use super::headers;
use super::job::Job;
use super::redirect::{self, Decision};
use super::stop::{Outcome, Stop};
use super::transfer::{announce, deliver, drain};
use super::upload::Upload;
use crate::auth::state::{AuthState, Challenged, Next};
use crate::error::{Failure, NetworkError};
use crate::protocol::{Answer, Challenger, Credentials, Origin, Question, ReplyEvent};
use crate::request::RedirectPolicy;

/// Where the proxy credentials being sent came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxySource {
    /// The manager's cache (accepted before).
    Cache,
    /// The application, just now: cached once the proxy accepts them.
    Asked,
}

/// Runs the request to the end (the final response delivered, or a stop).
pub(crate) fn run(job: &Job) -> Outcome<()> {
    let mut url = job.url.clone();
    let mut method = job.method.clone();
    let mut body = job.body.clone();
    let mut headers = job.headers.clone();
    let mut hops = 0u32;
    let mut auth = AuthState::new(job.id, &url);
    let proxy = job.proxy_url().map(Origin::of);
    // Proxy credentials: the cache's first (sent pre-emptively), then asked for.
    let mut proxy_credentials =
        proxy.as_ref().and_then(|p| job.cache().proxy_get(p)).map(|c| (c, ProxySource::Cache));
    loop {
        job.check_aborted()?;
        let authorization = auth.header(&method, &url, &job.credentials);
        let attempt = || {
            let proxy_credentials = proxy_credentials.as_ref().map(|(c, _)| c);
            send(job, &method, &url, &headers, body.as_ref(), authorization.clone(), proxy_credentials)
        };
        let mut sent = attempt();
        if closed_before_responding(&sent) && is_idempotent(&method) {
            // The server closed the connection (an idle keep-alive connection it had
            // dropped, usually) before answering: replay once, as Qt, browsers and curl do.
            log::debug!("request {}: connection closed before any response, replaying once", job.id);
            sent = attempt();
        }
        let response = match sent {
            Err(Stop::ProxyAuthenticationRequired) => {
                let failed = proxy_credentials.take();
                if let (Some((_, ProxySource::Cache)), Some(proxy)) = (&failed, &proxy) {
                    job.cache().proxy_forget(proxy);
                }
                // The proxy refused the tunnel: ask, every time (as Qt does). Its realm is
                // unknown: ureq reports a refused CONNECT without its headers.
                let failed = failed.map(|(credentials, _)| credentials);
                let question =
                    Question::Credentials { realm: String::new(), from: Challenger::Proxy, failed };
                match credentials(job.ask(question)?) {
                    Some(credentials) => {
                        proxy_credentials = Some((credentials, ProxySource::Asked));
                        continue;
                    }
                    None => return Err(Stop::ProxyAuthenticationRequired),
                }
            }
            other => other?,
        };
        if let (Some((credentials, source @ ProxySource::Asked)), Some(proxy)) =
            (&mut proxy_credentials, &proxy)
        {
            // The tunnel was opened: the proxy accepted them.
            job.cache().proxy_insert(proxy.clone(), credentials.clone());
            *source = ProxySource::Cache;
        }
        headers::check_response_fields(response.headers())?;
        let status = response.status().as_u16();

        if status == 401 {
            let next = match auth.on_challenge(&url, response.headers(), &job.credentials) {
                Challenged::Retry => Next::Retry,
                Challenged::Deliver => Next::Deliver,
                Challenged::Ask { realm, failed } => {
                    let question = Question::Credentials { realm, from: Challenger::Server, failed };
                    auth.answered(credentials(job.ask(question)?))
                }
            };
            match next {
                Next::Retry => {
                    drain(response);
                    continue;
                }
                Next::Deliver => return deliver(job, response, &url, None),
            }
        }
        auth.accepted(&url, &job.credentials);

        let location = response.headers().get(http::header::LOCATION).map(|v| v.as_bytes());
        let decision =
            match redirect::decide(status, location, &url, &method, job.policy, hops, job.max_redirects) {
                Ok(decision) => decision,
                Err(failure) => {
                    // A redirect refused or failed: the reply keeps the 3xx's status and
                    // headers, as in Qt.
                    announce(job, &response, &url, None)?;
                    return Err(failure.into());
                }
            };
        let hop = match decision {
            Decision::Deliver => return deliver(job, response, &url, None),
            Decision::Keep(target) => return deliver(job, response, &url, Some(target)),
            Decision::Follow(hop) => hop,
        };
        hops += 1;
        if job.policy == RedirectPolicy::UserVerifiedRedirectPolicy {
            let allowed = matches!(
                job.ask(Question::Redirect(hop.target.clone()))?,
                Answer::Redirect { allowed: true }
            );
            if !allowed {
                return deliver(job, response, &url, Some(hop.target));
            }
        } else {
            job.emit(ReplyEvent::Redirected(hop.target.clone()))?;
        }
        drain(response);
        hop.rewrite(&mut method, &mut body, &mut headers);
        if hop.is_cross_origin() {
            // Never hand the first origin's credentials to another origin.
            auth = AuthState::new(job.id, &hop.target);
        }
        url = hop.target;
    }
}

/// Whether a send failed because the connection closed or was reset before a response.
fn closed_before_responding(sent: &Outcome<http::Response<ureq::Body>>) -> bool {
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
        Answer::Redirect { .. } => None,
    }
}

/// One exchange with the server (or proxy): the request as Qt sends it, through the
/// manager's agent with this request's settings.
fn send(
    job: &Job,
    method: &Method,
    url: &Url,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: Option<&Arc<Vec<u8>>>,
    authorization: Option<String>,
    proxy_credentials: Option<&Credentials>,
) -> Outcome<http::Response<ureq::Body>> {
    use ureq::RequestExt as _;
    let target = wire_url(url);
    let mut builder = http::Request::builder().method(method.clone()).uri(target.as_str());
    let has = |name: &str| headers::has(headers, name);
    for (name, value) in headers {
        // The body's real length goes out instead: a wrong one would hang the exchange.
        if !name.eq_ignore_ascii_case(b"content-length") {
            builder = builder.header(name.as_slice(), value.as_slice());
        }
    }
    if !has("accept-encoding") {
        builder = builder
            .header(http::header::ACCEPT_ENCODING, http::HeaderValue::from_static(headers::ACCEPT_ENCODING));
    }
    if !has("accept-language") {
        builder = builder.header(http::header::ACCEPT_LANGUAGE, headers::accept_language());
    }
    if !has("connection") {
        builder =
            builder.header(http::header::CONNECTION, http::HeaderValue::from_static(headers::CONNECTION));
    }
    if let Some(value) = authorization.filter(|_| !has("authorization")) {
        builder = builder.header("authorization", value);
    }
    let sends_form = [Method::POST, Method::PUT, Method::PATCH].contains(method);
    let send_body = match body {
        Some(data) => {
            builder = builder.header("content-length", data.len());
            if sends_form && !has("content-type") {
                // Qt does the same, with a warning.
                log::warn!(
                    "content-type missing in HTTP {method}, defaulting to application/x-www-form-urlencoded"
                );
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
            }
            ureq::SendBody::from_owned_reader(Upload::new(job.id, job.events.clone(), data.clone()))
        }
        None => {
            if sends_form {
                builder = builder.header("content-length", 0);
            }
            ureq::SendBody::none()
        }
    };
    let request = builder.body(send_body).map_err(|e| {
        Stop::Failed(Failure::new(
            NetworkError::ProtocolInvalidOperationError,
            format!("Invalid request: {e}"),
        ))
    })?;
    let route = job.route(url);
    let settings = &job.settings;
    let proxy = match &settings.proxy {
        Some(proxy) => Some(
            proxy
                .for_request(proxy_credentials)
                .map_err(|e| job.stopped(|| classify::ureq_error(&e, &route)))?,
        ),
        None => None,
    };
    let timeout = job.limits.transfer_timeout;
    request
        .with_agent(&job.agent)
        .configure()
        .timeout_per_read(timeout)
        .timeout_per_write(timeout)
        .timeout_connect(settings.connect_timeout)
        .proxy(proxy)
        .tls_config(settings.tls.clone())
        .run()
        .map_err(|e| job.stopped(|| classify::ureq_error(&e, &route)))
}

/// The URL as it goes on the wire: no user info, no fragment.
fn wire_url(url: &Url) -> Url {
    let mut target = url.clone();
    let _ = target.set_username("");
    let _ = target.set_password(None);
    target.set_fragment(None);
    target
}
