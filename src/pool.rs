//! The pool: deadpool's managed pool of our [`Conn`]s (a deadpool-postgres client plus the state we
//! keep per connection), the lifecycle state every entry point checks, and acquire errors.
use crate::config::Config;
use crate::error::{Error, Result};
use crate::params::Param;
use crate::query::{self, QueryOptions};
use crate::result::ResultSet;
use crate::statements::StatementCache;
use deadpool::managed::{self, Metrics, PoolError, RecycleResult, TimeoutType, Timeouts};
use deadpool::Runtime;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OnceCell};

/// One pooled connection.
pub struct Conn {
    client: deadpool_postgres::ClientWrapper,
    /// Prepared statements of this connection.
    pub statements: StatementCache,
}

impl Conn {
    /// The tokio-postgres client.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// Creates and recycles [`Conn`]s through deadpool-postgres' manager.
pub struct Manager {
    inner: deadpool_postgres::Manager,
    statement_cache_size: usize,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> std::result::Result<Conn, tokio_postgres::Error> {
        let client = managed::Manager::create(&self.inner).await?;
        Ok(Conn {
            client,
            statements: StatementCache::new(self.statement_cache_size),
        })
    }

    async fn recycle(
        &self,
        conn: &mut Conn,
        metrics: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        managed::Manager::recycle(&self.inner, &mut conn.client, metrics).await
    }

    fn detach(&self, conn: &mut Conn) {
        managed::Manager::detach(&self.inner, &mut conn.client)
    }
}

/// Lifecycle states; every entry point checks the state once.
const OPEN: u8 = 0;
const CLOSING: u8 = 1;
const CLOSED: u8 = 2;

/// A pool of connections with its configuration and lifecycle.
pub struct Pool {
    pool: managed::Pool<Manager>,
    config: Config,
    query_options: QueryOptions,
    state: AtomicU8,
    in_flight: AtomicUsize,
    idle: Notify,
    closed: OnceCell<()>,
}

/// Counts a call in flight; `close()` waits for the count to reach zero.
struct InFlight<'a>(&'a Pool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A checked-out connection's claim on the pool: like a call in flight, `close()` waits until it
/// drops.
pub struct Lease(Arc<Pool>);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Pool {
    /// A pool for `config`; no connection is opened until one is needed.
    pub fn new(config: Config, text_oids: Vec<u32>) -> Result<Self> {
        let manager = Manager {
            inner: deadpool_postgres::Manager::from_config(
                config.pg.clone(),
                tokio_postgres::NoTls,
                deadpool_postgres::ManagerConfig {
                    recycling_method: deadpool_postgres::RecyclingMethod::Fast,
                },
            ),
            statement_cache_size: config.max_prepared_statements,
        };
        let pool = managed::Pool::builder(manager)
            .max_size(config.max)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: config.connection_timeout,
                create: config.connection_timeout,
                recycle: None,
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
            state: AtomicU8::new(OPEN),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            closed: OnceCell::new(),
        })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.config
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
    fn enter(&self) -> Result<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self);
        if self.state.load(Ordering::SeqCst) != OPEN {
            return Err(Error::PoolClosed);
        }
        Ok(guard)
    }

    /// Checks out a connection, waiting at most `connectionTimeoutMillis`.
    async fn acquire(&self) -> Result<managed::Object<Manager>> {
        self.pool.get().await.map_err(|e| self.acquire_error(e))
    }

    /// Checks out a connection only if one is free or can be opened now: the caller already holds
    /// one, so waiting for another could wait for itself.
    async fn acquire_now(&self) -> Result<managed::Object<Manager>> {
        let now = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        };
        self.pool.timeout_get(&now).await.map_err(|e| match e {
            PoolError::Timeout(TimeoutType::Wait) => Error::PoolDeadlock(format!(
                "all {} connections (`max`) are in use and this code already holds one of them \
                 (inside executeTransaction, or with a client from getClient()): waiting for \
                 another could wait forever; run the query on the client you hold \
                 (`client.query(…)`) instead of the manager",
                self.config.max
            )),
            e => self.acquire_error(e),
        })
    }

    /// What a failed checkout means to the user.
    fn acquire_error(&self, e: PoolError<tokio_postgres::Error>) -> Error {
        match e {
            PoolError::Timeout(TimeoutType::Wait) => {
                let status = self.pool.status();
                Error::PoolTimeout(format!(
                    "timed out after {} ms waiting for a connection: all {} connections (`max`) are \
                     in use and {} requests are waiting; raise `max`, release clients sooner, or \
                     raise `connectionTimeoutMillis`",
                    self.config.connection_timeout.map_or(0, |d| d.as_millis()),
                    status.max_size,
                    status.waiting,
                ))
            }
            PoolError::Timeout(_) => Error::ConnectTimeout(format!(
                "could not connect to the server within {} ms (`connectionTimeoutMillis`): check \
                 that it is running and reachable",
                self.config.connection_timeout.map_or(0, |d| d.as_millis()),
            )),
            PoolError::Backend(e) => match Error::from(e) {
                // Only the pool knows where it tried to connect; the password is never part of it.
                Error::Connect { code, message } => Error::Connect {
                    code,
                    message: format!(
                        "{message} (connecting as {}): check that PostgreSQL is running there and \
                         that `host`, `port` and `database` are right",
                        crate::config::describe(&self.config)
                    ),
                },
                other => other,
            },
            PoolError::Closed => Error::PoolClosed,
            other => Error::Internal(format!("could not get a connection: {other}")),
        }
    }

    /// Checks out a connection for a client (`getClient()`, `executeTransaction`). Without `wait`
    /// it fails at once with `POOL_DEADLOCK` when none is free.
    pub async fn checkout(
        self: &Arc<Self>,
        wait: bool,
    ) -> Result<(managed::Object<Manager>, Lease)> {
        let _call = self.enter()?;
        let conn = if wait {
            self.acquire().await?
        } else {
            self.acquire_now().await?
        };
        // The lease counts in flight before this call stops counting, so `close()` never sees 0.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Ok((conn, Lease(Arc::clone(self))))
    }

    /// Runs one query string on a pooled connection.
    pub async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<ResultSet>> {
        let _call = self.enter()?;
        let mut conn = self.acquire().await?;
        let outcome = query::execute(&mut conn, sql, &params, &self.query_options).await;
        if matches!(&outcome, Err(e) if e.is_connection_fatal()) || conn.client().is_closed() {
            // Not returned to the pool: dropping it closes the connection.
            drop(managed::Object::take(conn));
        }
        outcome
    }

    /// Opens a connection now and runs a check query on it.
    pub async fn initialize(&self) -> Result<()> {
        let _call = self.enter()?;
        let conn = self.acquire().await?;
        conn.client().simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Stops new calls, waits for calls in flight, then closes every connection. A second call,
    /// concurrent or later, waits for the same close.
    pub async fn close(&self) {
        self.closed
            .get_or_init(|| async {
                self.state.store(CLOSING, Ordering::SeqCst);
                loop {
                    let idle = self.idle.notified();
                    tokio::pin!(idle);
                    idle.as_mut().enable();
                    if self.in_flight.load(Ordering::SeqCst) == 0 {
                        break;
                    }
                    idle.await;
                }
                self.pool.close();
                self.state.store(CLOSED, Ordering::SeqCst);
            })
            .await;
    }
}
