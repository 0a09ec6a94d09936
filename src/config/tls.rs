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
use super::{Source, Sources};
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
pub const URL_PARAMETERS: [&str; 8] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "channel_binding",
    "sslnegotiation",
    // node-postgres's switch to libpq's semantics, which are the only ones here.
    "uselibpqcompat",
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

/// A mode that one source asks for, with its source.
struct Wanted {
    mode: SslMode,
    source: String,
}

impl Wanted {
    fn new(mode: SslMode, source: impl fmt::Display) -> Self {
        Wanted {
            mode,
            source: source.to_string(),
        }
    }
}

/// Parses an `sslmode` value, naming `source` in the message.
fn mode(text: &str, source: impl fmt::Display) -> Result<Wanted> {
    SslMode::parse(text)
        .map(|m| Wanted::new(m, &source))
        .ok_or_else(|| {
            Error::config(format!(
                "{source} must be disable, allow, prefer, require, verify-ca or verify-full \
                 (got {text:?})"
            ))
        })
}

/// `DB_SSL`: `true` asks for `require`, `false` for `disable`.
fn db_ssl(text: &str, source: Source) -> Result<Wanted> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(Wanted::new(SslMode::Require, source)),
        "false" | "0" | "off" | "no" => Ok(Wanted::new(SslMode::Disable, source)),
        _ => Err(Error::config(format!(
            "{source} must be true or false (got {text:?}); DB_SSLMODE takes libpq's sslmode names"
        ))),
    }
}

/// Refuses two settings of which one turns TLS off and the other asks for it.
fn agree(a: &Wanted, b: &Wanted) -> Result<()> {
    if (a.mode == SslMode::Disable) != (b.mode == SslMode::Disable) {
        return Err(Error::config(format!(
            "{} ({}) contradicts {} ({}): remove one of them",
            a.source, a.mode, b.source, b.mode
        )));
    }
    Ok(())
}

