//! The endpoints, exercised over real sockets.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Client, Watchdog, get};
use cute_httpbin::Httpbin;
use serde_json::json;

#[test]
fn get_echoes_args_headers_origin_and_url() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let response = client.request(
        "GET",
        "/get?a=1&b=x+y&a=2",
        &[("User-Agent", "cute-test/1"), ("x-custom-thing", "v")],
        b"",
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["args"], json!({"a": ["1", "2"], "b": "x y"}));
    assert_eq!(body["headers"]["User-Agent"], "cute-test/1");
    assert_eq!(body["headers"]["X-Custom-Thing"], "v");
    assert_eq!(body["headers"]["Host"], server.addr().to_string());
    assert_eq!(body["origin"], "127.0.0.1");
    assert_eq!(body["url"], server.url("/get?a=1&b=x+y&a=2"));
    assert_eq!(client.request("POST", "/get", &[], b"x").status, 405);
}

#[test]
fn post_parses_forms_and_json() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = client.request("POST", "/post", &form, b"name=Peter&age=34").json();
    assert_eq!(body["form"]["name"], "Peter");
    assert_eq!(body["form"]["age"], "34");
    assert_eq!(body["data"], "");
    assert_eq!(body["json"], serde_json::Value::Null);
    assert_eq!(body["files"], json!({}));

    let typed = [("Content-Type", "application/json")];
    let body = client.request("PUT", "/put", &typed, br#"{"k": [1, 2]}"#).json();
    assert_eq!(body["json"], json!({"k": [1, 2]}));
    assert_eq!(body["data"], r#"{"k": [1, 2]}"#);
    assert_eq!(body["form"], json!({}));

    let body = client.request("PATCH", "/anything/x/y?q=1", &[], b"plain").json();
    assert_eq!(body["method"], "PATCH");
    assert_eq!(body["data"], "plain");
    assert_eq!(body["args"], json!({"q": "1"}));
    assert_eq!(client.request("DELETE", "/delete", &[], b"").status, 200);
    assert_eq!(client.request("GET", "/post", &[], b"").status, 405);
    assert_eq!(client.request("POST", "/delete", &[], b"x").status, 405);
}

#[test]
fn basic_auth_accepts_the_right_credentials_only() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    // base64("user:passwd") == "dXNlcjpwYXNzd2Q="
    let good = [("Authorization", "Basic dXNlcjpwYXNzd2Q=")];
    let response = client.request("GET", "/basic-auth/user/passwd", &good, b"");
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"authenticated": true, "user": "user"}));

    let response = client.request("GET", "/basic-auth/user/other", &good, b"");
    assert_eq!(response.status, 401);
    assert_eq!(response.header("WWW-Authenticate"), Some(r#"Basic realm="Fake Realm""#));
    assert!(response.body.is_empty());
    assert_eq!(client.get("/basic-auth/user/passwd").status, 401);

    let response = client.get("/hidden-basic-auth/user/passwd");
    assert_eq!(response.status, 404);
    assert_eq!(response.header("WWW-Authenticate"), None);
    assert_eq!(client.request("GET", "/hidden-basic-auth/user/passwd", &good, b"").status, 200);
}

/// The quoted or bare value of `name` in a challenge (test values need no unescaping).
fn challenge_param(challenge: &str, name: &str) -> String {
    let start = challenge.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} in {challenge}"));
    let rest = &challenge[start + name.len() + 1..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"').unwrap()].to_owned(),
        None => rest.split(',').next().unwrap().trim().to_owned(),
    }
}

