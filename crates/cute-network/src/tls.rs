//! TLS (private): the rustls client configuration a manager's requests use.
//!
//! The roots are the bundled Mozilla set, or exactly the certificates given to
//! `set_ca_certificates`. Over the standard verification, one addition: a certificate the
//! caller trusted by value (its exact DER among the given ones) is accepted for the names
//! it carries even when webpki refuses it as an end entity (a self-signed certificate
//! marked `CA:TRUE`, which `openssl req -x509` makes by default); Qt and curl accept it too.
//! Its validity period still applies.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use x509_parser::time::ASN1Time;

use crate::protocol::Wire;
use crate::ssl::{SslError, SslErrorKind};

/// The certificates of PEM text (only `CERTIFICATE` blocks; blank text is none).
pub(crate) fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, crate::Error> {
    use crate::Error::InvalidCertificate;
    use rustls::pki_types::pem::{PemObject as _, SectionKind};
    let mut ders = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        match section {
            Ok((SectionKind::Certificate, der)) => ders.push(CertificateDer::from(der)),
            Ok(_) => return Err(InvalidCertificate("expected only CERTIFICATE blocks".into())),
            Err(e) => return Err(InvalidCertificate(e.to_string())),
        }
    }
    if ders.is_empty() && !pem.iter().all(u8::is_ascii_whitespace) {
        return Err(InvalidCertificate("no PEM certificate found".into()));
    }
    Ok(ders)
}

/// A client identity from PEM: a certificate chain and a private key, checked to work
/// together.
pub(crate) fn client_identity(chain_pem: &[u8], key_pem: &[u8]) -> Result<ClientIdentity, crate::Error> {
    use crate::Error::InvalidCertificate;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject as _;
    let chain = parse_certificates(chain_pem)?;
    if chain.is_empty() {
        return Err(InvalidCertificate("no client certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| InvalidCertificate(format!("the private key: {e}")))?;
    let identity = ClientIdentity { chain, key };
    // rustls checks that the key is usable and matches the certificate.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InvalidCertificate(e.to_string()))?
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| InvalidCertificate(format!("the client certificate and key: {e}")))?;
    Ok(identity)
}

/// A certificate refused, carried out of rustls (as its `Other` certificate error) to the
/// request, which reports it through `ssl_errors`.
#[derive(Debug)]
struct Refused(SslError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

fn refusal(error: SslError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(Refused(error)))))
}

/// The certificate error inside a failed handshake's error, if that is why it failed.
pub(crate) fn refused(error: &std::io::Error) -> Option<SslError> {
    refused_by(error.get_ref()?.downcast_ref::<rustls::Error>()?)
}

/// The certificate error that failed a handshake, from rustls's own error.
pub(crate) fn refused_by(error: &rustls::Error) -> Option<SslError> {
    let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = error else {
        return None;
    };
    other.0.downcast_ref::<Refused>().map(|refused| refused.0.clone())
}

/// A client configuration for a TLS socket: a request's, offering no ALPN protocol.
pub(crate) fn socket_client_config(tls: &Tls, ignored: &[SslErrorKind]) -> Arc<ClientConfig> {
    let mut config = (*client_config(tls, Wire::Http1, ignored)).clone();
    config.alpn_protocols.clear();
    Arc::new(config)
}

/// Qt's kind for what rustls found wrong with `end_entity`.
fn ssl_error_kind(error: &rustls::Error, end_entity: &CertificateDer<'_>) -> SslErrorKind {
    let rustls::Error::InvalidCertificate(error) = error else { return SslErrorKind::UnspecifiedError };
    match error {
        CertificateError::UnknownIssuer => {
            // Self-signed: its issuer is its subject.
            let self_signed = x509_parser::parse_x509_certificate(end_entity)
                .is_ok_and(|(_, cert)| cert.issuer().as_raw() == cert.subject().as_raw());
            if self_signed {
                SslErrorKind::SelfSignedCertificate
            } else {
                SslErrorKind::UnableToGetLocalIssuerCertificate
            }
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            SslErrorKind::CertificateExpired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            SslErrorKind::CertificateNotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            SslErrorKind::HostNameMismatch
        }
        CertificateError::Revoked => SslErrorKind::CertificateRevoked,
        CertificateError::BadSignature => SslErrorKind::CertificateSignatureFailed,
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            SslErrorKind::InvalidPurpose
        }
        _ => SslErrorKind::UnspecifiedError,
    }
}

