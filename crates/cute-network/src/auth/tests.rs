//! The authentication plumbing's tests: challenge parsing, the schemes against the RFCs'
//! examples, and the cache.

use url::Url;

use super::cache::{CredentialCache, Presented};
use super::challenge::{Chosen, basic_header, choose, parse_challenges};
use super::digest::{DigestChallenge, cnonce};
use super::state::url_credentials;
use crate::protocol::{Credentials, Origin};

fn creds(user: &str, password: &str) -> Credentials {
    Credentials::new(user, password)
}

#[test]
fn parses_basic_and_multiple_challenges() {
    let c = parse_challenges(["Basic realm=\"Fake Realm\""]);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].scheme, "basic");
    assert_eq!(c[0].realm(), "Fake Realm");

    let c = parse_challenges([r#"Digest realm="a b", nonce="n,1", qop="auth", Basic realm=x"#]);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].scheme, "digest");
    assert_eq!(c[0].param("nonce"), Some("n,1"));
    assert_eq!(c[1].scheme, "basic");
    assert_eq!(c[1].realm(), "x");

    let c = parse_challenges([r#"Basic realm="with \"quotes\"""#, "Negotiate abc=="]);
    assert_eq!(c[0].realm(), "with \"quotes\"");
    assert_eq!(c[1].scheme, "negotiate");
}

#[test]
fn garbage_never_panics() {
    for junk in ["", "=", "==,", "\"", "Basic realm=\"unterminated", ",,,", "Basic =x", "ä=ö, ü"] {
        let _ = parse_challenges([junk]);
    }
}

#[test]
fn basic_header_and_url_credentials() {
    assert_eq!(basic_header("user7", "passwd7"), "Basic dXNlcjc6cGFzc3dkNw==");
    let url = Url::parse("http://us%40er:p%3Ass+@h/").unwrap();
    assert_eq!(url_credentials(&url), Some(creds("us@er", "p:ss+")));
    assert_eq!(url_credentials(&Url::parse("http://h/").unwrap()), None);
}

/// The param `name` of an Authorization value we built.
fn field(authorization: &str, name: &str) -> Option<String> {
    let body = authorization.strip_prefix("Digest ")?;
    parse_challenges([format!("Digest {body}").as_str()])[0].param(name).map(str::to_owned)
}

/// RFC 7616 §3.9.1: the same challenge with SHA-256 and with MD5.
const RFC7616: [&str; 2] = [
    r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
    r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
];
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn digest(header: &str) -> DigestChallenge {
    parse_challenges([header])[0].digest().expect("supported")
}

#[test]
fn digest_matches_rfc_7616_example() {
    let sha = digest(RFC7616[0]);
    let value = sha.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, RFC7616_CNONCE);
    assert_eq!(
        field(&value, "response").as_deref(),
        Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    );
    assert_eq!(
        value,
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", \
         algorithm=SHA-256, \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", qop=auth, nc=00000001, \
         cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\""
    );
    let md5 = digest(RFC7616[1]);
    let value = md5.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, RFC7616_CNONCE);
    assert_eq!(field(&value, "response").as_deref(), Some("8ca523f5e9506fed4657c9700eebdbec"));
    assert_eq!(field(&value, "algorithm").as_deref(), Some("MD5"));

    // Offered both, the client takes SHA-256, whatever the order.
    for order in [[0, 1], [1, 0]] {
        let offered = parse_challenges(order.map(|i| RFC7616[i]));
        assert_eq!(choose(&offered), Some(Chosen::Digest(sha.clone())));
    }
}

#[test]
fn digest_matches_rfc_2617_example_and_legacy_form() {
    let header = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let challenge = digest(header);
    let value = challenge.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b");
    assert_eq!(field(&value, "response").as_deref(), Some("6629fae49393a05397450978507c4ef1"));
    assert_eq!(field(&value, "algorithm"), None, "not sent when the challenge had none");

    // RFC 2069: no qop, so no nc or cnonce either (values from Python's hashlib).
    let legacy = digest(r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#);
    let value = legacy.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b");
    assert_eq!(field(&value, "response").as_deref(), Some("670fd8c2df070c60b045671b8b24ff02"));
    for absent in ["qop", "nc", "cnonce", "opaque"] {
        assert_eq!(field(&value, absent), None, "{absent} in {value}");
    }
}

#[test]
fn digest_sess_variants_and_nonce_count() {
    let sha_sess = digest(&RFC7616[0].replace("SHA-256", "SHA-256-sess"));
    let value =
        sha_sess.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 2, RFC7616_CNONCE);
    assert_eq!(
        field(&value, "response").as_deref(),
        Some("6bb0010aa4bdf46422a798c509ea32e256f27bd37de5cc3bdf8ed51e1d77d650")
    );
    assert_eq!(field(&value, "nc").as_deref(), Some("00000002"));
    assert_eq!(field(&value, "algorithm").as_deref(), Some("SHA-256-sess"));
    let md5_sess = digest(
        r#"Digest realm="testrealm@host.com", qop="auth", algorithm=md5-sess, nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
    );
    let value = md5_sess.authorization("Mufasa", "Circle Of Life", "POST", "/a?b=c", 1, "0a4f113b");
    assert_eq!(field(&value, "response").as_deref(), Some("6680d5b0e0e5d5e4a1a59a643a9c30dc"));
    assert_eq!(field(&value, "uri").as_deref(), Some("/a?b=c"));
}

#[test]
fn unsupported_digest_challenges_fall_back_to_basic_or_nothing() {
    let auth_int = r#"Digest realm="r", nonce="n", qop="auth-int""#;
    let sha512 = r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512-256"#;
    let no_nonce = r#"Digest realm="r", qop="auth""#;
    for header in [auth_int, sha512, no_nonce] {
        assert_eq!(choose(&parse_challenges([header])), None, "{header}");
        let with_basic = parse_challenges([header, "Basic realm=\"b\""]);
        assert_eq!(choose(&with_basic), Some(Chosen::Basic { realm: "b".into() }), "{header}");
    }
    // Digest is preferred to Basic, whichever comes first.
    let both = parse_challenges([r#"Basic realm="b", Digest realm="d", nonce="n", qop="auth""#]);
    assert_eq!(choose(&both).map(|c| c.realm().to_owned()).as_deref(), Some("d"));
    let stale = digest(r#"Digest realm="d", nonce="n", stale=TRUE"#);
    assert!(stale.stale);
}

#[test]
fn digest_quotes_values_and_encodes_unusual_user_names() {
    let challenge = digest(r#"Digest realm="a \"quoted\" realm", nonce="n", qop="auth""#);
    let value = challenge.authorization("ü\"ser", "pw", "GET", "/", 1, "c");
    assert!(value.starts_with("Digest username*=UTF-8''%C3%BC%22ser, "), "{value}");
    assert!(value.contains(r#"realm="a \"quoted\" realm""#), "{value}");
    assert_eq!(field(&value, "realm").as_deref(), Some("a \"quoted\" realm"));
    assert!(!value.contains("pw"), "{value}");
    let value = challenge.authorization("a\\b", "pw", "GET", "/", 1, "c");
    assert_eq!(field(&value, "username").as_deref(), Some("a\\b"));
}

#[test]
fn cnonces_differ() {
    let (a, b) = (cnonce(), cnonce());
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
}

#[test]
fn digest_realms_are_cached_but_not_sent_preemptively() {
    let mut cache = CredentialCache::default();
    let a = Origin::of(&Url::parse("http://a.test/x").unwrap());
    cache.insert(a.clone(), "d".into(), creds("u", "p"), Presented::Digest);
    assert_eq!(cache.get(&a, "d"), Some(creds("u", "p")));
    assert_eq!(cache.preemptive(&a), None);
    // A realm that moved from Basic to Digest stops being sent pre-emptively.
    cache.insert(a.clone(), "r".into(), creds("u", "p"), Presented::Basic);
    assert!(cache.preemptive(&a).is_some());
    cache.insert(a.clone(), "r".into(), creds("u", "p"), Presented::Digest);
    assert_eq!(cache.preemptive(&a), None);
}

#[test]
fn cache_is_per_origin_and_realm() {
    let mut cache = CredentialCache::default();
    let a = Origin::of(&Url::parse("http://a.test/x").unwrap());
    let b = Origin::of(&Url::parse("http://a.test:81/").unwrap());
    cache.insert(a.clone(), "r".into(), creds("u", "p"), Presented::Basic);
    assert_eq!(cache.get(&a, "r"), Some(creds("u", "p")));
    assert_eq!(cache.get(&a, "other"), None);
    assert_eq!(cache.get(&b, "r"), None);
    assert_eq!(cache.preemptive(&a).map(|(r, _)| r), Some("r".into()));
    cache.forget(&a, "r");
    assert_eq!(cache.preemptive(&a), None);
}

#[test]
fn proxy_credentials_are_apart_and_cleared() {
    let mut cache = CredentialCache::default();
    let proxy = Origin::of(&Url::parse("http://proxy.test:3128").unwrap());
    cache.proxy_insert(proxy.clone(), creds("u", "p"));
    assert_eq!(cache.proxy_get(&proxy), Some(creds("u", "p")));
    assert_eq!(cache.get(&proxy, ""), None, "not origin credentials");
    cache.proxy_forget(&proxy);
    assert_eq!(cache.proxy_get(&proxy), None);
    cache.proxy_insert(proxy.clone(), creds("u", "p"));
    cache.clear();
    assert_eq!(cache.proxy_get(&proxy), None);
}
