//! Runs every example program against an in-process cute-httpbin and checks its output:
//! the four PyQt tutorial ports line for line against the PyQt programs' output, the
//! others by their key lines, and the offline demo.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Once;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cute_httpbin::Httpbin;

/// The tutorial page as webcode.me serves it (and cute-httpbin at `/`).
const PAGE: &str = include_str!("../crates/cute-httpbin/src/page.html");

/// How long the nested `cargo build --examples` may take before the test gives up.
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);

/// How long one example run may take before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Waits for `child` at most `limit`; kills it and returns `None` if it is still running.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The compiled example. The examples are (re)built once per test run: `cargo test
/// --test examples` alone would leave stale binaries in place.
fn example(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(Path::parent).expect("target profile directory").join("examples");
    let path = dir.join(name);
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--locked", "--examples", "--quiet"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let mut child = build.spawn().expect("run cargo build --examples");
        let status = wait_bounded(&mut child, BUILD_LIMIT)
            .unwrap_or_else(|| panic!("cargo build --examples did not finish within {BUILD_LIMIT:?}"));
        assert!(status.success(), "building the examples failed");
    });
    assert!(path.exists(), "example binary {} not found", path.display());
    path
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs an example with a bounded wait; kills it if it hangs. Its output is read on
/// threads of its own so a chatty example cannot block on a full pipe.
fn run_in(name: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(example(name));
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("spawn example");
    let out = drain(child.stdout.take().expect("piped stdout"));
    let err = drain(child.stderr.take().expect("piped stderr"));
    let status = wait_bounded(&mut child, RUN_LIMIT)
        .unwrap_or_else(|| panic!("example {name} {args:?} did not finish within {RUN_LIMIT:?}"));
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    Output { status, stdout, stderr }
}