/// The TLS settings of a manager: the certificates it trusts (none: the bundled roots),
/// and the client configuration built from them on first use. Shared by the requests made
/// under them; connections are pooled per configuration ([`Tls::identity`]).
#[derive(Debug)]
pub(crate) struct Tls {
    trusted: Vec<CertificateDer<'static>>,
    /// A client certificate and key, for servers that ask for one (mutual TLS).
    client: Option<Arc<ClientIdentity>>,
    /// TLS 1.3 only (else 1.2 and 1.3).
    tls13_only: bool,
    /// One configuration per ALPN offer (see [`Wire`]).
    configs: [OnceLock<Arc<ClientConfig>>; 3],
    /// Unique for the process's life: connections pooled under one configuration are never
    /// found by another made later at the same address.
    id: usize,
}

fn next_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(2);
    // Even: the pool keys of connections made ignoring errors are odd.
    NEXT.fetch_add(2, std::sync::atomic::Ordering::Relaxed)
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            trusted: Vec::new(),
            client: None,
            tls13_only: false,
            configs: Default::default(),
            id: next_id(),
        }
    }
}

/// A client certificate chain and its private key.
pub(crate) struct ClientIdentity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ClientIdentity").field("chain", &self.chain.len()).finish_non_exhaustive()
    }
}

impl Tls {
    /// A configuration: `trusted` roots (empty: the bundled ones), a client identity, TLS
    /// 1.3 only or not.
    pub(crate) fn with(
        trusted: Vec<CertificateDer<'static>>,
        client: Option<Arc<ClientIdentity>>,
        tls13_only: bool,
    ) -> Self {
        Tls { trusted, client, tls13_only, configs: Default::default(), id: next_id() }
    }

    /// This configuration with other roots.
    pub(crate) fn with_trusted(&self, trusted: Vec<CertificateDer<'static>>) -> Self {
        Tls::with(trusted, self.client.clone(), self.tls13_only)
    }

    /// The client configuration for requests going on the wire as `wire` (its ALPN offer:
    /// `http/1.1`; `h2` and `http/1.1`; or `h2` alone).
    pub(crate) fn config(&self, wire: Wire) -> &Arc<ClientConfig> {
        let slot = match wire {
            Wire::Http1 => 0,
            Wire::Negotiated => 1,
            Wire::Http2Direct => 2,
        };
        self.configs[slot].get_or_init(|| client_config(self, wire, &[]))
    }

    /// A configuration that lets the handshake go on in spite of certificate errors of the
    /// `ignored` kinds (the application said so in an `ssl_errors` slot). Made for the
    /// request that asked; its connections are pooled apart (see [`identity_ignoring`]).
    ///
    /// [`identity_ignoring`]: Self::identity_ignoring
    pub(crate) fn config_ignoring(&self, wire: Wire, ignored: &[SslErrorKind]) -> Arc<ClientConfig> {
        client_config(self, wire, ignored)
    }

    /// The pool identity of connections made with [`config_ignoring`](Self::config_ignoring).
    pub(crate) fn identity_ignoring(self: &Arc<Self>, ignored: &[SslErrorKind]) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let mut kinds: Vec<i32> = ignored.iter().map(|k| *k as i32).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&kinds) as usize;
        // Never the plain identity (an address, even); the same for the same kinds.
        self.identity() ^ (hash | 1)
    }

    /// Tells configurations apart for the connection pool.
    pub(crate) fn identity(self: &Arc<Self>) -> usize {
        self.id
    }
}

/// A client configuration trusting `trusted` (DER certificates), or the bundled roots when
/// it is empty.
pub(crate) fn client_config(tls: &Tls, wire: Wire, ignored: &[SslErrorKind]) -> Arc<ClientConfig> {
    let trusted = &tls.trusted;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    if trusted.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        // A certificate webpki cannot take as a trust anchor is still trusted by value.
        let (_added, _ignored) = roots.add_parsable_certificates(trusted.iter().cloned());
    }
    let mut verifier = TrustedByValue::new(Arc::new(roots), trusted.to_vec(), provider.clone());
    verifier.ignored = ignored.to_vec();
    let versions: &[&rustls::SupportedProtocolVersion] =
        if tls.tls13_only { &[&rustls::version::TLS13] } else { rustls::DEFAULT_VERSIONS };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match &tls.client {
        // Checked when the configuration was made (`SslConfiguration`).
        Some(client) => builder
            .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
            .expect("a client identity checked when it was set"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match wire {
        Wire::Http1 => vec![b"http/1.1".to_vec()],
        Wire::Negotiated => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Wire::Http2Direct => vec![b"h2".to_vec()],
    };
    Arc::new(config)
}

/// The certificate's validity period contains `now` (webpki checks it for a chain; a
/// certificate trusted by value is checked here).
/// Whether the certificate is for `server_name`.
fn name_check(end_entity: &CertificateDer<'_>, server_name: &ServerName<'_>) -> Result<(), rustls::Error> {
    let parsed = ParsedCertificate::try_from(end_entity)?;
    verify_server_name(&parsed, server_name)
}

/// A moment inside the certificate's validity period (a second after it starts).
fn within_validity(der: &[u8]) -> Option<UnixTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let start = u64::try_from(cert.validity().not_before.timestamp()).ok()?;
    Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(start + 1)))
}

