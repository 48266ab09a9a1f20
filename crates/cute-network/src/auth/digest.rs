//! HTTP Digest authentication (RFC 7616, and RFC 2617/2069's older forms): the challenges
//! we answer and the `Authorization` value for them.

use std::fmt::Write as _;

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A Digest hash algorithm (RFC 7616 §3.3), with its `-sess` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// The algorithm named by a challenge; `None` (MD5, RFC 2617's default) when absent,
    /// `Err` for one we do not support (SHA-512-256, anything unknown).
    fn parse(name: Option<&str>) -> Result<Self, ()> {
        let Some(name) = name else { return Ok(Algorithm::Md5) };
        match name.trim().to_ascii_uppercase().as_str() {
            "MD5" => Ok(Algorithm::Md5),
            "MD5-SESS" => Ok(Algorithm::Md5Sess),
            "SHA-256" => Ok(Algorithm::Sha256),
            "SHA-256-SESS" => Ok(Algorithm::Sha256Sess),
            _ => Err(()),
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Strength rank, to prefer SHA-256 over MD5 when a server offers both.
    pub(crate) fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 0,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 1,
        }
    }

    /// The lowercase hex digest of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A Digest challenge we can answer: a supported algorithm, and either qop `auth` offered
/// or no qop at all (RFC 2069's legacy form). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    opaque: Option<String>,
    pub(crate) algorithm: Algorithm,
    /// The algorithm token as the server wrote it, echoed back; `None` if it sent none.
    algorithm_token: Option<String>,
    /// `qop=auth` was offered (else the legacy form without qop, nc and cnonce).
    qop_auth: bool,
    /// `stale=true`: the previous nonce expired, the credentials were fine.
    pub(crate) stale: bool,
}

impl DigestChallenge {
    /// `None` unless the parameters of a Digest challenge (`param` looks one up by name)
    /// describe one we support.
    pub(crate) fn from_params<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        let nonce = param("nonce")?.to_owned();
        let algorithm = Algorithm::parse(param("algorithm")).ok()?;
        let qop_auth = match param("qop") {
            None => false,
            Some(list) => {
                if !list.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
                    // auth-int only (or nothing known): we do not hash bodies.
                    return None;
                }
                true
            }
        };
        Some(DigestChallenge {
            realm: param("realm").unwrap_or("").to_owned(),
            nonce,
            opaque: param("opaque").map(str::to_owned),
            algorithm,
            algorithm_token: param("algorithm").map(|a| a.trim().to_owned()),
            qop_auth,
            stale: param("stale").is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` value for `user`/`password` on `method` `uri` (the request-target
    /// as sent: path and query), with nonce count `nc` and client nonce `cnonce` (both
    /// unused in the legacy form without qop, except `cnonce` for a `-sess` algorithm).
    pub(crate) fn authorization(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let h = |data: &str| self.algorithm.hash(data);
        let mut ha1 = h(&format!("{user}:{}:{password}", self.realm));
        if self.algorithm.is_sess() {
            ha1 = h(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = h(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if self.qop_auth {
            h(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            h(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut out = String::from("Digest ");
        if user.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            let _ = write!(out, "username={}", quote(user));
        } else {
            // RFC 7616 §3.4.4: a name that is not printable ASCII travels percent-encoded.
            out.push_str("username*=UTF-8''");
            for b in user.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
        let _ =
            write!(out, ", realm={}, nonce={}, uri={}", quote(&self.realm), quote(&self.nonce), quote(uri));
        if let Some(algorithm) = &self.algorithm_token {
            let _ = write!(out, ", algorithm={algorithm}");
        }
        let _ = write!(out, ", response=\"{response}\"");
        if let Some(opaque) = &self.opaque {
            let _ = write!(out, ", opaque={}", quote(opaque));
        }
        if self.qop_auth {
            let _ = write!(out, ", qop=auth, nc={nc}, cnonce={}", quote(cnonce));
        } else if self.algorithm.is_sess() {
            let _ = write!(out, ", cnonce={}", quote(cnonce));
        }
        out
    }
}

/// A quoted-string (RFC 9110 §5.6.4).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A fresh client nonce: 128 bits in hex, from SipHash keyed by the standard library's
/// per-process random key (seeded from the operating system) over a counter and the clock:
/// never repeated and not predictable, which is what a cnonce needs.
pub(crate) fn cnonce() -> String {
    let mut bytes = [0u8; 16];
    crate::sync::fill_random(&mut bytes);
    hex(&bytes)
}
