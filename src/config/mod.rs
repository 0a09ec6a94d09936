//! Configuration: [`resolve`] turns the explicit options, a connection string, the environment and
//! the defaults into a [`Config`], setting by setting, in that order of precedence. It is pure: the
//! environment comes in as a map, and [`environment`] is the only code that reads the process
//! environment.
//!
//! | setting | option | environment, first set wins | default |
//! |---|---|---|---|
//! | hosts | `hosts`, `host` | `DB_HOST`, `PGHOST` | `localhost` |
//! | which server will do | `targetSessionAttrs` | `PGTARGETSESSIONATTRS` | `any` |
//! | host order | `loadBalanceHosts` | `PGLOADBALANCEHOSTS` | `disable` |
//! | port | `port` | `DB_PORT`, `PGPORT` | 5432 |
//! | database | `database` | `DB_NAME`, `PGDATABASE` | the user name |
//! | user | `user` | `DB_USER`, `PGUSER` | `USER`, else `postgres` |
//! | password | `password` | `DB_PASSWORD`, `PGPASSWORD` | none |
//! | application name | `applicationName` | `DB_APPLICATION_NAME`, `PGAPPNAME` | `pg-rust-pool` |
//! | pool size | `max` | `DB_POOL_MAX` | 10 |
//! | idle connections kept | `min` | `DB_POOL_MIN` | 0 |
//! | acquire and connect timeout | `connectionTimeoutMillis` | `DB_TIMEOUT` | 30000 ms |
//! | statement timeout | `statementTimeout` | `DB_STATEMENT_TIMEOUT` | the server's |
//! | statement cache | `statementCache` | — | on (off with `pgbouncer`) |
//! | PgBouncer's transaction mode | `pgbouncer` | `DB_PGBOUNCER` | off |
//! | quick queries queue before idle connections are taken | `pipelineQuickQueries` | — | on |
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

pub mod defaults;
mod describe;
mod logging;
mod pgbouncer;
pub mod profile;
mod settings;
mod sources;
mod startup;
pub mod tls;
pub mod topology;
mod url;

pub use describe::describe;
use logging::log_settings;
use pgbouncer::*;
use settings::*;
pub use settings::{environment, ENVIRONMENT};
use sources::*;
use startup::*;
use topology::resolve_topology;
use url::*;

/// Options as the user gave them (the JS `options` object, already converted at the edge).
/// Numbers stay `f64` so that validation can name a bad value exactly as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// `postgres://user:password@host:port/database?…` or libpq `key=value` pairs.
    pub connection_string: Option<String>,
    /// Host name, IP address, or a unix-socket directory (starts with `/`); several separated
    /// by commas.
    pub host: Option<String>,
    /// Servers as `host`, `host:port`, `[IPv6]:port` or a unix-socket directory.
    pub hosts: Option<Vec<String>>,
    /// libpq's `target_session_attrs`.
    pub target_session_attrs: Option<String>,
    /// `disable` or `random`.
    pub load_balance_hosts: Option<String>,
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
    /// PgBouncer's transaction mode: no named statement outside a transaction block, no session
    /// settings.
    pub pgbouncer: Option<bool>,
    /// Whether quick manager queries queue behind each other before taking an idle connection.
    pub pipeline_quick_queries: Option<bool>,
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
    /// `Config` redacts it), with every server of `topology`.
    pub pg: tokio_postgres::Config,
    /// The same without any server, for a connection to add the one it tries.
    pub per_host: tokio_postgres::Config,
    /// The servers, their order, and which of them will do.
    pub topology: topology::Topology,
    /// Largest number of connections.
    pub max: usize,
    /// Connections kept open even when idle.
    pub min: usize,
    /// How long an acquire waits; `None` waits forever.
    pub connection_timeout: Option<Duration>,
    /// Whether each connection keeps prepared statements.
    pub statement_cache: bool,
    /// PgBouncer's transaction mode (`pgbouncer`): statements run unnamed, described once per
    /// connection inside a transaction; nothing depends on the session.
    pub pgbouncer: bool,
    /// Size of each connection's statement cache (with `pgbouncer`: of its descriptions).
    pub max_prepared_statements: usize,
    /// Whether a manager query of a statement known to be quick queues behind other such
    /// queries on a connection in use before it takes an idle one (`pipelineQuickQueries`).
    pub pipeline_quick: bool,
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

/// The time between keepalive probes: a third of the user timeout, in the kernel's whole seconds
/// from 1 s up to its own default of 75 s. The kernel gives a silent peer up at the first probe
/// tick past `TCP_USER_TIMEOUT`, so while a long statement runs (nothing unacknowledged) a server
/// that vanished is found after the idle delay plus about one interval, not plus 75 s.
fn keepalive_interval(tcp_user_timeout_millis: u64) -> Duration {
    Duration::from_secs((tcp_user_timeout_millis / 3).div_ceil(1000).clamp(1, 75))
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

    let topology = resolve_topology(options, &sources)?;

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

    let pgbouncer = pgbouncer(options.pgbouncer, &sources)?;
    if let Some(startup) = startup_options(options, &sources, pgbouncer)? {
        pg.options(startup);
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
        .map_or((&[][..], DATABASE_URL), |u| (&u.libpq[..], u.name));
    let tls = tls::resolve(&options.tls, url_tls, url_name, &sources)?;
    pg.ssl_mode(tls.first_attempt())
        .channel_binding(tls.channel_binding)
        .ssl_negotiation(if tls.direct {
            tokio_postgres::config::SslNegotiation::Direct
        } else {
            tokio_postgres::config::SslNegotiation::Postgres
        });
    // Each connection is to one server: `per_host` gets it added (`Target::add_to`); `pg` lists
    // them all, for `describe`.
    let per_host = pg.clone();
    for target in &topology.targets {
        target.add_to(&mut pg);
    }
    Ok(Config {
        pg,
        per_host,
        topology,
        max: max as usize,
        min: min as usize,
        connection_timeout: (connection_timeout > 0)
            .then(|| Duration::from_millis(connection_timeout)),
        statement_cache: pgbouncer.is_none()
            && options.statement_cache.unwrap_or(defaults::STATEMENT_CACHE),
        pgbouncer: pgbouncer.is_some(),
        max_prepared_statements,
        pipeline_quick: options
            .pipeline_quick_queries
            .unwrap_or(defaults::PIPELINE_QUICK_QUERIES),
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

#[cfg(test)]
mod tests;
