//! Configuration: one pure function resolves explicit options > connection string > environment >
//! defaults into a [`Config`]. [`environment`] is the only code that reads the process environment.
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::Host;

/// Options as the user gave them (the JS `options` object, already converted at the edge).
/// Numbers stay `f64` so that validation can name a bad value exactly as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// `postgres://user:password@host:port/database?…` or libpq `key=value` pairs.
    pub connection_string: Option<String>,
    /// Host name, IP address, or a unix-socket directory (starts with `/`).
    pub host: Option<String>,
    /// Server port.
    pub port: Option<f64>,
    /// Database name.
    pub database: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Largest number of connections.
    pub max: Option<f64>,
    /// Connections kept open even when idle.
    pub min: Option<f64>,
    /// `application_name` reported to the server.
    pub application_name: Option<String>,
    /// How long to wait for a connection, in ms (0 = no limit).
    pub connection_timeout_millis: Option<f64>,
    /// Server-side `statement_timeout` in ms (0 = none).
    pub statement_timeout: Option<f64>,
    /// Whether each connection keeps prepared statements.
    pub statement_cache: Option<bool>,
    /// Size of each connection's statement cache.
    pub max_prepared_statements: Option<f64>,
}

/// The defaults, each with its reason.
pub mod defaults {
    /// node-postgres's and HikariCP's default pool size.
    pub const MAX: usize = 10;
    /// Lazy like node-postgres: no connection until the first query.
    pub const MIN: usize = 0;
    /// libpq's default host and port.
    pub const HOST: &str = "localhost";
    /// libpq's default port.
    pub const PORT: u16 = 5432;
    /// HikariCP's `connectionTimeout`: long enough for a busy pool, short enough to notice.
    pub const CONNECTION_TIMEOUT_MILLIS: u64 = 30_000;
    /// Shown in `pg_stat_activity` so operators can tell this pool's backends apart.
    pub const APPLICATION_NAME: &str = "pg-rust-pool";
    /// Hundreds of distinct statements cover most applications; each costs server memory.
    pub const MAX_PREPARED_STATEMENTS: usize = 256;
}

/// A resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection parameters, password included (never printed: see `Debug` of tokio-postgres'
    /// `Config`, which redacts it).
    pub pg: tokio_postgres::Config,
    /// Largest number of connections.
    pub max: usize,
    /// Connections kept open even when idle.
    pub min: usize,
    /// How long an acquire waits; `None` waits forever.
    pub connection_timeout: Option<Duration>,
    /// Whether each connection keeps prepared statements.
    pub statement_cache: bool,
    /// Size of each connection's statement cache.
    pub max_prepared_statements: usize,
}

/// The process environment, read once. This is the only place the environment is read.
pub fn environment() -> HashMap<String, String> {
    std::env::vars().collect()
}

/// A non-negative integer option, or an `INVALID_CONFIG` error naming it.
fn integer(name: &str, value: f64, min: f64) -> Result<u64> {
    if value.fract() != 0.0 || value < min || value > u32::MAX as f64 || value.is_nan() {
        return Err(Error::config(format!(
            "`{name}` must be an integer ≥ {min} (got {value})"
        )));
    }
    Ok(value as u64)
}

/// An integer from an environment variable, or an `INVALID_CONFIG` error naming it.
fn env_number(env: &HashMap<String, String>, name: &str) -> Result<Option<f64>> {
    match env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<f64>().map(Some).map_err(|_| {
            Error::config(format!(
                "environment variable {name} must be a number (got {v:?})"
            ))
        }),
    }
}

fn first<T>(candidates: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    candidates.into_iter().flatten().next()
}

