//! The offline demo: the four programs of the PyQt6 QNetworkAccessManager tutorial, ported
//! to Rust (examples/get_request.rs, post_request.rs, authentication.rs, fetch_icon.rs),
//! run one after another against cute-httpbin started in this process. No network needed.
//!
//!     cargo run --example demo

use std::path::PathBuf;

use cute_httpbin::Httpbin;

#[allow(dead_code)] // reason: the example's own `main` is not used here
#[path = "authentication.rs"]
mod authentication;
#[allow(dead_code)] // reason: as above
#[path = "fetch_icon.rs"]
mod fetch_icon;
#[allow(dead_code)] // reason: as above
#[path = "get_request.rs"]
mod get_request;
#[allow(dead_code)] // reason: as above
#[path = "post_request.rs"]
mod post_request;

fn section(title: &str, url: &str) {
    println!("== {title}");
    println!("   {url}");
    println!();
}

fn main() {
    let server = match Httpbin::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("demo: cannot start the local httpbin server: {e}");
            std::process::exit(1);
        }
    };
    println!("cute demo: the PyQt6 QNetworkAccessManager tutorial in Rust, offline");
    println!("local httpbin at {}", server.base_url());
    println!();
    let mut failures = Vec::new();

    let url = server.url("/");
    section("1. GET a web page (get_request.rs)", &url);
    if get_request::run(&url) != 0 {
        failures.push("get_request");
    }

    let url = server.url("/post");
    section("2. POST a form, read the JSON echo (post_request.rs)", &url);
    if post_request::run(&url) != 0 {
        failures.push("post_request");
    }

    let url = server.url("/basic-auth/user7/passwd7");
    section("3. Basic authentication with the right password (authentication.rs)", &url);
    if authentication::run(&url) != 0 {
        failures.push("authentication");
    }

    let url = server.url("/basic-auth/user7/another-password");
    section(
        "4. The same with a password the server rejects: asked twice, then AuthenticationRequiredError (as PyQt6)",
        &url,
    );
    if authentication::run(&url) == 0 {
        failures.push("authentication with a wrong password (it should have failed)");
    }
    println!();

    let url = server.url("/favicon.ico");
    section("5. Download a favicon to a file (fetch_icon.rs)", &url);
    let dir = std::env::temp_dir().join(format!("cute-demo-{}", std::process::id()));
    let path: PathBuf = dir.join("favicon.ico");
    match std::fs::create_dir_all(&dir) {
        Ok(()) if fetch_icon::run(&url, path.clone()) == 0 => {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            println!("saved {} ({size} bytes)", path.display());
        }
        Ok(()) => failures.push("fetch_icon"),
        Err(e) => {
            println!("cannot create {}: {e}", dir.display());
            failures.push("fetch_icon");
        }
    }
    println!();

    if failures.is_empty() {
        println!("all flows behaved as expected");
    } else {
        println!("unexpected results: {}", failures.join(", "));
        std::process::exit(1);
    }
}
