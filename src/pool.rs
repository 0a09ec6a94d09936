//! The pool: deadpool's managed pool of [`Conn`]s, the lifecycle state every entry point checks,
//! what happens when a connection is handed out and comes back (events, retirement), where a
//! manager query runs (a connection of its own or a place on a shared one, see `share`), the
//! maintenance that keeps `min` connections and closes idle ones, and a graceful close.
use crate::circuit::Circuit;
use crate::config::Config;
use crate::connect::Connector;
use crate::connection::BACKGROUND;
pub use crate::connection::{Conn, Manager, Object, Stopper};
use crate::deadline::{Abort, Limit, Stage};
use crate::error::{Error, Result, CANCELLED, ENDED_BEFORE_RUNNING};
use crate::events::{kind, Event, Events, Reason};
use crate::log::Log;
use crate::params::Param;
use crate::query::{self, EarlyRows, QueryOptions};
use crate::redact::Redactor;
use crate::result::ResultSet;
use crate::share::{self, Lane, Lanes, Place};
use crate::split::split;
use crate::stats::{Snapshot, Stats};
use crate::txstate;
use deadpool::managed::{self, PoolError, TimeoutType, Timeouts};
use deadpool::Runtime;
use futures_util::poll;
use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OnceCell};

/// Lifecycle states; every entry point checks the state once.
const OPEN: u8 = 0;
const CLOSING: u8 = 1;
const CLOSED: u8 = 2;

/// How often maintenance runs: often enough that idle timeouts of a second or less are honoured
/// closely, rarely enough to cost nothing measurable (it only scans idle connections).
const MAINTENANCE_INTERVAL: Duration = Duration::from_millis(100);

/// How long a close past its timeout waits for the calls it cut to hand their connections back:
/// a cut call fails at once; a client held past the timeout is not waited for (its calls fail
/// with POOL_CLOSED).
const CUT_CALLS_WAIT: Duration = Duration::from_millis(200);

/// How long `close({ timeoutMillis })` waits, past its timeout, for the connections to say
/// goodbye and for the server to let their backends go (a dead link answers neither).
/// How long maintenance waits after a failed try to open the `min` connections, doubling up to
/// [`FILL_RETRY_CAP`]: a database that is down is not asked ten times a second.
const FILL_RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between tries to open the `min` connections.
const FILL_RETRY_CAP: Duration = Duration::from_secs(30);
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// `waitForDatabase`' backoff: from 100 ms, ×1.5 per attempt, at most 500 ms between attempts,
/// so a database that comes up is noticed within a second, connecting included. (A 30 s cap, as
/// first specified, puts attempts at 3.2 s, 4.9 s and 7.4 s: a server ready at 5 s would wait
/// 2.4 s to be noticed. An attempt on a server that is down costs it one refused connection.)
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_CAP: Duration = Duration::from_millis(500);

/// The most a manager query may weigh (its text and values) to share a connection, and to be
/// known never to have left a connection that failed under it: eight such requests (the most one
/// connection carries at once) go out in one write, since tokio-postgres flushes its buffer in
/// the middle of a turn only past 8 KiB; so a turn that fails wrote none of them.
const SMALL_REQUEST: usize = 512;

/// The bytes of a query's text and values, about what its request weighs.
fn request_bytes(sql: &str, params: &[Param]) -> usize {
    sql.len()
        + params
            .iter()
            .map(|p| match p {
                Param::Null => 4,
                Param::Text(t) => 4 + t.len(),
                Param::Binary(b) => 4 + b.len(),
            })
            .sum::<usize>()
}

/// A pool of connections with its configuration and lifecycle.
pub struct Pool {
    pool: managed::Pool<Manager>,
    config: Config,
    query_options: QueryOptions,
    events: Arc<Events>,
    stats: Arc<Stats>,
    log: Arc<Log>,
    state: AtomicU8,
    in_flight: AtomicUsize,
    idle: Notify,
    closed: OnceCell<()>,
    /// Checked-out connections by backend pid, so a close past its timeout can stop them.
    in_use: Mutex<HashMap<i32, Stopper>>,
    /// Held while opening connections up to a count: deadpool counts a connection in `size` only
    /// once it is open, so two concurrent fills (initialize() and maintenance) would each open
    /// the missing ones.
    filling: tokio::sync::Mutex<()>,
    /// Connections handed out to manager queries that others may join.
    lanes: Lanes,
    /// Waits for a connection that their query gave up for a place on a lane: deadpool counts
    /// them as waiting, but no call waits for them.
    forsaken: AtomicUsize,
    /// When maintenance may next try to open the `min` connections, and the wait after the
    /// next failure.
    fill_retry: Mutex<(Option<Instant>, Duration)>,
    /// Callers that hold a connection of this pool and wait for another (see
    /// [`Pool::wait_holding`]), and the signal of each change of their number.
    holding_waiters: AtomicUsize,
    holding_changed: Notify,
}

/// A caller counted among [`Pool::holding_waiters`] while it waits.
struct HoldingWaiter<'p>(&'p Pool);

