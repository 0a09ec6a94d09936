//! TLS settings: libpq's `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `sslpassword`,
//! `channel_binding` and `sslnegotiation`, and node-postgres's `ssl` option, resolved into one
//! [`Tls`] with the same precedence as every other setting (options, connection string,
//! environment, default). Pure: files are named here and read by `connect::tls`.
//!
//! | setting | options | connection string | environment | default |
//! |---|---|---|---|---|
//! | mode | `sslmode`, `ssl` | `sslmode` | `DB_SSLMODE`, `DB_SSL`, `PGSSLMODE` | `prefer` |
//! | root certificates | `sslrootcert`, `ssl.ca` | `sslrootcert` | `DB_SSLROOTCERT`, `PGSSLROOTCERT` | `~/.postgresql/root.crt` if it exists |
//! | client certificate | `sslcert`, `ssl.cert` | `sslcert` | `DB_SSLCERT`, `PGSSLCERT` | none |
//! | client key | `sslkey`, `ssl.key` | `sslkey` | `DB_SSLKEY`, `PGSSLKEY` | none |
//! | key password | `sslpassword`, `ssl.passphrase` | `sslpassword` | — | none |
//! | channel binding | `channelBinding` | `channel_binding` | `PGCHANNELBINDING` | `prefer` |
//! | negotiation | `sslnegotiation` | `sslnegotiation` | `PGSSLNEGOTIATION` | `postgres` |
//!
//! libpq's upgrades apply: a root certificate makes `require` check the chain (`verify-ca`), and
//! `sslrootcert=system` asks for `verify-full` (a weaker explicit mode is refused, as in libpq 16).
//! `ssl: true` is `verify-full` against `ssl.ca` or the system roots, and
//! `ssl: { rejectUnauthorized: false }` is `require` with nothing checked, as node-postgres means
//! them. A setting that turns TLS off beside one that asks for it is a contradiction, refused.
mod resolve;
mod url;

pub(super) use resolve::resolve;
pub(super) use url::take_url_parameters;

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;
use tokio_postgres::config::ChannelBinding;

/// libpq's six `sslmode`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// Plain text first; TLS if the server refuses plain text.
    Allow,
    /// TLS if the server offers it, else plain text.
    Prefer,
    /// TLS, the certificate not checked.
    Require,
    /// TLS, the certificate's chain checked against the root certificates.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// The libpq name.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            SslMode::Disable,
            SslMode::Allow,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ]
        .into_iter()
        .find(|m| m.as_str() == text.trim())
    }

    /// Whether the certificate's chain is checked.
    pub fn verifies(self) -> bool {
        self >= SslMode::VerifyCa
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PEM text: a file named by a setting, or given inline (`ssl.ca` and friends).
#[derive(Debug, Clone, PartialEq)]
pub enum Pem {
    /// A file; `setting` names where it was set, for messages.
    File {
        /// The file.
        path: PathBuf,
        /// Where it was named, as the user wrote it.
        setting: String,
    },
    /// PEM given as a string or Buffer; `setting` names the option.
    Inline {
        /// The PEM bytes.
        bytes: Vec<u8>,
        /// The option, as the user wrote it.
        setting: String,
    },
}

/// Which root certificates check the server's certificate.
#[derive(Debug, Clone, PartialEq)]
pub enum Roots {
    /// None given: nothing can be checked, unless libpq's default file exists.
    Default(Option<PathBuf>),
    /// A PEM bundle.
    Pem(Pem),
    /// The operating system's trust store (`sslrootcert=system`).
    System,
}

/// The resolved TLS settings.
#[derive(Clone, PartialEq)]
pub struct Tls {
    /// The mode, after libpq's upgrades but before the default root file is looked for.
    pub mode: SslMode,
    /// Where the mode came from, for messages: "`sslmode`", "PGSSLMODE", "the default".
    pub mode_source: String,
    /// The root certificates.
    pub roots: Roots,
    /// The client certificate and key, for certificate authentication.
    pub identity: Option<(Pem, Pem)>,
    /// The password of an encrypted client key.
    pub key_password: Option<String>,
    /// The name checked against the certificate and sent as SNI instead of the host
    /// (`ssl.servername`).
    pub server_name: Option<String>,
    /// SCRAM channel binding.
    pub channel_binding: ChannelBinding,
    /// `sslnegotiation=direct`: TLS from the first byte (PostgreSQL 17), with ALPN `postgresql`.
    pub direct: bool,
}

impl Tls {
    /// tokio-postgres's mode for the first attempt to connect: plain for `disable` and `allow`,
    /// TLS if offered for `prefer`, TLS or nothing for the rest.
    pub fn first_attempt(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self.mode {
            SslMode::Disable | SslMode::Allow => Pg::Disable,
            SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        }
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Inline keys and the key password stay out of every debug print.
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("mode_source", &self.mode_source)
            .field("client_certificate", &self.identity.is_some())
            .field("key_password", &self.key_password.as_ref().map(|_| "***"))
            .field("server_name", &self.server_name)
            .field("channel_binding", &self.channel_binding)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

/// node-postgres's `ssl` option as the facade passes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SslOption {
    /// `ssl: false` is false; `true` or an object is true.
    pub enabled: bool,
    /// `rejectUnauthorized` (default true).
    pub reject_unauthorized: Option<bool>,
    /// `ca`: PEM root certificates, concatenated.
    pub ca: Option<Vec<u8>>,
    /// `cert`: the client certificate's PEM.
    pub cert: Option<Vec<u8>>,
    /// `key`: the client key's PEM.
    pub key: Option<Vec<u8>>,
    /// `passphrase` of an encrypted `key`.
    pub passphrase: Option<String>,
    /// `servername`.
    pub servername: Option<String>,
}

/// The TLS options of [`super::Options`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// node-postgres's `ssl`.
    pub ssl: Option<SslOption>,
    /// `sslmode`.
    pub sslmode: Option<String>,
    /// `sslrootcert`: a file, or `system`.
    pub sslrootcert: Option<String>,
    /// `sslcert`: a file.
    pub sslcert: Option<String>,
    /// `sslkey`: a file.
    pub sslkey: Option<String>,
    /// `sslpassword`.
    pub sslpassword: Option<String>,
    /// `channelBinding`.
    pub channel_binding: Option<String>,
    /// `sslnegotiation`.
    pub sslnegotiation: Option<String>,
}

/// The connection string's TLS parameters, which tokio-postgres does not parse (or not all of
/// their values): taken out of the string before it is parsed.
pub const URL_PARAMETERS: [&str; 9] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "channel_binding",
    "sslnegotiation",
    // node-postgres's switch to libpq's semantics, which are the only ones here.
    "uselibpqcompat",
    // Not TLS: tokio-postgres knows only three of its six values (see `topology`).
    super::topology::URL_SESSION_ATTRS,
];

/// The environment variables read here (`HOME` for libpq's default root certificate file).
pub const ENVIRONMENT: [&str; 12] = [
    "DB_SSLMODE",
    "DB_SSL",
    "DB_SSLROOTCERT",
    "DB_SSLCERT",
    "DB_SSLKEY",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGCHANNELBINDING",
    "PGSSLNEGOTIATION",
    "HOME",
];

#[cfg(test)]
mod tests;