/// An `Authorization: Digest` value answering `challenge`, computed here independently of
/// the server; `qop` `None` gives RFC 2069's form.
fn digest_answer(challenge: &str, user: &str, password: &str, uri: &str, qop: Option<&str>) -> String {
    use sha2::Digest as _;
    let algorithm = challenge_param(challenge, "algorithm");
    let h = |data: &str| -> String {
        let bytes = match algorithm.as_str() {
            "MD5" => md5::Md5::digest(data.as_bytes()).to_vec(),
            "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
            "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
            other => panic!("algorithm {other}"),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let (realm, nonce, opaque) = (
        challenge_param(challenge, "realm"),
        challenge_param(challenge, "nonce"),
        challenge_param(challenge, "opaque"),
    );
    let ha1 = h(&format!("{user}:{realm}:{password}"));
    let ha2 = h(&format!("GET:{uri}"));
    let mut value = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={algorithm}, opaque=\"{opaque}\""
    );
    let response = match qop {
        Some(qop) => {
            let ha2 = if qop == "auth-int" { h(&format!("GET:{uri}:{}", h(""))) } else { ha2 };
            value.push_str(&format!(", qop={qop}, nc=00000001, cnonce=\"0a4f113b\""));
            h(&format!("{ha1}:{nonce}:00000001:0a4f113b:{qop}:{ha2}"))
        }
        None => h(&format!("{ha1}:{nonce}:{ha2}")),
    };
    value.push_str(&format!(", response=\"{response}\""));
    value
}

#[test]
fn digest_auth_verifies_the_response() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let path = "/digest-auth/auth/user/passwd";
    let first = client.get(path);
    assert_eq!(first.status, 401);
    assert!(first.body.is_empty());
    let challenge = first.header("WWW-Authenticate").unwrap().to_owned();
    assert!(challenge.starts_with(r#"Digest realm="me@kennethreitz.com", nonce=""#), "{challenge}");
    assert!(challenge.contains(r#"qop="auth""#) && challenge.ends_with("algorithm=MD5"), "{challenge}");
    assert_eq!(challenge_param(&challenge, "nonce").len(), 32, "an MD5 hex digest, as httpbin's");
    let second = client.get(path).header("WWW-Authenticate").unwrap().to_owned();
    assert_ne!(challenge_param(&challenge, "nonce"), challenge_param(&second, "nonce"), "fresh nonces");

    let good = digest_answer(&challenge, "user", "passwd", path, Some("auth"));
    let response = client.request("GET", path, &[("Authorization", &good)], b"");
    assert_eq!(response.status, 200, "{good}");
    assert_eq!(response.json(), json!({"authenticated": true, "user": "user"}));

    // Each of these is refused with a new challenge.
    let refused = [
        digest_answer(&challenge, "user", "wrong", path, Some("auth")),
        digest_answer(&challenge, "other", "passwd", path, Some("auth")),
        digest_answer(&challenge, "user", "passwd", "/digest-auth/auth/user/other", Some("auth")),
        digest_answer(&challenge, "user", "passwd", path, None),
        digest_answer(&challenge, "user", "passwd", path, Some("auth-int")),
        good.replace("me@kennethreitz.com", "other realm"),
        good.replace("algorithm=MD5", "algorithm=SHA-256"),
        good.replace("nc=00000001", "nc=00000002"),
        good.replace("Digest ", "Basic "),
    ];
    for value in &refused {
        let response = client.request("GET", path, &[("Authorization", value)], b"");
        assert_eq!(response.status, 401, "{value}");
        assert!(response.header("WWW-Authenticate").unwrap().starts_with("Digest "));
    }
    // The same good answer again: no nonce tracking, as in httpbin.
    assert_eq!(client.request("GET", path, &[("Authorization", &good)], b"").status, 200);
    assert_eq!(client.request("POST", path, &[("Authorization", &good)], b"").status, 405);
}

#[test]
fn digest_auth_algorithms_and_qops() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    for (path, algorithm, hex_len) in [
        ("/digest-auth/auth/u/p/SHA-256", "SHA-256", 64),
        ("/digest-auth/auth/u/p/SHA-512", "SHA-512", 128),
        ("/digest-auth/auth/u/p/MD5", "MD5", 32),
        ("/digest-auth/auth/u/p/bogus", "MD5", 32),
    ] {
        let challenge = client.get(path).header("WWW-Authenticate").unwrap().to_owned();
        assert_eq!(challenge_param(&challenge, "algorithm"), algorithm, "{path}");
        assert_eq!(challenge_param(&challenge, "nonce").len(), hex_len, "{path}");
        let good = digest_answer(&challenge, "u", "p", path, Some("auth"));
        let response = client.request("GET", path, &[("Authorization", &good)], b"");
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.json()["user"], "u");
        let bad = digest_answer(&challenge, "u", "x", path, Some("auth"));
        assert_eq!(client.request("GET", path, &[("Authorization", &bad)], b"").status, 401, "{path}");
    }
    // A SHA-256 endpoint refuses an MD5 answer.
    let path = "/digest-auth/auth/u/p/SHA-256";
    let challenge = client.get(path).header("WWW-Authenticate").unwrap().replace("SHA-256", "MD5");
    let md5 = digest_answer(&challenge, "u", "p", path, Some("auth"));
    assert_eq!(client.request("GET", path, &[("Authorization", &md5)], b"").status, 401);

    // auth-int hashes the (empty) body; an unknown qop offers both and takes RFC 2069's form.
    let path = "/digest-auth/auth-int/u/p";
    let challenge = client.get(path).header("WWW-Authenticate").unwrap().to_owned();
    assert_eq!(challenge_param(&challenge, "qop"), "auth-int");
    let good = digest_answer(&challenge, "u", "p", path, Some("auth-int"));
    assert_eq!(client.request("GET", path, &[("Authorization", &good)], b"").status, 200);
    let path = "/digest-auth/none/u/p";
    let challenge = client.get(path).header("WWW-Authenticate").unwrap().to_owned();
    assert_eq!(challenge_param(&challenge, "qop"), "auth, auth-int");
    for qop in [None, Some("auth"), Some("auth-int")] {
        let good = digest_answer(&challenge, "u", "p", path, qop);
        assert_eq!(client.request("GET", path, &[("Authorization", &good)], b"").status, 200, "{qop:?}");
    }

    // Percent-encoded path segments, and RFC 7616's `username*` for a non-ASCII name.
    let path = "/digest-auth/auth/%C3%BC/p%20w";
    let challenge = client.get(path).header("WWW-Authenticate").unwrap().to_owned();
    let good = digest_answer(&challenge, "ü", "p w", path, Some("auth"));
    let response = client.request("GET", path, &[("Authorization", &good)], b"");
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["user"], "ü");
    let extended = good.replace("username=\"ü\"", "username*=UTF-8''%C3%BC");
    assert_eq!(client.request("GET", path, &[("Authorization", &extended)], b"").status, 200);
}

#[test]
fn redirects_follow_httpbin_chains() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let location = |client: &mut Client, path: &str| {
        let response = client.get(path);
        assert_eq!(response.status, 302, "{path}");
        response.header("Location").unwrap().to_owned()
    };
    assert_eq!(location(&mut client, "/redirect/3"), "/relative-redirect/2");
    assert_eq!(location(&mut client, "/relative-redirect/2"), "/relative-redirect/1");
    assert_eq!(location(&mut client, "/relative-redirect/1"), "/get");
    assert_eq!(location(&mut client, "/redirect/1"), "/get");
    let host = server.addr();
    assert_eq!(location(&mut client, "/absolute-redirect/2"), format!("http://{host}/absolute-redirect/1"));
    assert_eq!(location(&mut client, "/absolute-redirect/1"), format!("http://{host}/get"));
    assert_eq!(
        location(&mut client, "/redirect/2?absolute=true"),
        format!("http://{host}/absolute-redirect/1")
    );

    let response =
        client.request("POST", "/redirect-to?url=http%3A%2F%2Fexample.com%2Fa&status_code=307", &[], b"");
    assert_eq!(response.status, 307);
    assert_eq!(response.header("Location"), Some("http://example.com/a"));
    assert_eq!(location(&mut client, "/redirect-to?url=/somewhere"), "/somewhere");
    assert_eq!(client.get("/redirect-to?url=/x&status_code=200").status, 400);
}