impl<'p> HoldingWaiter<'p> {
    fn enter(pool: &'p Pool) -> Self {
        pool.holding_waiters.fetch_add(1, Ordering::SeqCst);
        pool.holding_changed.notify_waiters();
        HoldingWaiter(pool)
    }
}

impl Drop for HoldingWaiter<'_> {
    fn drop(&mut self) {
        self.0.holding_waiters.fetch_sub(1, Ordering::SeqCst);
        self.0.holding_changed.notify_waiters();
    }
}

/// Counts a call in flight; `close()` waits for the count to reach zero.
pub(crate) struct InFlight<'a>(&'a Pool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A checked-out connection's claim on the pool: like a call in flight, `close()` waits until it
/// drops.
pub struct Lease(Arc<Pool>);

impl Lease {
    /// The pool the lease is on.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Pool {
    /// A pool for `config`; no connection is opened until one is needed.
    pub fn new(config: Config, text_oids: Vec<u32>) -> Result<Self> {
        let events = Arc::new(Events::default());
        let redactor =
            Redactor::new(config.pg.get_password()).also(config.tls.key_password.as_deref());
        let stats = Arc::new(Stats::new(redactor.clone()));
        let log = Arc::new(Log::new(config.log.clone(), config.name.clone(), redactor));
        let manager = Manager {
            stats: stats.clone(),
            log: log.clone(),
            connector: Arc::new(Connector::new(&config)?),
            check_wait: crate::connection::check_wait(config.connection_timeout),
            dead_before: Default::default(),
            circuit: Circuit::new(config.circuit),
            statement_cache_size: config.max_prepared_statements,
            max_lifetime: config.max_lifetime,
            events: events.clone(),
            session_rendering: config
                .pg
                .get_options()
                .is_some_and(crate::split::startup_changes_rendering),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(config.max)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: config.connection_timeout,
                // The seam bounds the whole connect itself (`connect::Connector`), so the error
                // says where it was connecting, and reaches the statistics' lastError.
                create: None,
                recycle: config.connection_timeout,
            })
            .build()
            .map_err(|e| Error::Internal(format!("could not build the pool: {e}")))?;
        let query_options = QueryOptions {
            statement_cache: config.statement_cache,
            text_oids,
            in_transaction: false,
        };
        Ok(Pool {
            pool,
            config,
            query_options,
            events,
            stats,
            log,
            state: AtomicU8::new(OPEN),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            closed: OnceCell::new(),
            in_use: Mutex::new(HashMap::new()),
            filling: tokio::sync::Mutex::new(()),
            lanes: Lanes::default(),
            forsaken: AtomicUsize::new(0),
            fill_retry: Mutex::new((None, FILL_RETRY_FIRST)),
            holding_waiters: AtomicUsize::new(0),
            holding_changed: Notify::new(),
        })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pool's event outlet.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The pool's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The pool's logger.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Sizes from one consistent look at the pool, and the counters.
    pub fn snapshot(&self) -> Snapshot {
        let status = self.pool.status();
        let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        Snapshot {
            total: status.size as u64,
            idle: status.available as u64,
            active: status.size.saturating_sub(status.available) as u64,
            waiting: self.waiting(&status) as u64,
            max: self.config.max as u64,
            min: self.config.min as u64,
            queries: count(&s.queries),
            transactions: count(&s.transactions),
            errors: count(&s.errors),
            exhausted: count(&s.exhausted),
            created: count(&s.created),
            removed: count(&s.removed),
            acquire: s.acquire.summary(),
            query: s.query.summary(),
            last_error: s.last_error(),
            circuit: self.pool.manager().circuit.state(),
            circuit_openings: self.pool.manager().circuit.openings(),
            profile: self.config.profile,
        }
    }

    /// Calls waiting for a connection.
    fn waiting(&self, status: &managed::Status) -> usize {
        status
            .waiting
            .saturating_sub(self.forsaken.load(Ordering::Relaxed))
    }

    /// How queries run on this pool's connections.
    pub fn query_options(&self) -> &QueryOptions {
        &self.query_options
    }

