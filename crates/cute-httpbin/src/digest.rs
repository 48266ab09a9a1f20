//! `/digest-auth/{qop}/{user}/{passwd}[/{algorithm}]`: HTTP Digest authentication (RFC 7616,
//! RFC 2617) as httpbin serves it, verified by recomputing the client's response.

use std::fmt::Write as _;

use md5::Md5;
use serde_json::json;
use sha2::{Digest as _, Sha256, Sha512};

use crate::context::Ctx;
use crate::endpoints::decode_segment;
use crate::redirect::random_u64;
use crate::response::{self, Reply, with_header};

/// The realm httpbin puts in its Digest challenges.
pub(crate) const REALM: &str = "me@kennethreitz.com";

/// The hash algorithms httpbin offers (`SHA-512` is httpbin's, not RFC 7616's
/// `SHA-512-256`); any other name in the path means MD5, as in httpbin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Md5,
    Sha256,
    Sha512,
}

impl Algorithm {
    fn from_path(name: Option<&str>) -> Self {
        match name {
            Some("SHA-256") => Algorithm::Sha256,
            Some("SHA-512") => Algorithm::Sha512,
            _ => Algorithm::Md5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The lowercase hex digest of `data`.
    fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data)),
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
            Algorithm::Sha512 => hex(&Sha512::digest(data)),
        }
    }
}

/// The qop the path asks for: `auth`, `auth-int`, or (anything else) both offered, the
/// client free to use either or the legacy form without qop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qop {
    Auth,
    AuthInt,
    Any,
}

impl Qop {
    fn from_path(qop: &str) -> Self {
        match qop {
            "auth" => Qop::Auth,
            "auth-int" => Qop::AuthInt,
            _ => Qop::Any,
        }
    }

    fn offered(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::Any => "auth, auth-int",
        }
    }

    /// Whether the client may answer with `qop` (`None`: the legacy form).
    fn accepts(self, qop: Option<&str>) -> bool {
        matches!(
            (self, qop),
            (Qop::Auth, Some("auth"))
                | (Qop::AuthInt, Some("auth-int"))
                | (Qop::Any, None | Some("auth" | "auth-int"))
        )
    }
}

/// `/digest-auth/{qop}/{user}/{passwd}` and `/digest-auth/{qop}/{user}/{passwd}/{algorithm}`:
/// 200 with `{"authenticated": true, "user": …}` for a correct `Authorization: Digest`,
/// else 401 with a fresh challenge.
///
/// The response is recomputed from the password and compared; the username, realm,
/// algorithm, qop and `uri` (which must be the request-target) are checked too. Like
/// httpbin, the server keeps no state: any nonce is accepted.
pub(crate) fn digest_auth(ctx: &Ctx, qop: &str, user: &str, passwd: &str, algorithm: Option<&str>) -> Reply {
    let user = decode_segment(user);
    let passwd = decode_segment(passwd);
    let qop = Qop::from_path(qop);
    let algorithm = Algorithm::from_path(algorithm);
    let authorized = ctx
        .header("Authorization")
        .and_then(|value| {
            let (scheme, params) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("digest").then(|| parse_params(params))
        })
        .is_some_and(|params| verify(ctx, &params, qop, algorithm, &user, &passwd));
    if authorized {
        return response::json(200, &json!({ "authenticated": true, "user": user }));
    }
    log::debug!("cute-httpbin: digest-auth for {user:?}: sending a challenge");
    with_header(response::empty(401), "WWW-Authenticate", &challenge(ctx, qop, algorithm))
}