#[test]
fn status_codes_and_their_extra_headers() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let response = client.get("/status/404");
    assert_eq!(response.status, 404);
    assert!(response.body.is_empty());
    let response = client.get("/status/401");
    assert_eq!(response.status, 401);
    assert_eq!(response.header("WWW-Authenticate"), Some(r#"Basic realm="Fake Realm""#));
    assert_eq!(client.get("/status/407").header("Proxy-Authenticate"), Some(r#"Basic realm="Fake Realm""#));
    assert_eq!(client.get("/status/302").header("Location"), Some("/redirect/1"));
    assert!(String::from_utf8(client.get("/status/418").body).unwrap().contains("teapot"));
    assert_eq!(client.request("PUT", "/status/201", &[], b"").status, 201);
    assert_eq!(client.get("/status/500:0,503:1").status, 503);
    assert_eq!(client.get("/status/nope").status, 400);
    let unnamed = client.get("/status/599");
    assert_eq!((unnamed.status, unnamed.reason.as_str()), (599, "Unknown"));
    assert_eq!(client.get("/status/204").header("Content-Length"), None);
    assert_eq!(client.get("/no/such/path").status, 404);
}

#[test]
fn bytes_and_stream_bytes() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let response = client.get("/bytes/100000");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(response.header("Content-Length"), Some("100000"));
    assert_eq!(response.body.len(), 100_000);
    assert_eq!(client.get("/bytes/100000").body, response.body, "same seed, same bytes");
    assert_ne!(client.get("/bytes/100000?seed=7").body, response.body);

    let streamed = client.get("/stream-bytes/100000?chunk_size=1000");
    assert_eq!(streamed.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(streamed.header("Content-Length"), None);
    assert_eq!(streamed.body, response.body);
    assert_eq!(streamed.chunks, [1000; 100], "one chunk per chunk_size bytes");
    let default = client.get("/stream-bytes/30000");
    assert_eq!(default.chunks, [10240, 10240, 9520]);
    assert_eq!(default.body, response.body[..30000]);
    assert_eq!(client.get("/stream-bytes/10?chunk_size=x").status, 400);

    // Larger than one 64 KiB frame: generated as it is written, still with a Content-Length.
    let large = client.get("/bytes/1000000");
    assert_eq!(large.header("Content-Length"), Some("1000000"));
    assert_eq!(large.body.len(), 1_000_000);
    assert_eq!(client.get("/1m.bin").body.len(), 1 << 20);
    assert_eq!(client.get("/tiny.txt").body, b"a");
    let head = client.request("HEAD", "/big.bin", &[], b"");
    assert_eq!(head.header("Content-Length"), Some("1073741824"));
    let head = client.request("HEAD", "/stream-bytes/100", &[], b"");
    assert_eq!((head.status, head.header("Content-Length")), (200, None));
    // The connection is still in step after the HEADs.
    assert_eq!(client.get("/tiny.txt").body, b"a");
}

#[test]
fn big_bin_streams_the_whole_gigabyte() {
    let _dog = Watchdog::new(Duration::from_secs(300));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    client.send("GET", "/big.bin", &[], b"");
    let head = client.receive_head();
    assert_eq!(head.header("Content-Length"), Some("1073741824"));
    let mut first = vec![0; 1 << 16];
    client.body().read_exact(&mut first).unwrap();
    assert_eq!(first, get(server.addr(), "/bytes/65536").body, "the same bytes as /bytes");
    let rest = (1 << 30) - (1 << 16);
    assert_eq!(std::io::copy(&mut client.body().take(rest), &mut std::io::sink()).unwrap(), rest);
    assert_eq!(client.get("/tiny.txt").body, b"a");
}

#[test]
fn http10_clients_get_lengths_and_their_version() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    for path in ["/stream-bytes/100", "/get", "/drip?duration=0&numbytes=3"] {
        let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let (head, body) = (String::from_utf8_lossy(&response[..end]), &response[end + 4..]);
        assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{path}: {head}");
        let length = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned));
        assert_eq!(length, Some(body.len().to_string()), "{path}: {head}");
    }
}