fn run(name: &str, args: &[&str]) -> Output {
    run_in(name, args, None)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cute-examples-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn get_request_prints_the_page_like_the_pyqt_program() {
    let server = Httpbin::start().unwrap();
    let output = run("get_request", &[&server.url("/")]);
    assert!(output.status.success(), "{output:?}");
    // print(str(bytes_string, 'utf-8')) adds one newline after the page.
    assert_eq!(stdout(&output), format!("{PAGE}\n"));
}

#[test]
fn post_request_prints_name_and_age() {
    let server = Httpbin::start().unwrap();
    let output = run("post_request", &[&server.url("/post")]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "Name: Peter\nAge: 34\n\n");
}

#[test]
fn post_request_with_a_body_that_is_not_json_says_so_and_exits_non_zero() {
    let server = Httpbin::start().unwrap();
    // A 200 with HTML (the POST is redirected by a 303 to /html, which answers GET only):
    // Python's json.loads would raise; the port must not print blanks.
    let url = server.url("/redirect-to?url=/html&status_code=303");
    let output = fails_saying("post_request", &url, "Error: the reply is not JSON");
    assert_eq!(stdout(&output), "", "no Name/Age lines");
    // A 200 with an empty body, and one with JSON but no form fields: the same.
    fails_saying("post_request", &server.url("/status/200"), "Error: the reply is not JSON");
    let url = server.url("/response-headers?X-Kind=no-form");
    fails_saying("post_request", &url, "Error: the reply's JSON has no form.name");
}

/// Runs `example` against `url`; it must exit with 1 and say `error` first on stderr.
fn fails_saying(example: &str, url: &str, error: &str) -> Output {
    let output = run(example, &[url]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(error), "{stderr}");
    output
}

#[test]
fn authentication_with_a_body_that_is_not_json_says_so_and_exits_non_zero() {
    let server = Httpbin::start().unwrap();
    let output = fails_saying("authentication", &server.url("/html"), "Error: the reply is not JSON");
    assert_eq!(stdout(&output), "");
}

#[test]
fn authentication_authenticates_once() {
    let server = Httpbin::start().unwrap();
    let output = run("authentication", &[&server.url("/basic-auth/user7/passwd7")]);
    assert!(output.status.success(), "{output:?}");
    // PyQt prints Python's `True`; the JSON boolean prints in Rust's lowercase.
    assert_eq!(stdout(&output), "Authenticating\nAuthenticated: true\nUser: user7\n\n");
}

#[test]
fn authentication_with_a_rejected_password_prints_what_pyqt_prints() {
    // PyQt6 against a server rejecting user7:passwd7: the second call finds the authenticator
    // holding the credentials that failed, sets the same ones again (no change), and the
    // reply ends with AuthenticationRequiredError; the abort on the third call never comes.
    let server = Httpbin::start().unwrap();
    let output = run("authentication", &[&server.url("/basic-auth/user7/something-else")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout(&output),
        "Authenticating\nAuthenticating\n\
         Error occurred:  NetworkError.AuthenticationRequiredError\nHost requires authentication\n"
    );
}

#[test]
fn fetch_icon_saves_the_favicon() {
    let server = Httpbin::start().unwrap();
    let dir = temp_dir("favicon");
    let output = run_in("fetch_icon", &[&server.url("/favicon.ico")], Some(&dir));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "");
    let saved = std::fs::read(dir.join("favicon.ico")).expect("favicon.ico written");
    let served = {
        let nam = cute::network::NetworkAccessManager::new();
        let reply = nam.get(&cute::network::NetworkRequest::new(server.url("/favicon.ico")));
        let spy = cute::SignalSpy::new(reply.finished());
        assert!(spy.wait(Duration::from_secs(20)));
        reply.read_all()
    };
    assert_eq!(saved, served);
    assert_eq!(&saved[..4], [0, 0, 1, 0], "an ICO header");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn failures_print_the_error_and_its_string_and_exit_non_zero() {
    let server = Httpbin::start().unwrap();
    let output = run("get_request", &[&server.url("/status/404")]);
    assert_eq!(output.status.code(), Some(1));
    let expected_url = server.url("/status/404");
    assert_eq!(
        stdout(&output),
        format!(
            "Error occured:  NetworkError.ContentNotFoundError\n\
             Error transferring {expected_url} - server replied: Not Found\n"
        )
    );
    // A host that does not exist (.invalid never resolves): a clear line, no panic, no hang.
    for name in ["get_request", "post_request", "authentication", "fetch_icon"] {
        let dir = temp_dir("nohost");
        let output = run_in(name, &["http://no-such-host.invalid/"], Some(&dir));
        assert_eq!(output.status.code(), Some(1), "{name}: {output:?}");
        let text = stdout(&output);
        assert!(text.contains("NetworkError.HostNotFoundError"), "{name}: {text}");
        assert!(text.contains("Host no-such-host.invalid not found"), "{name}: {text}");
        assert!(
            output.stderr.is_empty(),
            "{name} wrote to stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
    // A port nothing listens on: Qt's error and string ("Connection refused").
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for name in ["get_request", "post_request", "authentication", "fetch_icon"] {
        let dir = temp_dir("refused");
        let output = run_in(name, &[&format!("http://127.0.0.1:{closed}/")], Some(&dir));
        assert_eq!(output.status.code(), Some(1), "{name}: {output:?}");
        let text = stdout(&output);
        assert!(text.contains("NetworkError.ConnectionRefusedError"), "{name}: {text}");
        assert!(text.contains("\nConnection refused\n"), "{name}: {text}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn the_demo_runs_every_flow_offline() {
    let output = run("demo", &[]);
    assert!(output.status.success(), "{}", stdout(&output));
    let text = stdout(&output);
    for line in [
        "Today is a beautiful day. We go swimming and fishing.",
        "Name: Peter",
        "Age: 34",
        "User: user7",
        "Error occurred:  NetworkError.AuthenticationRequiredError",
        "Host requires authentication",
        "all flows behaved as expected",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(text.matches("Authenticating").count(), 3, "once right, twice wrong (as PyQt6)");
    let saved = text.lines().find(|l| l.starts_with("saved ")).expect("where the favicon went");
    let path = saved.trim_start_matches("saved ").split(" (").next().unwrap();
    assert!(Path::new(path).exists(), "{path}");
}

#[test]
fn other_examples_print_their_key_lines() {
    let server = Httpbin::start().unwrap();
    let base = server.base_url();

    let output = run("clock", &["1"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.starts_with("tick 1: ") && text.contains("done after 1 ticks"), "{text}");

    let output = run("worker_thread", &[]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("progress: 100%") && text.contains("result: ") && text.contains("worker exited with 0")
    );

    let dir = temp_dir("upload");
    let file = dir.join("notes.txt");
    std::fs::write(&file, "line\n".repeat(50_000)).unwrap();
    let output = run("upload_form", &[&server.url("/post"), file.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains(r#"form: {"text":"my text"}"#), "{text}");
    assert!(text.contains("files: file (250000 bytes)"), "the file part arrived whole: {text}");
    let _ = std::fs::remove_dir_all(dir);

    // The cache answers the second fetch, and still after a restart.
    let dir = temp_dir("cache");
    let cache_dir = dir.join("cache");
    let url = server.url("/cache/60");
    let output = run("cached_fetch", &[&url, cache_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("from network: status 200") && text.contains("from cache: status 200"), "{text}");
    let output = run("cached_fetch", &[&url, cache_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output).matches("from cache: status 200").count(), 2, "{}", stdout(&output));
    let _ = std::fs::remove_dir_all(dir);

    let output = run("status_app", &[]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    // 8 blocks of 20,000 numbers: the primes below 160,000.
    assert!(text.contains("done: worker: 8/8 blocks, 14683 primes | job: 100%"), "{text}");
    assert!(text.contains("job result: "), "{text}");

    let output = run("sync_request", &[&server.url("/get")]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).starts_with("status 200 from "), "{}", stdout(&output));

    let dir = temp_dir("download");
    let file = dir.join("out.bin");
    let output = run("download", &[&server.url("/bytes/1048576"), file.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("saved "));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 1_048_576);
    let _ = std::fs::remove_dir_all(dir);

    let output = run("many_requests", &[&base, "12"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("12 finished, 0 failed"), "{text}");
    // Each request is in flight for 0.3 s from its headers on, so with 12 of them several
    // overlap, but never more than the 6 connections per host.
    let peak: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("peak concurrency: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak concurrency line in:\n{text}"));
    assert!((2..=6).contains(&peak), "peak concurrency {peak}, expected 2..=6:\n{text}");

    let output = run("json_client", &[&base]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("created: {")
            && text.contains("\"done\":true")
            && text.contains("deleted (status 200)")
    );
}

/// A long-running example (a server), its first line of output (which names its port),
/// and the rest of its output read on a thread of its own.
struct Running {
    child: Child,
    rest: Option<JoinHandle<String>>,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> (Running, String) {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn example");
        let (tx, rx) = std::sync::mpsc::channel();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let rest = std::thread::spawn(move || {
            let mut text = String::new();
            let mut byte = [0u8; 1];
            let mut first = Some(tx);
            while let Ok(1) = stdout.read(&mut byte) {
                text.push(byte[0] as char);
                if byte[0] == b'\n'
                    && let Some(tx) = first.take()
                {
                    let _ = tx.send(std::mem::take(&mut text));
                }
            }
            text
        });
        let line = rx.recv_timeout(RUN_LIMIT).unwrap_or_else(|_| panic!("{name} printed no first line"));
        (Running { child, rest: Some(rest) }, line)
    }

    /// Interrupts it (Ctrl-C) and waits for its end: its status and remaining output.
    fn interrupt(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
        assert!(sent.success());
        let status = wait_bounded(&mut self.child, RUN_LIMIT).expect("the example ended on SIGINT");
        let rest = self.rest.take().map(|r| r.join().unwrap_or_default()).unwrap_or_default();
        (status, rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number at the end of a line like "… on port 41234." or "… port 41234".
fn port_of(line: &str) -> String {
    line.trim().trim_end_matches('.').rsplit(' ').next().expect("a port").to_owned()
}

#[test]
fn the_fortune_server_and_client_talk_and_ctrl_c_stops_the_server() {
    let (server, line) = Running::start("fortune_server", &[]);
    assert!(line.starts_with("The server is running on port "), "{line}");
    let port = port_of(&line);
    for _ in 0..3 {
        let output = run("fortune_client", &[&port]);
        assert!(output.status.success(), "{output:?}");
        let fortune = stdout(&output);
        assert!(fortune.trim_end().ends_with('.'), "a fortune: {fortune}");
        assert!(fortune.len() > 15, "{fortune}");
    }
    let (status, rest) = server.interrupt();
    assert!(status.success(), "quit cleanly on SIGINT: {status:?}");
    assert!(rest.contains("Server stopped."), "about_to_quit ran: {rest}");

    // No server: the client says so and fails.
    let output = run("fortune_client", &[&port]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ConnectionRefusedError"), "{output:?}");
}

#[test]
fn the_chat_passes_lines_between_clients() {
    let (server, line) = Running::start("chat_server", &[]);
    let port = port_of(&line);
    // A listener that stays until its input ends, and a talker whose input is one line.
    let mut listener = Command::new(example("chat_client"))
        .arg(&port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn listener");
    let mut listener_out = listener.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = listener_out.read(&mut byte) {
            text.push(byte[0] as char);
            if byte[0] == b'\n' {
                let _ = tx.send(text.clone());
            }
        }
        text
    });
    let seen = |what: &str| {
        let deadline = Instant::now() + RUN_LIMIT;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(text) if text.contains(what) => return true,
                _ => {}
            }
        }
        false
    };
    assert!(seen("connected"), "the listener connected");
    let mut talker = Command::new(example("chat_client"))
        .arg(&port)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn talker");
    {
        use std::io::Write;
        let mut input = talker.stdin.take().unwrap();
        input.write_all(b"hello from the talker\n").unwrap();
    } // input closed: the talker leaves once the line is out
    let status = wait_bounded(&mut talker, RUN_LIMIT).expect("the talker left");
    assert!(status.success(), "{status:?}");
    assert!(seen(": hello from the talker"), "the listener got the line");
    drop(listener.stdin.take());
    let status = wait_bounded(&mut listener, RUN_LIMIT).expect("the listener left");
    assert!(status.success(), "{status:?}");
    reader.join().unwrap();
    let (status, rest) = server.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(rest.contains("joined") && rest.contains("left"), "{rest}");
}
