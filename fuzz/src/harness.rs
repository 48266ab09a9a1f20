//! The fuzz targets' logic, shared by `fuzz/fuzz_targets/*.rs` (through the `cute_fuzz`
//! library) and by `tests/fuzz_regressions.rs` (which includes this file with `#[path]`), so
//! a corpus file or a crash artifact replays without libFuzzer.
//!
//! Each entry point takes one fuzz input, runs it through a `NetworkAccessManager` living on
//! the calling thread's event loop, and panics when an invariant breaks. Nothing leaves the
//! machine: http(s) and file: URLs are rewritten to servers on 127.0.0.1 started once per
//! process, redirects are followed only back to those servers, and no proxy is set. The
//! entry points run one at a time (a process-wide lock), so each server's counters belong
//! to the input being run.
//!
//! Invariants checked for every input:
//! - the reply finishes within [`GIVE_UP`] (else it is aborted and the run fails as a hang);
//! - the reply's `finished` and the manager's `finished` fire exactly once for it;
//! - no worker panicked (a caught worker panic finishes the reply with a fixed message);
//! - an error comes with a non-empty error string, and `NoError` never has a 4xx/5xx status.
//!
//! Per target, see [`request_bytes`], [`response_bytes`], [`challenge_parse`] and
//! [`data_url`].
#![allow(unreachable_pub)] // public for the fuzz targets, private inside the test binary

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cute::EventLoop;
use cute::network::{
    KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest, RedirectPolicy, Url,
};
use cute_testkit::{Connection, Responder};

/// Built by cargo-fuzz (`--cfg fuzzing`), as opposed to replayed by the tests, which share
/// a loaded machine with the rest of the suite and so get generous time limits.
#[allow(unexpected_cfgs)] // reason: only cargo-fuzz sets it
const FUZZING: bool = cfg!(fuzzing);

/// How long a reply may take before the run counts as a hang (the reply is then aborted).
pub const GIVE_UP: Duration = if FUZZING { Duration::from_secs(2) } else { Duration::from_secs(20) };

/// The transfer (inactivity) timeout of every request sent by the harness. No server of the
/// harness ever stalls, so it bounds only a client bug.
pub const TRANSFER_TIMEOUT: Duration =
    if FUZZING { Duration::from_millis(500) } else { Duration::from_secs(5) };

/// How long a server socket waits for the client at most, so no server thread lingers.
const SOCKET_LIMIT: Duration = Duration::from_secs(3);

/// What the manager reports for a panic caught on a worker thread.
const WORKER_PANIC: &str = "internal error in the network worker";

/// The body of the answer to every request after the first of a `response_bytes` run (auth
/// retries, followed redirects) and to every `request_bytes` request.
pub const FALLBACK_BODY: &[u8] = b"fallback";

/// The body of the 401 that `challenge_parse` sends.
pub const CHALLENGE_BODY: &[u8] = b"denied";

// ---------------------------------------------------------------------------------------
// Servers on 127.0.0.1
// ---------------------------------------------------------------------------------------

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One input at a time per process: the servers' counters are per run.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    lock(&SERIAL)
}

/// A responder on 127.0.0.1 running `script` for each connection, its sockets bounded by
/// [`SOCKET_LIMIT`]. It lives as long as the process (the servers are started once).
fn listen(script: impl Fn(Connection) + Send + Sync + 'static) -> Responder {
    Responder::with_limit(SOCKET_LIMIT, script)
}

fn fallback_response() -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", FALLBACK_BODY.len())
            .into_bytes();
    out.extend_from_slice(FALLBACK_BODY);
    out
}

/// `response_bytes`' server: answers the first connection of a run with the run's bytes,
/// verbatim, and any later one with [`fallback_response`]; closes after each answer.
struct ResponseServer {
    port: u16,
    _server: Responder,
    state: Arc<Mutex<ResponseState>>,
}

#[derive(Default)]
struct ResponseState {
    /// The answer for the next connection.
    next: Option<Vec<u8>>,
    /// Connections that sent a request head.
    connections: usize,
}

