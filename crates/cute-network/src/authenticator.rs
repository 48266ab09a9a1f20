//! Credentials asked for by a server or proxy ([`Authenticator`], Qt's `QAuthenticator`).

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::protocol::Credentials;

#[derive(Default)]
struct AuthData {
    user: String,
    password: String,
    realm: String,
    touched: bool,
}

/// The credentials object passed to
/// [`authentication_required`](crate::NetworkAccessManager::authentication_required) and
/// [`proxy_authentication_required`](crate::NetworkAccessManager::proxy_authentication_required)
/// (Qt's `QAuthenticator`).
///
/// A slot fills it with [`set_user`](Self::set_user) and
/// [`set_password`](Self::set_password); when the slot returns, the request is sent again
/// with those credentials. If no slot changes them, the reply finishes with
/// [`AuthenticationRequiredError`](crate::NetworkError::AuthenticationRequiredError).
/// `Debug` never shows the password.
///
/// As in Qt, setting the value the authenticator already holds is no change. When the
/// server rejects credentials and asks again, the authenticator arrives holding the ones
/// that just failed: a slot that sets the same user and password again ends the reply with
/// `AuthenticationRequiredError` (and the 401's body readable), so a slot that always
/// answers the same cannot make the request loop.
///
/// The same credentials serve HTTP Basic and Digest (RFC 7616: MD5, MD5-sess, SHA-256 and
/// SHA-256-sess, qop `auth` or none); the manager picks the scheme from the server's
/// challenge, Digest before Basic when both are offered, and computes the Digest response
/// itself. [`realm`](Self::realm) is the realm of the challenge it picked.
///
/// # Examples
///
/// ```
/// use cute_network::Authenticator;
///
/// let auth = Authenticator::new("Fake Realm");
/// auth.set_user("user7");
/// auth.set_password("passwd7");
/// assert_eq!(auth.realm(), "Fake Realm");
/// assert!(!format!("{auth:?}").contains("passwd7"));
/// ```
#[doc(alias = "QAuthenticator")]
#[derive(Clone)]
pub struct Authenticator {
    data: Rc<RefCell<AuthData>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data.borrow();
        f.debug_struct("Authenticator")
            .field("user", &data.user)
            .field("password", &if data.password.is_empty() { "" } else { "<redacted>" })
            .field("realm", &data.realm)
            .finish()
    }
}

impl Authenticator {
    /// An empty authenticator for `realm` (the realm of the server's challenge).
    pub fn new(realm: &str) -> Self {
        Authenticator {
            data: Rc::new(RefCell::new(AuthData { realm: realm.to_owned(), ..AuthData::default() })),
        }
    }

    /// An authenticator for `realm` holding `failed`, the credentials the server just
    /// rejected (unchanged until a slot sets different ones).
    pub(crate) fn holding(realm: &str, failed: Option<&Credentials>) -> Self {
        let auth = Authenticator::new(realm);
        if let Some(failed) = failed {
            let mut data = auth.data.borrow_mut();
            data.user = failed.user.clone();
            data.password = failed.password.clone();
        }
        auth
    }

    /// The user name.
    pub fn user(&self) -> String {
        self.data.borrow().user.clone()
    }

    /// Sets the user name. Setting the name it already holds is no change (as Qt's
    /// `setUser`).
    pub fn set_user(&self, user: &str) {
        let mut data = self.data.borrow_mut();
        if data.user != user {
            data.user = user.to_owned();
            data.touched = true;
        }
    }

    /// The password.
    pub fn password(&self) -> String {
        self.data.borrow().password.clone()
    }

    /// Sets the password. Setting the password it already holds is no change (as Qt's
    /// `setPassword`).
    pub fn set_password(&self, password: &str) {
        let mut data = self.data.borrow_mut();
        if data.password != password {
            data.password = password.to_owned();
            data.touched = true;
        }
    }

    /// The realm of the challenge (Qt's `realm()`): a Basic or Digest challenge's `realm`
    /// parameter; empty for a proxy.
    pub fn realm(&self) -> String {
        self.data.borrow().realm.clone()
    }

    /// True if it holds no credentials and none were set (Qt's `isNull()`).
    pub fn is_null(&self) -> bool {
        let data = self.data.borrow();
        !data.touched && data.user.is_empty() && data.password.is_empty()
    }

    /// The credentials a slot set, if it changed any.
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        let data = self.data.borrow();
        data.touched.then(|| Credentials::new(data.user.clone(), data.password.clone()))
    }
}
