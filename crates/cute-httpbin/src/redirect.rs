//! Status codes and redirects: `/status`, `/redirect`, `/relative-redirect`,
//! `/absolute-redirect`, `/redirect-to`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::assets::TEAPOT;
use crate::context::Ctx;
use crate::endpoints::FAKE_REALM;
use crate::response::{self, Reply, with_header};

/// Parses `/status/{codes}`: `code` or `code:weight`, comma-separated. `None` if any part is
/// malformed, a weight is negative or not finite, or a code is outside 200..=599 (a 1xx is not
/// a final response).
pub(crate) fn parse_codes(spec: &str) -> Option<Vec<(u16, f64)>> {
    spec.split(',')
        .map(|part| {
            let (code, weight) = match part.split_once(':') {
                Some((code, weight)) => (code, weight.trim().parse::<f64>().ok()?),
                None => (part, 1.0),
            };
            let code: u16 = code.trim().parse().ok()?;
            ((200..=599).contains(&code) && weight.is_finite() && weight >= 0.0).then_some((code, weight))
        })
        .collect()
}

/// A number from a small process-wide xorshift generator, seeded from the clock (for
/// statistics and test-server nonces, which need to differ, not to be secret).
pub(crate) fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        x = nanos | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// A number in `[0, 1)` from [`random_u64`].
fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Picks one code, with probability proportional to its weight.
fn pick(codes: &[(u16, f64)]) -> u16 {
    let total: f64 = codes.iter().map(|(_, w)| w).sum();
    if codes.len() == 1 || total <= 0.0 {
        return codes[0].0;
    }
    let mut target = random_unit() * total;
    for &(code, weight) in codes {
        if target < weight {
            return code;
        }
        target -= weight;
    }
    codes[codes.len() - 1].0
}

/// `/status/{codes}`: that status with an empty body, plus httpbin's extras for some codes.
pub(crate) fn status(spec: &str) -> Reply {
    let Some(codes) = parse_codes(spec) else {
        return response::text(400, "Invalid status code");
    };
    let code = pick(&codes);
    match code {
        401 => with_header(response::empty(401), "WWW-Authenticate", FAKE_REALM),
        407 => with_header(response::empty(407), "Proxy-Authenticate", FAKE_REALM),
        301 | 302 | 303 | 305 | 307 => with_header(response::empty(code), "Location", "/redirect/1"),
        418 => with_header(
            response::body(418, "text/plain; charset=utf-8", TEAPOT),
            "X-More-Info",
            "http://tools.ietf.org/html/rfc2324",
        ),
        _ => response::empty(code),
    }
}

/// A 302 to `location`.
fn found(location: &str) -> Reply {
    with_header(response::empty(302), "Location", location)
}

/// The `n` of a redirect path; `Err` is the reply for a bad one (boxed: it is rare and large).
fn count(n: &str) -> Result<u32, Box<Reply>> {
    match n.parse::<u32>() {
        Ok(0) => Err(Box::new(response::text(400, "n must be at least 1"))),
        Ok(n) => Ok(n),
        Err(_) => Err(Box::new(response::not_found())),
    }
}

/// `/redirect/{n}` (`?absolute=true` for absolute locations).
pub(crate) fn redirect(ctx: &Ctx, n: &str) -> Reply {
    let absolute = ctx.query_value("absolute").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if absolute {
        return absolute_redirect(ctx, n);
    }
    relative_redirect(n)
}

/// `/relative-redirect/{n}`: `/relative-redirect/{n-1}`, and `/get` at the end of the chain.
pub(crate) fn relative_redirect(n: &str) -> Reply {
    match count(n) {
        Ok(1) => found("/get"),
        Ok(n) => found(&format!("/relative-redirect/{}", n - 1)),
        Err(reply) => *reply,
    }
}

/// `/absolute-redirect/{n}`: like the relative one with `SCHEME://HOST` in front.
pub(crate) fn absolute_redirect(ctx: &Ctx, n: &str) -> Reply {
    let (scheme, host) = (ctx.scheme(), ctx.host());
    match count(n) {
        Ok(1) => found(&format!("{scheme}://{host}/get")),
        Ok(n) => found(&format!("{scheme}://{host}/absolute-redirect/{}", n - 1)),
        Err(reply) => *reply,
    }
}

/// `/redirect-to?url=...&status_code=...`: any method; `Location` is `url` verbatim (bytes
/// outside printable ASCII percent-encoded), the status 302 unless another 3xx is asked for.
pub(crate) fn redirect_to(ctx: &Ctx) -> Reply {
    let Some(url) = ctx.query_value("url") else {
        return response::text(400, "missing url parameter");
    };
    let code = match ctx.query_value("status_code") {
        None => 302,
        Some(code) => match code.trim().parse::<u16>() {
            Ok(code) if (300..=399).contains(&code) => code,
            _ => return response::text(400, "status_code must be a 3xx code"),
        },
    };
    let location: String = url
        .bytes()
        .map(|b| if (b'!'..=b'~').contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    with_header(response::empty(code), "Location", &location)
}

#[cfg(test)]
mod tests {
    use super::{parse_codes, pick};

    #[test]
    fn codes_parse_with_weights() {
        assert_eq!(parse_codes("404"), Some(vec![(404, 1.0)]));
        assert_eq!(parse_codes("200:0.5, 500:2"), Some(vec![(200, 0.5), (500, 2.0)]));
        assert_eq!(parse_codes("abc"), None);
        assert_eq!(parse_codes("200,"), None);
        assert_eq!(parse_codes("99"), None);
        assert_eq!(parse_codes("600"), None);
        assert_eq!(parse_codes("200:-1"), None);
    }

    #[test]
    fn zero_weights_are_never_picked() {
        for _ in 0..200 {
            assert_eq!(pick(&[(200, 0.0), (503, 1.0)]), 503);
        }
    }
}
