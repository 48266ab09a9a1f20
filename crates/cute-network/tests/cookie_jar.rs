//! The manager's cookie jar as an application sees it: reading and changing it, sharing one
//! between managers, and a saved jar carrying a login across a restart.

mod common;

use std::time::Duration;

use common::fetch;
use cute_httpbin::Httpbin;
use cute_network::{NetworkAccessManager, NetworkCookie, NetworkCookieJar, NetworkError, NetworkReply, Url};
use cute_testkit::Watchdog;

fn cookies_seen(reply: &NetworkReply) -> serde_json::Value {
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    reply.read_json::<serde_json::Value>().expect("JSON")["cookies"].clone()
}

#[test]
fn the_jar_holds_what_servers_set_and_sends_what_the_application_adds() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    cookies_seen(&fetch(&nam, server.url("/cookies/set?flavour=oatmeal")));
    let jar = nam.cookie_jar();
    let all = jar.all_cookies();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0].name(), all[0].value(), all[0].domain()), ("flavour", "oatmeal", "127.0.0.1"));

    // Added by hand (a login token obtained elsewhere), sent with the next request.
    let base = Url::parse(&server.url("/")).unwrap();
    let mut token = NetworkCookie::new("token", "t0k3n");
    token.normalize(&base);
    assert!(jar.insert_cookie(&token));
    let seen = cookies_seen(&fetch(&nam, server.url("/cookies")));
    assert_eq!(seen, serde_json::json!({"flavour": "oatmeal", "token": "t0k3n"}));
    assert!(jar.delete_cookie(&all[0]));
    assert_eq!(cookies_seen(&fetch(&nam, server.url("/cookies"))), serde_json::json!({"token": "t0k3n"}));
}

#[test]
fn one_jar_serves_two_managers_and_a_saved_one_survives_a_restart() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let shared = NetworkCookieJar::new();
    let first = NetworkAccessManager::new();
    let second = NetworkAccessManager::new();
    first.set_cookie_jar(shared.clone());
    second.set_cookie_jar(shared.clone());
    cookies_seen(&fetch(&first, server.url("/cookies/set?session=abc")));
    assert_eq!(cookies_seen(&fetch(&second, server.url("/cookies"))), serde_json::json!({"session": "abc"}));

    let file = std::env::temp_dir().join(format!("cute-cookie-jar-{}.json", std::process::id()));
    shared.save(&file).unwrap();
    drop((first, second, shared));
    // "Restart": a new manager with the jar loaded from the file.
    let restarted = NetworkAccessManager::new();
    restarted.set_cookie_jar(NetworkCookieJar::load(&file).unwrap());
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        cookies_seen(&fetch(&restarted, server.url("/cookies"))),
        serde_json::json!({"session": "abc"})
    );
}
