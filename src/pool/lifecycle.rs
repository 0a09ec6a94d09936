//! The pool's life apart from its queries: opening the `min` connections, maintenance every
//! 100 ms, `waitForDatabase`, and `close`.
use super::*;

/// How often maintenance runs: often enough that idle timeouts of a second or less are honoured
/// closely, rarely enough to cost nothing measurable (it only scans idle connections).
const MAINTENANCE_INTERVAL: Duration = Duration::from_millis(100);

/// How long a close past its timeout waits for the calls it cut to hand their connections back:
/// a cut call fails at once; a client held past the timeout is not waited for (its calls fail
/// with POOL_CLOSED).
const CUT_CALLS_WAIT: Duration = Duration::from_millis(200);

/// How long maintenance waits after a failed try to open the `min` connections, doubling up to
/// [`FILL_RETRY_CAP`]: a database that is down is not asked ten times a second.
pub(super) const FILL_RETRY_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between tries to open the `min` connections.
const FILL_RETRY_CAP: Duration = Duration::from_secs(30);

/// How long `close({ timeoutMillis })` waits, past its timeout, for the connections to say
/// goodbye and for the server to let their backends go (a dead link answers neither).
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// `waitForDatabase`' backoff: from 100 ms, ×1.5 per attempt, at most 500 ms between attempts,
/// so a database that comes up is noticed within a second, connecting included. (A 30 s cap, as
/// first specified, puts attempts at 3.2 s, 4.9 s and 7.4 s: a server ready at 5 s would wait
/// 2.4 s to be noticed. An attempt on a server that is down costs it one refused connection.)
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between `waitForDatabase`' attempts.
const RETRY_CAP: Duration = Duration::from_millis(500);

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

impl Pool {
    /// Closes a connection that leaves the pool for `reason`: counted, its `remove` event, and
    /// closed in the background.
    pub(super) fn retire(&self, conn: Conn, reason: Reason) {
        self.pool.manager().retired(conn.pid(), reason);
        close_soon(conn);
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
        self.tend_parked();
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
            self.retire(conn, reason);
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
            let attempt = tokio::time::timeout(left, self.get_waiting()).await;
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
    /// are cancelled and their connections cut. Then every connection, the LISTEN one included, is
    /// closed and waited for.
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
                self.unpark();
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
                // Behind PgBouncer the server processes are PgBouncer's, and stay.
                if self.config.pgbouncer {
                    pids.clear();
                }
                let goodbye = async {
                    let mut pids = pids;
                    let (_, listening) = futures_util::future::join(
                        futures_util::future::join_all(closing),
                        self.listener.close(),
                    )
                    .await;
                    pids.extend(listening);
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
