//! Configuration: [`resolve`] turns the explicit options, a connection string, the environment and
//! the defaults into a [`Config`], setting by setting, in that order of precedence. It is pure: the
//! environment comes in as a map, and [`environment`] is the only code that reads the process
//! environment.
//!
//! | setting | option | environment, first set wins | default |
//! |---|---|---|---|
//! | host | `host` | `DB_HOST`, `PGHOST` | `localhost` |
//! | port | `port` | `DB_PORT`, `PGPORT` | 5432 |
//! | database | `database` | `DB_NAME`, `PGDATABASE` | the user name |
//! | user | `user` | `DB_USER`, `PGUSER` | `USER`, else `postgres` |
//! | password | `password` | `DB_PASSWORD`, `PGPASSWORD` | none |
//! | application name | `applicationName` | `DB_APPLICATION_NAME`, `PGAPPNAME` | `pg-rust-pool` |
//! | pool size | `max` | `DB_POOL_MAX` | 10 |
//! | idle connections kept | `min` | `DB_POOL_MIN` | 0 |
//! | acquire and connect timeout | `connectionTimeoutMillis` | `DB_TIMEOUT` | 30000 ms |
//! | statement timeout | `statementTimeout` | `DB_STATEMENT_TIMEOUT` | the server's |
//! | statement cache | `statementCache` | — | on |
//! | its size per connection | `maxPreparedStatements` | — | 256 |
//! | log level | `logLevel` | `LOG_LEVEL` | `warn` |
//! | slow query threshold | `slowQueryMillis` | — | off |
//! | leak warning after | `leakDetectionThreshold` | `DB_LEAK_DETECTION_THRESHOLD` | off |
//! | engine polls around a lone call | `busyPollMicros` | — | 100 µs |
//!
//! The connection string is `connectionString`, else `DATABASE_URL`; what it sets (host, port,
//! database, user, password, `application_name`, `options`, `connect_timeout`, `sslmode`, …) ranks
//! between the options and the other environment variables. `DB_*` come before libpq's `PG*`: they
//! name this application's database, while `PG*` are often set for a whole machine (for `psql`).
//! An environment variable that is set but empty counts as unset, as in libpq.
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::Host;

pub mod profile;
pub mod tls;

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
    /// Close idle connections above `min` after this many ms (0 = never).
    pub idle_timeout_millis: Option<f64>,
    /// Retire connections older than this many seconds (0 = never).
    pub max_lifetime_seconds: Option<f64>,
    /// Retire a connection after this many queries (0 = unlimited).
    pub max_uses: Option<f64>,
    /// TCP keepalive on the connections.
    pub keep_alive: Option<bool>,
    /// Idle time before the first keepalive probe, in ms.
    pub keep_alive_initial_delay_millis: Option<f64>,
    /// Server settings sent at connection start (`options: { search_path: … }`), as name and
    /// value text.
    pub server_settings: Vec<(String, String)>,
    /// The manager's name, for the `pool` label of metrics and the logs.
    pub name: Option<String>,
    /// `error`, `warn`, `info`, `debug`, `trace` or `off`.
    pub log_level: Option<String>,
    /// Queries slower than this many ms are logged at `warn` (0 = off).
    pub slow_query_millis: Option<f64>,
    /// Whether query logs show parameter values.
    pub log_parameters: Option<bool>,
    /// How long a client may be held before a leak warning, in ms (0 = never).
    pub leak_detection_threshold: Option<f64>,
    /// How long the engine polls instead of sleeping around a lone call, in µs (0 = never).
    pub busy_poll_micros: Option<f64>,
    /// `circuitBreaker`: `Some(None)` for `false`, `Some(Some((threshold, reset ms)))` for an
    /// object (either may be unset).
    pub circuit_breaker: Option<Option<(Option<f64>, Option<f64>)>>,
    /// `TCP_USER_TIMEOUT` of the connections, in ms (0 = the system's).
    pub tcp_user_timeout_millis: Option<f64>,
    /// Client-side limit of each query, in ms, the wait for a connection included (0 = none).
    pub query_timeout_millis: Option<f64>,
    /// How long a timed-out or aborted statement may take to end after its cancel request
    /// before its connection is closed, in ms.
    pub cancel_timeout_millis: Option<f64>,
    /// TLS: `ssl`, `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `sslpassword`,
    /// `channelBinding`, `sslnegotiation`.
    pub tls: tls::TlsOptions,
}

