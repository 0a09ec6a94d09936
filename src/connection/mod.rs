//! One pooled connection ([`Conn`]) and the deadpool manager that opens, checks and retires them.
//!
//! The manager owns each connection's tokio-postgres connection task, which deadpool-postgres'
//! manager does not let us do: the task's error is what an idle connection's `error` event
//! carries, and dropping the client (rather than aborting the task) lets the task say Terminate to
//! the server before the socket closes.
use crate::circuit::{Change, Circuit};
use crate::config::topology::SessionAttrs;
use crate::connect::{Connector, Noted, Task};
use crate::engine::WritesTogether;
use crate::error::{Error, Result, ServerError};
use crate::events::{kind, Event, Events, Reason};
use crate::log::Log;
use crate::statements::StatementCache;
use crate::stats::Stats;
use crate::typeinfo::TypeStatements;
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

mod stop;
pub use stop::{wait_until_gone, Cancel, Stopper};

/// A connection idle longer than this is checked with a round trip before it is handed out: long
/// enough that a busy pool never pays for it, short enough to catch connections a firewall or a
/// server restart dropped while they sat in the pool.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(5);

tokio::task_local! {
    /// Set while the pool opens connections for itself (`min`), not for a caller.
    pub static BACKGROUND: bool;
}

/// The next connection number behind PgBouncer (see `Conn::pid`).
static NEXT_BOUNCED: AtomicI32 = AtomicI32::new(0);

/// How long closing a connection waits for its task to say goodbye to the server.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A connection as the pool hands it out.
pub type Object = managed::Object<Manager>;

/// State the connection task shares with the pool.
#[derive(Default)]
struct Shared {
    /// In the pool, not checked out: a failure now is reported as an `error` event.
    idle: AtomicBool,
    pid: AtomicI32,
    /// The server ended the connection with an error while no request waited for an answer
    /// (`pg_terminate_backend`, a shutdown). tokio-postgres reads before it writes, and hands
    /// such an error to the request it answers, if any; so requests queued when it came were
    /// never sent.
    ended_between_requests: AtomicBool,
}

/// One pooled connection.
pub struct Conn {
    /// Shared with a COMMIT still awaiting its answer after the connection went back to the pool
    /// (`Pool::commit_and_give_back`).
    client: Option<Arc<tokio_postgres::Client>>,
    task: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// Prepared statements of this connection.
    pub statements: StatementCache,
    pid: i32,
    retire_at: Option<Instant>,
    uses: u64,
    /// Where cancel requests go.
    connector: Arc<Connector>,
    /// What the connection's task learned from the server's messages.
    noted: Arc<Noted>,
    /// The lookup statements tokio-postgres keeps on this client (PgBouncer's transaction mode).
    types: Mutex<TypeStatements>,
    /// Something half done may be left on the server connection: the connection takes no more
    /// queries, and is closed, not rolled back, when it comes back (see `pinned`).
    poisoned: AtomicBool,
    /// The pool's count of description changes (`Manager::description_changes`), and its value
    /// when this connection's descriptions were last known good.
    description_changes: (Arc<AtomicU64>, AtomicU64),
}

impl Conn {
    /// Whether a statement on this connection set a session setting that changes how the server
    /// writes values as text: from then on, columns whose text depends on it come from the
    /// server (`convert::text::session_renders`).
    pub fn session_rendering(&self) -> bool {
        self.noted.rendering_changed.load(Ordering::Relaxed)
    }

    /// Records that a statement set such a setting.
    pub fn note_session_rendering(&self) {
        self.noted.rendering_changed.store(true, Ordering::Relaxed);
    }

    /// How many times the server said a `CREATE … IF NOT EXISTS` on this connection found its
    /// relation and skipped: compared before and after a statement, whether that one did.
    pub fn skipped_creates(&self) -> u64 {
        self.noted.skipped_creates.load(Ordering::Relaxed)
    }