/// The first text among the option, the connection string's parameter and the variables.
fn pick(
    option: Option<(&str, &'static str)>,
    url: Option<(&str, Source)>,
    sources: &Sources,
    env: &[&'static str],
) -> Option<(String, String)> {
    if let Some((value, name)) = option {
        return Some((value.to_owned(), Source::Option(name).to_string()));
    }
    if let Some((value, source)) = url {
        return Some((value.to_owned(), source.to_string()));
    }
    sources
        .env(env)
        .map(|(value, source)| (value.to_owned(), source.to_string()))
}

fn file(path: String, setting: String) -> Result<Pem> {
    if path.is_empty() {
        return Err(Error::config(format!(
            "{setting} must not be empty: leave it out to use the next source"
        )));
    }
    Ok(Pem::File {
        path: PathBuf::from(path),
        setting,
    })
}

fn inline(bytes: &[u8], option: &str) -> Pem {
    Pem::Inline {
        bytes: bytes.to_vec(),
        setting: format!("`{option}`"),
    }
}

/// Resolves the TLS settings. `url` holds the connection string's TLS parameters (see
/// [`URL_PARAMETERS`]) with its name for messages.
pub(super) fn resolve(
    options: &TlsOptions,
    url: &[(String, String)],
    url_name: &'static str,
    sources: &Sources,
) -> Result<Tls> {
    let url_param = |name: &'static str| {
        url.iter().rev().find(|(k, _)| k == name).map(|(_, v)| {
            (
                v.as_str(),
                Source::Url {
                    url: url_name,
                    part: name,
                },
            )
        })
    };
    let ssl = options.ssl.as_ref();

    // The mode: the options, else the connection string, else the environment.
    let ssl_wanted = ssl.map(|s| match (s.enabled, s.reject_unauthorized) {
        (false, _) => Wanted::new(SslMode::Disable, "`ssl: false`"),
        (true, Some(false)) => Wanted::new(SslMode::Require, "`ssl.rejectUnauthorized: false`"),
        (true, _) => Wanted::new(SslMode::VerifyFull, "`ssl`"),
    });
    let option_mode = match &options.sslmode {
        Some(text) => Some(mode(text, Source::Option("sslmode"))?),
        None => None,
    };
    let url_mode = match url_param("sslmode") {
        Some((text, source)) => Some(mode(text, source)?),
        None => None,
    };
    if let Some(ssl) = &ssl_wanted {
        for other in [&option_mode, &url_mode].into_iter().flatten() {
            agree(ssl, other)?;
        }
    }
    let env_mode = match sources.env(&["DB_SSLMODE"]) {
        Some((text, source)) => Some(mode(text, source)?),
        None => None,
    };
    let env_ssl = match sources.env(&["DB_SSL"]) {
        Some((text, source)) => Some(db_ssl(text, source)?),
        None => None,
    };
    if let (Some(a), Some(b)) = (&env_mode, &env_ssl) {
        agree(a, b)?;
    }
    let pg_mode = match sources.env(&["PGSSLMODE"]) {
        Some((text, source)) => Some(mode(text, source)?),
        None => None,
    };
    let wanted = option_mode
        .or(ssl_wanted)
        .or(url_mode)
        .or(env_mode)
        .or(env_ssl)
        .or(pg_mode);

    // The root certificates.
    let unchecked = ssl.is_some_and(|s| s.reject_unauthorized == Some(false));
    let root_text = pick(
        options.sslrootcert.as_deref().map(|v| (v, "sslrootcert")),
        url_param("sslrootcert"),
        sources,
        &["DB_SSLROOTCERT", "PGSSLROOTCERT"],
    );
    let ca = ssl.and_then(|s| s.ca.as_deref());
    if options.sslrootcert.is_some() && ca.is_some() {
        return Err(Error::config(
            "`sslrootcert` and `ssl.ca` both give root certificates: keep one",
        ));
    }
    let mut roots = match (ca, root_text) {
        (Some(ca), _) => Roots::Pem(inline(ca, "ssl.ca")),
        (None, Some((text, _))) if text == "system" => Roots::System,
        (None, Some((path, setting))) => Roots::Pem(file(path, setting)?),
        (None, None) => Roots::Default(
            sources
                .env(&["HOME"])
                .map(|(home, _)| PathBuf::from(home).join(".postgresql/root.crt")),
        ),
    };
    if unchecked {
        // node's meaning: nothing is checked, whatever `ca` says.
        roots = Roots::Default(None);
    }

    let mode = match (&roots, wanted) {
        (Roots::System, Some(w)) if w.mode != SslMode::VerifyFull && !unchecked => {
            return Err(Error::config(format!(
                "sslrootcert=system checks the server against the system's roots, which only \
                 means something with sslmode=verify-full: {} asks for {}; remove it or use \
                 verify-full",
                w.source, w.mode
            )));
        }
        (Roots::System, None) => Wanted::new(SslMode::VerifyFull, "sslrootcert=system"),
        (Roots::Pem(_), Some(w)) if w.mode == SslMode::Require && !unchecked => {
            // libpq: "if a root CA file exists, require behaves like verify-ca".
            Wanted::new(
                SslMode::VerifyCa,
                format!("{} with a root certificate", w.source),
            )
        }
        (_, Some(w)) => w,
        (_, None) => Wanted::new(SslMode::Prefer, "the default"),
    };
    let mode = match (&roots, ssl) {
        // `ssl: true` with neither `ca` nor `sslrootcert`: node-postgres checks against the
        // system's roots.
        (Roots::Default(_), Some(s)) if s.enabled && !unchecked => {
            roots = Roots::System;
            mode
        }
        _ => mode,
    };

    let cert = pick(
        options.sslcert.as_deref().map(|v| (v, "sslcert")),
        url_param("sslcert"),
        sources,
        &["DB_SSLCERT", "PGSSLCERT"],
    );
    let key = pick(
        options.sslkey.as_deref().map(|v| (v, "sslkey")),
        url_param("sslkey"),
        sources,
        &["DB_SSLKEY", "PGSSLKEY"],
    );
    let cert = match (cert, ssl.and_then(|s| s.cert.as_deref())) {
        (Some((path, setting)), _) => Some(file(path, setting)?),
        (None, Some(pem)) => Some(inline(pem, "ssl.cert")),
        (None, None) => None,
    };
    let key = match (key, ssl.and_then(|s| s.key.as_deref())) {
        (Some((path, setting)), _) => Some(file(path, setting)?),
        (None, Some(pem)) => Some(inline(pem, "ssl.key")),
        (None, None) => None,
    };
    let identity = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::config(
                "a client certificate (`sslcert`) needs its key: set `sslkey` too",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::config(
                "a client key (`sslkey`) needs its certificate: set `sslcert` too",
            ))
        }
    };
    let key_password = options
        .sslpassword
        .clone()
        .or_else(|| ssl.and_then(|s| s.passphrase.clone()))
        .or_else(|| url_param("sslpassword").map(|(v, _)| v.to_owned()));

    let channel_binding = match pick(
        options
            .channel_binding
            .as_deref()
            .map(|v| (v, "channelBinding")),
        url_param("channel_binding"),
        sources,
        &["PGCHANNELBINDING"],
    ) {
        Some((text, source)) => match text.trim() {
            "disable" => Some(ChannelBinding::Disable),
            "prefer" => Some(ChannelBinding::Prefer),
            "require" => Some(ChannelBinding::Require),
            _ => {
                return Err(Error::config(format!(
                    "{source} must be disable, prefer or require (got {text:?})"
                )))
            }
        },
        None => None,
    };
    let channel_binding = channel_binding.unwrap_or(ChannelBinding::Prefer);
    if channel_binding == ChannelBinding::Require && mode.mode == SslMode::Disable {
        return Err(Error::config(format!(
            "channel binding is required, but {} ({}) turns TLS off: channel binding needs TLS",
            mode.source, mode.mode
        )));
    }

    let direct = match pick(
        options
            .sslnegotiation
            .as_deref()
            .map(|v| (v, "sslnegotiation")),
        url_param("sslnegotiation"),
        sources,
        &["PGSSLNEGOTIATION"],
    ) {
        Some((text, source)) => match text.trim() {
            "postgres" => false,
            "direct" => true,
            _ => {
                return Err(Error::config(format!(
                    "{source} must be postgres or direct (got {text:?})"
                )))
            }
        },
        None => false,
    };
    if direct && mode.mode < SslMode::Require {
        return Err(Error::config(format!(
            "sslnegotiation=direct starts TLS at once, so it needs sslmode=require or stronger \
             ({} gives {})",
            mode.source, mode.mode
        )));
    }

    Ok(Tls {
        mode: mode.mode,
        mode_source: mode.source,
        roots,
        identity,
        key_password,
        server_name: ssl.and_then(|s| s.servername.clone()),
        channel_binding,
        direct,
    })
}

