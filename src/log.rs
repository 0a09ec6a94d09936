//! Logging through `tracing`, one subscriber per manager.
//!
//! No process-global subscriber is installed. Each pool owns a `tracing::Dispatch` built for its
//! own level and output (stderr, or the `logger` callback through a [`Sink`]), and every log line
//! of the pool is emitted inside that dispatch's scope (`dispatcher::with_default`). So several
//! managers in one process each log at their own level to their own place, and nothing the host
//! or another library sets up is overridden. tracing's callsite cache handles several dispatchers
//! (it asks each one), and a level check before the scope makes a disabled line cost one compare.
//!
//! What is logged, and at which level:
//! - `error`: nothing the caller sees anyway; reserved for failures only the pool sees.
//! - `warn`: slow queries (`slowQueryMillis`) with SQL text and duration; connection attempts
//!   that failed; an idle connection that died.
//! - `info`: connections opened (with the time it took) and closed (with the reason).
//! - `debug`: each query with its duration and row count; failed queries with their code;
//!   connections that ended while in use or failed their idle check.
//! - `trace`: each acquire (with its wait) and release.
//!
//! Parameter values appear only with `logParameters: true`; SQL text and error messages go through
//! [`Redactor`] first, and the connection's password is never a field of any line.
use crate::config::LogSettings;
use crate::error::{Error, Result};
use crate::events::Reason;
use crate::params::Param;
use crate::redact::Redactor;
use crate::result::ResultSet;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Level};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// SQL longer than this is cut in log lines: a bulk `INSERT … VALUES` can be megabytes, and a log
/// line needs only enough to recognise the statement.
const MAX_SQL_CHARS: usize = 2000;

/// One log line for a [`Sink`].
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'static str,
    /// What happened, in a few words (`query`, `slow query`, `connection opened`, …).
    pub message: String,
    /// The details: `sql`, `duration_ms`, `rows`, `pid`, `code`, …
    pub fields: Map<String, Value>,
}

/// Where log lines go instead of stderr (the napi edge implements it with the `logger` callback).
pub trait Sink: Send + Sync {
    /// Delivers one line; must not block.
    fn write(&self, record: Record);
}

/// The logger of one pool.
pub struct Log {
    settings: LogSettings,
    name: Option<String>,
    redactor: Redactor,
    dispatch: RwLock<Dispatch>,
}

impl Log {
    /// A logger that writes to stderr until [`Log::set_sink`] is called.
    pub fn new(settings: LogSettings, name: Option<String>, redactor: Redactor) -> Self {
        let dispatch = RwLock::new(stderr_dispatch(settings.level));
        Log {
            settings,
            name,
            redactor,
            dispatch,
        }
    }

    /// Sends every later line to `sink` instead of stderr.
    pub fn set_sink(&self, sink: Arc<dyn Sink>) {
        let level = self.settings.level;
        let subscriber = tracing_subscriber::registry()
            .with(filter(level))
            .with(SinkLayer(sink));
        *self.dispatch.write().unwrap_or_else(|e| e.into_inner()) = Dispatch::new(subscriber);
    }

    /// Whether lines at `level` are logged.
    pub fn enabled(&self, level: Level) -> bool {
        self.settings.level.is_some_and(|max| level <= max)
    }

    /// Runs `emit` (a tracing macro) with this pool's subscriber as the default.
    fn scope(&self, emit: impl FnOnce()) {
        let dispatch = self
            .dispatch
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        tracing::dispatcher::with_default(&dispatch, emit);
    }

    /// Redacted SQL, cut to [`MAX_SQL_CHARS`].
    fn sql(&self, sql: &str) -> String {
        let mut text = self.redactor.apply(sql);
        if let Some((cut, _)) = text.char_indices().nth(MAX_SQL_CHARS) {
            text.truncate(cut);
            text.push('…');
        }
        text
    }

    /// A finished query: `debug` with its duration and row count, `warn` when slower than
    /// `slowQueryMillis` (then only at `warn`, so it appears once at any level).
    pub fn query(
        &self,
        sql: &str,
        params: &[Param],
        elapsed: Duration,
        outcome: &Result<Vec<ResultSet>>,
    ) {
        let slow = self.settings.slow_query.is_some_and(|s| elapsed >= s);
        if !(slow && self.enabled(Level::WARN) || self.enabled(Level::DEBUG)) {
            return;
        }
        let sql = self.sql(sql);
        let duration_ms = millis(elapsed);
        let parameters = self
            .settings
            .parameters
            .then(|| self.redactor.apply(&parameter_text(params)));
        let pool = self.name.as_deref();
        let count = params.len();
        self.scope(|| match (outcome, slow) {
            (Ok(results), _) => {
                let rows = row_count(results);
                if slow {
                    tracing::warn!(target: "pg_rust_pool", pool, sql, duration_ms, rows, params = count, parameters, "slow query");
                } else {
                    tracing::debug!(target: "pg_rust_pool", pool, sql, duration_ms, rows, params = count, parameters, "query");
                }
            }
            (Err(e), _) => {
                let code = e.code();
                let error = self.error_text(e, params);
                if slow {
                    tracing::warn!(target: "pg_rust_pool", pool, sql, duration_ms, code, error, params = count, parameters, "slow query failed");
                } else {
                    tracing::debug!(target: "pg_rust_pool", pool, sql, duration_ms, code, error, params = count, parameters, "query failed");
                }
            }
        });
    }

