//! Manager queries above the pool's acquire and give back: where each runs (a connection of its
//! own, or a place on a shared one, see `share`), within its limit, retried when it provably
//! never ran, and the transaction block a failed one may leave open rolled back.
use super::*;

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

impl Pool {
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

    /// Where one manager query runs: for a `quick` one (a shareable query whose statement the
    /// server is known to answer quickly, see `quick`), a place behind other quick queries on a
    /// connection in use, if one has room; else on an idle connection, or a new one, when the
    /// pool has it now; else, for a `shareable` query, on a place on a connection other manager
    /// queries run on or a connection of its own, whichever comes first; else on a connection of
    /// its own. Waiting for a connection is first come, first served and bounded by
    /// `connectionTimeoutMillis`. A shareable query's own connection becomes a lane that others
    /// may join.
    async fn place_for(self: &Arc<Self>, shareable: bool, quick: bool) -> Result<Place> {
        let started = Instant::now();
        if quick {
            if let Some(place) = self.lanes.join(true, true, false) {
                self.stats.acquire.record(started.elapsed());
                return Ok(place);
            }
        }
        let idle = self.pool.status().available > 0 || self.warm.parked() > 0;
        let conn = match self.get_now().await {
            Ok(conn) => {
                if !idle {
                    // It waited for a new connection.
                    self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
                }
                conn
            }
            Err(PoolError::Timeout(TimeoutType::Wait)) if shareable => {
                match self.share_or_wait(quick).await? {
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
                self.get_waiting()
                    .await
                    .map_err(|e| self.acquire_error(e))?
            }
            Err(e) => return Err(self.acquire_error(e)),
        };
        let home: Arc<dyn share::Home> = Arc::clone(self) as _;
        let place = Lane::open(self.handed_out(conn, started), home, quick);
        if shareable {
            self.lanes.offer(&place);
        }
        Ok(place)
    }

    /// A place on a lane (`Ok`) or a connection of its own (`Err`), whichever comes first; a
    /// connection when both are there.
    async fn share_or_wait(
        self: &Arc<Self>,
        quick: bool,
    ) -> Result<std::result::Result<Place, Object>> {
        let mut room = pin!(self.lanes.room());
        room.as_mut().enable();
        if let Some(place) = self.lanes.join(quick, false, true) {
            return Ok(Ok(place));
        }
        // It waits, as an acquire that found no idle connection.
        self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
        // Owned, so that it can finish on its own if the query leaves for a place on a lane:
        // dropped half way, deadpool's get() would discard a connection it was checking, uncounted.
        let mut get = Box::pin(self.get_waiting());
        loop {
            tokio::select! {
                biased;
                got = &mut get => return got.map(Err).map_err(|e| self.acquire_error(e)),
                () = &mut room => {}
            }
            room.set(self.lanes.room());
            room.as_mut().enable();
            if let Some(place) = self.lanes.join(quick, false, true) {
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

    /// A connection of its own for a limited query, or the limit's error. The placement runs as
    /// a task of its own, so that a call that gives up leaves it to finish and give back what it
    /// got (deadpool's `get()` dropped half way would discard a connection it was checking).
    async fn place_within(self: &Arc<Self>, limit: &Limit) -> Result<Place> {
        let lease = self.lease();
        let mut placing = tokio::spawn(async move {
            let place = lease.pool().place_for(false, false).await;
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
    pub(crate) fn timed(
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
        // Only shareable statements are timed for `quick`, and only while it is used.
        let timed = shareable && self.config.pipeline_quick;
        let quick = timed && self.quick.is_quick(sql);
        let mut retried = false;
        // Connections found dead under a request that never left them: each is retired, so this
        // many tries reach a live one or a new one.
        let mut dead_tries = self.config.max + 1;
        loop {
            let mut place = if limit.is_none() {
                self.place_for(shareable, quick).await?
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
            if let (true, Ok(_), Some(served)) = (timed, &outcome, place.served()) {
                self.quick.observe(sql, served);
            }
            let unsent = place.conn().ended_between_requests();
            let poisoned = place.conn().poisoned();
            let cut = self.cut_off(place.conn().pid());
            // The last query on the lane gives the connection back.
            drop(place);
            if cut && outcome.is_err() {
                return Err(Error::ClosedDuringCall);
            }
            let retry = match &outcome {
                Err(Error::Server(e)) => {
                    ENDED_BEFORE_RUNNING.contains(&e.code.as_str())
                        || (poisoned && e.code == "26000" && is_select(sql))
                }
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
}

/// Whether `sql` is one SELECT: behind PgBouncer, one that failed because tokio-postgres looked up
/// a type outside a describe (a column of a type the connection had not met, after the tables
/// changed) runs again on another connection, which describes it first. It ran on the server,
/// but running a SELECT twice changes nothing (as `query::execute_cached` assumes too).
fn is_select(sql: &str) -> bool {
    matches!(split(sql).as_slice(), [only] if only.command == "SELECT")
}