#[test]
fn gzip_deflate_brotli_and_zstd_decode() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let response = client.get("/gzip");
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&response.body[..]).read_to_end(&mut plain).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(body["gzipped"], true);
    assert_eq!(body["method"], "GET");
    assert_eq!(body["origin"], "127.0.0.1");

    let response = client.get("/deflate");
    assert_eq!(response.header("Content-Encoding"), Some("deflate"));
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(&response.body[..]).read_to_end(&mut plain).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&plain).unwrap()["deflated"], true);

    let response = client.get("/brotli");
    assert_eq!(response.header("Content-Encoding"), Some("br"));
    let mut plain = Vec::new();
    brotli::Decompressor::new(&response.body[..], 4096).read_to_end(&mut plain).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&plain).unwrap()["brotli"], true);

    let response = client.get("/zstd");
    assert_eq!(response.header("Content-Encoding"), Some("zstd"));
    let mut plain = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(&response.body[..]).unwrap().read_to_end(&mut plain).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&plain).unwrap()["zstd"], true);
}

#[test]
fn html_is_the_exact_page() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let page = include_bytes!("../src/page.html");
    assert_eq!(page.len(), 347);
    for path in ["/html", "/", "/index.html"] {
        let response = get(server.addr(), path);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(response.body, page);
    }
    let icon = get(server.addr(), "/favicon.ico");
    assert_eq!(icon.header("Content-Type"), Some("image/x-icon"));
    assert_eq!(&icon.body[..4], &[0, 0, 1, 0]);
}