fn response_server() -> &'static ResponseServer {
    static SERVER: OnceLock<ResponseServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let state = Arc::new(Mutex::new(ResponseState::default()));
        let shared = state.clone();
        let server = listen(move |mut connection| {
            if connection.read_head().is_none() {
                return;
            }
            let answer = {
                let mut state = lock(&shared);
                state.connections += 1;
                state.next.take()
            };
            let _ = connection.write_all(&answer.unwrap_or_else(fallback_response));
            connection.close();
        });
        ResponseServer { port: server.port(), _server: server, state }
    })
}

/// `request_bytes`' server: answers every request with [`fallback_response`] and records
/// what arrived, and whether each request head was well-formed.
struct RequestServer {
    port: u16,
    _server: Responder,
    state: Arc<Mutex<RequestState>>,
}

#[derive(Default)]
struct RequestState {
    connections: usize,
    bytes: usize,
    heads: Vec<Vec<u8>>,
    /// Why a head that arrived was malformed (a sign of injection).
    malformed: Vec<String>,
}

fn request_server() -> &'static RequestServer {
    static SERVER: OnceLock<RequestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let state = Arc::new(Mutex::new(RequestState::default()));
        let shared = state.clone();
        let server = listen(move |mut connection| {
            lock(&shared).connections += 1;
            let head = connection.read_head();
            {
                let mut state = lock(&shared);
                state.bytes += connection.received();
                match head {
                    Some(head) => {
                        let head = head.as_bytes().to_vec();
                        if let Err(why) = check_request_head(&head) {
                            let shown = String::from_utf8_lossy(&head).escape_debug().to_string();
                            state.malformed.push(format!("{why}: {shown}"));
                        }
                        state.heads.push(head);
                    }
                    None if !connection.pending().is_empty() => {
                        let shown = String::from_utf8_lossy(connection.pending()).escape_debug().to_string();
                        state.malformed.push(format!("incomplete request head: {shown}"));
                    }
                    None => return,
                }
            }
            let _ = connection.write_all(&fallback_response());
            connection.close();
        });
        RequestServer { port: server.port(), _server: server, state }
    })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte an HTTP field value may hold (RFC 9110: VCHAR, SP, HTAB, obs-text), which is
/// what `http::HeaderValue` accepts.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
}

