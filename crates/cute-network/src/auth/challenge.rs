//! Authentication challenges (`WWW-Authenticate`, `Proxy-Authenticate`): parsing them,
//! and choosing the one to answer (Digest before Basic).

use base64::Engine as _;

use super::digest::DigestChallenge;

/// One challenge of a `WWW-Authenticate`/`Proxy-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The scheme, lowercased (`basic`, `digest`, …).
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn realm(&self) -> String {
        self.param("realm").unwrap_or("").to_owned()
    }

    /// The challenge as Digest, if it is one we support.
    pub(crate) fn digest(&self) -> Option<DigestChallenge> {
        if self.scheme != "digest" {
            return None;
        }
        DigestChallenge::from_params(|name| self.param(name))
    }
}

/// Parses challenges (RFC 9110 §11.6.1): `Basic realm="x", Digest realm="y", nonce="z"`.
/// Malformed input yields what could be understood, never a panic.
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut rest = value.trim();
        let mut current: Option<Challenge> = None;
        while !rest.is_empty() {
            rest = rest.trim_start_matches([',', ' ', '\t']);
            if rest.is_empty() {
                break;
            }
            let token_end =
                rest.find(|c: char| c == '=' || c == ',' || c.is_whitespace()).unwrap_or(rest.len());
            let token = &rest[..token_end];
            let after = rest[token_end..].trim_start_matches([' ', '\t']);
            if let Some(value_part) = after.strip_prefix('=').filter(|v| !v.starts_with('=')) {
                // An auth-param of the current challenge.
                let value_part = value_part.trim_start();
                let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                    let mut value = String::new();
                    let mut chars = quoted.char_indices();
                    let mut end = quoted.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(escaped);
                                }
                            }
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    (value, &quoted[end.min(quoted.len())..])
                } else {
                    let end = value_part.find(',').unwrap_or(value_part.len());
                    (value_part[..end].trim().to_owned(), &value_part[end..])
                };
                if let Some(challenge) = current.as_mut() {
                    challenge.params.push((token.to_owned(), value));
                }
                rest = remaining;
            } else {
                // A new scheme (token68 forms such as `Negotiate abc==` keep no params).
                if let Some(done) = current.take() {
                    out.push(done);
                }
                if !token.is_empty() {
                    current = Some(Challenge { scheme: token.to_ascii_lowercase(), params: Vec::new() });
                }
                rest = after;
                if token.is_empty() {
                    // Skip one character of garbage to guarantee progress.
                    let mut chars = rest.chars();
                    chars.next();
                    rest = chars.as_str();
                }
            }
        }
        if let Some(done) = current.take() {
            out.push(done);
        }
    }
    out
}

/// `Basic base64(user:password)`.
pub(crate) fn basic_header(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// The challenge to answer among a 401's: the strongest supported Digest (SHA-256 before
/// MD5, then the server's order), else Basic, else none.
pub(crate) fn choose(challenges: &[Challenge]) -> Option<Chosen> {
    let mut best: Option<DigestChallenge> = None;
    for digest in challenges.iter().filter_map(Challenge::digest) {
        if best.as_ref().is_none_or(|b| digest.algorithm.strength() > b.algorithm.strength()) {
            best = Some(digest);
        }
    }
    if let Some(digest) = best {
        return Some(Chosen::Digest(digest));
    }
    challenges.iter().find(|c| c.scheme == "basic").map(|c| Chosen::Basic { realm: c.realm() })
}

/// The challenge [`choose`] picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    Basic { realm: String },
    Digest(DigestChallenge),
}

impl Chosen {
    pub(crate) fn realm(&self) -> &str {
        match self {
            Chosen::Basic { realm } => realm,
            Chosen::Digest(d) => &d.realm,
        }
    }
}