    /// An error's message, redacted, and without the parameter values the server quoted in it
    /// (`invalid input syntax for type integer: "…"`) unless `logParameters` is on.
    fn error_text(&self, error: &Error, params: &[Param]) -> String {
        let mut text = self.redactor.apply(&error.to_string());
        if !self.settings.parameters {
            for param in params {
                if let Param::Text(value) = param {
                    let quoted = format!("\"{value}\"");
                    if !value.is_empty() && text.contains(&quoted) {
                        text = text.replace(&quoted, "\"***\"");
                    }
                }
            }
        }
        text
    }

    /// A new connection, and how long opening it took.
    pub fn connected(&self, pid: i32, elapsed: Duration) {
        if self.enabled(Level::INFO) {
            let (pool, duration_ms) = (self.name.as_deref(), millis(elapsed));
            self.scope(|| tracing::info!(target: "pg_rust_pool", pool, pid, duration_ms, "connection opened"));
        }
    }

    /// A connection attempt that failed.
    pub fn connect_failed(&self, error: &Error, elapsed: Duration) {
        if self.enabled(Level::WARN) {
            let (pool, duration_ms, code) = (self.name.as_deref(), millis(elapsed), error.code());
            let error = self.redactor.apply(&error.to_string());
            self.scope(|| tracing::warn!(target: "pg_rust_pool", pool, code, error, duration_ms, "could not connect"));
        }
    }

    /// A connection left the pool.
    pub fn removed(&self, pid: i32, reason: Reason) {
        if self.enabled(Level::INFO) {
            let (pool, reason) = (self.name.as_deref(), reason.as_str());
            self.scope(
                || tracing::info!(target: "pg_rust_pool", pool, pid, reason, "connection closed"),
            );
        }
    }

    /// An idle connection failed.
    pub fn idle_failed(&self, pid: i32, error: &Error) {
        if self.enabled(Level::WARN) {
            let (pool, code) = (self.name.as_deref(), error.code());
            let error = self.redactor.apply(&error.to_string());
            self.scope(|| tracing::warn!(target: "pg_rust_pool", pool, pid, code, error, "idle connection failed"));
        }
    }

    /// A connection ended while in use, or failed its check before being handed out (the caller,
    /// or the `remove` that follows, reports it; this is the detail).
    pub fn ended(&self, pid: i32, error: &Error) {
        if self.enabled(Level::DEBUG) {
            let (pool, code) = (self.name.as_deref(), error.code());
            let error = self.redactor.apply(&error.to_string());
            self.scope(|| tracing::debug!(target: "pg_rust_pool", pool, pid, code, error, "connection ended"));
        }
    }

    /// A connection was handed out after `waited`.
    pub fn acquired(&self, pid: i32, waited: Duration) {
        if self.enabled(Level::TRACE) {
            let (pool, wait_ms) = (self.name.as_deref(), millis(waited));
            self.scope(|| tracing::trace!(target: "pg_rust_pool", pool, pid, wait_ms, "connection acquired"));
        }
    }

    /// A connection came back.
    pub fn released(&self, pid: i32) {
        if self.enabled(Level::TRACE) {
            let pool = self.name.as_deref();
            self.scope(
                || tracing::trace!(target: "pg_rust_pool", pool, pid, "connection released"),
            );
        }
    }

    /// Something only the pool sees went wrong (a background task, maintenance).
    pub fn warn(&self, message: &str, error: &Error) {
        if self.enabled(Level::WARN) {
            let (pool, code) = (self.name.as_deref(), error.code());
            let error = self.redactor.apply(&error.to_string());
            self.scope(|| tracing::warn!(target: "pg_rust_pool", pool, code, error, "{message}"));
        }
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Rows returned or affected, over every statement of the query.
fn row_count(results: &[ResultSet]) -> u64 {
    results
        .iter()
        .map(|r| r.row_count.unwrap_or(r.rows as u64))
        .sum()
}

/// `['a', NULL, <3 bytes>]`.
fn parameter_text(params: &[Param]) -> String {
    let mut out = String::from("[");
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match p {
            Param::Null => out.push_str("NULL"),
            Param::Text(t) => {
                let _ = write!(out, "{t:?}");
            }
            Param::Binary(b) => {
                let _ = write!(out, "<{} bytes>", b.len());
            }
        }
    }
    out.push(']');
    out
}

fn filter(level: Option<Level>) -> tracing_subscriber::filter::LevelFilter {
    level.map_or(tracing_subscriber::filter::LevelFilter::OFF, Into::into)
}

/// Lines on stderr: `2026-11-23T15:22:46.123456Z  WARN pg_rust_pool: slow query sql=… duration_ms=…`.
fn stderr_dispatch(level: Option<Level>) -> Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(filter(level))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    Dispatch::new(subscriber)
}