/// Checks a request head (ending with its blank line) the way a strict server would: one
/// request line `METHOD SP target SP HTTP/1.x`, then `name: value` lines, CRLF only.
fn check_request_head(head: &[u8]) -> Result<(), String> {
    let body = head.strip_suffix(b"\r\n\r\n").ok_or("no blank line")?;
    // Every line ends with CRLF: split on LF, then each line but the last (whose CRLF
    // was stripped with the blank line) must have its CR.
    let mut all: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let last = all.pop().unwrap_or_default();
    let mut checked = Vec::with_capacity(all.len() + 1);
    for line in all {
        checked.push(line.strip_suffix(b"\r").ok_or("bare LF")?);
    }
    checked.push(last);
    for line in &checked {
        if line.iter().any(|&b| b == b'\r' || b == 0) {
            return Err("bare CR or NUL in a line".into());
        }
    }
    let request_line = checked[0];
    let parts: Vec<&[u8]> = request_line.split(|&b| b == b' ').collect();
    let [method, target, version] = parts[..] else {
        return Err("request line is not METHOD SP target SP version".into());
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err("method is not a token".into());
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err("request target is not visible ASCII".into());
    }
    if version != b"HTTP/1.1" && version != b"HTTP/1.0" {
        return Err("bad HTTP version".into());
    }
    for line in &checked[1..] {
        let colon = line.iter().position(|&b| b == b':').ok_or("header line without a colon")?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err("header name is not a token".into());
        }
        if !value.iter().all(|&b| is_value_byte(b)) {
            return Err("control character in a header value".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------

/// The calling thread's manager, and what its signals reported.
struct Client {
    nam: NetworkAccessManager,
    /// The manager's `finished` emissions in this run.
    finished: Rc<RefCell<Vec<NetworkReply>>>,
    /// The realms `authentication_required` asked for in this run.
    asked: Rc<RefCell<Vec<String>>>,
}

impl Client {
    fn new() -> Client {
        let nam = NetworkAccessManager::new();
        nam.set_transfer_timeout(TRANSFER_TIMEOUT);
        nam.set_connect_timeout(TRANSFER_TIMEOUT);
        let finished: Rc<RefCell<Vec<NetworkReply>>> = Rc::default();
        let f = finished.clone();
        nam.finished().connect(move |reply: &NetworkReply| f.borrow_mut().push(reply.clone()));
        let asked: Rc<RefCell<Vec<String>>> = Rc::default();
        let a = asked.clone();
        nam.authentication_required().connect(move |(_, auth)| {
            a.borrow_mut().push(auth.realm());
            // Answer, so that the retry (to the same local server) is exercised too.
            auth.set_user("fuzz");
            auth.set_password("fuzz");
        });
        Client { nam, finished, asked }
    }

    /// Starts a run: forgets the last run's records and the pooled connections (a server
    /// closes each connection after its answer, so none could be reused anyway).
    fn reset(&self) {
        self.finished.borrow_mut().clear();
        self.asked.borrow_mut().clear();
        self.nam.clear_access_cache();
    }
}

thread_local! {
    static CLIENT: Client = Client::new();
}

/// Runs `f` with the thread's client, reset for a new run.
fn with_client<T>(f: impl FnOnce(&Client) -> T) -> T {
    CLIENT.with(|client| {
        client.reset();
        let out = f(client);
        // Close what the run left pooled now, not at the next run.
        client.nam.clear_access_cache();
        out
    })
}

/// Runs the loop until `reply` finishes (bounded by [`GIVE_UP`]) and checks the
/// invariants every target shares.
fn wait(client: &Client, reply: &NetworkReply, what: &str) {
    let own = Rc::new(Cell::new(0usize));
    let o = own.clone();
    reply.finished().connect(move |_| o.set(o.get() + 1));
    let started = Instant::now();
    while !reply.is_finished() {
        if started.elapsed() > GIVE_UP {
            reply.abort();
            panic!("hang: {what}: the reply did not finish within {GIVE_UP:?}: {reply:?}");
        }
        EventLoop::process_events(Duration::from_millis(20));
    }
    // One more round, for a (wrong) second finish already on its way.
    EventLoop::process_events(Duration::ZERO);
    let by_manager = client.finished.borrow().iter().filter(|r| *r == reply).count();
    assert_eq!(by_manager, 1, "{what}: the manager's finished fired {by_manager} times");
    assert_eq!(own.get(), 1, "{what}: the reply's finished fired {} times", own.get());
    let error = reply.error();
    let text = reply.error_string();
    assert_ne!(text, WORKER_PANIC, "{what}: a worker thread panicked");
    if error != NetworkError::NoError {
        assert!(!text.trim().is_empty(), "{what}: {error:?} with an empty error string");
    } else if let Some(status) = reply.status_code() {
        assert!(status < 400, "{what}: NoError with HTTP status {status}");
    }
}

fn has_forbidden_bytes(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

// ---------------------------------------------------------------------------------------
// request_bytes
// ---------------------------------------------------------------------------------------

/// The parts of a `request_bytes` input: `url 0xFF name 0xFF value 0xFF verb` (later parts
/// optional: no header without a name, `GET` without a verb).
#[derive(Debug)]
pub struct RequestInput<'a> {
    /// The URL, before it is made local.
    pub url: &'a [u8],
    /// A header to set, name and value.
    pub header: Option<(&'a [u8], &'a [u8])>,
    /// The verb for `send_custom_request`.
    pub verb: &'a [u8],
}

impl<'a> RequestInput<'a> {
    /// Splits `data` on 0xFF bytes.
    pub fn split(data: &'a [u8]) -> RequestInput<'a> {
        let mut parts = data.splitn(4, |&b| b == 0xff);
        let url = parts.next().unwrap_or_default();
        let name = parts.next();
        let value = parts.next().unwrap_or_default();
        let verb = parts.next().unwrap_or(b"GET");
        RequestInput { url, header: name.map(|n| (n, value)), verb }
    }
}

/// Points an http, https or file URL at `port` on 127.0.0.1, keeping its user info, path,
/// query and fragment. Other URLs (data:, unknown schemes, unparsable) are left alone:
/// none of them can reach a network. Returns whether the URL now points at the server.
fn make_local(request: &mut NetworkRequest, port: u16) -> bool {
    let Some(url) = request.url() else { return false };
    if !matches!(url.scheme(), "http" | "https" | "file") {
        return false;
    }
    let mut local = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a local URL");
    local.set_path(url.path());
    local.set_query(url.query());
    local.set_fragment(url.fragment());
    let _ = local.set_username(url.username());
    let _ = local.set_password(url.password());
    request.set_url(local);
    true
}

/// Target 1: a request built from fuzzed URL, header and verb, sent with
/// `send_custom_request` to a local server that answers 200.
///
/// Checks, besides the shared invariants: if the URL, header name, header value or verb
/// holds CR, LF or NUL, nothing reaches the server and the reply fails with a protocol
/// error; every request head that does arrive is well-formed and starts with the verb; and
/// a plainly valid request (standard verb, `x-` header with a valid value) succeeds.
pub fn request_bytes(data: &[u8]) {
    let _serial = serial();
    let input = RequestInput::split(data);
    let server = request_server();
    let mut request = NetworkRequest::new(String::from_utf8_lossy(input.url).into_owned());
    let local = make_local(&mut request, server.port);
    if let Some((name, value)) = input.header {
        request.set_raw_header(name, value);
    }
    let forbidden = has_forbidden_bytes(input.url)
        || has_forbidden_bytes(input.verb)
        || input.header.is_some_and(|(n, v)| has_forbidden_bytes(n) || has_forbidden_bytes(v));
    let what = format!(
        "request_bytes url={:?} header={:?} verb={:?}",
        shown(input.url),
        input.header.map(|(n, v)| (shown(n), shown(v))),
        shown(input.verb)
    );

    *lock(&server.state) = RequestState::default();
    let (arrived, error) = with_client(|client| {
        let reply = client.nam.send_custom_request(&request, input.verb, Vec::new());
        wait(client, &reply, &what);
        let state = std::mem::take(&mut *lock(&server.state));
        (state, (reply.error(), reply.error_string(), reply.read_all()))
    });
    let (error, text, body) = error;

    if forbidden {
        assert_eq!(
            (arrived.connections, arrived.bytes),
            (0, 0),
            "{what}: CR, LF or NUL in the request, yet the server saw a connection or bytes: {:?}",
            arrived.heads.iter().map(|h| shown(h)).collect::<Vec<_>>()
        );
        assert!(
            matches!(error, NetworkError::ProtocolInvalidOperationError | NetworkError::ProtocolUnknownError),
            "{what}: CR, LF or NUL in the request must fail it with a protocol error, not {error:?} ({text})"
        );
    }
    assert!(
        arrived.malformed.is_empty(),
        "{what}: malformed request head(s) arrived: {:?}",
        arrived.malformed
    );
    let verb = String::from_utf8_lossy(input.verb);
    for head in &arrived.heads {
        assert!(
            head.starts_with(format!("{verb} ").as_bytes()),
            "{what}: the request line does not start with the verb: {}",
            shown(head)
        );
    }
    let standard_verb = matches!(&*verb, "GET" | "HEAD" | "DELETE" | "OPTIONS" | "POST" | "PUT" | "PATCH");
    let plain_header = input.header.is_none_or(|(name, value)| {
        name.len() > 2
            && name[..2].eq_ignore_ascii_case(b"x-")
            && name.iter().all(|&b| is_tchar(b))
            && value.iter().all(|&b| is_value_byte(b))
    });
    if local && !forbidden && standard_verb && plain_header {
        assert_eq!(error, NetworkError::NoError, "{what}: a valid request failed: {text}");
        assert_eq!(arrived.heads.len(), 1, "{what}: expected exactly one request at the server");
        let expected: &[u8] = if verb == "HEAD" { b"" } else { FALLBACK_BODY };
        assert_eq!(body, expected, "{what}: wrong body");
    }
}

// ---------------------------------------------------------------------------------------
// response_bytes and challenge_parse
// ---------------------------------------------------------------------------------------

/// What a `response_bytes` run observed.
struct ResponseRun {
    error: NetworkError,
    text: String,
    status: Option<u16>,
    body: Vec<u8>,
    connections: usize,
    asked: Vec<String>,
    final_url: Option<Url>,
    url: Url,
}

/// GETs `/fuzz` from the response server, which answers with `response` verbatim.
fn fetch(response: &[u8], what: &str) -> ResponseRun {
    let server = response_server();
    let port = server.port;
    let url = Url::parse(&format!("http://127.0.0.1:{port}/fuzz")).expect("a local URL");
    let mut request = NetworkRequest::new(url.clone());
    request.set_transfer_timeout(TRANSFER_TIMEOUT);
    // Redirects are followed only back to the local server (which then answers with the
    // fallback), so a fuzzed Location can never leave the machine.
    request.set_redirect_policy(RedirectPolicy::UserVerifiedRedirectPolicy);
    request.set_maximum_redirects_allowed(3);
    // Small enough for the decompression guard to be reachable from a 4 KiB input.
    request.set_decompressed_safety_check_threshold(256 * 1024);
    *lock(&server.state) = ResponseState { next: Some(response.to_vec()), connections: 0 };
    with_client(|client| {
        let reply = client.nam.get(&request);
        let handle = reply.clone();
        reply.redirected().connect(move |target: &Url| {
            if target.scheme() == "http"
                && target.host_str() == Some("127.0.0.1")
                && target.port() == Some(port)
            {
                handle.redirect_allowed();
            }
        });
        wait(client, &reply, what);
        let connections = std::mem::take(&mut *lock(&server.state)).connections;
        ResponseRun {
            error: reply.error(),
            text: reply.error_string(),
            status: reply.status_code(),
            body: reply.read_all(),
            connections,
            asked: client.asked.borrow().clone(),
            final_url: reply.url(),
            url,
        }
    })
}

/// A response head parsed strictly: only what every HTTP/1.1 parser reads the same way.
struct SimpleResponse {
    status: u16,
    /// Where the body starts.
    body_start: usize,
    content_length: Option<u64>,
    content_length_headers: usize,
    /// `Transfer-Encoding` or `Content-Encoding` present (the body is not the raw bytes).
    encoded: bool,
}

fn parse_simple_response(bytes: &[u8]) -> Option<SimpleResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &bytes[..end];
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next()?;
    // Every line of the head must have ended with CRLF (no bare LF, no CR inside).
    let crlf_lines = head.windows(2).filter(|w| w == b"\r\n").count();
    let lf = head.iter().filter(|&&b| b == b'\n').count();
    let cr = head.iter().filter(|&&b| b == b'\r').count();
    if crlf_lines != lf || cr != lf {
        return None;
    }
    let rest = status_line.strip_prefix(b"HTTP/1.1 ").or_else(|| status_line.strip_prefix(b"HTTP/1.0 "))?;
    let (code, reason) = (rest.get(..3)?, rest.get(3..)?);
    if !code.iter().all(u8::is_ascii_digit) || !(reason.is_empty() || reason[0] == b' ') {
        return None;
    }
    if !reason.iter().all(|&b| is_value_byte(b)) {
        return None;
    }
    let status: u16 = std::str::from_utf8(code).ok()?.parse().ok()?;
    let mut parsed = SimpleResponse {
        status,
        body_start: end + 4,
        content_length: None,
        content_length_headers: 0,
        encoded: false,
    };
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) || !value.iter().all(|&b| is_value_byte(b)) {
            return None;
        }
        let value = value.trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            parsed.content_length_headers += 1;
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return None;
            }
            parsed.content_length = std::str::from_utf8(value).ok()?.parse().ok();
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"content-encoding")
        {
            parsed.encoded = true;
        }
    }
    Some(parsed)
}

