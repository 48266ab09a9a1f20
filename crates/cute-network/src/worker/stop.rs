//! How a request stops early ([`Stop`]).

use crate::error::{Failure, NetworkError};

/// Why a request stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    Failed(Failure),
    /// Aborted: the loop has finished (or will finish) the reply itself.
    Canceled,
    /// The proxy refused the `CONNECT` tunnel with 407, challenging for `realm`.
    ProxyAuthenticationRequired {
        realm: String,
    },
    /// An HTTP/2 server did not process the request (it refused the stream or is going
    /// away): it may be sent again on another connection, whatever its method.
    Unprocessed(Failure),
    /// The server's certificate was refused for these errors (the application may ignore
    /// them and try again).
    SslErrors(Vec<crate::ssl::SslError>),
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl Stop {
    pub(crate) fn into_failure(self) -> Failure {
        match self {
            Stop::Failed(failure) | Stop::Unprocessed(failure) => failure,
            Stop::Canceled => Failure::canceled(),
            Stop::SslErrors(errors) => {
                let texts: Vec<&str> = errors.iter().map(crate::ssl::SslError::error_string).collect();
                Failure::new(
                    NetworkError::SslHandshakeFailedError,
                    format!("SSL handshake failed: {}", texts.join("; ")),
                )
            }
            Stop::ProxyAuthenticationRequired { .. } => {
                Failure::new(NetworkError::ProxyAuthenticationRequiredError, "Proxy requires authentication")
            }
        }
    }
}

pub(crate) type Outcome<T> = Result<T, Stop>;

/// Stops the request with `error`.
pub(crate) fn fail<T>(error: NetworkError, message: impl Into<String>) -> Outcome<T> {
    Err(Stop::Failed(Failure::new(error, message)))
}