fn check_validity(der: &[u8], now: UnixTime) -> Result<(), rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| bad())?;
    let secs = i64::try_from(now.as_secs()).map_err(|_| bad())?;
    let now = ASN1Time::from_timestamp(secs).map_err(|_| bad())?;
    let validity = cert.validity();
    if now < validity.not_before {
        Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet))
    } else if now > validity.not_after {
        Err(rustls::Error::InvalidCertificate(CertificateError::Expired))
    } else {
        Ok(())
    }
}

/// webpki's verification, then the certificates trusted by value.
#[derive(Debug)]
struct TrustedByValue {
    /// `None` when no given certificate can anchor a chain: only trust by value is left.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    trusted: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    /// Certificate errors the application chose to ignore for this connection.
    ignored: Vec<SslErrorKind>,
}

impl TrustedByValue {
    /// Accepts if every one of `errors` is of a kind the application ignores; else refuses
    /// with the first that is not.
    fn accept_if_ignored(
        &self,
        errors: impl Iterator<Item = rustls::Error>,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
    ) -> Result<ServerCertVerified, rustls::Error> {
        for error in errors {
            let kind = ssl_error_kind(&error, end_entity);
            if !self.ignored.contains(&kind) {
                return Err(refusal(SslError::new(kind, end_entity.as_ref())));
            }
            log::debug!("certificate error ignored as the application asked: {kind:?} for {server_name:?}");
        }
        Ok(ServerCertVerified::assertion())
    }

    fn new(
        roots: Arc<RootCertStore>,
        trusted: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone()).build().ok();
        TrustedByValue { webpki, trusted, provider, ignored: Vec::new() }
    }
}

impl ServerCertVerifier for TrustedByValue {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let checked = match &self.webpki {
            Some(webpki) => {
                webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
        };
        let refused = match checked {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        // Trusted by value: the very certificate the caller gave, for a name it carries.
        if self.trusted.iter().any(|t| t.as_ref() == end_entity.as_ref()) {
            // Each check on its own: an ignored error never stands in for another check.
            let errors = [name_check(end_entity, server_name), check_validity(end_entity, now)];
            return self.accept_if_ignored(
                errors.into_iter().filter_map(Result::err),
                end_entity,
                server_name,
            );
        }
        if self.ignored.is_empty() {
            return Err(refusal(SslError::new(ssl_error_kind(&refused, end_entity), end_entity.as_ref())));
        }
        // The application ignores some kinds: find every problem, each by a check of its
        // own, since webpki stops at the first (it checks the dates of the chain before its
        // issuers, and the name last). The chain is verified at a moment inside the
        // certificate's validity, so that a date error the application ignores does not
        // hide an untrusted issuer; the dates and the name are checked apart.
        let mut errors = Vec::new();
        if let Err(e) = check_validity(end_entity, now) {
            errors.push(e);
        }
        let chain = match (&self.webpki, within_validity(end_entity)) {
            (Some(webpki), Some(then)) => webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, then)
                .map(drop),
            (Some(_), None) => Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding)),
            (None, _) => Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        };
        match chain {
            // The name is checked below, by itself.
            Ok(()) => {}
            Err(e) if ssl_error_kind(&e, end_entity) == SslErrorKind::HostNameMismatch => {}
            Err(e) => errors.push(e),
        }
        if let Err(e) = name_check(end_entity, server_name) {
            errors.push(e);
        }
        self.accept_if_ignored(errors.into_iter(), end_entity, server_name)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The lowest TLS version a connection accepts (Qt's `QSsl::SslProtocol`, the values that
/// apply: SSL and TLS 1.0/1.1 are never offered).
#[doc(alias = "QSsl::SslProtocol")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslProtocol {
    /// TLS 1.2 or 1.3 (Qt's `SecureProtocols`, the default).
    #[default]
    TlsV1_2OrLater,
    /// TLS 1.3 only.
    TlsV1_3OrLater,
}