/// Target 2: a GET answered by a server that sends the input verbatim and closes (later
/// connections of the run, for an answered 401 or a redirect back to the server, get a
/// fixed 200).
///
/// Checks, besides the shared invariants: when the input is a plain `200` with one
/// `Content-Length` (no transfer or content coding) and the reply succeeded from that one
/// response, the reply's status is 200 and its body is exactly the declared bytes (a body
/// shorter than declared must not succeed).
pub fn response_bytes(data: &[u8]) {
    let _serial = serial();
    let what = format!("response_bytes {:?}", shown(data));
    let run = fetch(data, &what);
    let Some(simple) = parse_simple_response(data) else { return };
    let one_response =
        run.connections == 1 && run.asked.is_empty() && run.final_url.as_ref() == Some(&run.url);
    if run.error != NetworkError::NoError || !one_response {
        return;
    }
    if simple.status == 200 && simple.content_length_headers == 1 && !simple.encoded {
        let declared = simple.content_length.unwrap_or(u64::MAX);
        let available = (data.len() - simple.body_start) as u64;
        assert!(
            declared <= available,
            "{what}: NoError although the body has {available} of its {declared} declared bytes"
        );
        let expected = &data[simple.body_start..simple.body_start + declared as usize];
        assert_eq!(run.status, Some(200), "{what}");
        assert_eq!(run.body, expected, "{what}: the body is not the declared bytes ({})", run.text);
    }
}