/// The defaults, each with its reason.
pub mod defaults {
    /// node-postgres's default; libpq's own default socket directory differs between systems.
    pub const HOST: &str = "localhost";
    /// libpq's default port.
    pub const PORT: u16 = 5432;
    /// When `USER` is unset too (as in many containers): the superuser every cluster starts with.
    pub const USER: &str = "postgres";
    /// Shown in `pg_stat_activity` so operators can tell this pool's backends apart.
    pub const APPLICATION_NAME: &str = "pg-rust-pool";
    /// On: a repeated query then costs one round trip instead of two.
    pub const STATEMENT_CACHE: bool = true;
    /// Hundreds of distinct statements cover most applications; each costs server memory.
    pub const MAX_PREPARED_STATEMENTS: usize = 256;
    /// Off, as in HikariCP: how long is too long depends on the application.
    pub const LEAK_DETECTION_THRESHOLD_MILLIS: u64 = 0;
    /// Long enough to span a query's round trip on a local network and the JS code that makes the
    /// next one (about 40 µs each in the benchmark's W1); short enough that an application making
    /// a query now and then spends next to nothing on it.
    pub const BUSY_POLL_MICROS: u64 = 100;
    /// On: a connection through a NAT or firewall that dropped it is noticed, not kept forever.
    pub const KEEP_ALIVE: bool = true;
    /// One minute, well under the idle timeouts of common NATs and load balancers (several
    /// minutes); the OS default of two hours would notice a dead peer far too late.
    pub const KEEP_ALIVE_INITIAL_DELAY_MILLIS: u64 = 60_000;
    /// Five failed connection attempts in a row: enough that a single refused connect (a server
    /// restarting) does not trip it, few enough that a dead database stops costing every caller
    /// a full connect timeout within seconds.
    pub const CIRCUIT_FAILURE_THRESHOLD: u64 = 5;
    /// Ten seconds between probes of a database that is down: a restart or failover takes about
    /// that long, and one probe per ten seconds costs the server nothing.
    pub const CIRCUIT_RESET_TIMEOUT_MILLIS: u64 = 10_000;
    /// How long sent data may stay unacknowledged (or keepalive probes unanswered) before the
    /// kernel gives the connection up: a peer that vanished without a FIN or RST (a dropped
    /// NAT mapping, a failed-over host) fails its in-flight query in seconds rather than after
    /// Linux's 15 minutes of retransmissions, while a live peer acknowledges within
    /// milliseconds even when its server is busy (the kernel acknowledges, not PostgreSQL).
    pub const TCP_USER_TIMEOUT_MILLIS: u64 = 30_000;
    /// Off, as in node-postgres (`query_timeout`): a statement's time limit is the
    /// application's to choose; `statementTimeout` is the server-side one.
    pub const QUERY_TIMEOUT_MILLIS: u64 = 0;
    /// libpq's cancel waits as long as the server takes; five seconds is long for a server to
    /// act on a cancel request, short enough that a hung backend does not hold a caller.
    pub const CANCEL_TIMEOUT_MILLIS: u64 = 5_000;
    /// `warn`: a server's stderr shows what needs attention (slow queries, failed connects),
    /// not every query.
    pub const LOG_LEVEL: tracing::Level = tracing::Level::WARN;
}

/// What the pool logs and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// The most verbose level logged; `None` logs nothing.
    pub level: Option<tracing::Level>,
    /// Queries slower than this are logged at `warn`; `None` for no such log.
    pub slow_query: Option<Duration>,
    /// Whether query logs show parameter values (off: they may hold personal data or secrets).
    pub parameters: bool,
}

/// A resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection parameters, password included (never printed: tokio-postgres' `Debug` of
    /// `Config` redacts it).
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
    /// Idle connections above `min` close after this; `None` keeps them.
    pub idle_timeout: Option<Duration>,
    /// Connections retire after this age; `None` for no limit.
    pub max_lifetime: Option<Duration>,
    /// Connections retire after this many queries; 0 for no limit.
    pub max_uses: u64,
    /// The manager's name (`name`), if it has one.
    pub name: Option<String>,
    /// Logging.
    pub log: LogSettings,
    /// How long a client may be held before a leak warning; `None` never warns.
    pub leak_detection_threshold: Option<Duration>,
    /// How long the engine polls instead of sleeping around a lone call (zero: never).
    pub busy_poll: Duration,
    /// The circuit breaker; `None` when turned off.
    pub circuit: Option<crate::circuit::Settings>,
    /// Each query's limit, the wait for a connection included; `None` for none.
    pub query_timeout: Option<Duration>,
    /// How long a cancelled statement may take to end before its connection is closed.
    pub cancel_timeout: Duration,
    /// The defaults' profile: `development` or `production` (`NODE_ENV`).
    pub profile: &'static str,
    /// TLS.
    pub tls: tls::Tls,
    /// What to add to a failed password authentication: the password came from a URL with a
    /// `%` in it, which URLs decode (`%41` is `A`).
    pub password_note: Option<String>,
}

