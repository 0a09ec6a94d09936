//! The pool: deadpool's managed pool of [`Conn`]s, the lifecycle state every entry point checks,
//! and checking connections out. What happens when a connection is handed out and comes back
//! (events, retirement) is in `handout`; the connection kept for the next lone call in `warm`;
//! where a manager query runs (a connection of its own or a place on a shared one, see `share`)
//! in `dispatch`; the maintenance that keeps `min` connections and closes idle ones, and a
//! graceful close, in `lifecycle`; the entry points of LISTEN/NOTIFY in `channels` (over
//! `listen::Listener`).
mod channels;
mod dispatch;
mod handout;
mod lifecycle;
mod warm;

pub(crate) use dispatch::refuse_open_blocks;
pub use lifecycle::maintain;
use lifecycle::FILL_RETRY_FIRST;

use crate::circuit::Circuit;
use crate::config::Config;
use crate::connect::Connector;
use crate::connection::BACKGROUND;
pub use crate::connection::{Conn, Manager, Object, Stopper};
use crate::deadline::{Abort, Limit, Stage};
use crate::error::{Error, Result, CANCELLED, ENDED_BEFORE_RUNNING};
use crate::events::{kind, Event, Events, Reason};
use crate::listen::Listener;
use crate::log::Log;
use crate::params::Param;
use crate::query::{self, EarlyRows, QueryOptions};
use crate::quick::Quick;
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
    /// The connection a lone call gave back, for the next call (see `warm`).
    warm: warm::Warm,
    /// Connections handed out to manager queries that others may join.
    lanes: Lanes,
    /// The statements quick enough to queue behind each other while connections are idle.
    quick: Quick,
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
    /// The LISTEN connection, outside `max` (see `channels`).
    listener: Listener,
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
        let connector = Arc::new(Connector::new(&config)?);
        let listener = Listener::new(&connector, &config, events.clone(), log.clone());
        let manager = Manager {
            stats: stats.clone(),
            log: log.clone(),
            connector,
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
            pgbouncer: config.pgbouncer,
            shared_rendering: config.pgbouncer.then(Default::default),
            description_changes: Default::default(),
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
            pgbouncer: config.pgbouncer,
            text_oids,
            in_transaction: false,
            transaction_certain: true,
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
            warm: Default::default(),
            lanes: Lanes::default(),
            quick: Quick::default(),
            forsaken: AtomicUsize::new(0),
            fill_retry: Mutex::new((None, FILL_RETRY_FIRST)),
            holding_waiters: AtomicUsize::new(0),
            holding_changed: Notify::new(),
            listener,
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
        let idle = status.available + self.warm.parked();
        let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        Snapshot {
            total: status.size as u64,
            idle: idle as u64,
            active: status.size.saturating_sub(idle) as u64,
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
            listen: self.listener.snapshot(),
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
        if self.pool.status().available == 0 && self.warm.parked() == 0 {
            self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
        }
        let conn = self
            .get_waiting()
            .await
            .map_err(|e| self.acquire_error(e))?;
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
        let conn = match self.get_now().await {
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
        let mut get = Box::pin(self.get_waiting());
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

    /// Whether the last attempt to reach the server succeeded (`isConnected`).
    pub fn is_connected(&self) -> bool {
        self.stats.connected()
    }
}
