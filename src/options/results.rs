//! What the engine gives JS back: errors, events, statistics, health, log records and call
//! outcomes, as `#[napi(object)]` shapes converted from the core types.
use super::*;

/// An error as data; the facade turns it into a `DatabaseError` with the caller's stack.
#[napi(object)]
#[derive(Default)]
pub struct JsError {
    /// SQLSTATE or a client code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
    /// Server severity.
    pub severity: Option<String>,
    /// Server detail.
    pub detail: Option<String>,
    /// Server hint.
    pub hint: Option<String>,
    /// Error position in the query.
    pub position: Option<String>,
    /// Position in an internal query.
    pub internal_position: Option<String>,
    /// The internal query.
    pub internal_query: Option<String>,
    /// Context.
    pub r#where: Option<String>,
    /// Schema.
    pub schema: Option<String>,
    /// Table.
    pub table: Option<String>,
    /// Column.
    pub column: Option<String>,
    /// Data type.
    pub data_type: Option<String>,
    /// Constraint.
    pub constraint: Option<String>,
    /// Server source file.
    pub file: Option<String>,
    /// Server source line.
    pub line: Option<String>,
    /// Server routine.
    pub routine: Option<String>,
    /// The line of a COPY's data the error is about.
    pub copy_line: Option<i64>,
}

impl From<Error> for JsError {
    fn from(e: Error) -> Self {
        let code = e.code().to_owned();
        let message = e.to_string();
        match e {
            Error::Server(s) => {
                let s = *s;
                JsError {
                    code,
                    message,
                    severity: Some(s.severity),
                    detail: s.detail,
                    hint: s.hint,
                    position: s.position,
                    internal_position: s.internal_position,
                    internal_query: s.internal_query,
                    r#where: s.r#where,
                    schema: s.schema,
                    table: s.table,
                    column: s.column,
                    data_type: s.data_type,
                    constraint: s.constraint,
                    file: s.file,
                    line: s.line,
                    routine: s.routine,
                    // Lines past 2^53 would lose precision in JS; no file has that many.
                    copy_line: s.copy_line.map(|l| l as i64),
                }
            }
            _ => JsError {
                code,
                message,
                ..Default::default()
            },
        }
    }
}

/// A pool event as JS listeners receive it (the facade adds the `Error` object).
#[napi(object)]
pub struct JsEvent {
    /// `connect`, `acquire`, `release`, `remove`, `error`, `circuitOpen`, `circuitClose`,
    /// `notice`, `listen`, or `drained` (the facade's marker that every earlier event has been
    /// delivered).
    pub kind: String,
    /// Server process id of the connection.
    pub pid: i32,
    /// Why a connection was removed; `listen` for an `error` of the LISTEN connection.
    pub reason: Option<String>,
    /// What failed, for `error` and `circuitOpen`; the notice's fields, for `notice`.
    pub error: Option<JsError>,
    /// The channels listened, for `listen`.
    pub channels: Option<Vec<String>>,
    /// Whether the LISTEN connection replaces one that was lost, for `listen`.
    pub reconnected: Option<bool>,
}

impl JsEvent {
    /// An event with nothing but its kind and pid.
    pub fn bare(kind: &str, pid: i32) -> Self {
        JsEvent {
            kind: kind.to_owned(),
            pid,
            reason: None,
            error: None,
            channels: None,
            reconnected: None,
        }
    }
}

impl From<Event> for JsEvent {
    fn from(e: Event) -> Self {
        let (kind, pid) = match &e {
            Event::Connect { pid } => ("connect", *pid),
            Event::Acquire { pid } => ("acquire", *pid),
            Event::Release { pid } => ("release", *pid),
            Event::Remove { pid, .. } => ("remove", *pid),
            Event::Error { pid, .. } | Event::ListenLost { pid, .. } => ("error", *pid),
            Event::CircuitOpen { .. } => ("circuitOpen", 0),
            Event::CircuitClose => ("circuitClose", 0),
            Event::Notice { pid, .. } => ("notice", *pid),
            Event::Listen { pid, .. } => ("listen", *pid),
        };
        let mut event = JsEvent::bare(kind, pid);
        match e {
            Event::Remove { reason, .. } => event.reason = Some(reason.as_str().to_owned()),
            Event::Error { error, .. } | Event::CircuitOpen { error } => {
                event.error = Some(error.into())
            }
            Event::ListenLost { error, .. } => {
                event.reason = Some("listen".to_owned());
                event.error = Some(error.into());
            }
            Event::Notice { notice, .. } => event.error = Some(notice.into()),
            Event::Listen {
                channels,
                reconnected,
                ..
            } => {
                event.channels = Some(channels);
                event.reconnected = Some(reconnected);
            }
            Event::Connect { .. }
            | Event::Acquire { .. }
            | Event::Release { .. }
            | Event::CircuitClose => {}
        }
        event
    }
}