/// A setting's JS option and the environment variables read for it, first set wins.
struct Setting {
    option: &'static str,
    env: &'static [&'static str],
}

const HOST: Setting = Setting {
    option: "host",
    env: &["DB_HOST", "PGHOST"],
};
const PORT: Setting = Setting {
    option: "port",
    env: &["DB_PORT", "PGPORT"],
};
const DATABASE: Setting = Setting {
    option: "database",
    env: &["DB_NAME", "PGDATABASE"],
};
const USER: Setting = Setting {
    option: "user",
    env: &["DB_USER", "PGUSER"],
};
const PASSWORD: Setting = Setting {
    option: "password",
    env: &["DB_PASSWORD", "PGPASSWORD"],
};
const APPLICATION_NAME: Setting = Setting {
    option: "applicationName",
    env: &["DB_APPLICATION_NAME", "PGAPPNAME"],
};
const MAX: Setting = Setting {
    option: "max",
    env: &["DB_POOL_MAX"],
};
const MIN: Setting = Setting {
    option: "min",
    env: &["DB_POOL_MIN"],
};
const CONNECTION_TIMEOUT: Setting = Setting {
    option: "connectionTimeoutMillis",
    env: &["DB_TIMEOUT"],
};
const STATEMENT_TIMEOUT: Setting = Setting {
    option: "statementTimeout",
    env: &["DB_STATEMENT_TIMEOUT"],
};
const MAX_PREPARED_STATEMENTS: Setting = Setting {
    option: "maxPreparedStatements",
    env: &[],
};
const LEAK_DETECTION_THRESHOLD: Setting = Setting {
    option: "leakDetectionThreshold",
    env: &["DB_LEAK_DETECTION_THRESHOLD"],
};
const BUSY_POLL: Setting = Setting {
    option: "busyPollMicros",
    env: &[],
};
const CIRCUIT_THRESHOLD: Setting = Setting {
    option: "circuitBreaker.failureThreshold",
    env: &[],
};
const CIRCUIT_RESET: Setting = Setting {
    option: "circuitBreaker.resetTimeoutMillis",
    env: &[],
};
const TCP_USER_TIMEOUT: Setting = Setting {
    option: "tcpUserTimeoutMillis",
    env: &[],
};
const QUERY_TIMEOUT: Setting = Setting {
    option: "queryTimeoutMillis",
    env: &["DB_QUERY_TIMEOUT"],
};
const CANCEL_TIMEOUT: Setting = Setting {
    option: "cancelTimeoutMillis",
    env: &[],
};
const IDLE_TIMEOUT: Setting = Setting {
    option: "idleTimeoutMillis",
    env: &["DB_IDLE_TIMEOUT"],
};
const MAX_LIFETIME: Setting = Setting {
    option: "maxLifetimeSeconds",
    env: &[],
};
const MAX_USES: Setting = Setting {
    option: "maxUses",
    env: &[],
};
const KEEP_ALIVE_DELAY: Setting = Setting {
    option: "keepAliveInitialDelayMillis",
    env: &[],
};
const LOG_LEVEL: Setting = Setting {
    option: "logLevel",
    env: &["LOG_LEVEL"],
};
const SLOW_QUERY: Setting = Setting {
    option: "slowQueryMillis",
    env: &[],
};

/// The connection string's environment variable.
const DATABASE_URL: &str = "DATABASE_URL";
/// Chooses the defaults' profile (see `profile`).
const NODE_ENV: &str = "NODE_ENV";
/// The default user name's environment variable (node-postgres reads it too).
const OS_USER: &str = "USER";