    /// Ends a call (or a lease) in flight.
    fn leave(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Registers a call, or fails with `POOL_CLOSED` once `close()` has begun.
    pub(crate) fn enter(&self) -> Result<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self);
        if self.state.load(Ordering::SeqCst) != OPEN {
            return Err(Error::PoolClosed);
        }
        Ok(guard)
    }

    /// Checks out a connection, waiting at most `connectionTimeoutMillis`.
    pub(crate) async fn acquire(&self) -> Result<Object> {
        let started = Instant::now();
        // No idle connection: this acquire waits, for a release or for a new connection.
        if self.pool.status().available == 0 {
            self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
        }
        let conn = self.pool.get().await.map_err(|e| self.acquire_error(e))?;
        Ok(self.handed_out(conn, started))
    }

    /// The pool's timeouts, but no wait for a connection: one idle or one that can be opened now,
    /// else `PoolError::Timeout(Wait)` at once (also when others wait: deadpool serves them first).
    fn no_wait(&self) -> Timeouts {
        Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        }
    }

    /// Checks out a connection only if one is free or can be opened now: the caller already holds
    /// one, so waiting for another could wait for itself.
    async fn acquire_now(self: &Arc<Self>) -> Result<Object> {
        let started = Instant::now();
        let conn = match self.pool.timeout_get(&self.no_wait()).await {
            Ok(conn) => conn,
            Err(PoolError::Timeout(TimeoutType::Wait)) => self.wait_holding().await?,
            Err(e) => return Err(self.acquire_error(e)),
        };
        Ok(self.handed_out(conn, started))
    }

    /// Waits for a connection for code that already holds one of this pool, like any caller,
    /// unless that would be a deadlock: every connection is held by code that is itself waiting
    /// for one of this pool (each such waiter holds at least one), so none can come back; then
    /// it fails at once with POOL_DEADLOCK, as does every other waiter of the cycle.
    async fn wait_holding(self: &Arc<Self>) -> Result<Object> {
        self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
        let _waiting = HoldingWaiter::enter(self);
        // Owned, so that it can finish on its own if the caller leaves as a deadlock: dropped
        // half way, deadpool's get() would discard a connection it was checking, uncounted.
        let pool = self.pool.clone();
        let mut get = Box::pin(async move { pool.get().await });
        loop {
            let changed = self.holding_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.deadlocked() {
                let lease = self.lease();
                tokio::spawn(async move {
                    if let Ok(conn) = get.await {
                        conn.set_idle(true);
                    }
                    drop(lease);
                });
                return Err(Error::PoolDeadlock(format!(
                    "all {} connections (`max`) are in use and this code already holds one of \
                     them (inside executeTransaction, or with a client from getClient()), as does \
                     every other holder, each waiting for another: none can come back; run the \
                     query on the client you hold (`client.query(…)`) instead of the manager",
                    self.config.max
                )));
            }
            tokio::select! {
                biased;
                got = &mut get => return got.map_err(|e| match self.acquire_error(e) {
                    Error::PoolTimeout(m) => Error::PoolTimeout(format!(
                        "{m}; this code holds a client of this manager (inside \
                         executeTransaction, or from getClient()): run the query on it \
                         (`client.query(…)`) or release it first"
                    )),
                    e => e,
                }),
                () = &mut changed => {}
            }
        }
    }

    /// Whether every connection is held by code waiting for another one of this pool.
    fn deadlocked(&self) -> bool {
        let waiting = self.holding_waiters.load(Ordering::SeqCst);
        self.pool.status().size >= self.config.max && waiting >= self.config.max
    }

    /// Records a connection handed out: statistics, log, the in-use registry, the event.
    fn handed_out(&self, conn: Object, started: Instant) -> Object {
        self.stats.acquire.record(started.elapsed());
        let pid = conn.pid();
        self.log.acquired(pid, started.elapsed());
        self.in_use().insert(pid, conn.stopper());
        self.events.emit(kind::ACQUIRE, || Event::Acquire { pid });
        conn
    }

    /// What a failed checkout means to the user.
    fn acquire_error(&self, e: PoolError<Error>) -> Error {
        let millis = self.config.connection_timeout.map_or(0, |d| d.as_millis());
        match e {
            PoolError::Timeout(TimeoutType::Wait) => {
                let status = self.pool.status();
                Error::PoolTimeout(format!(
                    "timed out after {millis} ms waiting for a connection: all {} connections \
                     (`max`) are in use and {} requests are waiting; raise `max`, release clients \
                     sooner, or raise `connectionTimeoutMillis`",
                    status.max_size,
                    self.waiting(&status),
                ))
            }
            PoolError::Timeout(_) => Error::ConnectTimeout(format!(
                "could not connect to the server within {millis} ms (`connectionTimeoutMillis`) \
                 (connecting as {}): check that it is running and reachable",
                crate::config::describe(&self.config)
            )),
            // Only the pool knows where it tried to connect; the password is never part of it.
            PoolError::Backend(Error::Connect { code, message }) => Error::Connect {
                code,
                message: format!(
                    "{message} (connecting as {}): check that PostgreSQL is running there and \
                     that `host`, `port` and `database` are right",
                    crate::config::describe(&self.config)
                ),
            },
            PoolError::Backend(e) => e,
            PoolError::Closed => Error::PoolClosed,
            other => Error::Internal(format!("could not get a connection: {other}")),
        }
    }

    /// A claim for a client (`getClient()`, `executeTransaction`), which then checks out its
    /// connection ([`Pool::connect`]): `POOL_CLOSED` once `close()` has begun, which then waits
    /// for the claim to drop.
    pub fn reserve(self: &Arc<Self>) -> Result<Lease> {
        let _call = self.enter()?;
        // The lease counts in flight before this call stops counting, so `close()` never sees 0.
        Ok(self.lease())
    }

    /// Checks out a connection for the holder of a [`Lease`]. Without `wait` (the caller holds a
    /// connection of this pool already) it fails with `POOL_DEADLOCK` when waiting would be a
    /// deadlock (see [`Pool::wait_holding`]).
    pub async fn connect(self: &Arc<Self>, wait: bool) -> Result<Object> {
        if wait {
            self.acquire().await
        } else {
            self.acquire_now().await
        }
    }

    /// A claim that keeps `close()` waiting until it drops.
    fn lease(self: &Arc<Self>) -> Lease {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Lease(Arc::clone(self))
    }

    /// Where one manager query runs: on an idle connection, or a new one, when the pool has it
    /// now; else, for a `shareable` query, on a place on a connection other manager queries run
    /// on or a connection of its own, whichever comes first; else on a connection of its own.
    /// Waiting for a connection is first come, first served and bounded by
    /// `connectionTimeoutMillis`. A shareable query's own connection becomes a lane that others
    /// may join.
    async fn place_for(self: &Arc<Self>, shareable: bool) -> Result<Place> {
        let started = Instant::now();
        let idle = self.pool.status().available > 0;
        let conn = match self.pool.timeout_get(&self.no_wait()).await {
            Ok(conn) => {
                if !idle {
                    // It waited for a new connection.
                    self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
                }
                conn
            }
            Err(PoolError::Timeout(TimeoutType::Wait)) if shareable => {
                match self.share_or_wait().await? {
                    Ok(place) => {
                        // A place is this query's acquire; the hand-out was its opener's.
                        self.stats.acquire.record(started.elapsed());
                        return Ok(place);
                    }
                    Err(conn) => conn,
                }
            }
            Err(PoolError::Timeout(TimeoutType::Wait)) => {
                self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
                self.pool.get().await.map_err(|e| self.acquire_error(e))?
            }
            Err(e) => return Err(self.acquire_error(e)),
        };
        let home: Arc<dyn share::Home> = Arc::clone(self) as _;
        let place = Lane::open(self.handed_out(conn, started), home);
        if shareable {
            self.lanes.offer(&place);
        }
        Ok(place)
    }

    /// A place on a lane (`Ok`) or a connection of its own (`Err`), whichever comes first; a
    /// connection when both are there.
    async fn share_or_wait(self: &Arc<Self>) -> Result<std::result::Result<Place, Object>> {
        let mut room = pin!(self.lanes.room());
        room.as_mut().enable();
        if let Some(place) = self.lanes.join() {
            return Ok(Ok(place));
        }
        // It waits, as an acquire that found no idle connection.
        self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
        // Owned, so that it can finish on its own if the query leaves for a place on a lane:
        // dropped half way, deadpool's get() would discard a connection it was checking, uncounted.
        let pool = self.pool.clone();
        let mut get = Box::pin(async move { pool.get().await });
        loop {
            tokio::select! {
                biased;
                got = &mut get => return got.map(Err).map_err(|e| self.acquire_error(e)),
                () = &mut room => {}
            }
            room.set(self.lanes.room());
            room.as_mut().enable();
            if let Some(place) = self.lanes.join() {
                // The connection it waited for goes straight back; `close()` waits for that.
                let lease = self.lease();
                self.forsaken.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Ok(conn) = get.await {
                        conn.set_idle(true);
                    }
                    lease.pool().forsaken.fetch_sub(1, Ordering::Relaxed);
                    drop(lease);
                });
                return Ok(Ok(place));
            }
        }
    }

    fn in_use(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Stopper>> {
        self.in_use.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no call is in flight.
    async fn drained(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Takes back a connection after use. It returns to the pool unless it is broken, used up,
    /// past its lifetime, or the pool is closing, in which case it is closed (`remove`).
    /// Returns whether a closing pool had cut the connection while it was out.
    pub(crate) fn give_back(&self, conn: Object, broken: bool) -> bool {
        self.take_back(conn, broken.then_some(Reason::Broken), 1)
    }

    /// Closes a checked-out connection for good (`client.release(true)`, a failed rollback).
    pub(crate) fn destroy(&self, conn: Object, reason: Reason) {
        self.take_back(conn, Some(reason), 1);
    }

    /// Whether a closing pool cut the connection of backend `pid` while it was out.
    pub(crate) fn cut_off(&self, pid: i32) -> bool {
        self.state.load(Ordering::SeqCst) != OPEN && !self.in_use().contains_key(&pid)
    }

    /// Takes back a connection that served `uses` uses (see [`Pool::give_back`]).
    pub(crate) fn take_back(&self, mut conn: Object, retire: Option<Reason>, uses: u64) -> bool {
        let pid = conn.pid();
        let state = self.state.load(Ordering::SeqCst);
        let cut = self.in_use().remove(&pid).is_none() && state != OPEN;
        self.events.emit(kind::RELEASE, || Event::Release { pid });
        self.log.released(pid);
        // While closing, connections go back to the pool for the calls admitted before close()
        // (close() closes them all at the end); after it, nothing is left to use them.
        let reason = if cut || state == CLOSED {
            Some(Reason::Closed)
        } else {
            retire.or_else(|| conn.used(uses, self.config.max_uses))
        };
        match reason {
            Some(reason) => {
                self.pool.manager().retired(pid, reason);
                close_soon(managed::Object::take(conn));
            }
            None => conn.set_idle(true),
        }
        cut
    }

    /// Runs one query string on a pooled connection, shared with other manager queries when none
    /// is free (see `share`). A query whose connection turns out to have been ended by the server
    /// before it ran is retried once on another connection. A long result's rows may go to
    /// `early` before it ends.
    pub async fn query(
        self: &Arc<Self>,
        sql: &str,
        params: Vec<Param>,
        early: &dyn EarlyRows,
        limit: Limit,
    ) -> Result<Vec<ResultSet>> {
        self.counted(self.query_once_retried(sql, params, early, limit).await)
    }

    /// The limit of a call that gives none of its own: `queryTimeoutMillis`, or none.
    pub fn default_limit(&self) -> Limit {
        Limit::new(self.config.query_timeout, None)
    }

    /// The limit of a call: its own `timeout_millis` (0: none), else `queryTimeoutMillis`; and
    /// `abort`.
    pub fn limit(&self, timeout_millis: Option<u32>, abort: Option<Arc<Abort>>) -> Limit {
        let timeout = match timeout_millis {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms.into())),
            None => self.config.query_timeout,
        };
        Limit::new(timeout, abort)
    }

    /// A connection of its own for a limited query, or the limit's error. The placement runs as
    /// a task of its own, so that a call that gives up leaves it to finish and give back what it
    /// got (deadpool's `get()` dropped half way would discard a connection it was checking).
    async fn place_within(self: &Arc<Self>, limit: &Limit) -> Result<Place> {
        let lease = self.lease();
        let mut placing = tokio::spawn(async move {
            let place = lease.pool().place_for(false).await;
            (place, lease)
        });
        tokio::select! {
            biased;
            placed = &mut placing => match placed {
                Ok((place, _lease)) => place,
                Err(e) => Err(Error::Internal(format!("placing a query failed: {e}"))),
            },
            e = limit.reached(Stage::Waiting) => Err(e),
        }
    }

    /// Runs a limited query on its own connection, in a task of its own, so that the caller
    /// has its answer the moment the limit is reached, whatever the server or the network does
    /// then. The statement is then cancelled on the server in the background; the connection goes
    /// back to the pool only if the server answers that it cancelled it (57014) within
    /// `cancelTimeoutMillis`, and is closed otherwise, so that it is never handed out busy, nor
    /// with a cancel request on its way that could hit its next user's statement. A limited
    /// query's rows reach JS at its end, not early.
    async fn execute_within(
        self: &Arc<Self>,
        place: &Place,
        sql: &str,
        params: &[Param],
        limit: &Limit,
    ) -> Result<Vec<ResultSet>> {
        let hold = place.hold();
        let (pool, sql, params) = (Arc::clone(self), sql.to_owned(), params.to_vec());
        let mut run = tokio::spawn(async move {
            let options = &pool.query_options;
            let outcome = pool
                .execute_on(hold.conn(), &sql, &params, options, None)
                .await;
            (outcome, hold)
        });
        let stop = tokio::select! {
            biased;
            ran = &mut run => return match ran {
                Ok((outcome, _hold)) => outcome,
                Err(e) => Err(Error::Internal(format!("a query's task failed: {e}"))),
            },
            e = limit.reached(Stage::Running) => e,
        };
        let (cancel, hold) = (place.conn().canceller(), place.hold());
        let (wait, log) = (self.config.cancel_timeout, Arc::clone(&self.log));
        tokio::spawn(async move {
            let ended = tokio::time::timeout(wait, async {
                if let Err(e) = cancel.send().await {
                    log.warn("could not send a cancel request", &e);
                }
                (&mut run).await
            })
            .await;
            let cancelled =
                matches!(&ended, Ok(Ok((Err(Error::Server(s)), _))) if s.code == CANCELLED);
            if !cancelled {
                hold.retire();
                // The statement may never answer (a frozen server): its task lets go of the
                // connection, which then closes.
                run.abort();
            }
        });
        Err(stop)
    }

    /// Counts a call of `query` (the manager's or a client's) and its failure.
    pub(crate) fn counted<T>(&self, outcome: Result<T>) -> Result<T> {
        self.stats.queries.fetch_add(1, Ordering::Relaxed);
        match &outcome {
            Ok(_) => self.stats.reached(true),
            Err(e) => {
                self.stats.failed(e);
                if e.is_connection_fatal() || matches!(e, Error::DatabaseUnavailable(_)) {
                    self.stats.reached(false);
                }
            }
        }
        outcome
    }

    /// Whether the last attempt to reach the server succeeded (`isConnected`).
    pub fn is_connected(&self) -> bool {
        self.stats.connected()
    }

    /// Runs a query string on a checked-out connection, timed and logged.
    pub(crate) async fn execute_on(
        &self,
        conn: &Conn,
        sql: &str,
        params: &[Param],
        options: &QueryOptions,
        early: Option<&dyn EarlyRows>,
    ) -> Result<Vec<ResultSet>> {
        let started = Instant::now();
        let outcome = query::execute(conn, sql, params, options, early).await;
        self.timed(sql, params, started, outcome)
    }

    /// Runs a transaction's BEGIN on a checked-out connection, timed and logged like a query. It
    /// goes as one simple-protocol message, written when the future is first polled: a statement
    /// whose future is polled after it on the same connection reaches the server after it (a
    /// prepared BEGIN would be two messages when not cached yet, and the statement's could pass
    /// between them).
    pub(crate) async fn begin_on(&self, conn: &Conn, sql: &str) -> Result<Vec<ResultSet>> {
        let started = Instant::now();
        let outcome = conn.client().batch_execute(sql).await;
        self.timed(
            sql,
            &[],
            started,
            outcome.map(|()| Vec::new()).map_err(Error::from),
        )
    }

    /// Commits the open transaction of a checked-out connection and gives the connection back
    /// before the answer comes. COMMIT goes as one simple-protocol message, written when the
    /// future is first polled, so the statements of the connection's next user follow it (in the
    /// same write when they come at once) instead of waiting a round trip. Whatever COMMIT
    /// answers, the server has ended the transaction block by then (a COMMIT that fails rolls
    /// back), so the connection is clean for its next user.
    pub(crate) async fn commit_and_give_back(&self, conn: Object) -> Result<()> {
        let started = Instant::now();
        let client = Arc::clone(conn.shared_client());
        let mut commit = pin!(async move { client.batch_execute("COMMIT").await });
        let written = poll!(commit.as_mut());
        self.give_back(conn, false);
        let outcome = match written {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => commit.await,
        };
        let outcome = outcome.map(|()| Vec::new()).map_err(Error::from);
        self.counted(self.timed("COMMIT", &[], started, outcome))
            .map(drop)
    }

    /// Records and logs the run of one statement that started at `started`. (Not a wrapper
    /// around the statement's future: that would store the future twice in the caller's.)
    fn timed(
        &self,
        sql: &str,
        params: &[Param],
        started: Instant,
        outcome: Result<Vec<ResultSet>>,
    ) -> Result<Vec<ResultSet>> {
        let elapsed = started.elapsed();
        self.stats.query.record(elapsed);
        self.log.query(sql, params, elapsed, &outcome);
        outcome
    }

    async fn query_once_retried(
        self: &Arc<Self>,
        sql: &str,
        params: Vec<Param>,
        early: &dyn EarlyRows,
        limit: Limit,
    ) -> Result<Vec<ResultSet>> {
        let _call = self.enter()?;
        refuse_open_blocks(sql, &params)?;
        // With `statementCache: false` (PgBouncer's transaction mode) nothing is shared; nor is
        // a limited query, whose cancel request could otherwise hit another caller's statement,
        // nor a large one (`SMALL_REQUEST`).
        let small = request_bytes(sql, &params) <= SMALL_REQUEST;
        let shareable =
            self.query_options.statement_cache && limit.is_none() && small && share::shareable(sql);
        let mut retried = false;
        // Connections found dead under a request that never left them: each is retired, so this
        // many tries reach a live one or a new one.
        let mut dead_tries = self.config.max + 1;
        loop {
            let mut place = if limit.is_none() {
                self.place_for(shareable).await?
            } else {
                self.place_within(&limit).await?
            };
            let never_sent = place.conn().client().is_closed();
            let turns = place.conn().turns();
            let outcome = if never_sent {
                Err(Error::ConnectionClosed(
                    "the connection was closed before the query".into(),
                ))
            } else if limit.is_none() {
                self.execute_on(place.conn(), sql, &params, &self.query_options, Some(early))
                    .await
            } else {
                self.execute_within(&place, sql, &params, &limit).await
            };
            if let Err(e) = &outcome {
                if txstate::may_leave_open(sql, !params.is_empty(), &outcome) {
                    self.roll_back_left_open(&place, sql, e).await;
                }
            }
            // The connection failed with no turn of its task gone well since the request was
            // made: a small request, which goes out in one write with whatever else is on the
            // connection, never left (`connect::Noted::turns`); any query may then run elsewhere.
            let never_left = small && place.conn().turns() == turns;
            let ended_before = place.settle(&outcome).await;
            let unsent = place.conn().ended_between_requests();
            let cut = self.cut_off(place.conn().pid());
            // The last query on the lane gives the connection back.
            drop(place);
            if cut && outcome.is_err() {
                return Err(Error::ClosedDuringCall);
            }
            let retry = match &outcome {
                Err(Error::Server(e)) => ENDED_BEFORE_RUNNING.contains(&e.code.as_str()),
                // A string of several statements may have run some of them before the server
                // ended the connection: only a single statement left unsent is sure not to have run.
                Err(Error::ConnectionClosed(_)) => {
                    never_sent || ended_before || (unsent && shareable)
                }
                _ => false,
            };
            if matches!(outcome, Err(Error::ConnectionClosed(_))) && never_left && dead_tries > 0 {
                dead_tries -= 1;
                continue;
            }
            // Rows that went to JS early would arrive twice.
            if retry && !retried && !early.sent() {
                retried = true;
                continue;
            }
            return outcome;
        }
    }

    /// Rolls back the transaction block a manager query that failed with `error` may have left
    /// open on its connection, and warns, before anyone else uses the connection. The connection
    /// is closed instead when the server did not answer the query (a timeout, a broken link), or
    /// does not answer ROLLBACK within `cancelTimeoutMillis`.
    async fn roll_back_left_open(&self, place: &Place, sql: &str, error: &Error) {
        let commands: Vec<String> = split(sql).into_iter().map(|s| s.command).collect();
        let warning = Error::argument(format!(
            "manager.query() of `{}` failed inside the transaction block it opened; the block was \
             rolled back: run transactions with executeTransaction() or getClient()",
            commands.join("; ")
        ));
        self.log.warn(
            "a query left its connection in a transaction block",
            &warning,
        );
        let rolled_back = matches!(error, Error::Server(_))
            && matches!(
                tokio::time::timeout(
                    self.config.cancel_timeout,
                    place.conn().client().batch_execute("ROLLBACK")
                )
                .await,
                Ok(Ok(()))
            );
        if !rolled_back {
            place.hold().retire();
        }
    }

    /// Opens `min` connections (at least one) now and runs a check query.
    pub async fn initialize(&self) -> Result<()> {
        let _call = self.enter()?;
        self.fill_to(self.config.min.max(1)).await?;
        let conn = self.acquire().await?;
        let checked = conn
            .client()
            .simple_query("SELECT 1")
            .await
            .map_err(Error::from);
        if self.give_back(conn, checked.is_err()) {
            return Err(Error::ClosedDuringCall);
        }
        checked.map(|_| ())
    }

    /// Opens connections until the pool holds at least `n`.
    async fn fill_to(&self, n: usize) -> Result<()> {
        let _filling = self.filling.lock().await;
        // get() hands out idle connections before it opens new ones, so every connection got is
        // held until the pool has `n`: the next get() then has to open one. At most `n` are held.
        let mut held = Vec::with_capacity(n);
        let mut failure = None;
        while self.pool.status().size < n && held.len() < n {
            match self.pool.get().await {
                Ok(conn) => held.push(conn),
                Err(e) => {
                    failure = Some(self.acquire_error(e));
                    break;
                }
            }
        }
        for conn in held {
            conn.set_idle(true);
        }
        failure.map_or(Ok(()), Err)
    }

    /// One round of maintenance: closes idle connections that are broken, past their lifetime,
    /// or idle too long while more than `min` are idle; then tops the pool up to `min`.
    pub async fn maintain(&self) {
        // A call like any other, so that close() waits for a round under way (one that is
        // opening a connection, say) instead of missing the connection it opens.
        let Ok(_call) = self.enter() else {
            return;
        };
        let status = self.pool.status();
        let mut removable = status.available.saturating_sub(self.config.min);
        let idle_timeout = self.config.idle_timeout;
        let mut reasons = Vec::new();
        let removed = self.pool.retain(|conn, metrics| {
            let reason = conn.expired().or_else(|| {
                let idle_too_long = idle_timeout.is_some_and(|t| metrics.last_used() >= t);
                (idle_too_long && removable > 0).then_some(Reason::Idle)
            });
            match reason {
                Some(reason) => {
                    removable = removable.saturating_sub(1);
                    reasons.push(reason);
                    false
                }
                None => true,
            }
        });
        for (conn, reason) in removed.removed.into_iter().zip(reasons) {
            self.pool.manager().retired(conn.pid(), reason);
            close_soon(conn);
        }
        if self.config.min > 0 && self.may_fill() {
            let filled = BACKGROUND.scope(true, self.fill_to(self.config.min)).await;
            self.filled(filled);
        }
    }

    /// Whether maintenance may try to open the `min` connections now: not while the circuit
    /// breaker is open, nor before the back-off after a failed try.
    fn may_fill(&self) -> bool {
        let open = self.pool.manager().circuit.state() == crate::circuit::State::Open;
        !open && self.fill_retry().0.is_none_or(|at| Instant::now() >= at)
    }

    /// After a try to open the `min` connections: a failure waits before the next try, from a
    /// second doubling to half a minute, and is logged once per try rather than every round.
    fn filled(&self, outcome: Result<()>) {
        let mut retry = self.fill_retry();
        match outcome {
            Ok(()) => *retry = (None, FILL_RETRY_FIRST),
            Err(e) => {
                self.log.warn("could not open the `min` connections", &e);
                let delay = retry.1;
                *retry = (
                    Some(Instant::now() + delay),
                    (delay * 2).min(FILL_RETRY_CAP),
                );
            }
        }
    }

    fn fill_retry(&self) -> std::sync::MutexGuard<'_, (Option<Instant>, Duration)> {
        self.fill_retry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Retries connecting with exponential backoff until the server accepts a connection or
    /// `timeout` passes; then fails with `CONNECT_TIMEOUT` naming the attempts and the last error.
    pub async fn wait_for_database(&self, timeout: Duration) -> Result<()> {
        let _call = self.enter()?;
        let deadline = Instant::now() + timeout;
        let mut delay = RETRY_FIRST;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            // Each attempt is a probe: it goes through an open circuit breaker, and closes it.
            self.pool.manager().circuit.probe_now();
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = tokio::time::timeout(left, self.pool.get()).await;
            let error = match attempt {
                Ok(Ok(conn)) => {
                    conn.set_idle(true);
                    return Ok(());
                }
                Ok(Err(e)) => self.acquire_error(e),
                Err(_) => Error::ConnectTimeout("the last attempt did not finish in time".into()),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.state.load(Ordering::SeqCst) != OPEN {
                return Err(Error::ConnectTimeout(format!(
                    "the database did not accept a connection within {} ms ({attempts} attempts); \
                     last error: {error}",
                    timeout.as_millis()
                )));
            }
            tokio::time::sleep(delay.min(left)).await;
            delay = (delay * 3 / 2).min(RETRY_CAP);
        }
    }

    /// Stops new calls and waits for calls in flight. Past `timeout`, the statements still running
    /// are cancelled and their connections cut. Then every connection is closed and waited for.
    /// A second call, concurrent or later, waits for the same close.
    pub async fn close(&self, timeout: Option<Duration>) {
        self.closed
            .get_or_init(|| async {
                self.state.store(CLOSING, Ordering::SeqCst);
                let finished = match timeout {
                    Some(t) => tokio::time::timeout(t, self.drained()).await.is_ok(),
                    None => {
                        self.drained().await;
                        true
                    }
                };
                let mut pids = Vec::new();
                if !finished {
                    // Cut at once, the cancel requests sent in the background: over a dead link
                    // a cancel request could take as long as a connect.
                    for (pid, stopper) in self.in_use().drain() {
                        pids.push(pid);
                        stopper.cut();
                    }
                    // The calls on those connections now fail fast and hand them back.
                    let _ = tokio::time::timeout(CUT_CALLS_WAIT, self.drained()).await;
                }
                self.state.store(CLOSED, Ordering::SeqCst);
                let removed = self.pool.retain(|_, _| false).removed;
                self.pool.close();
                pids.extend(removed.iter().map(|c| c.pid()));
                let mut closing = Vec::with_capacity(removed.len());
                for conn in removed {
                    self.pool.manager().retired(conn.pid(), Reason::Closed);
                    closing.push(conn.close());
                }
                let name = self
                    .config
                    .pg
                    .get_application_name()
                    .unwrap_or(crate::config::defaults::APPLICATION_NAME);
                let goodbye = async {
                    futures_util::future::join_all(closing).await;
                    crate::connection::wait_until_gone(&self.pool.manager().connector, name, &pids)
                        .await;
                };
                // With a timeout, saying goodbye gets a short grace of its own; connections not
                // done by then finish closing in the background.
                match timeout {
                    Some(_) => {
                        let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
                    }
                    None => goodbye.await,
                }
            })
            .await;
    }

    /// Whether `close()` has begun.
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) != OPEN
    }
}