/// The TLS settings of requests (Qt's `QSslConfiguration`): the CA certificates trusted, a
/// client certificate and key (mutual TLS), the lowest protocol version. Set on a manager
/// ([`set_ssl_configuration`](crate::NetworkAccessManager::set_ssl_configuration)) or on
/// one request ([`NetworkRequest::set_ssl_configuration`](crate::NetworkRequest::set_ssl_configuration));
/// connections are pooled per configuration.
///
/// There is no "verify none": a certificate the application decides to accept anyway goes
/// through [`ssl_errors`](crate::NetworkReply::ssl_errors) and `ignore_ssl_errors`, per
/// error.
///
/// # Examples
///
/// ```no_run
/// use cute_network::{NetworkAccessManager, SslConfiguration, SslProtocol};
///
/// let mut ssl = SslConfiguration::new();
/// ssl.set_ca_certificates(&std::fs::read("company-ca.pem")?)?;
/// ssl.set_local_certificate_chain_and_key(&std::fs::read("me.pem")?, &std::fs::read("me.key")?)?;
/// ssl.set_protocol(SslProtocol::TlsV1_3OrLater);
/// let nam = NetworkAccessManager::new();
/// nam.set_ssl_configuration(&ssl);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "QSslConfiguration")]
#[derive(Clone, Default)]
pub struct SslConfiguration {
    /// `None`: the bundled roots.
    ca: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
    client: Option<Arc<ClientIdentity>>,
    protocol: SslProtocol,
    /// Made when first asked for, then shared by the requests it is set on.
    built: std::sync::OnceLock<Arc<Tls>>,
}

impl std::fmt::Debug for SslConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslConfiguration")
            .field("ca_certificates", &self.ca.as_ref().map(Vec::len))
            .field("client_certificate", &self.client.is_some())
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl SslConfiguration {
    /// The default: the bundled roots, no client certificate, TLS 1.2 or later.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts exactly the CA certificates in `pem` instead of the bundled roots (Qt's
    /// `setCaCertificates`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`](crate::Error::InvalidCertificate) for PEM that holds
    /// anything but certificates.
    #[doc(alias = "setCaCertificates")]
    pub fn set_ca_certificates(&mut self, pem: &[u8]) -> Result<(), crate::Error> {
        self.ca = Some(parse_certificates(pem)?);
        self.built = Default::default();
        Ok(())
    }

    /// Presents this certificate chain and private key to servers that ask for one (Qt's
    /// `setLocalCertificateChain` and `setPrivateKey`; PEM: the certificate first, then
    /// its issuers; a PKCS#8, PKCS#1 or SEC1 key).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`](crate::Error::InvalidCertificate) if either does not
    /// parse, or the key does not fit.
    #[doc(alias = "setLocalCertificateChain")]
    #[doc(alias = "setPrivateKey")]
    pub fn set_local_certificate_chain_and_key(
        &mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<(), crate::Error> {
        self.client = Some(Arc::new(client_identity(chain_pem, key_pem)?));
        self.built = Default::default();
        Ok(())
    }

    /// The lowest TLS version accepted (Qt's `setProtocol`).
    #[doc(alias = "setProtocol")]
    pub fn set_protocol(&mut self, protocol: SslProtocol) {
        self.protocol = protocol;
        self.built = Default::default();
    }

    /// The lowest TLS version accepted.
    pub fn protocol(&self) -> SslProtocol {
        self.protocol
    }

    /// Whether a client certificate is set.
    pub fn has_local_certificate(&self) -> bool {
        self.client.is_some()
    }

    /// A server configuration presenting the local certificate chain and key (a TLS
    /// socket's server side).
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let identity = self
            .client
            .as_ref()
            .ok_or("no certificate to present: set_local_certificate_chain_and_key first")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if self.protocol == SslProtocol::TlsV1_3OrLater {
            &[&rustls::version::TLS13]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(config))
    }

    pub(crate) fn tls(&self) -> Arc<Tls> {
        self.built
            .get_or_init(|| {
                Arc::new(Tls::with(
                    self.ca.clone().unwrap_or_default(),
                    self.client.clone(),
                    self.protocol == SslProtocol::TlsV1_3OrLater,
                ))
            })
            .clone()
    }
}

#[cfg(test)]
mod ssl_error_tests {
    use super::*;

    #[test]
    fn rustls_errors_map_to_qts_kinds_and_come_back_out_of_a_handshake_error() {
        let cert = CertificateDer::from(vec![0u8; 4]);
        let kind = |e: CertificateError| ssl_error_kind(&rustls::Error::InvalidCertificate(e), &cert);
        assert_eq!(kind(CertificateError::Expired), SslErrorKind::CertificateExpired);
        assert_eq!(kind(CertificateError::NotValidYet), SslErrorKind::CertificateNotYetValid);
        assert_eq!(kind(CertificateError::NotValidForName), SslErrorKind::HostNameMismatch);
        assert_eq!(kind(CertificateError::UnknownIssuer), SslErrorKind::UnableToGetLocalIssuerCertificate);
        assert_eq!(kind(CertificateError::Revoked), SslErrorKind::CertificateRevoked);
        assert_eq!(kind(CertificateError::BadEncoding), SslErrorKind::UnspecifiedError);
        let error = SslError::new(SslErrorKind::HostNameMismatch, vec![1, 2, 3]);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, refusal(error.clone()));
        assert_eq!(refused(&io), Some(error));
        assert_eq!(refused(&std::io::Error::other("eof")), None);
    }
}