/// Every environment variable [`resolve`] reads.
pub const ENVIRONMENT: &[&str] = &[
    DATABASE_URL,
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_APPLICATION_NAME",
    "DB_POOL_MAX",
    "DB_POOL_MIN",
    "DB_TIMEOUT",
    "DB_STATEMENT_TIMEOUT",
    "DB_QUERY_TIMEOUT",
    "DB_IDLE_TIMEOUT",
    "DB_LEAK_DETECTION_THRESHOLD",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGAPPNAME",
    "LOG_LEVEL",
    OS_USER,
    NODE_ENV,
    // TLS (see `tls`); HOME for libpq's default root certificate file.
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

/// The variables of [`ENVIRONMENT`] that are set (to valid UTF-8). This is the only place the
/// process environment is read.
pub fn environment() -> HashMap<String, String> {
    ENVIRONMENT
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect()
}

/// The integers a numeric setting accepts, and what to call them in a message.
#[derive(Clone, Copy)]
struct Bounds {
    noun: &'static str,
    lo: u64,
    hi: u64,
}

/// No practical upper limit; capped so that any accepted value fits every integer type it meets.
const UNBOUNDED: u64 = u32::MAX as u64;
const COUNT: Bounds = Bounds {
    noun: "an integer",
    lo: 1,
    hi: UNBOUNDED,
};
const COUNT_OR_ZERO: Bounds = Bounds { lo: 0, ..COUNT };
const PORT_NUMBER: Bounds = Bounds {
    noun: "an integer",
    lo: 1,
    hi: u16::MAX as u64,
};
/// 2^31 - 1 ms: the largest `statement_timeout` the server accepts, and the longest delay of
/// Node's timers.
const MILLIS: Bounds = Bounds {
    noun: "a whole number of milliseconds",
    lo: 0,
    hi: i32::MAX as u64,
};

/// Up to 10 ms: polling longer than that would cost more CPU than the wakes it saves.
const MICROS: Bounds = Bounds {
    noun: "a whole number of microseconds",
    lo: 0,
    hi: 10_000,
};

/// Where a value came from, named the way the user wrote it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    /// A JS option.
    Option(&'static str),
    /// A parameter of the connection string (`url` is `` `connectionString` `` or `DATABASE_URL`).
    Url {
        url: &'static str,
        part: &'static str,
    },
    /// An environment variable.
    Env(&'static str),
    /// The default of an option.
    Default(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Option(name) => write!(f, "`{name}`"),
            Source::Url { url, part } => write!(f, "the {part} in {url}"),
            Source::Env(name) => f.write_str(name),
            Source::Default(name) => write!(f, "the default `{name}`"),
        }
    }
}

/// A number as JavaScript prints it, so a message shows what the user wrote.
fn js_number(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "Infinity".into(),
        v if v == f64::NEG_INFINITY => "-Infinity".into(),
        0.0 => "0".into(),
        v => v.to_string(),
    }
}

/// "`max` must be an integer ≥ 1 (got 0)".
fn out_of_bounds(source: Source, bounds: Bounds, over: bool, got: &str) -> Error {
    let Bounds { noun, lo, hi } = bounds;
    let range = if hi == UNBOUNDED && !over {
        format!("≥ {lo}")
    } else {
        format!("from {lo} to {hi}")
    };
    Error::config(format!("{source} must be {noun} {range} (got {got})"))
}

/// Checks a JS number against `bounds`.
fn option_integer(source: Source, value: f64, bounds: Bounds) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= bounds.lo as f64 {
        if value <= bounds.hi as f64 {
            return Ok(value as u64);
        }
        return Err(out_of_bounds(source, bounds, true, &js_number(value)));
    }
    Err(out_of_bounds(source, bounds, false, &js_number(value)))
}

/// Parses an environment variable's text against `bounds`.
fn env_integer(source: Source, text: &str, bounds: Bounds) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(v) if (bounds.lo..=bounds.hi).contains(&v) => Ok(v),
        Ok(v) => Err(out_of_bounds(
            source,
            bounds,
            v > bounds.hi,
            &format!("{text:?}"),
        )),
        Err(_) => Err(out_of_bounds(source, bounds, false, &format!("{text:?}"))),
    }
}

/// The parsed connection string and the name it goes by in messages.
struct Url {
    name: &'static str,
    pg: tokio_postgres::Config,
    /// Its TLS parameters, which tokio-postgres does not parse (see `tls::URL_PARAMETERS`).
    tls: Vec<(String, String)>,
    /// The string as given (never shown: it may hold a password).
    text: String,
}

/// What [`resolve`] reads from: the environment and the parsed connection string.
struct Sources<'a> {
    env: &'a HashMap<String, String>,
    url: Option<Url>,
}

impl Sources<'_> {
    /// The first of `names` that is set and not empty.
    fn env(&self, names: &[&'static str]) -> Option<(&str, Source)> {
        names.iter().find_map(|name| {
            let value = self.env.get(*name).filter(|v| !v.is_empty())?;
            Some((value.as_str(), Source::Env(name)))
        })
    }

    /// The connection string's `part`, when it sets it.
    fn url<'u, T>(
        &'u self,
        part: &'static str,
        get: impl FnOnce(&'u tokio_postgres::Config) -> Option<T>,
    ) -> Option<(T, Source)> {
        let url = self.url.as_ref()?;
        Some((
            get(&url.pg)?,
            Source::Url {
                url: url.name,
                part,
            },
        ))
    }

    /// A text setting: the option, the connection string's `part`, the environment.
    fn text(
        &self,
        setting: &Setting,
        option: Option<&str>,
        part: &'static str,
        get: impl FnOnce(&tokio_postgres::Config) -> Option<&str>,
    ) -> Option<(String, Source)> {
        if let Some(value) = option {
            return Some((value.to_owned(), Source::Option(setting.option)));
        }
        if let Some((value, source)) = self.url(part, get) {
            return Some((value.to_owned(), source));
        }
        self.env(setting.env)
            .map(|(value, source)| (value.to_owned(), source))
    }

    /// An integer setting: the option, the connection string's value, the environment.
    fn integer(
        &self,
        setting: &Setting,
        option: Option<f64>,
        url: Option<(u64, Source)>,
        bounds: Bounds,
    ) -> Result<Option<(u64, Source)>> {
        if let Some(value) = option {
            let source = Source::Option(setting.option);
            return option_integer(source, value, bounds).map(|v| Some((v, source)));
        }
        if let Some((value, source)) = url {
            if !(bounds.lo..=bounds.hi).contains(&value) {
                return Err(out_of_bounds(
                    source,
                    bounds,
                    value > bounds.hi,
                    &value.to_string(),
                ));
            }
            return Ok(Some((value, source)));
        }
        match self.env(setting.env) {
            Some((text, source)) => env_integer(source, text, bounds).map(|v| Some((v, source))),
            None => Ok(None),
        }
    }
}