/// Notifications that arrived together, as columns: the facade builds pg's `{ channel,
/// payload, processId }` from each row.
#[napi(object)]
pub struct JsNotifications {
    /// Each notification's channel.
    pub channels: Vec<String>,
    /// Each one's payload (`''` when none was given).
    pub payloads: Vec<String>,
    /// Server process id of the session that sent each one (pg's `processId`).
    pub senders: Vec<i32>,
    /// Server process id of the LISTEN connection that received each one.
    pub pids: Vec<i32>,
}

impl From<Vec<(i32, Notification)>> for JsNotifications {
    fn from(arrived: Vec<(i32, Notification)>) -> Self {
        let n = arrived.len();
        let mut batch = JsNotifications {
            channels: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
            senders: Vec::with_capacity(n),
            pids: Vec::with_capacity(n),
        };
        for (pid, notification) in arrived {
            batch.channels.push(notification.channel().to_owned());
            batch.payloads.push(notification.payload().to_owned());
            batch.senders.push(notification.process_id());
            batch.pids.push(pid);
        }
        batch
    }
}

/// Mean, median and p99 over the recent window, in milliseconds.
#[napi(object)]
pub struct JsSummary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl From<Summary> for JsSummary {
    fn from(s: Summary) -> Self {
        JsSummary {
            mean: s.mean,
            p50: s.p50,
            p99: s.p99,
        }
    }
}

/// The last error of `getPoolStatistics()`.
#[napi(object)]
pub struct JsLastError {
    /// Its code.
    pub code: String,
    /// Its message.
    pub message: String,
    /// When, as milliseconds since the epoch.
    pub at: f64,
}

/// `getPoolStatistics()`: node-postgres' names first, then the fuller set.
#[napi(object)]
pub struct JsStatistics {
    /// Open connections (node-postgres' `totalCount`).
    pub total_count: u32,
    /// Idle connections (node-postgres' `idleCount`).
    pub idle_count: u32,
    /// Calls waiting for a connection (node-postgres' `waitingCount`).
    pub waiting_count: u32,
    /// Open connections.
    pub total_connections: u32,
    /// Idle connections.
    pub idle_connections: u32,
    /// Connections handed out.
    pub active_connections: u32,
    /// Calls waiting for a connection.
    pub waiting_requests: u32,
    /// `max`.
    pub max_connections: u32,
    /// `min`.
    pub min_connections: u32,
    /// Active connections as a percentage of `max`.
    pub utilization: f64,
    /// Queries run.
    pub queries_executed: f64,
    /// Transactions run through `executeTransaction`.
    pub transactions_executed: f64,
    /// Calls that failed.
    pub errors: f64,
    /// Acquires that had to wait for a connection.
    pub pool_exhausted_count: f64,
    /// Connections opened.
    pub connections_created: f64,
    /// Connections closed.
    pub connections_removed: f64,
    /// Time to get a connection, in ms.
    pub acquire_time: JsSummary,
    /// Time to run a query (acquire excluded), in ms.
    pub query_time: JsSummary,
    /// The last error, if any.
    pub last_error: Option<JsLastError>,
    /// The circuit breaker: `closed`, `open` or `half-open`.
    pub circuit: String,
    /// The defaults' profile: `development` or `production` (`NODE_ENV`).
    pub profile: String,
    /// The LISTEN connection.
    pub listen: JsListening,
}

impl From<Snapshot> for JsStatistics {
    fn from(s: Snapshot) -> Self {
        let n = |v: u64| v as u32;
        JsStatistics {
            total_count: n(s.total),
            idle_count: n(s.idle),
            waiting_count: n(s.waiting),
            total_connections: n(s.total),
            idle_connections: n(s.idle),
            active_connections: n(s.active),
            waiting_requests: n(s.waiting),
            max_connections: n(s.max),
            min_connections: n(s.min),
            utilization: if s.max == 0 {
                0.0
            } else {
                s.active as f64 * 100.0 / s.max as f64
            },
            queries_executed: s.queries as f64,
            transactions_executed: s.transactions as f64,
            errors: s.errors as f64,
            pool_exhausted_count: s.exhausted as f64,
            connections_created: s.created as f64,
            connections_removed: s.removed as f64,
            acquire_time: s.acquire.into(),
            query_time: s.query.into(),
            last_error: s.last_error.map(|e| JsLastError {
                code: e.code,
                message: e.message,
                at: e.at,
            }),
            circuit: s.circuit.as_str().to_owned(),
            profile: s.profile.to_owned(),
            listen: s.listen.into(),
        }
    }
}

