//! The deadpool manager: opens [`Conn`]s, checks them before each hand-out, and counts and
//! reports their retirement.
use super::*;

/// A connection idle longer than this is checked with a round trip before it is handed out: long
/// enough that a busy pool never pays for it, short enough to catch connections a firewall or a
/// server restart dropped while they sat in the pool.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(5);

/// The next connection number behind PgBouncer (see `Conn::pid`).
static NEXT_BOUNCED: AtomicI32 = AtomicI32::new(0);

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
        let mut reason = self.unfit(conn);
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
    /// Why an idle connection must not be handed out again, as far as is known without asking
    /// the server: it is closed or past its lifetime, or its role may no longer be the one
    /// `targetSessionAttrs` asks for.
    pub fn unfit(&self, conn: &Conn) -> Option<Reason> {
        conn.expired().or_else(|| {
            // Promoted, or read-only by default now: it may no longer be what
            // `targetSessionAttrs` asked for, and a new connection finds one that is.
            (self.connector.session_attrs() != SessionAttrs::Any
                && conn.noted.role_changed.load(Ordering::Relaxed))
            .then_some(Reason::Role)
        })
    }

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