/// Refuses an empty string where the server needs a name.
fn not_empty(value: Option<(String, Source)>) -> Result<Option<(String, Source)>> {
    match value {
        Some((v, source)) if v.is_empty() => Err(Error::config(format!(
            "{source} must not be empty: leave it out to use the next source"
        ))),
        other => Ok(other),
    }
}

/// What a connection string should look like, for messages.
const URL_SHAPE: &str = "expected postgres://user:password@host:port/database?param=value or \
                         key=value pairs such as host=localhost dbname=app";

/// Parses a connection string. Messages never quote it: it usually holds a password.
fn parse_url(name: &'static str, text: &str) -> Result<Url> {
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
    let (text, tls) = tls::take_url_parameters(text);
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
                 connect_timeout, keepalives, target_session_attrs, channel_binding and \
                 load_balance_hosts"
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
        tls,
        text: text.to_owned(),
    })
}

/// The time between keepalive probes: a third of the user timeout, in the kernel's whole seconds
/// from 1 s up to its own default of 75 s. The kernel gives a silent peer up at the first probe
/// tick past `TCP_USER_TIMEOUT`, so while a long statement runs (nothing unacknowledged) a server
/// that vanished is found after the idle delay plus about one interval, not plus 75 s.
fn keepalive_interval(tcp_user_timeout_millis: u64) -> Duration {
    Duration::from_secs((tcp_user_timeout_millis / 3).div_ceil(1000).clamp(1, 75))
}

/// Whether the password part of a `postgres://` URL holds a `%`: decoded as an escape, which a
/// password pasted into a URL as it is rarely means.
fn url_password_has_percent(text: &str) -> bool {
    let Some((_, rest)) = text.split_once("://") else {
        return false;
    };
    rest.rfind('@')
        .and_then(|at| rest[..at].split_once(':'))
        .is_some_and(|(_, password)| password.contains('%'))
}