#[test]
fn small_json_endpoints() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let ua = [("User-Agent", "cute-test/2")];
    assert_eq!(client.request("GET", "/user-agent", &ua, b"").json(), json!({"user-agent": "cute-test/2"}));
    assert_eq!(client.get("/ip").json(), json!({"origin": "127.0.0.1"}));
    assert_eq!(client.request("GET", "/headers", &ua, b"").json()["headers"]["User-Agent"], "cute-test/2");

    let cookies = client.request("GET", "/cookies", &[("Cookie", "a=1; b=two")], b"").json();
    assert_eq!(cookies, json!({"cookies": {"a": "1", "b": "two"}}));
    let set = client.get("/cookies/set?k=v&m=n");
    assert_eq!(set.status, 302);
    assert_eq!(set.header("Location"), Some("/cookies"));
    assert_eq!(set.headers_named("Set-Cookie"), ["k=v; Path=/", "m=n; Path=/"]);
    let deleted = client.get("/cookies/delete?k");
    assert!(deleted.header("Set-Cookie").unwrap().starts_with("k=;"));

    let response = client.get("/response-headers?X-Thing=1&X-Thing=2");
    assert_eq!(response.headers_named("X-Thing"), ["1", "2"]);
    let body = response.json();
    assert_eq!(body["X-Thing"], json!(["1", "2"]));
    assert_eq!(body["Content-Length"], response.body.len().to_string());
}

#[test]
fn drip_sends_the_bytes_with_the_status() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let started = std::time::Instant::now();
    let response = client.get("/drip?duration=0.2&numbytes=4&code=201&delay=0.1");
    assert_eq!(response.status, 201);
    assert_eq!(response.header("Content-Length"), Some("4"));
    assert_eq!(response.body, b"****");
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    // The connection is still usable afterwards.
    assert_eq!(client.get("/tiny.txt").body, b"a");
    assert_eq!(client.get("/drip?duration=x").status, 400);
}

#[test]
fn cache_endpoints_answer_conditional_requests() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let mut client = Client::connect(server.addr());
    let first = client.request("GET", "/cache", &[], b"");
    assert_eq!(first.status, 200);
    let etag = first.header("ETag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(first.header("Last-Modified").is_some());
    assert_ne!(
        client.request("GET", "/cache", &[], b"").header("ETag"),
        Some(etag.as_str()),
        "a new tag each time"
    );
    assert_eq!(client.request("GET", "/cache", &[("If-None-Match", "\"other\"")], b"").status, 304);
    assert_eq!(client.request("GET", "/cache", &[("If-Modified-Since", "whenever")], b"").status, 304);

    let fresh = client.request("GET", "/cache/30", &[], b"");
    assert_eq!(fresh.header("Cache-Control"), Some("public, max-age=30"));
    assert_eq!(fresh.json()["url"], server.url("/cache/30"));
    assert_eq!(client.request("GET", "/cache/x", &[], b"").status, 404);

    let tagged = client.request("GET", "/etag/abc", &[], b"");
    assert_eq!((tagged.status, tagged.header("ETag")), (200, Some("\"abc\"")));
    let matched = client.request("GET", "/etag/abc", &[("If-None-Match", "\"x\", W/\"abc\"")], b"");
    assert_eq!((matched.status, matched.header("ETag")), (304, Some("\"abc\"")));
    assert_eq!(client.request("GET", "/etag/abc", &[("If-None-Match", "\"x\"")], b"").status, 200);
    assert_eq!(client.request("GET", "/etag/abc", &[("If-Match", "\"x\"")], b"").status, 412);
    assert_eq!(client.request("GET", "/etag/abc", &[("If-Match", "*")], b"").status, 200);
    assert_eq!(server.requests_served(), 11);
}
