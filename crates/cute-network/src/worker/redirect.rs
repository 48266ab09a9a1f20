//! Redirects as Qt 6 follows them: whether a response redirects, whether the policy lets
//! it be followed, and what the next request looks like.

use hyper::Method;
use url::Url;

use crate::error::{Failure, NetworkError};
use crate::protocol::Scheme;
use crate::request::RedirectPolicy;

/// What to do with a response, as far as redirects go.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Not a redirect: deliver the response.
    Deliver,
    /// A redirect not followed (the manual policy): deliver the response, reporting
    /// `target` as the redirection target.
    Keep(Url),
    /// Follow `Hop` (with the user-verified policy, only once the application allows it).
    Follow(Hop),
}

/// One redirect to follow.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) target: Url,
    /// Qt's verb rule: a 301, 302 or 303 continues as a GET without body, whatever the
    /// verb, except HEAD, which stays HEAD; 307 and 308 keep the verb and the body.
    to_get: bool,
    /// The target is another origin: no credentials go there.
    cross_origin: bool,
}

/// Decides about a response with `status` and `location` to a request for `url`, after
/// `hops` redirects followed; fails when the policy or the hop limit forbids following.
pub(crate) fn decide(
    status: u16,
    location: Option<&[u8]>,
    url: &Url,
    method: &Method,
    policy: RedirectPolicy,
    hops: u32,
    max_redirects: u32,
) -> Result<Decision, Failure> {
    // 305 Use Proxy is never followed (RFC 9110 §15.4.6); an empty `Location` is none.
    let location = location
        .filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308))
        .map(String::from_utf8_lossy)
        .filter(|l| !l.trim().is_empty());
    let Some(location) = location else {
        return Ok(Decision::Deliver);
    };
    let Ok(target) = url.join(location.trim()) else {
        return Err(Failure::new(
            NetworkError::ProtocolFailure,
            format!("Invalid redirect location \"{location}\""),
        ));
    };
    if policy == RedirectPolicy::ManualRedirectPolicy {
        return Ok(Decision::Keep(target));
    }
    if !Scheme::of(&target).is_some_and(Scheme::is_http) {
        return Err(Failure::new(
            NetworkError::ProtocolUnknownError,
            format!("Unsupported redirect protocol \"{}\"", target.scheme()),
        ));
    }
    let same_origin = url.origin() == target.origin();
    let refused = match policy {
        RedirectPolicy::NoLessSafeRedirectPolicy => url.scheme() == "https" && target.scheme() == "http",
        RedirectPolicy::SameOriginRedirectPolicy => !same_origin,
        _ => false,
    };
    if refused {
        return Err(Failure::new(NetworkError::InsecureRedirectError, "Insecure redirect"));
    }
    if hops >= max_redirects {
        return Err(Failure::new(NetworkError::TooManyRedirectsError, "Too many redirects"));
    }
    let to_get = (301..=303).contains(&status) && *method != Method::HEAD;
    Ok(Decision::Follow(Hop { target, to_get, cross_origin: !same_origin }))
}

impl Hop {
    pub(crate) fn is_cross_origin(&self) -> bool {
        self.cross_origin
    }