/// Takes the TLS parameters of [`URL_PARAMETERS`] out of a connection string, in either form,
/// and returns the rest with them. Values are percent-decoded (URL) or unquoted (key=value).
pub(super) fn take_url_parameters(text: &str) -> (String, Vec<(String, String)>) {
    let mut taken = Vec::new();
    if text.contains("://") {
        let Some((head, query)) = text.split_once('?') else {
            return (text.to_owned(), taken);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if URL_PARAMETERS.contains(&key) {
                taken.push((key.to_owned(), percent_decode(value)));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            head.to_owned()
        } else {
            format!("{head}?{}", kept.join("&"))
        };
        return (rest, taken);
    }
    // key=value pairs: a value is a run of non-space characters or a quoted string with
    // backslash escapes, as libpq parses them.
    let mut rest = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            rest.push(c);
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '=') {
            chars.next();
            while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                chars.next();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '\'' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    if c == '\\' {
                        chars.next();
                        value.extend(chars.next().map(|(_, c)| c));
                    } else {
                        value.push(c);
                        chars.next();
                    }
                }
            }
        }
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        if URL_PARAMETERS.contains(&key.as_str()) {
            taken.push((key, value));
        } else {
            rest.push_str(&text[start..end]);
        }
    }
    (rest, taken)
}

/// `%XX` sequences decoded; anything else kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
