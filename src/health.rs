//! `getHealthStatus()`: one check query on a pooled connection, within a deadline, judged with the
//! pool's state. It never fails: whatever goes wrong becomes an `unhealthy` status with an error.
//!
//! - `unhealthy`: the check could not run within `timeoutMillis`: no connection (server down,
//!   refused, wrong password, pool closed, pool so busy that none came free in time) or no answer
//!   (a hung server or network).
//! - `degraded`: the check ran, but requests were waiting for a connection (the pool is the
//!   bottleneck), or the check took longer than [`slow_after`] of the timeout.
//! - `healthy`: the check ran promptly and nothing waited for a connection.
//!
//! A check that passes its deadline is dropped; its connection is then cut and discarded, never
//! returned to the pool with the query still pending, and the server is asked (in the background)
//! to cancel the query.
use crate::connection::Object;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::stats::Snapshot;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::SimpleQueryMessage;

/// What the check asks: one round trip for everything `getHealthStatus()` reports.
const CHECK_SQL: &str = "SELECT current_setting('server_version'), \
     (extract(epoch FROM now()) * 1000)::float8::text, current_database(), \
     pg_is_in_recovery(), \
     (SELECT version || '|' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl)";

/// A check slower than this counts as slow: a point query that takes a second, the wait for a
/// connection included, means the server or the pool is struggling.
const SLOW: Duration = Duration::from_secs(1);

/// The health of the pool and its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The check ran promptly and nothing waited for a connection.
    Healthy,
    /// The check ran, but slowly or with requests waiting for a connection.
    Degraded,
    /// The check could not run in time.
    Unhealthy,
}

impl Status {
    /// The status as JS sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// What the server reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// `server_version`, e.g. `15.14 (Debian 15.14-1.pgdg120+1)`.
    pub version: String,
    /// The server's `now()`, in milliseconds since the Unix epoch.
    pub time: f64,
    /// `current_database()`.
    pub database: String,
    /// `pg_is_in_recovery()`: a standby.
    pub is_replica: bool,
    /// The checked connection's TLS protocol version and cipher (`pg_stat_ssl`), if it is
    /// encrypted.
    pub tls: Option<(String, String)>,
}

/// The result of a check.
#[derive(Debug, Clone)]
pub struct Health {
    /// The verdict.
    pub status: Status,
    /// How long the check took, the wait for a connection included.
    pub response_time: Duration,
    /// What the server reported, when the check ran.
    pub server: Option<Server>,
    /// The pool's statistics after the check.
    pub pool: Snapshot,
    /// Why the check failed, when it did.
    pub error: Option<Error>,
}

/// The time past which a check counts as slow: [`SLOW`], or half the timeout when that is less.
pub fn slow_after(timeout: Duration) -> Duration {
    SLOW.min(timeout / 2)
}

/// The verdict for a check that ended with `outcome` after `elapsed`, with `waiting` requests
/// waiting for a connection when it began.
pub fn judge(
    outcome: &Result<Server>,
    elapsed: Duration,
    timeout: Duration,
    waiting: u64,
) -> Status {
    match outcome {
        Err(_) => Status::Unhealthy,
        Ok(_) if waiting > 0 || elapsed > slow_after(timeout) => Status::Degraded,
        Ok(_) => Status::Healthy,
    }
}

/// Runs the check on `pool`, giving up after `timeout`.
pub async fn check(pool: &Pool, timeout: Duration) -> Health {
    let waiting = pool.snapshot().waiting;
    let started = Instant::now();
    let connected = AtomicBool::new(false);
    let outcome = match tokio::time::timeout(timeout, probe(pool, &connected)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::QueryTimeout(timed_out(
            timeout,
            connected.load(Ordering::SeqCst),
        ))),
    };
    let response_time = started.elapsed();
    let status = judge(&outcome, response_time, timeout, waiting);
    let (server, error) = match outcome {
        Ok(server) => (Some(server), None),
        Err(e) => (None, Some(e)),
    };
    Health {
        status,
        response_time,
        server,
        pool: pool.snapshot(),
        error,
    }
}

fn timed_out(timeout: Duration, connected: bool) -> String {
    let ms = timeout.as_millis();
    if connected {
        format!(
            "the health check query did not answer within {ms} ms (`timeoutMillis`): the server \
             or the network is not responding; its connection was closed"
        )
    } else {
        format!(
            "the health check got no connection within {ms} ms (`timeoutMillis`): the server is \
             not answering, or every connection is busy (see `pool.waitingRequests`)"
        )
    }
}

/// Checks out a connection and runs the check query on it.
async fn probe(pool: &Pool, connected: &AtomicBool) -> Result<Server> {
    let _call = pool.enter()?;
    let conn = pool.acquire().await?;
    connected.store(true, Ordering::SeqCst);
    let mut held = Held {
        pool,
        conn: Some(conn),
    };
    let outcome = held
        .conn()
        .client()
        .simple_query(CHECK_SQL)
        .await
        .map_err(Error::from);
    let broken = matches!(&outcome, Err(e) if e.is_connection_fatal());
    held.give_back(broken);
    parse(&outcome?)
}

/// The checked-out connection of a check. Dropped before [`Held::give_back`] (the deadline passed
/// while the query ran), it cuts the connection and discards it.
struct Held<'a> {
    pool: &'a Pool,
    conn: Option<Object>,
}

impl Held<'_> {
    fn conn(&self) -> &Object {
        self.conn.as_ref().expect("held until given back")
    }

    fn give_back(&mut self, broken: bool) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn, broken);
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.stopper().cut();
            self.pool.give_back(conn, true);
        }
    }
}

/// The check query's one row.
fn parse(messages: &[SimpleQueryMessage]) -> Result<Server> {
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the health check query returned no row".into()))?;
    let text = |i: usize| row.get(i).unwrap_or_default().to_owned();
    Ok(Server {
        version: text(0),
        time: text(1).parse().unwrap_or(f64::NAN),
        database: text(2),
        is_replica: text(3) == "t",
        tls: row
            .get(4)
            .and_then(|t| t.split_once('|'))
            .map(|(version, cipher)| (version.to_owned(), cipher.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Result<Server> {
        Ok(Server {
            version: "15".into(),
            time: 0.0,
            database: "db".into(),
            is_replica: false,
            tls: None,
        })
    }

    #[test]
    fn the_verdict_follows_the_rules() {
        let t = Duration::from_secs(5);
        let fast = Duration::from_millis(3);
        assert_eq!(judge(&server(), fast, t, 0), Status::Healthy);
        assert_eq!(judge(&server(), fast, t, 1), Status::Degraded);
        assert_eq!(
            judge(&server(), Duration::from_millis(1200), t, 0),
            Status::Degraded
        );
        assert_eq!(
            judge(&Err(Error::PoolClosed), fast, t, 0),
            Status::Unhealthy
        );
    }

    #[test]
    fn a_short_timeout_lowers_the_slow_mark() {
        assert_eq!(slow_after(Duration::from_secs(5)), SLOW);
        assert_eq!(
            slow_after(Duration::from_millis(400)),
            Duration::from_millis(200)
        );
    }
}