    /// Calls `f` with what the connection keeps of tokio-postgres's type lookups.
    pub fn with_types<T>(&self, f: impl FnOnce(&mut TypeStatements) -> T) -> T {
        // The state stays consistent whatever panicked while it was held.
        f(&mut self.types.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Forgets every type the client looked up, and every statement prepared or described on
    /// the connection (after a type they return changed on the server).
    pub fn forget_types(&self) {
        self.client().clear_type_cache();
        self.statements.clear();
        self.with_types(TypeStatements::forget_types);
    }

    /// Records that a statement described on this connection returned other columns than
    /// described: the tables or types changed on the server, so every connection of the pool
    /// describes its statements again (see [`Conn::check_descriptions`]).
    pub fn descriptions_changed(&self) {
        self.description_changes.0.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets the connection's descriptions if any connection found one out of date since it
    /// last looked: one atomic read per query.
    pub fn check_descriptions(&self) {
        let (pool, seen) = &self.description_changes;
        let now = pool.load(Ordering::SeqCst);
        if seen.swap(now, Ordering::SeqCst) != now {
            self.statements.clear();
        }
    }

    /// Marks the connection as not to be used again (see [`Conn::poisoned`]).
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Whether something half done may be left on the server connection: the connection then
    /// takes no more queries, and is closed, not rolled back, when it comes back.
    pub fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// The tokio-postgres client.
    pub fn client(&self) -> &tokio_postgres::Client {
        self.shared_client()
    }

    /// The tokio-postgres client, to keep for a request that outlives this hand-out.
    pub fn shared_client(&self) -> &Arc<tokio_postgres::Client> {
        self.client
            .as_ref()
            .expect("a Conn has its client until it is closed")
    }

    /// The server process id of this connection; behind PgBouncer (`pgbouncer`), whose server
    /// process changes with each transaction, a negative number of the pool's own.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How many turns of the connection's task went without an error (`connect::Noted::turns`).
    pub fn turns(&self) -> u64 {
        self.noted.turns.load(Ordering::Relaxed)
    }

    /// Whether the server ended the connection between requests: a request that then failed
    /// with "connection closed" was never sent, and may run elsewhere.
    pub fn ended_between_requests(&self) -> bool {
        self.shared.ended_between_requests.load(Ordering::SeqCst)
    }

    /// Marks the connection as back in the pool (`true`) or handed out (`false`).
    pub fn set_idle(&self, idle: bool) {
        self.shared.idle.store(idle, Ordering::Relaxed);
    }

    /// Counts `uses` uses (queries, or checkouts by a client); returns why the connection must be
    /// retired now, if it must.
    pub fn used(&mut self, uses: u64, max_uses: u64) -> Option<Reason> {
        self.uses += uses;
        self.retirement(0, max_uses)
    }

    /// Why the connection must be retired once `more` uses are counted, if it must: it is closed,
    /// would reach `max_uses` (0: no limit), or is past its lifetime.
    pub fn retirement(&self, more: u64, max_uses: u64) -> Option<Reason> {
        if self.client().is_closed() || self.poisoned() {
            Some(Reason::Broken)
        } else if max_uses > 0 && self.uses + more >= max_uses {
            Some(Reason::MaxUses)
        } else if self.retire_at.is_some_and(|at| Instant::now() >= at) {
            Some(Reason::Lifetime)
        } else {
            None
        }
    }

    /// Whether the connection is past its lifetime or closed (checked while it is idle).
    pub fn expired(&self) -> Option<Reason> {
        self.retirement(0, 0)
    }

    /// What cancels the statement running on this connection, through the seam.
    pub fn canceller(&self) -> Cancel {
        Cancel {
            token: self.client().cancel_token(),
            connector: self.connector.clone(),
            pid: self.pid,
        }
    }

    /// What closing the pool needs to stop this connection while someone else holds it.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            cancel: self.canceller(),
            task: self.task.as_ref().map(JoinHandle::abort_handle),
        }
    }

    /// Closes the connection: the task sends Terminate and closes the socket; waits for it briefly.
    pub async fn close(mut self) {
        self.client.take();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(CLOSE_WAIT, task).await;
        }
    }
}

/// Opens and checks [`Conn`]s for deadpool.
pub struct Manager {
    /// Opens the connections.
    pub connector: Arc<Connector>,
    /// Size of each connection's statement cache.
    pub statement_cache_size: usize,
    /// Lifetime of a connection; `None` for no limit.
    pub max_lifetime: Option<Duration>,
    /// Where events go.
    pub events: Arc<Events>,
    /// Where connections are counted.
    pub stats: Arc<Stats>,
    /// Where connections are logged.
    pub log: Arc<Log>,
    /// How long the check of a connection that sat idle may take before the connection counts
    /// as dead (see [`check_wait`]).
    pub check_wait: Duration,
    /// When a check last found an idle connection dead: connections idle since before then
    /// are retired without a check of their own.
    pub dead_before: std::sync::Mutex<Option<Instant>>,
    /// The circuit breaker in front of new connections.
    pub circuit: Circuit,
    /// The startup options set a setting that changes how the server writes values as text
    /// (`Conn::session_rendering`).
    pub session_rendering: bool,
    /// PgBouncer's transaction mode (`pgbouncer`).
    pub pgbouncer: bool,
    /// With `pgbouncer`: whether a statement on any connection changed such a setting, since
    /// it stays on a server connection every connection may be given.
    pub shared_rendering: Option<Arc<AtomicBool>>,
    /// How many times a connection found the shape of a described statement changed on the
    /// server (`Conn::descriptions_changed`).
    pub description_changes: Arc<AtomicU64>,
}