/// `getPoolStatistics().listen`: the LISTEN connection.
#[napi(object)]
pub struct JsListening {
    /// Whether it is open with every channel listened in force.
    pub connected: bool,
    /// Channels listened.
    pub channels: u32,
    /// Times it was re-established after being lost while channels were listened.
    pub reconnects: f64,
    /// Notifications received.
    pub notifications: f64,
}

impl From<Listening> for JsListening {
    fn from(l: Listening) -> Self {
        JsListening {
            connected: l.connected,
            channels: l.channels as u32,
            reconnects: l.reconnects as f64,
            notifications: l.notifications as f64,
        }
    }
}

/// The error of an unhealthy `getHealthStatus()`.
#[napi(object)]
pub struct JsHealthError {
    /// SQLSTATE or a client code.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// `getHealthStatus()` (the facade turns `databaseTime` into a `Date`).
#[napi(object)]
pub struct JsHealth {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// How long the check took, in ms.
    pub response_time_ms: f64,
    /// `server_version`.
    pub server_version: Option<String>,
    /// The server's `now()`, in ms since the epoch.
    pub database_time: Option<f64>,
    /// `current_database()`.
    pub database: Option<String>,
    /// `pg_is_in_recovery()`.
    pub is_replica: Option<bool>,
    /// Whether the checked connection is encrypted.
    pub encrypted: Option<bool>,
    /// Its TLS protocol version, when it is.
    pub tls_version: Option<String>,
    /// Its TLS cipher, when it is.
    pub tls_cipher: Option<String>,
    /// The statistics after the check.
    pub pool: JsStatistics,
    /// Why the check failed.
    pub error: Option<JsHealthError>,
}

impl JsHealth {
    /// The JS shape of `health`, its error message passed through `redact`.
    pub fn new(health: Health, redact: impl Fn(&str) -> String) -> Self {
        let server = health.server;
        JsHealth {
            status: health.status.as_str().to_owned(),
            // Microsecond precision, without float noise in the JSON.
            response_time_ms: (health.response_time.as_secs_f64() * 1e6).round() / 1e3,
            server_version: server.as_ref().map(|s| s.version.clone()),
            database_time: server.as_ref().map(|s| s.time),
            database: server.as_ref().map(|s| s.database.clone()),
            is_replica: server.as_ref().map(|s| s.is_replica),
            encrypted: server.as_ref().map(|s| s.tls.is_some()),
            tls_version: server
                .as_ref()
                .and_then(|s| Some(s.tls.as_ref()?.0.clone())),
            tls_cipher: server
                .as_ref()
                .and_then(|s| Some(s.tls.as_ref()?.1.clone())),
            pool: health.pool.into(),
            error: health.error.map(|e| JsHealthError {
                code: e.code().to_owned(),
                message: redact(&e.to_string()),
            }),
        }
    }
}

/// One log line for the `logger` callback; `fields` is JSON text (the facade parses it).
#[napi(object)]
pub struct JsLogRecord {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: String,
    /// What happened.
    pub message: String,
    /// The details, as a JSON object.
    pub fields: String,
}

impl From<Record> for JsLogRecord {
    fn from(r: Record) -> Self {
        JsLogRecord {
            level: r.level.to_owned(),
            message: r.message,
            fields: serde_json::Value::Object(r.fields).to_string(),
        }
    }
}

/// What an async call without results resolves to: `error` is set when it failed.
#[napi(object)]
pub struct JsOutcome {
    /// The error, when the call failed.
    pub error: Option<JsError>,
}

impl<T> From<crate::error::Result<T>> for JsOutcome {
    fn from(r: crate::error::Result<T>) -> Self {
        JsOutcome {
            error: r.err().map(Into::into),
        }
    }
}

/// Numbers both sides of the bridge must agree on, defined once, in Rust: the event kinds' bits
/// (`events::kind`) and the column kinds (`convert::Kind`).
#[napi(object)]
pub struct JsConstants {
    /// Event name → bit in the listener mask.
    pub events: HashMap<String, u32>,
    /// Column kind name → its number in a result's encoding (`wire`).
    pub columns: HashMap<String, u32>,
}

impl JsConstants {
    /// The tables as they stand.
    pub fn new() -> JsConstants {
        JsConstants {
            events: crate::events::kind::NAMES
                .iter()
                .map(|&(name, bit)| (name.to_owned(), bit))
                .collect(),
            columns: crate::convert::Kind::NAMES
                .iter()
                .map(|&(name, kind)| (name.to_owned(), kind as u32))
                .collect(),
        }
    }
}
