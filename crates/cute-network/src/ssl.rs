//! Certificate errors as Qt reports them ([`SslError`], Qt's `QSslError`), for the
//! `ssl_errors` signals and `ignore_ssl_errors`.

use std::fmt;
use std::sync::Arc;

use crate::tls::{ClientIdentity, Tls};

/// What is wrong with a server's certificate (Qt's `QSslError::SslError`, the values cute
/// reports, with Qt's numbers).
#[doc(alias = "QSslError::SslError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslErrorKind {
    /// The signature on the certificate does not verify.
    CertificateSignatureFailed = 4,
    /// The certificate is not valid yet.
    CertificateNotYetValid = 5,
    /// The certificate has expired.
    CertificateExpired = 6,
    /// The certificate is self-signed and not trusted.
    SelfSignedCertificate = 9,
    /// No trusted root issued the certificate (an unknown or private CA).
    UnableToGetLocalIssuerCertificate = 11,
    /// The certificate was revoked.
    CertificateRevoked = 13,
    /// The certificate may not be used for a TLS server.
    InvalidPurpose = 16,
    /// The certificate is not for the host name asked for.
    HostNameMismatch = 22,
    /// Anything else about the certificate.
    UnspecifiedError = -1,
}

/// A problem with the server's certificate found during the TLS handshake (Qt's
/// `QSslError`): its kind, and the certificate it is about.
///
/// A reply's [`ssl_errors`](crate::NetworkReply::ssl_errors) and the manager's
/// [`ssl_errors`](crate::NetworkAccessManager::ssl_errors) carry them; a slot that calls
/// [`ignore_ssl_errors`](crate::NetworkReply::ignore_ssl_errors) lets the connection go on
/// in spite of them. Nothing is ignored unless a slot says so.
#[doc(alias = "QSslError")]
#[derive(Clone, PartialEq, Eq)]
pub struct SslError {
    kind: SslErrorKind,
    certificate: Vec<u8>,
}

impl SslError {
    /// An error of `kind` about the certificate `der` (DER bytes; empty if none).
    pub fn new(kind: SslErrorKind, der: impl Into<Vec<u8>>) -> Self {
        SslError { kind, certificate: der.into() }
    }

    /// The kind (Qt's `error`).
    pub fn error(&self) -> SslErrorKind {
        self.kind
    }

    /// The certificate it is about, in DER (Qt's `certificate`); empty if none.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Qt's text for the error (`errorString`).
    #[doc(alias = "errorString")]
    pub fn error_string(&self) -> &'static str {
        match self.kind {
            SslErrorKind::CertificateSignatureFailed => "The signature of the certificate is invalid",
            SslErrorKind::CertificateNotYetValid => "The certificate is not yet valid",
            SslErrorKind::CertificateExpired => "The certificate has expired",
            SslErrorKind::SelfSignedCertificate => "The certificate is self-signed, and untrusted",
            SslErrorKind::UnableToGetLocalIssuerCertificate => {
                "The issuer certificate of a locally looked up certificate could not be found"
            }
            SslErrorKind::CertificateRevoked => "The certificate has been revoked",
            SslErrorKind::InvalidPurpose => "The supplied certificate is unsuitable for this purpose",
            SslErrorKind::HostNameMismatch => {
                "The host name did not match any of the valid hosts for this certificate"
            }
            SslErrorKind::UnspecifiedError => "An unknown error occurred",
        }
    }
}

impl fmt::Debug for SslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslError")
            .field("kind", &self.kind)
            .field("certificate", &self.certificate.len())
            .finish()
    }
}

impl fmt::Display for SslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error_string())
    }
}

impl std::error::Error for SslError {}

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

impl fmt::Debug for SslConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        self.ca = Some(crate::tls::parse_certificates(pem)?);
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
        self.client = Some(Arc::new(crate::tls::client_identity(chain_pem, key_pem)?));
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