/// How long the check of an idle connection may take: a round trip on any network a pool
/// should be used across is far below a second; a peer that has not answered by then (or by
/// a quarter of `connectionTimeoutMillis`, when that is less) is taken for gone, so that the
/// caller still gets a new connection within its `connectionTimeoutMillis`.
pub fn check_wait(connection_timeout: Option<Duration>) -> Duration {
    const MOST: Duration = Duration::from_secs(1);
    connection_timeout.map_or(MOST, |t| (t / 4).min(MOST))
}

impl Manager {
    /// When a check last found an idle connection dead.
    fn dead_before(&self) -> Option<Instant> {
        *self.dead_before.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a connection leaving the pool and emits its `remove` event.
    pub fn retired(&self, pid: i32, reason: Reason) {
        self.stats.removed.fetch_add(1, Ordering::Relaxed);
        self.log.removed(pid, reason);
        self.events
            .emit(kind::REMOVE, || Event::Remove { pid, reason });
    }
}

/// A retirement time for a new connection: its lifetime less up to a tenth, so connections opened
/// together do not all retire together. The spread comes from the backend pid and the clock, which
/// is random enough for this and needs no generator.
fn retire_at(lifetime: Duration, pid: i32) -> Instant {
    let spread = lifetime.as_millis() as u64 / 10;
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let seed = (pid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ clock;
    let jitter = if spread == 0 { 0 } else { seed % spread };
    Instant::now() + lifetime - Duration::from_millis(jitter)
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = Error;

    async fn create(&self) -> Result<Conn> {
        self.circuit.admit()?;
        let started = Instant::now();
        // Boxed: opening a connection is a large future, and deadpool's `get` (part of every
        // query's future) would otherwise hold it inline, to be moved around with each query.
        let conn = Box::pin(self.open()).await;
        let change = match &conn {
            Ok(conn) => {
                self.log.connected(conn.pid, started.elapsed());
                self.stats.reached(true);
                self.circuit.succeeded()
            }
            Err(e) => {
                self.log.connect_failed(e, started.elapsed());
                self.stats.remember(e);
                self.stats.reached(false);
                self.circuit
                    .failed(e, BACKGROUND.try_with(|b| *b).unwrap_or(false))
            }
        };
        match change {
            Change::None => {}
            Change::Opened(error) => self
                .events
                .emit(kind::CIRCUIT_OPEN, || Event::CircuitOpen { error }),
            Change::Closed => self
                .events
                .emit(kind::CIRCUIT_CLOSE, || Event::CircuitClose),
        }
        conn
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<Error> {
        let mut reason = conn.expired();
        if reason.is_none()
            && self.connector.session_attrs() != SessionAttrs::Any
            && conn.noted.role_changed.load(Ordering::Relaxed)
        {
            // Promoted, or read-only by default now: it may no longer be what
            // `targetSessionAttrs` asked for, and a new connection finds one that is.
            reason = Some(Reason::Role);
        }
        let idle = metrics.last_used();
        if reason.is_none() && idle > CHECK_IDLE_AFTER {
            let idle_since = Instant::now() - idle;
            if self.dead_before().is_some_and(|dead| idle_since < dead) {
                // Idle since before a check that found its peer gone: most likely gone too
                // (a firewall or NAT that dropped one idle connection dropped them all), and
                // checking each would cost the caller a check's wait apiece.
                reason = Some(Reason::Broken);
            } else {
                // Boxed, as `open` in `create`: rare, and large inline.
                let check = Box::pin(conn.client().simple_query(""));
                match tokio::time::timeout(self.check_wait, check).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        self.log.ended(conn.pid, &e.into());
                        reason = Some(Reason::Broken);
                    }
                    Err(_) => {
                        *self.dead_before.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Instant::now());
                        reason = Some(Reason::Broken);
                    }
                }
            }
        }
        if let Some(reason) = reason {
            self.retired(conn.pid, reason);
            return Err(RecycleError::message(reason.as_str()));
        }
        conn.set_idle(false);
        Ok(())
    }
}

