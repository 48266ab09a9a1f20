//! The manager's credential cache (Qt's authentication cache).

use std::collections::HashMap;

use crate::protocol::{Credentials, Origin};

/// How accepted credentials were presented, which decides whether they are sent before a
/// challenge next time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// Basic: sent pre-emptively to the origin from then on.
    Basic,
    /// Digest: needs the server's nonce, so a cached Digest realm costs one 401, answered
    /// from the cache without asking.
    Digest,
}

/// Accepted credentials keyed by origin and realm; proxy credentials apart, keyed by the
/// proxy's origin (its scheme, host and port). Only credentials a server (or proxy)
/// accepted are stored.
#[derive(Default)]
pub(crate) struct CredentialCache {
    by_realm: HashMap<(Origin, String), Credentials>,
    /// The realm last accepted with Basic per origin, for sending credentials pre-emptively.
    last_realm: HashMap<Origin, String>,
    proxies: HashMap<Origin, Credentials>,
}

impl CredentialCache {
    pub(crate) fn get(&self, origin: &Origin, realm: &str) -> Option<Credentials> {
        self.by_realm.get(&(origin.clone(), realm.to_owned())).cloned()
    }

    /// Credentials to send before any challenge (and their realm), for an origin that
    /// accepted Basic credentials before.
    pub(crate) fn preemptive(&self, origin: &Origin) -> Option<(String, Credentials)> {
        let realm = self.last_realm.get(origin)?;
        self.get(origin, realm).map(|c| (realm.clone(), c))
    }

    /// Caches credentials the server accepted for `realm`.
    pub(crate) fn insert(
        &mut self,
        origin: Origin,
        realm: String,
        credentials: Credentials,
        presented: Presented,
    ) {
        match presented {
            Presented::Basic => {
                self.last_realm.insert(origin.clone(), realm.clone());
            }
            Presented::Digest => {
                if self.last_realm.get(&origin).is_some_and(|r| *r == realm) {
                    self.last_realm.remove(&origin);
                }
            }
        }
        self.by_realm.insert((origin, realm), credentials);
    }

    pub(crate) fn forget(&mut self, origin: &Origin, realm: &str) {
        self.by_realm.remove(&(origin.clone(), realm.to_owned()));
        if self.last_realm.get(origin).is_some_and(|r| r == realm) {
            self.last_realm.remove(origin);
        }
    }

    /// Accepted credentials for the proxy at `proxy`, keyed by the proxy alone: a proxy has
    /// one set of credentials whatever realm it names, and they are sent pre-emptively.
    pub(crate) fn proxy_get(&self, proxy: &Origin) -> Option<Credentials> {
        self.proxies.get(proxy).cloned()
    }

    pub(crate) fn proxy_insert(&mut self, proxy: Origin, credentials: Credentials) {
        self.proxies.insert(proxy, credentials);
    }

    pub(crate) fn proxy_forget(&mut self, proxy: &Origin) {
        self.proxies.remove(proxy);
    }

    pub(crate) fn clear(&mut self) {
        self.by_realm.clear();
        self.last_realm.clear();
        self.proxies.clear();
    }
}
