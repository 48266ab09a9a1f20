//! Certificate errors as Qt reports them ([`SslError`], Qt's `QSslError`), for the
//! `ssl_errors` signals and `ignore_ssl_errors`.

use std::fmt;

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