/// The 401 that `challenge_parse` sends for `challenge` (CR and LF replaced by spaces, so
/// the input stays one header value).
pub fn challenge_response(challenge: &[u8]) -> Vec<u8> {
    let value: Vec<u8> = challenge.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
    let mut out = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: ".to_vec();
    out.extend_from_slice(&value);
    out.extend_from_slice(
        format!("\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", CHALLENGE_BODY.len()).as_bytes(),
    );
    out.extend_from_slice(CHALLENGE_BODY);
    out
}

/// `Basic realm="X"` with X printable ASCII without quotes or backslashes: the one form
/// whose meaning no parser can dispute.
fn simple_basic_realm(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, rest) = (value.get(..6)?, &value[6..]);
    let realm = rest.strip_prefix(b"realm=\"")?.strip_suffix(b"\"")?;
    (scheme.eq_ignore_ascii_case(b"basic ")
        && realm.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'))
    .then_some(realm)
}

/// Target 3: the `WWW-Authenticate` challenge parser, reached through the public API: a
/// 401 whose challenge is the input. The manager's `authentication_required` slot answers
/// with credentials, and the retry gets a 200.
///
/// Checks, besides the shared invariants: when the header is valid, either the slot was
/// asked once and the retry succeeded, or it was not asked and the reply failed with
/// `AuthenticationRequiredError`, status 401 and the 401's body; a challenge without
/// "basic" in it never asks; `Basic realm="X"` asks once, for realm X.
pub fn challenge_parse(data: &[u8]) {
    let _serial = serial();
    let what = format!("challenge_parse {:?}", shown(data));
    let response = challenge_response(data);
    let run = fetch(&response, &what);
    let value = &response[b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: ".len()..][..data.len()];
    if !value.iter().all(|&b| is_value_byte(b)) {
        return; // Not a valid header: any error will do.
    }
    assert!(run.asked.len() <= 1, "{what}: asked {} times: {:?}", run.asked.len(), run.asked);
    if run.asked.is_empty() {
        assert_eq!(run.error, NetworkError::AuthenticationRequiredError, "{what}: {}", run.text);
        assert_eq!(run.status, Some(401), "{what}");
        assert_eq!(run.body, CHALLENGE_BODY, "{what}");
        assert_eq!(run.connections, 1, "{what}");
    } else {
        assert_eq!(run.error, NetworkError::NoError, "{what}: the answered retry failed: {}", run.text);
        assert_eq!(run.body, FALLBACK_BODY, "{what}");
        assert_eq!(run.connections, 2, "{what}");
    }
    if !value.to_ascii_lowercase().windows(5).any(|w| w == b"basic") {
        assert!(run.asked.is_empty(), "{what}: asked for credentials without a Basic challenge");
    }
    if let Some(realm) = simple_basic_realm(value) {
        assert_eq!(run.asked, [String::from_utf8_lossy(realm).into_owned()], "{what}");
    }
}

// ---------------------------------------------------------------------------------------
// data_url
// ---------------------------------------------------------------------------------------

/// A byte of a media type that no URL parser changes and that is not special in a data: URL.
fn is_plain_media_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~/;=+".contains(&b)
}