/// Refuses a manager query that would leave its connection inside a transaction block: the
/// pool's next query may take another connection, so it cannot do what its caller means.
pub(crate) fn refuse_open_blocks(sql: &str, params: &[Param]) -> Result<()> {
    if txstate::opens_block(sql, !params.is_empty()) {
        return Err(Error::TransactionOnPool(
            "manager.query() cannot open a transaction: each query may run on another \
             connection, and the pool rolls back any block a query leaves open. Use \
             executeTransaction(async (client) => …), or getClient() and run BEGIN … COMMIT on \
             that client"
                .into(),
        ));
    }
    Ok(())
}

/// Closes a connection in the background. Without a runtime (a client collected by the garbage
/// collector drops its connection on the JS thread) dropping it is enough: the connection task
/// still says Terminate.
fn close_soon(conn: Conn) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(conn.close())),
        Err(_) => drop(conn),
    }
}

/// Runs maintenance until the pool is closed or dropped.
pub async fn maintain(pool: Weak<Pool>) {
    loop {
        tokio::time::sleep(MAINTENANCE_INTERVAL).await;
        match pool.upgrade() {
            Some(pool) if !pool.is_closed() => pool.maintain().await,
            _ => return,
        }
    }
}

impl share::Home for Pool {
    fn max_uses(&self) -> u64 {
        self.config.max_uses
    }

    fn take_back(&self, conn: Object, retire: Option<Reason>, uses: u64) {
        Pool::take_back(self, conn, retire, uses);
    }
}