/// Copies the connection string's parameters that no option or environment variable sets.
fn carry_over(url: &tokio_postgres::Config, pg: &mut tokio_postgres::Config) {
    pg.keepalives(url.get_keepalives())
        .keepalives_idle(url.get_keepalives_idle())
        .target_session_attrs(url.get_target_session_attrs())
        .load_balance_hosts(url.get_load_balance_hosts());
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
fn url_ports(url: &tokio_postgres::Config) -> &[u16] {
    let ports = url.get_ports();
    let hosts = url.get_hosts().len().max(url.get_hostaddrs().len());
    if hosts > 0 && ports.len() > hosts {
        &ports[ports.len() - hosts..]
    } else {
        ports
    }
}

/// Resolves `options` over the connection string, the environment `env` and the defaults.
pub fn resolve(options: &Options, env: &HashMap<String, String>) -> Result<Config> {
    let url = match &options.connection_string {
        Some(text) => Some(parse_url("`connectionString`", text)?),
        None => match env.get(DATABASE_URL).filter(|v| !v.is_empty()) {
            Some(text) => Some(parse_url(DATABASE_URL, text)?),
            None => None,
        },
    };
    let sources = Sources { env, url };
    let url = sources.url.as_ref().map(|u| &u.pg);
    let mut pg = tokio_postgres::Config::new();
    if let Some(url) = url {
        carry_over(url, &mut pg);
    }

    // Hosts: a connection string may list several (with their `hostaddr`s); the others give one.
    let url_hosts = url.filter(|u| !u.get_hosts().is_empty() || !u.get_hostaddrs().is_empty());
    let hosts_from_url = options.host.is_none() && url_hosts.is_some();
    if let Some(host) = not_empty(
        options
            .host
            .clone()
            .map(|h| (h, Source::Option(HOST.option))),
    )? {
        pg.host(host.0);
    } else if let Some(url) = url_hosts {
        for host in url.get_hosts() {
            match host {
                Host::Tcp(h) => pg.host(h),
                Host::Unix(path) => pg.host_path(path),
            };
        }
        for addr in url.get_hostaddrs() {
            pg.hostaddr(*addr);
        }
    } else {
        let host = not_empty(sources.env(HOST.env).map(|(h, s)| (h.to_owned(), s)))?;
        pg.host(host.map_or(defaults::HOST.to_owned(), |(h, _)| h));
    }

    let url_port = sources.url("port", |u| url_ports(u).first().map(|p| u64::from(*p)));
    match sources.integer(&PORT, options.port, url_port, PORT_NUMBER)? {
        Some((_, Source::Url { .. })) if hosts_from_url => {
            for port in url.map_or(&[][..], url_ports) {
                pg.port(*port);
            }
        }
        Some((port, _)) => {
            pg.port(port as u16);
        }
        None => {
            pg.port(defaults::PORT);
        }
    }

    let user = not_empty(sources.text(&USER, options.user.as_deref(), "user", |u| u.get_user()))?
        .map(|(user, _)| user)
        .or_else(|| env.get(OS_USER).filter(|v| !v.is_empty()).cloned())
        .unwrap_or_else(|| defaults::USER.to_owned());
    let database = not_empty(sources.text(
        &DATABASE,
        options.database.as_deref(),
        "database",
        |u| u.get_dbname(),
    ))?
    .map_or_else(|| user.clone(), |(database, _)| database);
    pg.user(&user).dbname(&database);

    let password_note = match (&options.password, &sources.url) {
        (None, Some(url)) if url_password_has_percent(url.text.as_str()) => Some(format!(
            " (the password in {} has a `%`, which a URL reads as an escape such as %41 for A: \
             write a literal % as %25, or pass the password in `password`)",
            url.name
        )),
        _ => None,
    };
    let password = match &options.password {
        Some(password) => Some(password.as_bytes().to_vec()),
        None => sources
            .url("password", |u| u.get_password())
            .map(|(p, _)| p.to_vec())
            .or_else(|| {
                sources
                    .env(PASSWORD.env)
                    .map(|(p, _)| p.as_bytes().to_vec())
            }),
    };
    if let Some(password) = password {
        pg.password(password);
    }

    let application_name = sources
        .text(
            &APPLICATION_NAME,
            options.application_name.as_deref(),
            "application_name",
            |u| u.get_application_name(),
        )
        .map_or_else(|| defaults::APPLICATION_NAME.to_owned(), |(name, _)| name);
    pg.application_name(&application_name);

    // The statement timeout travels as a startup option. The server applies startup options in
    // order, so the one that should win goes last: an explicit `statementTimeout` after the
    // connection string's `options`, `DB_STATEMENT_TIMEOUT` before them.
    let timeout = sources.integer(&STATEMENT_TIMEOUT, options.statement_timeout, None, MILLIS)?;
    let timeout = timeout.map(|(ms, source)| (format!("-c statement_timeout={ms}"), source));
    let url_options = url.and_then(|u| u.get_options()).map(str::to_owned);
    let settings = server_settings(&options.server_settings)?;
    let startup: Vec<String> = match timeout {
        Some((timeout, Source::Option(_))) => [url_options, settings, Some(timeout)],
        Some((timeout, _)) => [Some(timeout), url_options, settings],
        None => [url_options, settings, None],
    }
    .into_iter()
    .flatten()
    .collect();
    if !startup.is_empty() {
        pg.options(startup.join(" "));
    }

    let profile = profile::of(env.get(NODE_ENV).map(String::as_str));
    let (max, max_source) = sources
        .integer(&MAX, options.max, None, COUNT)?
        .unwrap_or((profile.max, Source::Default(MAX.option)));
    let (min, min_source) = match sources.integer(&MIN, options.min, None, COUNT_OR_ZERO)? {
        Some(min) => min,
        // The profile's `min` gives way to an explicit `max` below it (`{ max: 1 }`).
        None => (profile.min.min(max), Source::Default(MIN.option)),
    };
    if min > max {
        return Err(Error::config(format!(
            "{min_source} ({min}) must not be greater than {max_source} ({max}): lower `min` or \
             raise `max`"
        )));
    }
    // libpq's `connect_timeout` is in seconds.
    let url_timeout = sources.url("connect_timeout", |u| {
        let ms = u.get_connect_timeout()?.as_millis();
        Some(ms.min(u128::from(MILLIS.hi)) as u64)
    });
    let connection_timeout = sources
        .integer(
            &CONNECTION_TIMEOUT,
            options.connection_timeout_millis,
            url_timeout,
            MILLIS,
        )?
        .map_or(profile.connection_timeout_millis, |(ms, _)| ms);
    let max_prepared_statements = sources
        .integer(
            &MAX_PREPARED_STATEMENTS,
            options.max_prepared_statements,
            None,
            COUNT,
        )?
        .map_or(defaults::MAX_PREPARED_STATEMENTS, |(n, _)| n as usize);
    let idle_timeout = sources
        .integer(&IDLE_TIMEOUT, options.idle_timeout_millis, None, MILLIS)?
        .map_or(profile.idle_timeout_millis, |(ms, _)| ms);
    let max_lifetime = sources
        .integer(
            &MAX_LIFETIME,
            options.max_lifetime_seconds,
            None,
            COUNT_OR_ZERO,
        )?
        .map_or(0, |(s, _)| s);
    let max_uses = sources
        .integer(&MAX_USES, options.max_uses, None, COUNT_OR_ZERO)?
        .map_or(0, |(n, _)| n);
    let keep_alive = options.keep_alive.unwrap_or(defaults::KEEP_ALIVE);
    pg.keepalives(keep_alive);
    if keep_alive {
        let delay = sources
            .integer(
                &KEEP_ALIVE_DELAY,
                options.keep_alive_initial_delay_millis,
                None,
                MILLIS,
            )?
            .map_or(defaults::KEEP_ALIVE_INITIAL_DELAY_MILLIS, |(ms, _)| ms);
        // The kernel counts keepalive idle time in whole seconds.
        pg.keepalives_idle(Duration::from_secs(delay.div_ceil(1000).max(1)));
    }
    if connection_timeout > 0 {
        pg.connect_timeout(Duration::from_millis(connection_timeout));
    }
    let url_user_timeout = sources.url("tcp_user_timeout", |u| {
        let ms = u.get_tcp_user_timeout()?.as_millis();
        Some(ms.min(u128::from(MILLIS.hi)) as u64)
    });
    let tcp_user_timeout = sources
        .integer(
            &TCP_USER_TIMEOUT,
            options.tcp_user_timeout_millis,
            url_user_timeout,
            MILLIS,
        )?
        .map_or(defaults::TCP_USER_TIMEOUT_MILLIS, |(ms, _)| ms);
    pg.tcp_user_timeout(Duration::from_millis(tcp_user_timeout));
    let url_interval = sources.url("keepalives_interval", |u| u.get_keepalives_interval());
    if keep_alive && tcp_user_timeout > 0 && url_interval.is_none() {
        pg.keepalives_interval(keepalive_interval(tcp_user_timeout));
    }
    let leak_detection_threshold = sources
        .integer(
            &LEAK_DETECTION_THRESHOLD,
            options.leak_detection_threshold,
            None,
            MILLIS,
        )?
        .map_or(defaults::LEAK_DETECTION_THRESHOLD_MILLIS, |(ms, _)| ms);
    let busy_poll = sources
        .integer(&BUSY_POLL, options.busy_poll_micros, None, MICROS)?
        .map_or(defaults::BUSY_POLL_MICROS, |(us, _)| us);
    let query_timeout = sources
        .integer(&QUERY_TIMEOUT, options.query_timeout_millis, None, MILLIS)?
        .map_or(defaults::QUERY_TIMEOUT_MILLIS, |(ms, _)| ms);
    let cancel_timeout = sources
        .integer(&CANCEL_TIMEOUT, options.cancel_timeout_millis, None, MILLIS)?
        .map_or(defaults::CANCEL_TIMEOUT_MILLIS, |(ms, _)| ms);
    let circuit = match options.circuit_breaker {
        Some(None) => None,
        settings => {
            let (threshold, reset) = settings.flatten().unwrap_or((None, None));
            let threshold = sources
                .integer(&CIRCUIT_THRESHOLD, threshold, None, COUNT)?
                .map_or(defaults::CIRCUIT_FAILURE_THRESHOLD, |(n, _)| n);
            let reset = sources
                .integer(&CIRCUIT_RESET, reset, None, MILLIS)?
                .map_or(defaults::CIRCUIT_RESET_TIMEOUT_MILLIS, |(ms, _)| ms);
            Some(crate::circuit::Settings {
                failure_threshold: threshold as u32,
                reset_timeout: Duration::from_millis(reset),
            })
        }
    };
    let (url_tls, url_name) = sources
        .url
        .as_ref()
        .map_or((&[][..], DATABASE_URL), |u| (&u.tls[..], u.name));
    let tls = tls::resolve(&options.tls, url_tls, url_name, &sources)?;
    pg.ssl_mode(tls.first_attempt())
        .channel_binding(tls.channel_binding)
        .ssl_negotiation(if tls.direct {
            tokio_postgres::config::SslNegotiation::Direct
        } else {
            tokio_postgres::config::SslNegotiation::Postgres
        });
    Ok(Config {
        pg,
        max: max as usize,
        min: min as usize,
        connection_timeout: (connection_timeout > 0)
            .then(|| Duration::from_millis(connection_timeout)),
        statement_cache: options.statement_cache.unwrap_or(defaults::STATEMENT_CACHE),
        max_prepared_statements,
        idle_timeout: (idle_timeout > 0).then(|| Duration::from_millis(idle_timeout)),
        max_lifetime: (max_lifetime > 0).then(|| Duration::from_secs(max_lifetime)),
        max_uses,
        name: not_empty(options.name.clone().map(|n| (n, Source::Option("name"))))?.map(|(n, _)| n),
        log: log_settings(options, &sources)?,
        leak_detection_threshold: (leak_detection_threshold > 0)
            .then(|| Duration::from_millis(leak_detection_threshold)),
        busy_poll: Duration::from_micros(busy_poll),
        circuit,
        profile: profile.name,
        query_timeout: (query_timeout > 0).then(|| Duration::from_millis(query_timeout)),
        cancel_timeout: Duration::from_millis(cancel_timeout),
        tls,
        password_note,
    })
}

/// The level names `logLevel` accepts, most severe first.
const LEVELS: [(&str, Option<tracing::Level>); 6] = [
    ("off", None),
    ("error", Some(tracing::Level::ERROR)),
    ("warn", Some(tracing::Level::WARN)),
    ("info", Some(tracing::Level::INFO)),
    ("debug", Some(tracing::Level::DEBUG)),
    ("trace", Some(tracing::Level::TRACE)),
];

/// `LOG_LEVEL` is often set for the application's own logger, so the names pino and winston use
/// are read as the nearest level here rather than refused.
const LEVEL_SYNONYMS: [(&str, &str); 5] = [
    ("silent", "off"),
    ("fatal", "error"),
    ("http", "debug"),
    ("verbose", "debug"),
    ("silly", "trace"),
];

/// `logLevel`, `LOG_LEVEL`, `slowQueryMillis` and `logParameters`.
fn log_settings(options: &Options, sources: &Sources) -> Result<LogSettings> {
    let named = |name: &str| LEVELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    let level = match (&options.log_level, sources.env(LOG_LEVEL.env)) {
        (Some(name), _) => named(name).ok_or_else(|| {
            Error::config(format!(
                "`logLevel` must be 'error', 'warn', 'info', 'debug', 'trace' or 'off' (got {name:?})"
            ))
        })?,
        (None, Some((text, source))) => {
            let lower = text.trim().to_ascii_lowercase();
            let name = LEVEL_SYNONYMS
                .iter()
                .find(|(s, _)| *s == lower)
                .map_or(lower.as_str(), |(_, n)| n);
            named(name).ok_or_else(|| {
                Error::config(format!(
                    "{source} must be error, warn, info, debug, trace or off (got {text:?}): \
                     unset it or pass `logLevel`"
                ))
            })?
        }
        (None, None) => Some(defaults::LOG_LEVEL),
    };
    let slow = sources.integer(&SLOW_QUERY, options.slow_query_millis, None, MILLIS)?;
    Ok(LogSettings {
        level,
        slow_query: slow
            .filter(|(ms, _)| *ms > 0)
            .map(|(ms, _)| Duration::from_millis(ms)),
        parameters: options.log_parameters.unwrap_or(false),
    })
}

/// The `options` server settings as startup options (`-c name=value …`), with the escaping the
/// server's option splitter expects: a backslash before spaces and backslashes.
fn server_settings(settings: &[(String, String)]) -> Result<Option<String>> {
    let mut out = Vec::with_capacity(settings.len());
    for (name, value) in settings {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(Error::config(format!(
                "`options` keys must be server setting names such as search_path (got {name:?})"
            )));
        }
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            if c == '\\' || c.is_whitespace() {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        out.push(format!("-c {name}={escaped}"));
    }
    Ok((!out.is_empty()).then(|| out.join(" ")))
}

/// Where a configuration connects, without its password: `user@host:port/database`, with every
/// host when there are several.
pub fn describe(config: &Config) -> String {
    let pg = &config.pg;
    let ports = pg.get_ports();
    let port = |i: usize| {
        ports
            .get(i)
            .or(ports.first())
            .copied()
            .unwrap_or(defaults::PORT)
    };
    let mut hosts: Vec<String> = pg.get_hosts().iter().map(host_text).collect();
    if hosts.is_empty() {
        hosts = pg.get_hostaddrs().iter().map(ToString::to_string).collect();
    }
    let hosts: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| format!("{host}:{}", port(i)))
        .collect();
    format!(
        "{}@{}/{}",
        pg.get_user().unwrap_or(""),
        hosts.join(","),
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
mod tests;
