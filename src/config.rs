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
}

/// The defaults, each with its reason.
pub mod defaults {
    /// node-postgres's and HikariCP's default pool size.
    pub const MAX: usize = 10;
    /// Lazy like node-postgres: no connection until the first query.
    pub const MIN: usize = 0;
    /// node-postgres's default; libpq's own default socket directory differs between systems.
    pub const HOST: &str = "localhost";
    /// libpq's default port.
    pub const PORT: u16 = 5432;
    /// When `USER` is unset too (as in many containers): the superuser every cluster starts with.
    pub const USER: &str = "postgres";
    /// HikariCP's `connectionTimeout`: long enough for a busy pool, short enough to notice.
    pub const CONNECTION_TIMEOUT_MILLIS: u64 = 30_000;
    /// Shown in `pg_stat_activity` so operators can tell this pool's backends apart.
    pub const APPLICATION_NAME: &str = "pg-rust-pool";
    /// On: a repeated query then costs one round trip instead of two.
    pub const STATEMENT_CACHE: bool = true;
    /// Hundreds of distinct statements cover most applications; each costs server memory.
    pub const MAX_PREPARED_STATEMENTS: usize = 256;
    /// Off, as in HikariCP: how long is too long depends on the application.
    pub const LEAK_DETECTION_THRESHOLD_MILLIS: u64 = 0;
    /// node-postgres' `idleTimeoutMillis`: idle connections above `min` go after 10 s.
    pub const IDLE_TIMEOUT_MILLIS: u64 = 10_000;
    /// On: a connection through a NAT or firewall that dropped it is noticed, not kept forever.
    pub const KEEP_ALIVE: bool = true;
    /// One minute, well under the idle timeouts of common NATs and load balancers (several
    /// minutes); the OS default of two hours would notice a dead peer far too late.
    pub const KEEP_ALIVE_INITIAL_DELAY_MILLIS: u64 = 60_000;
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
    let pg = tokio_postgres::Config::from_str(text).map_err(|e| {
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
    Ok(Url { name, pg })
}

/// Copies the connection string's parameters that no option or environment variable sets.
fn carry_over(url: &tokio_postgres::Config, pg: &mut tokio_postgres::Config) {
    pg.ssl_mode(url.get_ssl_mode())
        .ssl_negotiation(url.get_ssl_negotiation())
        .keepalives(url.get_keepalives())
        .keepalives_idle(url.get_keepalives_idle())
        .target_session_attrs(url.get_target_session_attrs())
        .channel_binding(url.get_channel_binding())
        .load_balance_hosts(url.get_load_balance_hosts());
    if let Some(timeout) = url.get_tcp_user_timeout() {
        pg.tcp_user_timeout(*timeout);
    }
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

    let (max, max_source) = sources
        .integer(&MAX, options.max, None, COUNT)?
        .unwrap_or((defaults::MAX as u64, Source::Default(MAX.option)));
    let (min, min_source) = sources
        .integer(&MIN, options.min, None, COUNT_OR_ZERO)?
        .unwrap_or((defaults::MIN as u64, Source::Default(MIN.option)));
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
        .map_or(defaults::CONNECTION_TIMEOUT_MILLIS, |(ms, _)| ms);
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
        .map_or(defaults::IDLE_TIMEOUT_MILLIS, |(ms, _)| ms);
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
    let leak_detection_threshold = sources
        .integer(
            &LEAK_DETECTION_THRESHOLD,
            options.leak_detection_threshold,
            None,
            MILLIS,
        )?
        .map_or(defaults::LEAK_DETECTION_THRESHOLD_MILLIS, |(ms, _)| ms);
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
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode;

    /// A password no message may contain.
    const SECRET: &str = "S3cret-pw";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn url(text: &str) -> Options {
        Options {
            connection_string: Some(text.into()),
            ..Default::default()
        }
    }

    fn ok(options: &Options, pairs: &[(&str, &str)]) -> Config {
        resolve(options, &env(pairs)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The message of the `INVALID_CONFIG` error `resolve` gives, checked for the password.
    fn error(options: &Options, pairs: &[(&str, &str)]) -> String {
        let e = resolve(options, &env(pairs)).expect_err("should be invalid");
        assert_eq!(e.code(), "INVALID_CONFIG");
        let message = e.to_string();
        assert!(!message.contains(SECRET), "leaks the password: {message}");
        assert!(
            !message.contains("S3cret"),
            "leaks part of the password: {message}"
        );
        message
    }

    fn tcp(host: &str) -> Host {
        Host::Tcp(host.into())
    }

    fn unix(path: &str) -> Host {
        Host::Unix(path.into())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = ok(&Options::default(), &[]);
        assert_eq!(c.pg.get_hosts(), [tcp("localhost")]);
        assert_eq!(c.pg.get_ports(), [5432]);
        assert_eq!(c.pg.get_user(), Some("postgres"));
        assert_eq!(c.pg.get_dbname(), Some("postgres"));
        assert_eq!(c.pg.get_password(), None);
        assert_eq!(c.pg.get_application_name(), Some("pg-rust-pool"));
        assert_eq!(c.pg.get_options(), None);
        assert_eq!(c.pg.get_ssl_mode(), SslMode::Prefer);
        assert_eq!((c.max, c.min), (10, 0));
        assert_eq!(c.connection_timeout, Some(Duration::from_secs(30)));
        assert!(c.statement_cache);
        assert_eq!(c.max_prepared_statements, 256);
        assert_eq!(c.leak_detection_threshold, None);
    }

    #[test]
    fn the_user_defaults_to_user_and_the_database_to_the_user() {
        let c = ok(&Options::default(), &[("USER", "alice")]);
        assert_eq!(c.pg.get_user(), Some("alice"));
        assert_eq!(c.pg.get_dbname(), Some("alice"));
        let c = ok(&Options::default(), &[("USER", "alice"), ("PGUSER", "bob")]);
        assert_eq!(c.pg.get_user(), Some("bob"));
        assert_eq!(c.pg.get_dbname(), Some("bob"));
    }

    #[test]
    fn every_option_is_used() {
        let options = Options {
            host: Some("db.example".into()),
            port: Some(6543.0),
            database: Some("app".into()),
            user: Some("me".into()),
            password: Some(SECRET.into()),
            max: Some(20.0),
            min: Some(2.0),
            application_name: Some("api".into()),
            connection_timeout_millis: Some(1500.0),
            statement_timeout: Some(250.0),
            statement_cache: Some(false),
            max_prepared_statements: Some(32.0),
            leak_detection_threshold: Some(5000.0),
            connection_string: None,
            idle_timeout_millis: Some(500.0),
            max_lifetime_seconds: Some(60.0),
            max_uses: Some(7.0),
            keep_alive: Some(true),
            keep_alive_initial_delay_millis: Some(1500.0),
            server_settings: vec![("search_path".into(), "a b\\c".into())],
            name: Some("main".into()),
            log_level: Some("debug".into()),
            slow_query_millis: Some(50.0),
            log_parameters: Some(true),
        };
        let c = ok(&options, &[]);
        assert_eq!(c.name.as_deref(), Some("main"));
        assert_eq!(c.log.level, Some(tracing::Level::DEBUG));
        assert_eq!(c.idle_timeout, Some(Duration::from_millis(500)));
        assert_eq!(c.max_lifetime, Some(Duration::from_secs(60)));
        assert_eq!(c.max_uses, 7);
        assert!(c.pg.get_keepalives());
        assert_eq!(c.pg.get_keepalives_idle(), Duration::from_secs(2));
        assert_eq!(c.pg.get_hosts(), [tcp("db.example")]);
        assert_eq!(c.pg.get_ports(), [6543]);
        assert_eq!(c.pg.get_dbname(), Some("app"));
        assert_eq!(c.pg.get_user(), Some("me"));
        assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
        assert_eq!(c.pg.get_application_name(), Some("api"));
        assert_eq!(
            c.pg.get_options(),
            Some("-c search_path=a\\ b\\\\c -c statement_timeout=250")
        );
        assert_eq!((c.max, c.min), (20, 2));
        assert_eq!(c.connection_timeout, Some(Duration::from_millis(1500)));
        assert!(!c.statement_cache);
        assert_eq!(c.max_prepared_statements, 32);
        assert_eq!(c.leak_detection_threshold, Some(Duration::from_secs(5)));
    }

    #[test]
    fn zero_timeouts_mean_no_limit() {
        let c = ok(
            &Options {
                connection_timeout_millis: Some(0.0),
                statement_timeout: Some(0.0),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(c.connection_timeout, None);
        // Sent explicitly: 0 overrides a statement_timeout set on the role or database.
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=0"));
    }

    #[test]
    fn every_environment_variable_is_used() {
        let none = Options::default();
        let c = ok(
            &none,
            &[
                ("DB_HOST", "dbhost"),
                ("DB_PORT", "7001"),
                ("DB_NAME", "dbname"),
                ("DB_USER", "dbuser"),
                ("DB_PASSWORD", SECRET),
                ("DB_APPLICATION_NAME", "dbapp"),
                ("DB_POOL_MAX", "30"),
                ("DB_POOL_MIN", "3"),
                ("DB_TIMEOUT", "4000"),
                ("DB_STATEMENT_TIMEOUT", "5000"),
                ("DB_LEAK_DETECTION_THRESHOLD", "6000"),
            ],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("dbhost")]);
        assert_eq!(c.pg.get_ports(), [7001]);
        assert_eq!(c.pg.get_dbname(), Some("dbname"));
        assert_eq!(c.pg.get_user(), Some("dbuser"));
        assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
        assert_eq!(c.pg.get_application_name(), Some("dbapp"));
        assert_eq!((c.max, c.min), (30, 3));
        assert_eq!(c.connection_timeout, Some(Duration::from_secs(4)));
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=5000"));
        assert_eq!(c.leak_detection_threshold, Some(Duration::from_secs(6)));

        let c = ok(
            &none,
            &[
                ("PGHOST", "pghost"),
                ("PGPORT", "7002"),
                ("PGDATABASE", "pgdb"),
                ("PGUSER", "pguser"),
                ("PGPASSWORD", SECRET),
                ("PGAPPNAME", "pgapp"),
            ],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("pghost")]);
        assert_eq!(c.pg.get_ports(), [7002]);
        assert_eq!(c.pg.get_dbname(), Some("pgdb"));
        assert_eq!(c.pg.get_user(), Some("pguser"));
        assert_eq!(c.pg.get_password(), Some(SECRET.as_bytes()));
        assert_eq!(c.pg.get_application_name(), Some("pgapp"));

        let c = ok(
            &none,
            &[("DATABASE_URL", "postgres://u:pw@urlhost:7003/urldb")],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("urlhost")]);
        assert_eq!(c.pg.get_ports(), [7003]);
        assert_eq!(c.pg.get_dbname(), Some("urldb"));
        assert_eq!(c.pg.get_user(), Some("u"));
        assert_eq!(c.pg.get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn environment_numbers_may_have_surrounding_spaces() {
        let c = ok(&Options::default(), &[("DB_POOL_MAX", " 12 ")]);
        assert_eq!(c.max, 12);
    }

    #[test]
    fn empty_environment_variables_count_as_unset() {
        let c = ok(
            &Options::default(),
            &[
                ("DATABASE_URL", ""),
                ("DB_HOST", ""),
                ("PGHOST", "pghost"),
                ("DB_PORT", ""),
                ("DB_USER", ""),
                ("DB_PASSWORD", ""),
                ("DB_POOL_MAX", ""),
            ],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("pghost")]);
        assert_eq!(c.pg.get_ports(), [5432]);
        assert_eq!(c.pg.get_user(), Some("postgres"));
        assert_eq!(c.pg.get_password(), None);
        assert_eq!(c.max, 10);
    }

    /// For each setting: with every source set, each one in turn wins once the ones above it are
    /// removed: option > connection string > DB_* > PG* > default.
    #[test]
    fn precedence_is_option_then_url_then_db_then_pg_then_default() {
        type Get = fn(&Config) -> String;
        let host: Get = |c| host_text(&c.pg.get_hosts()[0]);
        let port: Get = |c| c.pg.get_ports()[0].to_string();
        let database: Get = |c| c.pg.get_dbname().unwrap().to_owned();
        let user: Get = |c| c.pg.get_user().unwrap().to_owned();
        let password: Get = |c| {
            c.pg.get_password()
                .map_or("-".into(), |p| String::from_utf8(p.to_vec()).unwrap())
        };
        let app: Get = |c| c.pg.get_application_name().unwrap().to_owned();
        let full = Options {
            connection_string: Some(
                "postgres://urluser:urlpw@urlhost:2/urldb?application_name=urlapp".into(),
            ),
            host: Some("opthost".into()),
            port: Some(1.0),
            database: Some("optdb".into()),
            user: Some("optuser".into()),
            password: Some("optpw".into()),
            application_name: Some("optapp".into()),
            ..Default::default()
        };
        let all_env = [
            ("DB_HOST", "dbhost"),
            ("PGHOST", "pghost"),
            ("DB_PORT", "3"),
            ("PGPORT", "4"),
            ("DB_NAME", "dbdb"),
            ("PGDATABASE", "pgdb"),
            ("DB_USER", "dbuser"),
            ("PGUSER", "pguser"),
            ("DB_PASSWORD", "dbpw"),
            ("PGPASSWORD", "pgpw"),
            ("DB_APPLICATION_NAME", "dbapp"),
            ("PGAPPNAME", "pgapp"),
        ];
        let rows: [(&str, Get, [&str; 5]); 6] = [
            (
                "host",
                host,
                ["opthost", "urlhost", "dbhost", "pghost", "localhost"],
            ),
            ("port", port, ["1", "2", "3", "4", "5432"]),
            (
                "database",
                database,
                ["optdb", "urldb", "dbdb", "pgdb", "postgres"],
            ),
            (
                "user",
                user,
                ["optuser", "urluser", "dbuser", "pguser", "postgres"],
            ),
            (
                "password",
                password,
                ["optpw", "urlpw", "dbpw", "pgpw", "-"],
            ),
            (
                "app",
                app,
                ["optapp", "urlapp", "dbapp", "pgapp", "pg-rust-pool"],
            ),
        ];
        for (name, get, expected) in rows {
            let mut options = full.clone();
            let mut pairs = all_env.to_vec();
            assert_eq!(get(&ok(&options, &pairs)), expected[0], "{name}: option");
            options = Options {
                connection_string: full.connection_string.clone(),
                ..Default::default()
            };
            assert_eq!(get(&ok(&options, &pairs)), expected[1], "{name}: url");
            options.connection_string = None;
            assert_eq!(get(&ok(&options, &pairs)), expected[2], "{name}: DB_*");
            pairs.retain(|(k, _)| !k.starts_with("DB_"));
            assert_eq!(get(&ok(&options, &pairs)), expected[3], "{name}: PG*");
            pairs.clear();
            assert_eq!(get(&ok(&options, &pairs)), expected[4], "{name}: default");
        }
    }

    #[test]
    fn pool_settings_prefer_options_over_the_environment() {
        let pairs = [
            ("DB_POOL_MAX", "30"),
            ("DB_POOL_MIN", "3"),
            ("DB_TIMEOUT", "4000"),
            ("DB_STATEMENT_TIMEOUT", "5000"),
            ("DB_LEAK_DETECTION_THRESHOLD", "6000"),
        ];
        let c = ok(
            &Options {
                max: Some(5.0),
                min: Some(1.0),
                connection_timeout_millis: Some(100.0),
                statement_timeout: Some(200.0),
                leak_detection_threshold: Some(0.0),
                ..Default::default()
            },
            &pairs,
        );
        assert_eq!((c.max, c.min), (5, 1));
        assert_eq!(c.connection_timeout, Some(Duration::from_millis(100)));
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=200"));
        assert_eq!(c.leak_detection_threshold, None);
    }

    #[test]
    fn connection_string_beats_database_url_and_fills_in_around_options() {
        let c = ok(
            &Options {
                connection_string: Some("postgres://a@h1/one".into()),
                database: Some("optdb".into()),
                ..Default::default()
            },
            &[("DATABASE_URL", "postgres://b@h2/two")],
        );
        assert_eq!(c.pg.get_user(), Some("a"));
        assert_eq!(c.pg.get_hosts(), [tcp("h1")]);
        assert_eq!(c.pg.get_dbname(), Some("optdb"));
        // What the URL leaves out comes from the environment.
        let c = ok(
            &url("postgres:///urldb"),
            &[("DB_HOST", "envhost"), ("PGUSER", "pg")],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("envhost")]);
        assert_eq!(c.pg.get_user(), Some("pg"));
        assert_eq!(c.pg.get_dbname(), Some("urldb"));
    }

    #[test]
    fn a_url_with_a_host_sets_the_port_like_tokio_postgres() {
        // tokio-postgres gives a URL host without a port 5432 (libpq would leave it unset).
        let c = ok(&url("postgres://h/db"), &[("DB_PORT", "6000")]);
        assert_eq!(c.pg.get_ports(), [5432]);
        let c = ok(&url("postgres:///db"), &[("DB_PORT", "6000")]);
        assert_eq!(c.pg.get_ports(), [6000]);
    }

    #[test]
    fn urls_are_percent_decoded() {
        let c = ok(
            &url("postgresql://us%40er:p%40ss%3Aw%2Frd%25@host:5433/my%20db?application_name=my%20app"),
            &[],
        );
        assert_eq!(c.pg.get_user(), Some("us@er"));
        assert_eq!(c.pg.get_password(), Some(&b"p@ss:w/rd%"[..]));
        assert_eq!(c.pg.get_dbname(), Some("my db"));
        assert_eq!(c.pg.get_application_name(), Some("my app"));
        assert_eq!(c.pg.get_ports(), [5433]);
    }

    #[test]
    fn url_parameters_are_used() {
        let c = ok(
            &url(
                "postgres://u@h/db?port=6001&application_name=qapp&options=-c%20search_path%3Dx\
                 &connect_timeout=7&sslmode=require&target_session_attrs=read-write",
            ),
            &[],
        );
        assert_eq!(c.pg.get_ports(), [6001]);
        assert_eq!(c.pg.get_application_name(), Some("qapp"));
        assert_eq!(c.pg.get_options(), Some("-c search_path=x"));
        assert_eq!(c.connection_timeout, Some(Duration::from_secs(7)));
        assert_eq!(c.pg.get_ssl_mode(), SslMode::Require);
        assert_eq!(
            c.pg.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        let c = ok(&url("postgres:///db?port=6001"), &[]);
        assert_eq!(c.pg.get_ports(), [6001]);
        let c = ok(&url("postgres://a:1,b:2/db?port=6001,6002"), &[]);
        assert_eq!(c.pg.get_ports(), [6001, 6002]);
        let c = ok(&url("postgres://a:1,b:2/db"), &[]);
        assert_eq!(c.pg.get_ports(), [1, 2]);
    }

    #[test]
    fn unix_socket_hosts() {
        let c = ok(
            &Options {
                host: Some("/var/run/postgresql".into()),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(c.pg.get_hosts(), [unix("/var/run/postgresql")]);
        let c = ok(&url("postgres:///db?host=/tmp"), &[]);
        assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
        assert_eq!(c.pg.get_dbname(), Some("db"));
        let c = ok(&url("postgresql://%2Ftmp/db"), &[]);
        assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
        let c = ok(&url("postgresql://%2Fvar%2Frun%2Fpostgresql:5433/db"), &[]);
        assert_eq!(c.pg.get_hosts(), [unix("/var/run/postgresql")]);
        assert_eq!(c.pg.get_ports(), [5433]);
        let c = ok(&url("host=/tmp dbname=db"), &[]);
        assert_eq!(c.pg.get_hosts(), [unix("/tmp")]);
        let c = ok(&Options::default(), &[("PGHOST", "/run/pg")]);
        assert_eq!(c.pg.get_hosts(), [unix("/run/pg")]);
        assert_eq!(describe(&c), "postgres@/run/pg:5432/postgres");
    }

    #[test]
    fn key_value_strings() {
        let c = ok(
            &url(&format!(
                "host=kvhost port=6002 dbname='my db' user=kv password='{SECRET} x' \
                 application_name=kvapp options='-c work_mem=4MB' connect_timeout=3"
            )),
            &[],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("kvhost")]);
        assert_eq!(c.pg.get_ports(), [6002]);
        assert_eq!(c.pg.get_dbname(), Some("my db"));
        assert_eq!(c.pg.get_user(), Some("kv"));
        assert_eq!(c.pg.get_password(), Some(format!("{SECRET} x").as_bytes()));
        assert_eq!(c.pg.get_application_name(), Some("kvapp"));
        assert_eq!(c.pg.get_options(), Some("-c work_mem=4MB"));
        assert_eq!(c.connection_timeout, Some(Duration::from_secs(3)));
    }

    #[test]
    fn several_hosts_from_a_url_are_kept() {
        let c = ok(&url("postgres://u@a:5433,b:5434,[::1]:5435/db"), &[]);
        assert_eq!(c.pg.get_hosts(), [tcp("a"), tcp("b"), tcp("::1")]);
        assert_eq!(c.pg.get_ports(), [5433, 5434, 5435]);
        assert_eq!(describe(&c), "u@a:5433,b:5434,::1:5435/db");
        // An explicit host replaces them all and takes the first port.
        let c = ok(
            &Options {
                host: Some("c".into()),
                ..url("postgres://u@a:5433,b:5434/db")
            },
            &[],
        );
        assert_eq!(c.pg.get_hosts(), [tcp("c")]);
        assert_eq!(c.pg.get_ports(), [5433]);
    }

    #[test]
    fn statement_timeout_goes_where_its_precedence_says() {
        let text = "postgres:///db?options=-c%20statement_timeout%3D9%20-c%20search_path%3Dx";
        // An explicit option comes last, so the server applies it over the URL's.
        let c = ok(
            &Options {
                statement_timeout: Some(100.0),
                ..url(text)
            },
            &[],
        );
        assert_eq!(
            c.pg.get_options(),
            Some("-c statement_timeout=9 -c search_path=x -c statement_timeout=100")
        );
        // DB_STATEMENT_TIMEOUT comes first, so the URL's own setting wins.
        let c = ok(&url(text), &[("DB_STATEMENT_TIMEOUT", "200")]);
        assert_eq!(
            c.pg.get_options(),
            Some("-c statement_timeout=200 -c statement_timeout=9 -c search_path=x")
        );
    }

    /// One change to default options.
    type Change = fn(&mut Options);

    /// Options with one change.
    fn with(change: Change) -> Options {
        let mut options = Options::default();
        change(&mut options);
        options
    }

    #[test]
    fn number_errors_name_the_option_and_the_range() {
        let ms = "must be a whole number of milliseconds from 0 to 2147483647";
        let cases: [(Change, String); 15] = [
            (
                |o| o.max = Some(0.0),
                "`max` must be an integer ≥ 1 (got 0)".into(),
            ),
            (
                |o| o.max = Some(1.5),
                "`max` must be an integer ≥ 1 (got 1.5)".into(),
            ),
            (
                |o| o.max = Some(f64::NAN),
                "`max` must be an integer ≥ 1 (got NaN)".into(),
            ),
            (
                |o| o.max = Some(f64::INFINITY),
                "`max` must be an integer ≥ 1 (got Infinity)".into(),
            ),
            (
                |o| o.max = Some(1e10),
                "`max` must be an integer from 1 to 4294967295 (got 10000000000)".into(),
            ),
            (
                |o| o.min = Some(-1.0),
                "`min` must be an integer ≥ 0 (got -1)".into(),
            ),
            (
                |o| o.port = Some(0.0),
                "`port` must be an integer from 1 to 65535 (got 0)".into(),
            ),
            (
                |o| o.port = Some(65536.0),
                "`port` must be an integer from 1 to 65535 (got 65536)".into(),
            ),
            (
                |o| o.port = Some(5432.5),
                "`port` must be an integer from 1 to 65535 (got 5432.5)".into(),
            ),
            (
                |o| o.connection_timeout_millis = Some(-1.0),
                format!("`connectionTimeoutMillis` {ms} (got -1)"),
            ),
            (
                |o| o.statement_timeout = Some(2147483648.0),
                format!("`statementTimeout` {ms} (got 2147483648)"),
            ),
            (
                |o| o.statement_timeout = Some(f64::NEG_INFINITY),
                format!("`statementTimeout` {ms} (got -Infinity)"),
            ),
            (
                |o| o.leak_detection_threshold = Some(-5.0),
                format!("`leakDetectionThreshold` {ms} (got -5)"),
            ),
            (
                |o| o.max_prepared_statements = Some(0.0),
                "`maxPreparedStatements` must be an integer ≥ 1 (got 0)".into(),
            ),
            (
                |o| (o.min, o.max) = (Some(5.0), Some(2.0)),
                "`min` (5) must not be greater than `max` (2): lower `min` or raise `max`".into(),
            ),
        ];
        for (change, message) in cases {
            assert_eq!(error(&with(change), &[]), message);
        }
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let ms = "must be a whole number of milliseconds from 0 to 2147483647";
        let min = "must not be greater than the default `max` (10): lower `min` or raise `max`";
        let cases = [
            (
                "DB_PORT",
                "abc",
                "DB_PORT must be an integer from 1 to 65535 (got \"abc\")".into(),
            ),
            (
                "PGPORT",
                "99999",
                "PGPORT must be an integer from 1 to 65535 (got \"99999\")".into(),
            ),
            (
                "DB_POOL_MAX",
                "0",
                "DB_POOL_MAX must be an integer ≥ 1 (got \"0\")".into(),
            ),
            (
                "DB_POOL_MIN",
                "-1",
                "DB_POOL_MIN must be an integer ≥ 0 (got \"-1\")".into(),
            ),
            (
                "DB_TIMEOUT",
                "1.5",
                format!("DB_TIMEOUT {ms} (got \"1.5\")"),
            ),
            (
                "DB_STATEMENT_TIMEOUT",
                "5s",
                format!("DB_STATEMENT_TIMEOUT {ms} (got \"5s\")"),
            ),
            (
                "DB_LEAK_DETECTION_THRESHOLD",
                "10s",
                format!("DB_LEAK_DETECTION_THRESHOLD {ms} (got \"10s\")"),
            ),
            ("DB_POOL_MIN", "11", format!("DB_POOL_MIN (11) {min}")),
        ];
        for (name, value, message) in cases {
            assert_eq!(error(&Options::default(), &[(name, value)]), message);
        }
        // A bad DB_PORT is an error even though PGPORT is fine: it is never silently skipped.
        assert!(
            error(&Options::default(), &[("DB_PORT", "x"), ("PGPORT", "5432")])
                .starts_with("DB_PORT")
        );
        // An option replaces a bad variable without reading it.
        let c = ok(
            &Options {
                max: Some(3.0),
                ..Default::default()
            },
            &[("DB_POOL_MAX", "x")],
        );
        assert_eq!(c.max, 3);
    }

    #[test]
    fn empty_names_are_refused() {
        let cases: [(Change, &str); 3] = [
            (|o| o.host = Some(String::new()), "`host`"),
            (|o| o.user = Some(String::new()), "`user`"),
            (|o| o.database = Some(String::new()), "`database`"),
        ];
        for (change, name) in cases {
            assert_eq!(
                error(&with(change), &[]),
                format!("{name} must not be empty: leave it out to use the next source")
            );
        }
    }

    #[test]
    fn connection_string_errors_never_quote_the_string() {
        let cases = [
            (
                String::new(),
                "`connectionString` is empty: expected postgres://",
            ),
            (
                format!("mysql://u:{SECRET}@h/db"),
                "`connectionString` must start with postgres:// or postgresql://",
            ),
            (
                format!("postgres://u:{SECRET}@h:port/db"),
                "`connectionString` has an invalid value for `port`",
            ),
            (
                format!("postgres://u:{SECRET}@h/db?sslmode=bogus"),
                "`connectionString` has an invalid value for `sslmode`",
            ),
            (
                format!("postgres://u:{SECRET}@h/db?{SECRET}=1"),
                "`connectionString` has a parameter this driver does not know",
            ),
            (
                format!("postgres://u:{SECRET}@h/db?{SECRET}"),
                "`connectionString` is not a valid connection string",
            ),
            (
                format!("postgres://u:p@{SECRET}@h/db"),
                "`connectionString` has an `@` in its host",
            ),
            (
                format!("postgres://u:{SECRET}@h/db%FF"),
                "`connectionString` is not a valid connection string",
            ),
            (
                format!("host=h password='{SECRET}"),
                "`connectionString` is not a valid connection string",
            ),
            // tokio-postgres' own reason here quotes the character after the second "key".
            (
                format!("host=h password=x {SECRET} S3cret"),
                "`connectionString` is not a valid connection string",
            ),
            (
                format!("host=h password={SECRET} {SECRET}=x"),
                "`connectionString` has a parameter this driver does not know",
            ),
            (
                SECRET.to_owned(),
                "`connectionString` is not a valid connection string",
            ),
        ];
        for (text, start) in cases {
            let message = error(&url(&text), &[]);
            assert!(message.starts_with(start), "{text}: {message}");
        }
        let message = error(
            &Options::default(),
            &[("DATABASE_URL", &format!("postgres://u:{SECRET}@h:x/db"))],
        );
        assert_eq!(message, "DATABASE_URL has an invalid value for `port`");
        let message = error(&url(&format!("postgres://u:{SECRET}@h:0/db")), &[]);
        assert_eq!(
            message,
            "the port in `connectionString` must be an integer from 1 to 65535 (got 0)"
        );
    }

    #[test]
    fn describe_and_debug_never_show_the_password() {
        for options in [
            Options {
                password: Some(SECRET.into()),
                ..Default::default()
            },
            url(&format!("postgres://me:{SECRET}@h:6000/db")),
            url(&format!("user=me password={SECRET} host=/tmp dbname=db")),
        ] {
            let c = ok(&options, &[]);
            let described = describe(&c);
            assert!(!described.contains(SECRET), "{described}");
            let debug = format!("{c:?}");
            assert!(!debug.contains(SECRET), "{debug}");
        }
        let c = ok(&url(&format!("postgres://me:{SECRET}@h:6000/db")), &[]);
        assert_eq!(describe(&c), "me@h:6000/db");
        let c = ok(&Options::default(), &[("PGPASSWORD", SECRET)]);
        assert_eq!(describe(&c), "postgres@localhost:5432/postgres");
    }

    #[test]
    fn the_environment_table_lists_every_variable_read() {
        let settings = [
            &HOST,
            &PORT,
            &DATABASE,
            &USER,
            &PASSWORD,
            &APPLICATION_NAME,
            &MAX,
            &MIN,
            &CONNECTION_TIMEOUT,
            &STATEMENT_TIMEOUT,
            &MAX_PREPARED_STATEMENTS,
            &IDLE_TIMEOUT,
            &MAX_LIFETIME,
            &MAX_USES,
            &KEEP_ALIVE_DELAY,
            &LOG_LEVEL,
            &SLOW_QUERY,
            &LEAK_DETECTION_THRESHOLD,
        ];
        let mut read: Vec<&str> = settings
            .iter()
            .flat_map(|s| s.env.iter().copied())
            .collect();
        read.extend([DATABASE_URL, OS_USER]);
        read.sort_unstable();
        let mut listed = ENVIRONMENT.to_vec();
        listed.sort_unstable();
        assert_eq!(read, listed);
        assert!(environment()
            .keys()
            .all(|k| ENVIRONMENT.contains(&k.as_str())));
    }

    #[test]
    fn log_settings_come_from_the_option_then_log_level() {
        use tracing::Level;
        let c = ok(&Options::default(), &[]);
        assert_eq!(
            c.log,
            LogSettings {
                level: Some(Level::WARN),
                slow_query: None,
                parameters: false
            }
        );
        assert_eq!(
            ok(&Options::default(), &[("LOG_LEVEL", "TRACE")]).log.level,
            Some(Level::TRACE)
        );
        assert_eq!(
            ok(&Options::default(), &[("LOG_LEVEL", "silent")])
                .log
                .level,
            None
        );
        assert_eq!(
            ok(&Options::default(), &[("LOG_LEVEL", "verbose")])
                .log
                .level,
            Some(Level::DEBUG)
        );
        let o = Options {
            log_level: Some("error".into()),
            slow_query_millis: Some(50.0),
            log_parameters: Some(true),
            name: Some("main".into()),
            ..Default::default()
        };
        let c = ok(&o, &[("LOG_LEVEL", "trace")]);
        assert_eq!(c.log.level, Some(Level::ERROR));
        assert_eq!(c.log.slow_query, Some(Duration::from_millis(50)));
        assert!(c.log.parameters);
        assert_eq!(c.name.as_deref(), Some("main"));
        let o = Options {
            log_level: Some("loud".into()),
            ..Default::default()
        };
        assert!(error(&o, &[]).starts_with("`logLevel` must be 'error'"));
        assert!(
            error(&Options::default(), &[("LOG_LEVEL", "loud")]).starts_with("LOG_LEVEL must be")
        );
        let o = Options {
            slow_query_millis: Some(-1.0),
            ..Default::default()
        };
        assert!(error(&o, &[]).starts_with("`slowQueryMillis` must be"));
    }
}