/// A payload byte that the URL parser keeps as it is in an opaque path: visible ASCII but
/// `#` (which starts the fragment).
fn is_plain_payload_byte(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && b != b'#'
}

/// RFC 3986 percent-decoding: `%` and two hex digits make a byte; any other `%` stays.
fn percent_decode_reference(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) =
                (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Standard base64 with padding and zero trailing bits, or `None`.
fn decode_canonical_base64(text: &[u8]) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    for (i, quad) in text.chunks(4).enumerate() {
        let last = i == text.len() / 4 - 1;
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut bits = 0u32;
        for &b in &quad[..4 - pad] {
            bits = bits << 6 | ALPHABET.iter().position(|&a| a == b)? as u32;
        }
        bits <<= 6 * pad as u32;
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        // The bits the padding leaves over must be zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Target 4: `data:` URLs (`data:` followed by the input), fetched through the manager.
///
/// Checks, besides the shared invariants: a success reports a `Content-Length` equal to the
/// body's length; an input without a comma fails; for `media,payload` with a plain media
/// type and a payload of visible ASCII (no `#`), the body is the payload percent-decoded
/// as RFC 3986 says (then, with `;base64`, its decoding when that is canonical base64), and
/// the content type is the media type (with RFC 2397's defaults).
pub fn data_url(data: &[u8]) {
    let _serial = serial();
    let text = String::from_utf8_lossy(data);
    let what = format!("data_url {:?}", text.escape_debug().to_string());
    let request = NetworkRequest::new(format!("data:{text}"));
    let run = with_client(|client| {
        let reply = client.nam.get(&request);
        wait(client, &reply, &what);
        (
            reply.error(),
            reply.error_string(),
            reply.read_all(),
            reply.header(KnownHeaders::ContentTypeHeader),
            { reply.header(KnownHeaders::ContentLengthHeader) },
        )
    });
    let (error, message, body, content_type, content_length) = run;
    if error == NetworkError::NoError {
        assert_eq!(
            content_length,
            Some(body.len().to_string()),
            "{what}: Content-Length is not the body's length"
        );
    }
    if !data.contains(&b',') {
        assert_ne!(error, NetworkError::NoError, "{what}: a data: URL without a comma succeeded");
    }
    let Some(comma) = data.iter().position(|&b| b == b',') else { return };
    let (media, payload) = (&data[..comma], &data[comma + 1..]);
    // A leading `/` would make the path hierarchical (dot segments are then resolved).
    if data.starts_with(b"/")
        || !media.iter().all(|&b| is_plain_media_byte(b))
        || !payload.iter().all(|&b| is_plain_payload_byte(b))
    {
        return;
    }
    let payload = percent_decode_reference(payload);
    let (media, expected) = match media.strip_suffix(b";base64") {
        Some(media) => {
            let text: Vec<u8> = payload.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
            match decode_canonical_base64(&text) {
                Some(decoded) => (media, decoded),
                None => return,
            }
        }
        None => (media, payload),
    };
    if media.to_ascii_lowercase().windows(6).any(|w| w == b"base64") {
        return; // Leave disputed spellings (`;BASE64`, `;base64;x`) alone.
    }
    assert_eq!(error, NetworkError::NoError, "{what}: {message}");
    assert_eq!(body, expected, "{what}: wrong body");
    let media = String::from_utf8_lossy(media);
    let expected_type = if media.is_empty() {
        "text/plain;charset=US-ASCII".to_owned()
    } else if media.starts_with(';') {
        format!("text/plain{media}")
    } else {
        media.into_owned()
    };
    assert_eq!(content_type.as_deref(), Some(expected_type.as_str()), "{what}: wrong content type");
}