impl Manager {
    /// Opens a connection and learns its backend pid.
    async fn open(&self) -> Result<Conn> {
        let (client, connection) = self.connector.connect().await?;
        let shared = Arc::new(Shared::default());
        // Behind PgBouncer a setting changed on one connection may be met by any of them.
        let rendering_changed = match &self.shared_rendering {
            Some(shared) => shared.clone(),
            None => Arc::new(AtomicBool::new(self.session_rendering)),
        };
        let noted = Arc::new(Noted {
            rendering_changed,
            ..Noted::default()
        });
        let watch_role = self.connector.session_attrs() != SessionAttrs::Any;
        let task = {
            let noted = noted.clone();
            let shared = shared.clone();
            let events = self.events.clone();
            let log = self.log.clone();
            tokio::spawn(async move {
                let on_notice = {
                    let (shared, events) = (shared.clone(), events.clone());
                    Box::new(move |notice: &tokio_postgres::error::DbError| {
                        let pid = shared.pid.load(Ordering::Relaxed);
                        events.emit(kind::NOTICE, || Event::Notice {
                            pid,
                            notice: Error::Server(Box::new(ServerError::of(notice))),
                        });
                    })
                };
                let task = Task::new(connection, noted, on_notice);
                let task = if watch_role {
                    task.watching_role()
                } else {
                    task
                };
                if let Err(e) = WritesTogether::new(task).await {
                    // An error from the server that ends the connection task answered no request
                    // (a request's error goes to that request, and the task carries on): the
                    // connection died idle, even if it had just been handed out, or a client
                    // held it between queries. Nobody else will report it.
                    let between_requests = e.as_db_error().is_some();
                    if between_requests {
                        shared.ended_between_requests.store(true, Ordering::SeqCst);
                    }
                    if between_requests || shared.idle.load(Ordering::Relaxed) {
                        let pid = shared.pid.load(Ordering::Relaxed);
                        let error = Error::from(e);
                        log.idle_failed(pid, &error);
                        events.emit(kind::ERROR, || Event::Error { pid, error });
                    } else {
                        // The query that was using the connection reports the failure itself.
                        let pid = shared.pid.load(Ordering::Relaxed);
                        log.ended(pid, &e.into());
                    }
                }
            })
        };
        let pid = if self.pgbouncer {
            // The server process changes from one transaction to the next, and PgBouncer's own
            // key for the connection is private to tokio-postgres: a number of the pool's own.
            -1 - NEXT_BOUNCED.fetch_add(1, Ordering::Relaxed) % i32::MAX
        } else {
            // tokio-postgres keeps the backend pid private; one round trip per new connection.
            match client.simple_query("SELECT pg_backend_pid()").await {
                Ok(messages) => messages.iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse::<i32>().ok(),
                    _ => None,
                }),
                Err(e) => {
                    drop(client);
                    return Err(e.into());
                }
            }
            .ok_or_else(|| Error::Internal("the server did not report its process id".into()))?
        };
        shared.pid.store(pid, Ordering::Relaxed);
        self.stats.created.fetch_add(1, Ordering::Relaxed);
        self.events.emit(kind::CONNECT, || Event::Connect { pid });
        Ok(Conn {
            client: Some(Arc::new(client)),
            task: Some(task),
            shared,
            statements: StatementCache::new(self.statement_cache_size),
            pid,
            retire_at: self.max_lifetime.map(|l| retire_at(l, pid)),
            uses: 0,
            connector: self.connector.clone(),
            noted,
            types: Mutex::default(),
            poisoned: AtomicBool::new(false),
            description_changes: (
                self.description_changes.clone(),
                AtomicU64::new(self.description_changes.load(Ordering::SeqCst)),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retirement_is_spread_over_the_last_tenth_of_the_lifetime() {
        let lifetime = Duration::from_secs(100);
        let now = Instant::now();
        for pid in 1..50 {
            let at = retire_at(lifetime, pid);
            assert!(at <= now + lifetime + Duration::from_millis(50));
            assert!(at >= now + Duration::from_secs(90));
        }
    }
}
