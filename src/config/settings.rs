//! Each setting's JS option and environment variables, and the bounds numbers are checked against.
use super::*;

/// A setting's JS option and the environment variables read for it, first set wins.
pub(super) struct Setting {
    pub(super) option: &'static str,
    pub(super) env: &'static [&'static str],
}

pub(super) const HOST: Setting = Setting {
    option: "host",
    env: &["DB_HOST", "PGHOST"],
};
pub(super) const PORT: Setting = Setting {
    option: "port",
    env: &["DB_PORT", "PGPORT"],
};
pub(super) const TARGET_SESSION_ATTRS: Setting = Setting {
    option: "targetSessionAttrs",
    env: &["PGTARGETSESSIONATTRS"],
};
pub(super) const LOAD_BALANCE_HOSTS: Setting = Setting {
    option: "loadBalanceHosts",
    env: &["PGLOADBALANCEHOSTS"],
};
pub(super) const DATABASE: Setting = Setting {
    option: "database",
    env: &["DB_NAME", "PGDATABASE"],
};
pub(super) const USER: Setting = Setting {
    option: "user",
    env: &["DB_USER", "PGUSER"],
};
pub(super) const PASSWORD: Setting = Setting {
    option: "password",
    env: &["DB_PASSWORD", "PGPASSWORD"],
};
pub(super) const APPLICATION_NAME: Setting = Setting {
    option: "applicationName",
    env: &["DB_APPLICATION_NAME", "PGAPPNAME"],
};
pub(super) const MAX: Setting = Setting {
    option: "max",
    env: &["DB_POOL_MAX"],
};
pub(super) const MIN: Setting = Setting {
    option: "min",
    env: &["DB_POOL_MIN"],
};
pub(super) const CONNECTION_TIMEOUT: Setting = Setting {
    option: "connectionTimeoutMillis",
    env: &["DB_TIMEOUT"],
};
pub(super) const STATEMENT_TIMEOUT: Setting = Setting {
    option: "statementTimeout",
    env: &["DB_STATEMENT_TIMEOUT"],
};
pub(super) const PGBOUNCER: Setting = Setting {
    option: "pgbouncer",
    env: &["DB_PGBOUNCER"],
};
pub(super) const MAX_PREPARED_STATEMENTS: Setting = Setting {
    option: "maxPreparedStatements",
    env: &[],
};
pub(super) const LEAK_DETECTION_THRESHOLD: Setting = Setting {
    option: "leakDetectionThreshold",
    env: &["DB_LEAK_DETECTION_THRESHOLD"],
};
pub(super) const BUSY_POLL: Setting = Setting {
    option: "busyPollMicros",
    env: &[],
};
pub(super) const CIRCUIT_THRESHOLD: Setting = Setting {
    option: "circuitBreaker.failureThreshold",
    env: &[],
};
pub(super) const CIRCUIT_RESET: Setting = Setting {
    option: "circuitBreaker.resetTimeoutMillis",
    env: &[],
};
pub(super) const TCP_USER_TIMEOUT: Setting = Setting {
    option: "tcpUserTimeoutMillis",
    env: &[],
};
pub(super) const QUERY_TIMEOUT: Setting = Setting {
    option: "queryTimeoutMillis",
    env: &["DB_QUERY_TIMEOUT"],
};
pub(super) const CANCEL_TIMEOUT: Setting = Setting {
    option: "cancelTimeoutMillis",
    env: &[],
};
pub(super) const IDLE_TIMEOUT: Setting = Setting {
    option: "idleTimeoutMillis",
    env: &["DB_IDLE_TIMEOUT"],
};
pub(super) const MAX_LIFETIME: Setting = Setting {
    option: "maxLifetimeSeconds",
    env: &[],
};
pub(super) const MAX_USES: Setting = Setting {
    option: "maxUses",
    env: &[],
};
pub(super) const KEEP_ALIVE_DELAY: Setting = Setting {
    option: "keepAliveInitialDelayMillis",
    env: &[],
};
pub(super) const LOG_LEVEL: Setting = Setting {
    option: "logLevel",
    env: &["LOG_LEVEL"],
};
pub(super) const SLOW_QUERY: Setting = Setting {
    option: "slowQueryMillis",
    env: &[],
};

/// The connection string's environment variable.
pub(super) const DATABASE_URL: &str = "DATABASE_URL";
/// Chooses the defaults' profile (see `profile`).
pub(super) const NODE_ENV: &str = "NODE_ENV";
/// The default user name's environment variable (node-postgres reads it too).
pub(super) const OS_USER: &str = "USER";

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
    "DB_PGBOUNCER",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGAPPNAME",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
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
pub(super) struct Bounds {
    pub(super) noun: &'static str,
    pub(super) lo: u64,
    pub(super) hi: u64,
}

/// No practical upper limit; capped so that any accepted value fits every integer type it meets.
pub(super) const UNBOUNDED: u64 = u32::MAX as u64;
pub(super) const COUNT: Bounds = Bounds {
    noun: "an integer",
    lo: 1,
    hi: UNBOUNDED,
};
pub(super) const COUNT_OR_ZERO: Bounds = Bounds { lo: 0, ..COUNT };
pub(super) const PORT_NUMBER: Bounds = Bounds {
    noun: "an integer",
    lo: 1,
    hi: u16::MAX as u64,
};
/// 2^31 - 1 ms: the largest `statement_timeout` the server accepts, and the longest delay of
/// Node's timers.
pub(super) const MILLIS: Bounds = Bounds {
    noun: "a whole number of milliseconds",
    lo: 0,
    hi: i32::MAX as u64,
};

/// Up to 10 ms: polling longer than that would cost more CPU than the wakes it saves.
pub(super) const MICROS: Bounds = Bounds {
    noun: "a whole number of microseconds",
    lo: 0,
    hi: 10_000,
};