/// `Digest realm="me@kennethreitz.com", nonce="…", qop="auth", opaque="…", algorithm=MD5`,
/// the nonce and opaque hashes of fresh random bytes.
fn challenge(ctx: &Ctx, qop: Qop, algorithm: Algorithm) -> String {
    let nonce = algorithm.hash(format!("{}:{}", ctx.origin, random_hex()).as_bytes());
    let opaque = algorithm.hash(random_hex().as_bytes());
    format!(
        "Digest realm=\"{REALM}\", nonce=\"{nonce}\", qop=\"{}\", opaque=\"{opaque}\", algorithm={}",
        qop.offered(),
        algorithm.name()
    )
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// 128 bits from the server's generator, in hex (nonces need to differ, not to be secret).
fn random_hex() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// Whether the Digest `params` prove knowledge of `passwd` for this request.
fn verify(
    ctx: &Ctx,
    params: &[(String, String)],
    qop: Qop,
    algorithm: Algorithm,
    user: &str,
    passwd: &str,
) -> bool {
    let param =
        |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let username = match (param("username"), param("username*")) {
        (Some(name), None) => name.to_owned(),
        (None, Some(extended)) => match extended.split_once("''") {
            Some((charset, encoded)) if charset.eq_ignore_ascii_case("UTF-8") => decode_segment(encoded),
            _ => return false,
        },
        _ => return false,
    };
    let client_algorithm = param("algorithm").unwrap_or("MD5");
    let (Some(realm), Some(nonce), Some(uri), Some(response)) =
        (param("realm"), param("nonce"), param("uri"), param("response"))
    else {
        return false;
    };
    let client_qop = param("qop");
    if username != user
        || realm != REALM
        || !client_algorithm.eq_ignore_ascii_case(algorithm.name())
        || uri != ctx.target
        || !qop.accepts(client_qop)
    {
        return false;
    }
    let h = |data: &str| algorithm.hash(data.as_bytes());
    let ha1 = h(&format!("{user}:{REALM}:{passwd}"));
    let method = ctx.method.as_str();
    let expected = match client_qop {
        None => h(&format!("{ha1}:{nonce}:{}", h(&format!("{method}:{uri}")))),
        Some(client_qop) => {
            let (Some(nc), Some(cnonce)) = (param("nc"), param("cnonce")) else {
                return false;
            };
            let ha2 = if client_qop == "auth-int" {
                h(&format!("{method}:{uri}:{}", algorithm.hash(&ctx.body)))
            } else {
                h(&format!("{method}:{uri}"))
            };
            h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{client_qop}:{ha2}"))
        }
    };
    expected.eq_ignore_ascii_case(response.trim())
}

/// Parses `name=value, name="quoted \"value\""` pairs (the parameters of an
/// `Authorization: Digest` header); what cannot be understood is skipped.
fn parse_params(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let Some(eq) = rest.find('=') else { return out };
        let name = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end..];
            value
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let value = rest[..end].trim().to_owned();
            rest = &rest[end..];
            value
        };
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::{Algorithm, Qop, parse_params};

    #[test]
    fn params_are_parsed_with_quotes_and_escapes() {
        let params = parse_params(r#"username="Mu\"fasa", nc=00000001, uri="/a,b", qop=auth"#);
        let expected = [("username", "Mu\"fasa"), ("nc", "00000001"), ("uri", "/a,b"), ("qop", "auth")];
        assert_eq!(params, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        for junk in ["", "=", "a", "a=\"", ",,,=,", "ä=ö"] {
            let _ = parse_params(junk);
        }
    }

    #[test]
    fn algorithms_hash_and_default_to_md5() {
        assert_eq!(Algorithm::from_path(None), Algorithm::Md5);
        assert_eq!(Algorithm::from_path(Some("sha-256")), Algorithm::Md5, "httpbin is case-sensitive");
        assert_eq!(Algorithm::Md5.hash(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            Algorithm::Sha256.hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Algorithm::Sha512.hash(b"").len(), 128);
    }

    #[test]
    fn qop_rules() {
        assert!(Qop::Auth.accepts(Some("auth")));
        assert!(!Qop::Auth.accepts(None));
        assert!(!Qop::Auth.accepts(Some("auth-int")));
        assert!(Qop::AuthInt.accepts(Some("auth-int")));
        assert!(Qop::Any.accepts(None));
        assert_eq!(Qop::from_path("nope").offered(), "auth, auth-int");
    }
}