/// Resolves `options` over the connection string, the environment `env` and the defaults.
pub fn resolve(options: &Options, env: &HashMap<String, String>) -> Result<Config> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let url_text = options
        .connection_string
        .clone()
        .or_else(|| var("DATABASE_URL"));
    let url = match &url_text {
        Some(text) => Some(tokio_postgres::Config::from_str(text).map_err(|_| {
            Error::config(
                "`connectionString` is not a valid PostgreSQL URL or key=value string: \
                 expected postgres://user:password@host:port/database",
            )
        })?),
        None => None,
    };
    let url = url.as_ref();

    let mut pg = tokio_postgres::Config::new();
    let host = first([
        options.host.clone(),
        url.and_then(|u| u.get_hosts().first()).map(host_text),
        var("DB_HOST"),
        var("PGHOST"),
    ])
    .unwrap_or_else(|| defaults::HOST.to_owned());
    if host.starts_with('/') {
        pg.host_path(&host);
    } else {
        pg.host(&host);
    }
    let port = first([
        options.port,
        url.and_then(|u| u.get_ports().first()).map(|p| *p as f64),
        env_number(env, "DB_PORT")?,
        env_number(env, "PGPORT")?,
    ]);
    let port = match port {
        Some(p) => integer("port", p, 1.0).and_then(|p| {
            u16::try_from(p).map_err(|_| Error::config(format!("`port` must be ≤ 65535 (got {p})")))
        })?,
        None => defaults::PORT,
    };
    pg.port(port);
    let user = first([
        options.user.clone(),
        url.and_then(|u| u.get_user()).map(str::to_owned),
        var("DB_USER"),
        var("PGUSER"),
        var("USER"),
    ])
    .unwrap_or_else(|| "postgres".to_owned());
    pg.user(&user);
    let database = first([
        options.database.clone(),
        url.and_then(|u| u.get_dbname()).map(str::to_owned),
        var("DB_NAME"),
        var("PGDATABASE"),
    ])
    .unwrap_or_else(|| user.clone());
    pg.dbname(&database);
    if let Some(password) = first([
        options.password.as_ref().map(|p| p.as_bytes().to_vec()),
        url.and_then(|u| u.get_password()).map(<[u8]>::to_vec),
        var("DB_PASSWORD").map(String::into_bytes),
        var("PGPASSWORD").map(String::into_bytes),
    ]) {
        pg.password(password);
    }
    let application_name = first([
        options.application_name.clone(),
        url.and_then(|u| u.get_application_name())
            .map(str::to_owned),
        var("DB_APPLICATION_NAME"),
        var("PGAPPNAME"),
    ])
    .unwrap_or_else(|| defaults::APPLICATION_NAME.to_owned());
    pg.application_name(&application_name);
    let statement_timeout = first([
        options.statement_timeout,
        env_number(env, "DB_STATEMENT_TIMEOUT")?,
    ]);
    if let Some(ms) = statement_timeout {
        let ms = integer("statementTimeout", ms, 0.0)?;
        pg.options(format!("-c statement_timeout={ms}"));
    }

    let max = match first([options.max, env_number(env, "DB_POOL_MAX")?]) {
        Some(v) => integer("max", v, 1.0)? as usize,
        None => defaults::MAX,
    };
    let min = match first([options.min, env_number(env, "DB_POOL_MIN")?]) {
        Some(v) => integer("min", v, 0.0)? as usize,
        None => defaults::MIN,
    };
    if min > max {
        return Err(Error::config(format!(
            "`min` ({min}) must not be greater than `max` ({max})"
        )));
    }
    let connection_timeout = match first([
        options.connection_timeout_millis,
        env_number(env, "DB_TIMEOUT")?,
    ]) {
        Some(v) => integer("connectionTimeoutMillis", v, 0.0)?,
        None => defaults::CONNECTION_TIMEOUT_MILLIS,
    };
    let max_prepared_statements = match options.max_prepared_statements {
        Some(v) => integer("maxPreparedStatements", v, 1.0)? as usize,
        None => defaults::MAX_PREPARED_STATEMENTS,
    };
    Ok(Config {
        pg,
        max,
        min,
        connection_timeout: (connection_timeout > 0)
            .then(|| Duration::from_millis(connection_timeout)),
        statement_cache: options.statement_cache.unwrap_or(true),
        max_prepared_statements,
    })
}

/// Where a configuration connects, without its password: `user@host:port/database`.
pub fn describe(config: &Config) -> String {
    let pg = &config.pg;
    format!(
        "{}@{}:{}/{}",
        pg.get_user().unwrap_or(""),
        pg.get_hosts().first().map(host_text).unwrap_or_default(),
        pg.get_ports().first().copied().unwrap_or(defaults::PORT),
        pg.get_dbname().unwrap_or(""),
    )
}

fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(h) => h.clone(),
        Host::Unix(p) => p.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_win_over_url_over_env() {
        let options = Options {
            connection_string: Some("postgres://u:p@urlhost:5433/urldb".into()),
            database: Some("optdb".into()),
            ..Default::default()
        };
        let c = resolve(
            &options,
            &env(&[("DB_HOST", "envhost"), ("DB_NAME", "envdb")]),
        )
        .unwrap();
        assert_eq!(c.pg.get_dbname(), Some("optdb"));
        assert_eq!(c.pg.get_hosts(), [Host::Tcp("urlhost".into())]);
        assert_eq!(c.pg.get_ports(), [5433]);
    }

    #[test]
    fn bad_numbers_name_the_option() {
        let e = resolve(
            &Options {
                max: Some(0.0),
                ..Default::default()
            },
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(e.code(), "INVALID_CONFIG");
        assert!(e.to_string().contains("`max`"), "{e}");
    }
}
