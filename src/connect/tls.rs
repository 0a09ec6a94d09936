//! The rustls side of the seam: reads the certificate files the settings name and builds the
//! client configuration whose verifier does what the `sslmode` promises, no more and no less.
//!
//! | mode | chain checked | host name checked |
//! |---|---|---|
//! | `allow`, `prefer` | when a root certificate is given (as libpq) | no |
//! | `require` | no (a root certificate makes it `verify-ca`, see `config::tls`) | no |
//! | `verify-ca` | yes | no |
//! | `verify-full` | yes | yes (DNS and IP address SANs) |
//!
//! Where nothing is checked, the handshake's signatures still are: the server must hold the key
//! of the certificate it shows, which is what `require` gives in libpq too.
use crate::config::tls::{Pem, Roots, SslMode, Tls};
use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// ALPN for PostgreSQL, which PostgreSQL 17 requires with `sslnegotiation=direct`; libpq 17
/// always offers it, and older servers ignore it.
const ALPN: &[u8] = b"postgresql";

/// What the server's certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// Only that the server holds its key.
    Nothing,
    /// The chain up to a root certificate.
    Chain,
    /// The chain and the host name.
    Full,
}

/// The TLS connector every connection of a manager uses, and the mode it ends up with.
#[derive(Clone)]
pub struct MakeTls {
    inner: MakeRustlsConnect,
    server_name: Option<String>,
}

impl<S> MakeTlsConnect<S> for MakeTls
where
    MakeRustlsConnect: MakeTlsConnect<S>,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = self.server_name.as_deref().unwrap_or(domain);
        MakeTlsConnect::<S>::make_tls_connect(&mut self.inner, name)
    }
}

/// Builds the connector for `tls`, reading its files now: a missing or unreadable file, or one
/// that holds no certificate or key, is `INVALID_CONFIG` naming the setting and the path (never
/// the content). Returns the mode in force, after libpq's default root file is looked for.
pub fn build(tls: &Tls) -> Result<(MakeTls, SslMode)> {
    // rustls 0.23.48 marks ring's provider deprecated because it has no post-quantum key
    // exchange; ring is still the choice (Cargo.toml says why), with X25519 and the NIST curves
    // every PostgreSQL server's OpenSSL offers.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (roots, mode) = match &tls.roots {
        Roots::System => (Some(system_roots()?), tls.mode),
        Roots::Pem(pem) => (Some(root_store(pem)?), tls.mode),
        Roots::Default(Some(path)) if path.is_file() => {
            let pem = Pem::File {
                path: path.clone(),
                setting: "libpq's default root certificate file".into(),
            };
            // libpq: a root certificate file makes `require` check the chain.
            let mode = if tls.mode == SslMode::Require {
                SslMode::VerifyCa
            } else {
                tls.mode
            };
            (Some(root_store(&pem)?), mode)
        }
        Roots::Default(_) => (None, tls.mode),
    };
    if roots.is_none() && tls.mode.verifies() {
        return Err(Error::config(format!(
            "sslmode={} ({}) checks the server's certificate, so it needs root certificates: set \
             `sslrootcert` to the CA bundle file (your provider publishes one), or to 'system' \
             for the operating system's trust store",
            tls.mode, tls.mode_source
        )));
    }
    let check = match (mode, &roots) {
        (SslMode::VerifyFull, _) => Check::Full,
        (_, Some(_)) if mode != SslMode::Require => Check::Chain,
        _ => Check::Nothing,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (check, roots) {
        (Check::Nothing, _) | (_, None) => Arc::new(Unchecked(provider.clone())),
        (check, Some(roots)) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| {
                        Error::config(format!("the root certificates cannot be used: {e}"))
                    })?;
            Arc::new(Checked {
                webpki,
                names: check == Check::Full,
            })
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS set-up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &tls.identity {
        Some((cert, key)) => {
            let chain = certificates(cert)?;
            let key = private_key(key, tls.key_password.as_deref())?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::config(format!(
                    "the client certificate ({}) and key ({}) cannot be used together: {e}",
                    setting(cert),
                    setting(key_pem(tls))
                ))
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN.to_vec()];
    let connector = MakeTls {
        inner: MakeRustlsConnect::new(config),
        server_name: tls.server_name.clone(),
    };
    Ok((connector, mode))
}

fn key_pem(tls: &Tls) -> &Pem {
    &tls.identity.as_ref().expect("called with an identity").1
}

/// Where a PEM was named, with its path, for messages.
fn setting(pem: &Pem) -> String {
    match pem {
        Pem::File { path, setting } => format!("{setting}, {}", path.display()),
        Pem::Inline { setting, .. } => setting.clone(),
    }
}

/// The PEM's bytes.
fn read(pem: &Pem) -> Result<Vec<u8>> {
    match pem {
        Pem::Inline { bytes, .. } => Ok(bytes.clone()),
        Pem::File { path, setting } => std::fs::read(path).map_err(|e| {
            Error::config(format!(
                "{setting} names {}, which cannot be read ({}): check the path and its \
                 permissions",
                path.display(),
                e.kind()
            ))
        }),
    }
}

fn certificates(pem: &Pem) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = read(pem)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| not_pem(pem, "certificates"))?;
    if certs.is_empty() {
        return Err(not_pem(pem, "certificates"));
    }
    Ok(certs)
}

fn not_pem(pem: &Pem, what: &str) -> Error {
    Error::config(format!(
        "{} holds no PEM {what} (-----BEGIN …----- blocks)",
        setting(pem)
    ))
}

fn root_store(pem: &Pem) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certificates(pem)?);
    if added == 0 {
        return Err(not_pem(pem, "CA certificates that can be used"));
    }
    Ok(store)
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        return Err(Error::config(
            "sslrootcert=system, but the operating system's trust store holds no certificates: \
             install ca-certificates, set SSL_CERT_FILE, or give `sslrootcert` a CA bundle file",
        ));
    }
    Ok(store)
}

/// The client key, decrypted with `password` when it is an encrypted PKCS#8 key.
fn private_key(pem: &Pem, password: Option<&str>) -> Result<PrivateKeyDer<'static>> {
    let bytes = read(pem)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::config(format!(
            "the key in {} is encrypted in OpenSSL's legacy format: convert it to PKCS#8 with \
             `openssl pkcs8 -topk8 -in old.key -out new.key` (keeping a password) and use that",
            setting(pem)
        )));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password else {
            return Err(Error::config(format!(
                "the key in {} is encrypted: give its password in `sslpassword`",
                setting(pem)
            )));
        };
        let (_, der) =
            pkcs8::der::pem::decode_vec(&bytes).map_err(|_| not_pem(pem, "private key"))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|_| not_pem(pem, "private key"))?;
        let plain = info.decrypt(password).map_err(|_| {
            Error::config(format!(
                "`sslpassword` does not decrypt the key in {}: check the password",
                setting(pem)
            ))
        })?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| not_pem(pem, "private key"))
}

/// Checks nothing but the handshake's signatures (`require`, and `prefer`/`allow` without a root
/// certificate).
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// webpki's checks, with or without the host name (`verify-full` or `verify-ca`).
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    names: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match verdict {
            // webpki checks the chain before the name, so a name error means the chain is good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
