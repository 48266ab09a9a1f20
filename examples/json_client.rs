//! A small JSON REST client: POST a JSON document, parse the JSON reply with serde, then
//! PUT and DELETE, chaining each request from the previous one's `finished`.
//!
//!     cargo run --example json_client -- http://127.0.0.1:8080
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::rc::Rc;

use cute::CoreApplication;
use cute::network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use serde_json::{Value, json};

fn json_request(url: &str) -> NetworkRequest {
    let mut req = NetworkRequest::new(url);
    req.set_header(KnownHeaders::ContentTypeHeader, "application/json");
    req.set_raw_header("Accept", "application/json");
    req
}

/// The JSON the server echoed, or the error as text.
fn echoed(reply: &NetworkReply) -> Result<Value, String> {
    if reply.error() != NetworkError::NoError {
        return Err(format!("{}: {}", reply.error(), reply.error_string()));
    }
    let body: Value = reply.read_json().map_err(|e| format!("bad JSON: {e}"))?;
    Ok(body["json"].clone())
}

fn main() {
    let base = std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org".to_owned());
    let base = base.trim_end_matches('/').to_owned();
    let app = CoreApplication::new();
    let nam = Rc::new(NetworkAccessManager::new());

    let todo = json!({ "title": "port the PyQt script", "done": false });
    let post = nam.post(&json_request(&format!("{base}/post")), todo.to_string());
    let weak = Rc::downgrade(&nam);
    post.finished().connect(move |reply| {
        let created = match echoed(reply) {
            Ok(value) => value,
            Err(e) => {
                println!("POST failed: {e}");
                return CoreApplication::exit(1);
            }
        };
        println!("created: {created}");
        let Some(nam) = weak.upgrade() else { return };
        let mut updated = created.clone();
        updated["done"] = Value::Bool(true);
        let put = nam.put(&json_request(&format!("{base}/put")), updated.to_string());
        let (weak, base) = (Rc::downgrade(&nam), base.clone());
        put.finished().connect(move |reply| {
            match echoed(reply) {
                Ok(value) => println!("updated: {value}"),
                Err(e) => {
                    println!("PUT failed: {e}");
                    return CoreApplication::exit(1);
                }
            }
            let Some(nam) = weak.upgrade() else { return };
            let delete = nam.delete_resource(&json_request(&format!("{base}/delete")));
            delete.finished().connect(|reply| {
                if reply.error() == NetworkError::NoError {
                    println!("deleted (status {})", reply.status_code().unwrap_or(0));
                    CoreApplication::quit();
                } else {
                    println!("DELETE failed: {}", reply.error_string());
                    CoreApplication::exit(1);
                }
            });
        });
    });
    std::process::exit(app.exec());
}
