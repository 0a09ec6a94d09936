//! Connection strings: `postgres://` URLs and `key=value` pairs, as libpq takes them.
use super::*;

/// What a connection string should look like, for messages.
pub(super) const URL_SHAPE: &str =
    "expected postgres://user:password@host:port/database?param=value or \
                         key=value pairs such as host=localhost dbname=app";

/// Parses a connection string. Messages never quote it: it usually holds a password.
pub(super) fn parse_url(name: &'static str, text: &str) -> Result<Url> {
    if text.trim().is_empty() {
        return Err(Error::config(format!("{name} is empty: {URL_SHAPE}")));
    }
    if let Some((scheme, _)) = text.split_once("://") {
        let is_scheme = !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if is_scheme && scheme != "postgres" && scheme != "postgresql" {
            return Err(Error::config(format!(
                "{name} must start with postgres:// or postgresql://: {URL_SHAPE}"
            )));
        }
    }
    let mut names = tls::URL_PARAMETERS.to_vec();
    names.push(PGBOUNCER_PARAMETER);
    let (text, mut libpq) = tls::take_url_parameters(text, &names);
    // The last `pgbouncer=` wins, as the last of any parameter does in libpq.
    let pgbouncer = libpq
        .iter()
        .rev()
        .find(|(name, _)| name == PGBOUNCER_PARAMETER)
        .map(|(_, value)| value.clone());
    libpq.retain(|(name, _)| name != PGBOUNCER_PARAMETER);
    let pg = tokio_postgres::Config::from_str(&text).map_err(|e| {
        // tokio-postgres' reasons may quote characters of the string (part of a password,
        // perhaps); only its "invalid value for option `name`", whose name is one of its own
        // constants, is passed on.
        let reason = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        let param = reason
            .strip_prefix("invalid value for option `")
            .and_then(|rest| rest.strip_suffix('`'))
            .filter(|p| p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        match param {
            Some(param) => Error::config(format!("{name} has an invalid value for `{param}`")),
            None if reason.starts_with("unknown option") => Error::config(format!(
                "{name} has a parameter this driver does not know; it supports host, hostaddr, \
                 port, dbname, user, password, options, application_name, sslmode, \
                 connect_timeout, keepalives, target_session_attrs, channel_binding, \
                 load_balance_hosts and pgbouncer"
            )),
            None => Error::config(format!(
                "{name} is not a valid connection string: {URL_SHAPE}"
            )),
        }
    })?;
    // An unencoded `@` in a password ends the user part early and leaves the rest of the
    // password in the host name, where `describe()` would show it.
    if pg
        .get_hosts()
        .iter()
        .any(|h| matches!(h, Host::Tcp(h) if h.contains('@')))
    {
        return Err(Error::config(format!(
            "{name} has an `@` in its host: percent-encode `@` in the user name or password as %40"
        )));
    }
    Ok(Url {
        name,
        pg,
        libpq,
        pgbouncer,
        text: text.to_owned(),
    })
}

/// Whether the password part of a `postgres://` URL holds a `%`: decoded as an escape, which a
/// password pasted into a URL as it is rarely means.
pub(super) fn url_password_has_percent(text: &str) -> bool {
    let Some((_, rest)) = text.split_once("://") else {
        return false;
    };
    rest.rfind('@')
        .and_then(|at| rest[..at].split_once(':'))
        .is_some_and(|(_, password)| password.contains('%'))
}

/// Copies the connection string's parameters that no option or environment variable sets.
pub(super) fn carry_over(url: &tokio_postgres::Config, pg: &mut tokio_postgres::Config) {
    // Not its `target_session_attrs` and `load_balance_hosts`: `topology` applies them, one
    // server per connection.
    pg.keepalives(url.get_keepalives())
        .keepalives_idle(url.get_keepalives_idle());
    if let Some(interval) = url.get_keepalives_interval() {
        pg.keepalives_interval(interval);
    }
    if let Some(retries) = url.get_keepalives_retries() {
        pg.keepalives_retries(retries);
    }
}

/// The connection string's ports, one per host. tokio-postgres gives each host of the URL's host
/// part a port (5432 when it has none) and appends `?port=` after them; as in libpq, `?port=`
/// replaces the host part's ports.
pub(super) fn url_ports(url: &tokio_postgres::Config) -> &[u16] {
    let ports = url.get_ports();
    let hosts = url.get_hosts().len().max(url.get_hostaddrs().len());
    if hosts > 0 && ports.len() > hosts {
        &ports[ports.len() - hosts..]
    } else {
        ports
    }
}
