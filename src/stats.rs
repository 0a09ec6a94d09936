//! Pool statistics: counters, the last error, and recent latencies. Recording is a few atomic
//! adds and, for latencies, one short lock; reading takes a consistent snapshot of the pool's
//! sizes from deadpool and copies the rest.
use crate::error::Error;
use crate::redact::Redactor;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many recent samples the latency figures cover: enough for a stable p99 (ten samples above
/// it), few enough that a snapshot sorts them in microseconds.
const WINDOW: usize = 1000;

/// Upper bounds (seconds) of the latency histogram buckets, as Prometheus' client libraries
/// default them, with 1 ms and below added because a pooled acquire or a point query is faster.
pub const BUCKETS: [f64; 14] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Mean, median and 99th percentile over the recent window, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// A cumulative histogram (for Prometheus) plus the recent window (for percentiles).
#[derive(Default)]
pub struct Latency {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    recent: Mutex<VecDeque<f64>>,
}

/// A histogram snapshot: cumulative bucket counts (per [`BUCKETS`]), count and sum in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`].
    pub buckets: Vec<u64>,
    /// All observations.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum: f64,
}

impl Latency {
    /// Records one observation.
    pub fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == WINDOW {
            recent.pop_front();
        }
        recent.push_back(seconds * 1000.0);
    }

    /// Mean, p50 and p99 of the recent window (zeros before the first observation).
    pub fn summary(&self) -> Summary {
        let mut samples: Vec<f64> = self
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Summary {
            mean: samples.iter().sum::<f64>() / samples.len() as f64,
            p50: at(0.5),
            p99: at(0.99),
        }
    }

    /// The cumulative histogram.
    pub fn histogram(&self) -> Histogram {
        let mut running = 0;
        let buckets = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        Histogram {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// The last error a call reported, for `getPoolStatistics().lastError`.
#[derive(Debug, Clone, PartialEq)]
pub struct LastError {
    /// Its code.
    pub code: String,
    /// Its message, with secrets masked (see `redact`).
    pub message: String,
    /// When, in milliseconds since the Unix epoch.
    pub at: f64,
}

/// The pool's counters.
#[derive(Default)]
pub struct Stats {
    /// Queries run (each call of `query`, whatever its outcome).
    pub queries: AtomicU64,
    /// Transactions committed or rolled back through `executeTransaction`.
    pub transactions: AtomicU64,
    /// Calls that failed.
    pub errors: AtomicU64,
    /// Acquires that found no idle connection and had to wait (for a release or a new connection).
    pub exhausted: AtomicU64,
    /// Physical connections opened.
    pub created: AtomicU64,
    /// Physical connections closed.
    pub removed: AtomicU64,
    /// Time to get a connection.
    pub acquire: Latency,
    /// Time to run a query, acquire excluded.
    pub query: Latency,
    last_error: Mutex<Option<LastError>>,
    /// Whether the last attempt to reach the server succeeded.
    connected: std::sync::atomic::AtomicBool,
    redactor: Redactor,
}

impl Stats {
    /// Counters whose last error goes through `redactor`.
    pub fn new(redactor: Redactor) -> Self {
        Stats {
            redactor,
            ..Default::default()
        }
    }

    /// `text` with the pool's secrets masked.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.apply(text)
    }

    /// Counts `n` transactions that `executeTransaction` finished (committed or rolled back).
    pub fn transactions(&self, n: u64) {
        self.transactions.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failed call and remembers it as the last error.
    pub fn failed(&self, error: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.remember(error);
    }

    /// Records whether the last attempt to reach the server succeeded (`isConnected`).
    pub fn reached(&self, reached: bool) {
        self.connected.store(reached, Ordering::Relaxed);
    }

    /// Whether the last attempt to reach the server succeeded.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Keeps `error` as the last error without counting a failed call: a connection attempt
    /// that failed (maintenance, or a connect that a call then retried or gave up on).
    pub fn remember(&self, error: &Error) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(LastError {
            code: error.code().to_owned(),
            message: self.redactor.apply(&error.to_string()),
            at,
        });
    }

    /// The last error, if any.
    pub fn last_error(&self) -> Option<LastError> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The manager's LISTEN connection, for `getPoolStatistics().listen` (see `listen`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Listening {
    /// Whether it is open, with every channel listened in force.
    pub connected: bool,
    /// Channels listened (each once, however many callbacks it has).
    pub channels: u64,
    /// Times it was re-established after it was lost while channels were listened.
    pub reconnects: u64,
    /// Notifications it received.
    pub notifications: u64,
}

/// A snapshot of the pool for `getPoolStatistics()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Open connections.
    pub total: u64,
    /// Idle connections.
    pub idle: u64,
    /// Connections handed out.
    pub active: u64,
    /// Calls waiting for a connection.
    pub waiting: u64,
    /// `max`.
    pub max: u64,
    /// `min`.
    pub min: u64,
    /// Counters, in the order of [`Stats`]' fields.
    pub queries: u64,
    /// See [`Stats::transactions`].
    pub transactions: u64,
    /// See [`Stats::errors`].
    pub errors: u64,
    /// See [`Stats::exhausted`].
    pub exhausted: u64,
    /// See [`Stats::created`].
    pub created: u64,
    /// See [`Stats::removed`].
    pub removed: u64,
    /// Acquire wait over the recent window.
    pub acquire: Summary,
    /// Query time over the recent window.
    pub query: Summary,
    /// The last error.
    pub last_error: Option<LastError>,
    /// The circuit breaker's state.
    pub circuit: crate::circuit::State,
    /// Times the circuit breaker opened.
    pub circuit_openings: u64,
    /// The defaults' profile (`NODE_ENV`).
    pub profile: &'static str,
    /// The LISTEN connection.
    pub listen: Listening,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_cover_the_recent_window() {
        let latency = Latency::default();
        assert_eq!(latency.summary(), Summary::default());
        for ms in 1..=100 {
            latency.record(Duration::from_millis(ms));
        }
        let s = latency.summary();
        assert_eq!((s.p50.round(), s.p99.round()), (51.0, 99.0));
        assert!((s.mean - 50.5).abs() < 1e-9);
        for _ in 0..WINDOW {
            latency.record(Duration::from_millis(1));
        }
        assert_eq!(latency.summary().p99, 1.0);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let latency = Latency::default();
        latency.record(Duration::from_micros(50));
        latency.record(Duration::from_millis(3));
        latency.record(Duration::from_secs(10));
        let h = latency.histogram();
        assert_eq!(h.count, 3);
        assert_eq!(h.buckets[0], 1);
        assert_eq!(h.buckets[4], 2);
        assert_eq!(
            *h.buckets.last().unwrap(),
            2,
            "10 s is above every bound: only in +Inf"
        );
    }

    #[test]
    fn failures_keep_the_last_error() {
        let stats = Stats::default();
        stats.failed(&Error::PoolClosed);
        stats.failed(&Error::argument("bad"));
        assert_eq!(stats.errors.load(Ordering::Relaxed), 2);
        assert_eq!(stats.last_error().unwrap().code, "INVALID_ARGUMENT");
    }

    #[test]
    fn the_last_error_is_redacted() {
        let stats = Stats::new(Redactor::new(Some(b"pw-secret")));
        stats.failed(&Error::argument("bad value \"pw-secret\""));
        assert_eq!(stats.last_error().unwrap().message, "bad value \"***\"");
        stats.transactions(1);
        stats.transactions(2);
        assert_eq!(stats.transactions.load(Ordering::Relaxed), 3);
    }
}
