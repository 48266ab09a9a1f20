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

use crate::request::Wire;

/// The TLS settings of a manager: the certificates it trusts (none: the bundled roots),
/// and the client configuration built from them on first use. Shared by the requests made
/// under them; connections are pooled per configuration ([`Tls::identity`]).
#[derive(Debug, Default)]
pub(crate) struct Tls {
    trusted: Vec<CertificateDer<'static>>,
    /// One configuration per ALPN offer (see [`Wire`]).
    configs: [OnceLock<Arc<ClientConfig>>; 3],
}

impl Tls {
    /// Settings trusting exactly `trusted` (DER certificates), or the bundled roots when
    /// it is empty.
    pub(crate) fn trusting(trusted: Vec<CertificateDer<'static>>) -> Self {
        Tls { trusted, configs: Default::default() }
    }

    /// The client configuration for requests going on the wire as `wire` (its ALPN offer:
    /// `http/1.1`; `h2` and `http/1.1`; or `h2` alone).
    pub(crate) fn config(&self, wire: Wire) -> &Arc<ClientConfig> {
        let slot = match wire {
            Wire::Http1 => 0,
            Wire::Negotiated => 1,
            Wire::Http2Direct => 2,
        };
        self.configs[slot].get_or_init(|| client_config(&self.trusted, wire))
    }

    /// Tells configurations apart for the connection pool.
    pub(crate) fn identity(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }
}

/// A client configuration trusting `trusted` (DER certificates), or the bundled roots when
/// it is empty.
pub(crate) fn client_config(trusted: &[CertificateDer<'static>], wire: Wire) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    if trusted.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        // A certificate webpki cannot take as a trust anchor is still trusted by value.
        let (_added, _ignored) = roots.add_parsable_certificates(trusted.iter().cloned());
    }
    let verifier = TrustedByValue::new(Arc::new(roots), trusted.to_vec(), provider.clone());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = match wire {
        Wire::Http1 => vec![b"http/1.1".to_vec()],
        Wire::Negotiated => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Wire::Http2Direct => vec![b"h2".to_vec()],
    };
    Arc::new(config)
}

/// The certificate's validity period contains `now` (webpki checks it for a chain; a
/// certificate trusted by value is checked here).
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
}

impl TrustedByValue {
    fn new(
        roots: Arc<RootCertStore>,
        trusted: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone()).build().ok();
        TrustedByValue { webpki, trusted, provider }
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
            let parsed = ParsedCertificate::try_from(end_entity)?;
            verify_server_name(&parsed, server_name)?;
            check_validity(end_entity, now)?;
            log::debug!("certificate trusted by value for {server_name:?} ({refused})");
            return Ok(ServerCertVerified::assertion());
        }
        Err(refused)
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
