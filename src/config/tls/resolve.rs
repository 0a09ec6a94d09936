//! The TLS settings from the options, the connection string and the environment, checked
//! against each other, and the certificate files read.
use super::*;
use crate::config::{Source, Sources};

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
pub(in crate::config) fn resolve(
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