    /// Rewrites the request for the hop: the verb rule, and no caller's credentials to
    /// another origin (`Authorization` and `Cookie` headers are dropped; the credentials of
    /// the first origin are the caller's to forget).
    pub(crate) fn rewrite(
        &self,
        method: &mut Method,
        body: &mut Option<crate::body::Payload>,
        headers: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) {
        if self.to_get {
            *method = Method::GET;
            *body = None;
            headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case(b"content-type") && !n.eq_ignore_ascii_case(b"content-length")
            });
        }
        if self.cross_origin {
            headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case(b"authorization") && !n.eq_ignore_ascii_case(b"cookie")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn decide_for(
        status: u16,
        location: &str,
        from: &str,
        policy: RedirectPolicy,
    ) -> Result<Decision, Failure> {
        decide(status, Some(location.as_bytes()), &url(from), &Method::POST, policy, 0, 50)
    }

    #[test]
    fn only_redirect_statuses_with_a_location_redirect() {
        let from = url("http://a.test/x");
        let policy = RedirectPolicy::default();
        assert_eq!(decide(200, Some(b"/y"), &from, &Method::GET, policy, 0, 50), Ok(Decision::Deliver));
        assert_eq!(decide(302, None, &from, &Method::GET, policy, 0, 50), Ok(Decision::Deliver));
        assert_eq!(decide(304, Some(b"/y"), &from, &Method::GET, policy, 0, 50), Ok(Decision::Deliver));
        assert_eq!(
            decide(305, Some(b"http://proxy/"), &from, &Method::GET, policy, 0, 50),
            Ok(Decision::Deliver)
        );
        assert_eq!(decide(302, Some(b""), &from, &Method::GET, policy, 0, 50), Ok(Decision::Deliver));
        assert_eq!(decide(301, Some(b"  "), &from, &Method::GET, policy, 0, 50), Ok(Decision::Deliver));
    }

    #[test]
    fn policies() {
        use RedirectPolicy::*;
        let keep = decide_for(302, "/y", "http://a.test/x", ManualRedirectPolicy);
        assert_eq!(keep, Ok(Decision::Keep(url("http://a.test/y"))));
        let down = decide_for(302, "http://a.test/", "https://a.test/", NoLessSafeRedirectPolicy);
        assert_eq!(down.unwrap_err().error, NetworkError::InsecureRedirectError);
        let up = decide_for(302, "https://b.test/", "http://a.test/", NoLessSafeRedirectPolicy);
        assert!(matches!(up, Ok(Decision::Follow(hop)) if hop.is_cross_origin()));
        let other = decide_for(307, "http://b.test/", "http://a.test/", SameOriginRedirectPolicy);
        assert_eq!(other.unwrap_err().error, NetworkError::InsecureRedirectError);
        let ftp = decide_for(302, "ftp://a.test/", "http://a.test/", NoLessSafeRedirectPolicy);
        assert_eq!(ftp.unwrap_err().error, NetworkError::ProtocolUnknownError);
        let bad = decide_for(302, "http://[::1", "http://a.test/", NoLessSafeRedirectPolicy);
        assert_eq!(bad.unwrap_err().error, NetworkError::ProtocolFailure);
    }

    #[test]
    fn the_hop_limit_counts_hops_already_followed() {
        let from = url("http://a.test/");
        let policy = RedirectPolicy::default();
        assert!(matches!(
            decide(302, Some(b"/n"), &from, &Method::GET, policy, 1, 2),
            Ok(Decision::Follow(_))
        ));
        let over = decide(302, Some(b"/n"), &from, &Method::GET, policy, 2, 2);
        assert_eq!(over.unwrap_err().error, NetworkError::TooManyRedirectsError);
    }

    #[test]
    fn qt_verb_rule_and_no_credentials_across_origins() {
        let headers = || {
            vec![
                (b"Content-Type".to_vec(), b"text/plain".to_vec()),
                (b"Authorization".to_vec(), b"Basic x".to_vec()),
                (b"Cookie".to_vec(), b"a=b".to_vec()),
                (b"X-Other".to_vec(), b"1".to_vec()),
            ]
        };
        for (status, verb, to, expected_verb, body_kept, kept) in [
            (303, Method::POST, "/y", Method::GET, false, 3),
            (301, Method::HEAD, "/y", Method::HEAD, true, 4),
            (307, Method::PUT, "/y", Method::PUT, true, 4),
            (308, Method::POST, "http://b.test/", Method::POST, true, 2),
            (302, Method::DELETE, "http://b.test/", Method::GET, false, 1),
        ] {
            let from = url("http://a.test/x");
            let Ok(Decision::Follow(hop)) =
                decide(status, Some(to.as_bytes()), &from, &verb, RedirectPolicy::default(), 0, 50)
            else {
                panic!("{status} {to} not followed");
            };
            let (mut method, mut body, mut sent) =
                (verb.clone(), Some(crate::RequestBody::from("data").payload), headers());
            hop.rewrite(&mut method, &mut body, &mut sent);
            assert_eq!(method, expected_verb, "{status} {verb}");
            assert_eq!(body.is_some(), body_kept, "{status} {verb}");
            assert_eq!(sent.len(), kept, "{status} {verb} {to}: {sent:?}");
        }
    }
}