/// Turns tracing events into [`Record`]s for a [`Sink`].
struct SinkLayer(Arc<dyn Sink>);

impl<S: tracing::Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.write(Record {
            level: level_name(*event.metadata().level()),
            message: fields.message,
            fields: fields.map,
        });
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Collects an event's fields as JSON values; `message` apart.
#[derive(Default)]
struct Fields {
    message: String,
    map: Map<String, Value>,
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.map.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.map.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.map.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.map.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.map.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.map.insert(field.name().into(), text.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Record>>);
    impl Sink for Recorder {
        fn write(&self, record: Record) {
            self.0.lock().unwrap().push(record);
        }
    }

    fn log(level: Level, slow_ms: Option<u64>, parameters: bool) -> (Log, Arc<Recorder>) {
        let settings = LogSettings {
            level: Some(level),
            slow_query: slow_ms.map(Duration::from_millis),
            parameters,
        };
        let log = Log::new(
            settings,
            Some("main".into()),
            Redactor::new(Some(b"pw-secret")),
        );
        let recorder = Arc::new(Recorder::default());
        log.set_sink(recorder.clone());
        (log, recorder)
    }

    fn ok_result(rows: u64) -> Result<Vec<ResultSet>> {
        Ok(vec![ResultSet {
            command: Some("SELECT".into()),
            row_count: Some(rows),
            fields: vec![],
            columns: vec![],
            rows: rows as usize,
        }])
    }

    #[test]
    fn queries_log_at_debug_with_duration_and_rows_but_no_values() {
        let (log, recorder) = log(Level::DEBUG, None, false);
        let params = [Param::Text("value-secret".into())];
        log.query(
            "SELECT $1",
            &params,
            Duration::from_micros(1500),
            &ok_result(2),
        );
        let records = recorder.0.lock().unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!((r.level, r.message.as_str()), ("debug", "query"));
        assert_eq!(r.fields["duration_ms"], 1.5);
        assert_eq!(r.fields["rows"], 2);
        assert_eq!(r.fields["params"], 1);
        assert_eq!(r.fields["pool"], "main");
        assert!(!format!("{r:?}").contains("value-secret"));
    }

    #[test]
    fn parameters_appear_only_when_asked_and_secrets_never() {
        let (log, recorder) = log(Level::DEBUG, None, true);
        let params = [
            Param::Text("shown".into()),
            Param::Null,
            Param::Binary(vec![1, 2]),
        ];
        log.query(
            "ALTER ROLE x PASSWORD 'pw-secret'",
            &params,
            Duration::ZERO,
            &ok_result(0),
        );
        let r = &recorder.0.lock().unwrap()[0];
        assert_eq!(r.fields["parameters"], "[\"shown\", NULL, <2 bytes>]");
        assert_eq!(r.fields["sql"], "ALTER ROLE x PASSWORD '***'");
    }

    #[test]
    fn values_the_server_quotes_in_an_error_are_masked() {
        let (log, recorder) = log(Level::DEBUG, None, false);
        let failed = Err(Error::argument(
            "invalid input syntax for type integer: \"abc\"",
        ));
        log.query(
            "SELECT $1::int",
            &[Param::Text("abc".into())],
            Duration::ZERO,
            &failed,
        );
        let r = &recorder.0.lock().unwrap()[0];
        assert_eq!(
            r.fields["error"],
            "invalid input syntax for type integer: \"***\""
        );
    }

    #[test]
    fn slow_queries_log_once_at_warn_even_when_debug_is_on() {
        let (log, recorder) = log(Level::DEBUG, Some(50), false);
        log.query(
            "SELECT pg_sleep(0.1)",
            &[],
            Duration::from_millis(100),
            &ok_result(1),
        );
        log.query("SELECT 1", &[], Duration::from_millis(1), &ok_result(1));
        let records = recorder.0.lock().unwrap();
        let levels: Vec<_> = records
            .iter()
            .map(|r| (r.level, r.message.as_str()))
            .collect();
        assert_eq!(levels, [("warn", "slow query"), ("debug", "query")]);
        assert_eq!(records[0].fields["sql"], "SELECT pg_sleep(0.1)");
    }

    #[test]
    fn each_log_keeps_its_own_level() {
        let (quiet, quiet_lines) = log(Level::WARN, None, false);
        let (loud, loud_lines) = log(Level::TRACE, None, false);
        for log in [&quiet, &loud] {
            log.acquired(7, Duration::ZERO);
            log.connected(7, Duration::ZERO);
        }
        assert_eq!(quiet_lines.0.lock().unwrap().len(), 0);
        assert_eq!(loud_lines.0.lock().unwrap().len(), 2);
    }

    #[test]
    fn long_sql_is_cut() {
        let (log, recorder) = log(Level::DEBUG, None, false);
        let sql = "x".repeat(MAX_SQL_CHARS + 10);
        log.query(&sql, &[], Duration::ZERO, &ok_result(0));
        let r = &recorder.0.lock().unwrap()[0];
        assert_eq!(
            r.fields["sql"].as_str().unwrap().chars().count(),
            MAX_SQL_CHARS + 1
        );
    }
}
