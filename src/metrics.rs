//! `metrics()`: the pool's statistics in the Prometheus text exposition format (version 0.0.4),
//! every name under `pg_rust_pool_`, counters ending in `_total`, latencies as histograms in
//! seconds with the bounds of [`BUCKETS`], and a `pool` label on every sample when the manager has
//! a `name`.
use crate::pool::Pool;
use crate::stats::{Histogram, Snapshot, BUCKETS};
use std::fmt::Write as _;

/// The content type of [`render`]'s output, for a `/metrics` endpoint.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics of `pool` now.
pub fn scrape(pool: &Pool) -> String {
    let stats = pool.stats();
    render(
        &pool.snapshot(),
        &stats.acquire.histogram(),
        &stats.query.histogram(),
        pool.config().name.as_deref(),
    )
}

/// The exposition text for one snapshot and its histograms.
pub fn render(s: &Snapshot, acquire: &Histogram, query: &Histogram, pool: Option<&str>) -> String {
    let mut out = Exposition {
        text: String::with_capacity(4096),
        pool: pool.map(escape),
    };
    out.family(
        "connections",
        "gauge",
        "Open connections, by state: handed out (active) or in the pool (idle).",
    );
    out.sample("connections", &[("state", "active")], s.active as f64);
    out.sample("connections", &[("state", "idle")], s.idle as f64);
    let gauges = [
        (
            "connections_max",
            "Largest number of connections (`max`).",
            s.max,
        ),
        (
            "connections_min",
            "Connections kept open even when idle (`min`).",
            s.min,
        ),
        (
            "waiting_requests",
            "Calls waiting for a connection.",
            s.waiting,
        ),
        (
            "circuit_open",
            "1 while the circuit breaker keeps calls that need a new connection from trying \
             (open or half-open), else 0.",
            u64::from(s.circuit != crate::circuit::State::Closed),
        ),
        (
            "listen_connected",
            "1 while the LISTEN connection is open with every channel listened in force, else 0.",
            u64::from(s.listen.connected),
        ),
        (
            "listen_channels",
            "Channels listened on the LISTEN connection.",
            s.listen.channels,
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, "gauge", help);
        out.sample(name, &[], value as f64);
    }
    let counters = [
        ("queries_total", "Queries run.", s.queries),
        (
            "transactions_total",
            "Transactions run through executeTransaction.",
            s.transactions,
        ),
        ("errors_total", "Calls that failed.", s.errors),
        (
            "pool_exhausted_total",
            "Acquires that found no idle connection and had to wait.",
            s.exhausted,
        ),
        (
            "connections_created_total",
            "Connections opened.",
            s.created,
        ),
        (
            "connections_removed_total",
            "Connections closed.",
            s.removed,
        ),
        (
            "circuit_openings_total",
            "Times the circuit breaker opened.",
            s.circuit_openings,
        ),
        (
            "listen_reconnects_total",
            "Times the LISTEN connection was re-established after it was lost.",
            s.listen.reconnects,
        ),
        (
            "notifications_received_total",
            "Notifications received on the LISTEN connection.",
            s.listen.notifications,
        ),
    ];
    for (name, help, value) in counters {
        out.family(name, "counter", help);
        out.sample(name, &[], value as f64);
    }
    out.histogram(
        "acquire_duration_seconds",
        "Time to get a connection from the pool.",
        acquire,
    );
    out.histogram(
        "query_duration_seconds",
        "Time to run a query, the wait for a connection excluded.",
        query,
    );
    out.text
}

/// The text being written, and the `pool` label (already escaped) of every sample.
struct Exposition {
    text: String,
    pool: Option<String>,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP pg_rust_pool_{name} {help}");
        let _ = writeln!(self.text, "# TYPE pg_rust_pool_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.text, "pg_rust_pool_{name}");
        let pool = self.pool.as_deref().map(|p| ("pool", p));
        let all: Vec<(&str, &str)> = pool.into_iter().chain(labels.iter().copied()).collect();
        if !all.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in all.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{v}\"");
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (bound, count) in BUCKETS.iter().zip(&h.buckets) {
            self.sample(&bucket, &[("le", &number(*bound))], *count as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], h.count as f64);
        self.sample(&format!("{name}_sum"), &[], h.sum);
        self.sample(&format!("{name}_count"), &[], h.count as f64);
    }
}

/// A sample value or bound as Prometheus writes it: integers without a fraction.
fn number(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    format!("{v}")
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;

    fn snapshot() -> Snapshot {
        Snapshot {
            total: 3,
            idle: 1,
            active: 2,
            waiting: 4,
            max: 5,
            min: 0,
            queries: 10,
            transactions: 2,
            errors: 1,
            exhausted: 6,
            created: 3,
            removed: 0,
            acquire: Summary::default(),
            query: Summary::default(),
            last_error: None,
            circuit: crate::circuit::State::Closed,
            circuit_openings: 0,
            profile: "development",
            listen: crate::stats::Listening {
                connected: true,
                channels: 2,
                reconnects: 1,
                notifications: 7,
            },
        }
    }

    fn histogram() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS.len() as u64).map(|i| i.min(3)).collect(),
            count: 4,
            sum: 12.5,
        }
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = render(&snapshot(), &histogram(), &histogram(), None);
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with("# HELP ") {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
                    .unwrap_or(name);
                assert!(declared.contains(family), "{name} before its # TYPE");
            }
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn counters_gauges_and_histograms() {
        let text = render(&snapshot(), &histogram(), &histogram(), None);
        for line in [
            "# TYPE pg_rust_pool_queries_total counter",
            "pg_rust_pool_queries_total 10",
            "pg_rust_pool_transactions_total 2",
            "pg_rust_pool_errors_total 1",
            "pg_rust_pool_pool_exhausted_total 6",
            "pg_rust_pool_connections{state=\"active\"} 2",
            "pg_rust_pool_connections{state=\"idle\"} 1",
            "pg_rust_pool_waiting_requests 4",
            "pg_rust_pool_listen_connected 1",
            "pg_rust_pool_listen_channels 2",
            "pg_rust_pool_listen_reconnects_total 1",
            "pg_rust_pool_notifications_received_total 7",
            "# TYPE pg_rust_pool_query_duration_seconds histogram",
            "pg_rust_pool_query_duration_seconds_bucket{le=\"0.0001\"} 0",
            "pg_rust_pool_query_duration_seconds_bucket{le=\"5\"} 3",
            "pg_rust_pool_query_duration_seconds_bucket{le=\"+Inf\"} 4",
            "pg_rust_pool_query_duration_seconds_sum 12.5",
            "pg_rust_pool_query_duration_seconds_count 4",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn a_named_pool_labels_every_sample() {
        let text = render(&snapshot(), &histogram(), &histogram(), Some("a\"b\\c"));
        assert!(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.starts_with("pg_rust_pool_") && l.contains("{pool=\"a\\\"b\\\\c\"")));
        assert!(text.contains(
            "pg_rust_pool_acquire_duration_seconds_bucket{pool=\"a\\\"b\\\\c\",le=\"0.001\"} 2"
        ));
    }
}
