//! What a failed connect means, in words that point at the setting to change: TLS failures each
//! get a code of their own, and a port answered by something other than PostgreSQL says so.
use super::Connector;
use crate::error::Error;
use rustls::{AlertDescription, CertificateError};

/// The rustls error behind a tokio-postgres error, if TLS failed.
fn rustls_error(e: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // tokio-rustls wraps rustls's error in an io::Error, whose `source()` skips it.
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(tls);
            }
        }
        source = s.source();
    }
    None
}

/// The text of the error and its causes.
fn chain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether the server refused the connection as it came, TLS or plain (SQLSTATE 28000: a
/// `hostssl`/`hostnossl` or `reject` line of pg_hba.conf), rather than its password.
pub(super) fn refused(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
}

/// Whether the TLS handshake failed.
pub(super) fn is_tls(e: &tokio_postgres::Error) -> bool {
    rustls_error(e).is_some()
}

/// The error a failed connect or cancel gives the user.
pub(super) fn classify(e: tokio_postgres::Error, connector: &Connector) -> Error {
    let target = &connector.target;
    let mode = connector.mode;
    let tls = |code: &'static str, message: String| Error::Handshake { code, message };
    if e.as_db_error().is_some() {
        let mut error = Error::from(e);
        if let (Error::Server(server), Some(note)) = (&mut error, &connector.password_note) {
            if server.code == "28P01" {
                server.message.push_str(note);
            }
        }
        return error;
    }
    if let Some(rustls) = rustls_error(&e) {
        return match rustls {
            rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            ) => tls(
                "TLS_UNKNOWN_CA",
                format!(
                    "the certificate of the server at {target} is not signed by a root \
                     certificate this pool trusts (sslmode={mode}): set `sslrootcert` to the CA \
                     bundle that signed it (managed services publish theirs)"
                ),
            ),
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => {
                let listed = match rustls {
                    rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForNameContext { presented, .. },
                    ) if !presented.is_empty() => {
                        format!(" (it is for {})", presented.join(", "))
                    }
                    _ => String::new(),
                };
                tls(
                    "TLS_HOSTNAME_MISMATCH",
                    format!(
                        "the certificate of the server at {target} is not valid for that host \
                         name{listed} (sslmode={mode}): connect with a name the certificate \
                         lists, or use sslmode=verify-ca to check only that a trusted CA \
                         signed it"
                    ),
                )
            }
            rustls::Error::InvalidCertificate(
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. },
            ) => tls(
                "TLS_CERT_EXPIRED",
                format!(
                    "the certificate of the server at {target} has expired or is not valid yet \
                     (sslmode={mode}): renew the server's certificate, or check this machine's \
                     clock"
                ),
            ),
            rustls::Error::AlertReceived(
                alert @ (AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateRequired
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateRevoked
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::AccessDenied),
            ) => tls(
                "TLS_CLIENT_CERT_REJECTED",
                format!(
                    "the server at {target} rejected this pool's client certificate \
                     (TLS alert: {alert:?}): check that `sslcert` is signed by a CA in the \
                     server's ssl_ca_file, is not expired, and matches `sslkey`"
                ),
            ),
            other => tls(
                "TLS_HANDSHAKE_FAILED",
                format!("the TLS handshake with the server at {target} failed (sslmode={mode}): {other}"),
            ),
        };
    }
    let text = chain(&e);
    if text.contains("server does not support TLS") {
        return tls(
            "TLS_NOT_SUPPORTED",
            format!(
                "the server at {target} does not accept TLS connections, and sslmode={mode} \
                 requires TLS: turn on ssl in the server's postgresql.conf, or, only on a network \
                 you trust, set sslmode to prefer or disable"
            ),
        );
    }
    if text.contains("channel binding") {
        return tls(
            "CHANNEL_BINDING_UNAVAILABLE",
            format!(
                "channel_binding=require, but the server at {target} did not use channel binding: \
                 it needs TLS and a user whose password is stored as SCRAM-SHA-256; set \
                 channelBinding to prefer to connect without it"
            ),
        );
    }
    if e.is_closed() {
        // Before it was ready: this is not a query's connection closing under it.
        return Error::Connect {
            code: "CONNECTION_ERROR",
            message: "the server closed the connection before it was ready".into(),
        };
    }
    // postgres-protocol's words for bytes that are not PostgreSQL's messages.
    if [
        "error parsing response from server",
        "unexpected message from server",
        "bytes remaining on stream",
        "invalid message length",
    ]
    .iter()
    .any(|words| text.contains(words))
    {
        return Error::Handshake {
            code: "CONNECTION_ERROR",
            message: format!(
                "the service at {target} did not answer as PostgreSQL does: check `port` (it \
                 may be another service's port)"
            ),
        };
    }
    e.into()
}
