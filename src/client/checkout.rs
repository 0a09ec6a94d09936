//! A connection checked out for a client (RAII: dropped, it goes back, or is closed if a
//! transaction was left open), with a transaction's pipelined BEGIN and COMMIT.
use super::*;
use crate::connection::Conn;

/// The BEGIN of `executeTransaction`, which waits to go out with the first statement.
pub(super) enum Begin {
    /// Nothing waits: it went out already, or none was asked for (`getClient()`).
    None,
    /// To be sent, pipelined just before the next statement, in the same round trip.
    Pending(String),
    /// It was sent and failed: the transaction fails with this error.
    Failed(Error),
}

/// Whether a pipelined BEGIN awaits its answer, shared by a checkout and its client's `abort`:
/// a cancel request that reached the server while BEGIN ran would fail BEGIN and let the
/// statement behind it run, and commit, outside the transaction, so `abort` holds its cancel
/// until BEGIN has answered (one round trip).
#[derive(Default)]
pub(super) struct Beginning {
    pub(super) pending: AtomicBool,
    pub(super) answered: Notify,
}

/// A boxed future that may move between threads.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One checked-out connection and the state of its transaction.
pub struct Checkout {
    /// Present until released.
    pub(super) conn: Option<Object<Manager>>,
    pub(super) state: TxState,
    pub(super) begin: Begin,
    pub(super) beginning: Arc<Beginning>,
    pub(super) options: QueryOptions,
    /// The pool the connection goes back to; dropped after it has, so `close()` finds it there.
    pub(super) lease: Lease,
}

impl Checkout {
    /// Checks out a connection; without `wait`, only one that is free now. A `begin` statement
    /// is not sent now but with the first query, in the same round trip (see [`Checkout::query`]).
    pub async fn new(pool: &Arc<Pool>, wait: bool, begin: Option<String>) -> Result<Checkout> {
        Checkout::open(pool.reserve()?, wait, begin, Arc::default()).await
    }

    /// [`Checkout::new`] for the holder of `lease`, which the checkout keeps.
    pub(super) async fn open(
        lease: Lease,
        wait: bool,
        begin: Option<String>,
        beginning: Arc<Beginning>,
    ) -> Result<Checkout> {
        let pool = lease.pool();
        let conn = pool.connect(wait).await?;
        Ok(Checkout {
            conn: Some(conn),
            state: TxState::Idle,
            begin: begin.map_or(Begin::None, Begin::Pending),
            beginning,
            options: pool.query_options().clone(),
            lease,
        })
    }

    pub(super) fn conn(&mut self) -> Result<&mut Object<Manager>> {
        self.conn.as_mut().ok_or(Error::ClientReleased)
    }

    /// Runs a query string with the manager's semantics and follows the transaction state. A
    /// pending BEGIN goes first, pipelined: both are written to the connection before either
    /// answer is read, so they cost one round trip. BEGIN counts as run once the server answered
    /// it; if it failed, its error is what this query (and the commit) fails with. A long
    /// result's rows may go to `early` before it ends.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[Param],
        early: Option<&dyn EarlyRows>,
    ) -> Result<Vec<ResultSet>> {
        let outcome = self.run(sql, params, early).await;
        match (&outcome, &self.conn) {
            // `close({ timeoutMillis })` cut the connection under the client: say so.
            (Err(e), Some(conn))
                if e.is_connection_fatal() && self.lease.pool().cut_off(conn.pid()) =>
            {
                Err(Error::ClosedDuringCall)
            }
            _ => outcome,
        }
    }

    /// Sends `begin` with the next statement, unless a BEGIN already waits to.
    pub(super) fn defer_begin(&mut self, begin: String) {
        if let Begin::None = self.begin {
            self.begin = Begin::Pending(begin);
        }
    }

    pub(super) async fn run(
        &mut self,
        sql: &str,
        params: &[Param],
        early: Option<&dyn EarlyRows>,
    ) -> Result<Vec<ResultSet>> {
        self.run_with(sql, !params.is_empty(), |pool, conn, options| {
            pool.execute_on(conn, sql, params, options, early)
        })
        .await
    }

    /// Runs what `statement` makes of the connection, as [`Checkout::run`] runs the query string
    /// `sql` (`has_params` telling whether it has values): the transaction state follows `sql`,
    /// and a pending BEGIN goes first, pipelined (a stream's `DECLARE` goes this way too).
    pub(super) async fn run_with<'a, S, F>(
        &'a mut self,
        sql: &str,
        has_params: bool,
        statement: S,
    ) -> Result<Vec<ResultSet>>
    where
        S: FnOnce(&'a Pool, &'a Conn, &'a QueryOptions) -> F,
        F: Future<Output = Result<Vec<ResultSet>>>,
    {
        // The fields apart: the statement borrows the connection and options while it runs, and
        // the state is written after.
        let Checkout {
            conn,
            state,
            begin: waiting,
            beginning,
            options,
            lease,
        } = self;
        let conn: &'a Conn = conn.as_ref().ok_or(Error::ClientReleased)?;
        let begin = match std::mem::replace(waiting, Begin::None) {
            Begin::Pending(begin) => Some(begin),
            other => {
                *waiting = other;
                None
            }
        };
        let before = *state;
        // Behind a BEGIN the statement runs inside the transaction block it opens.
        options.in_transaction = begin.is_some() || before != TxState::Idle;
        // A BEGIN whose answer is not in yet may have failed.
        options.transaction_certain = begin.is_none() && before != TxState::Unknown;
        let options: &'a QueryOptions = options;
        // Until the outcome is known: dropped half way, the checkout closes its connection.
        *state = TxState::Unknown;
        let pool: &'a Pool = lease.pool();
        let Some(begin) = begin else {
            let outcome = pool.counted(statement(pool, conn, options).await);
            *state = before.after_outcome(sql, has_params, &outcome);
            return outcome;
        };
        let beginning = &**beginning;
        beginning.pending.store(true, Ordering::SeqCst);
        let begun = async {
            let begun = pool.begin_on(conn, &begin).await;
            beginning.pending.store(false, Ordering::SeqCst);
            beginning.answered.notify_waiters();
            begun
        };
        // BEGIN's future is polled first, which writes it to the connection before the query's.
        let mut begun = pin!(maybe_done(begun));
        let _ = poll!(begun.as_mut());
        let ((), outcome) = join(begun.as_mut(), statement(pool, conn, options)).await;
        let begun = pool.counted(begun.take_output().expect("joined futures are done"));
        let outcome = pool.counted(outcome);
        match begun {
            Ok(_) => {
                *state = TxState::Open.after_outcome(sql, has_params, &outcome);
                outcome
            }
            Err(e) => {
                // The statement ran outside any transaction block, and a string of several
                // statements without the transaction of its own it gets on an idle connection:
                // what it left open is not known.
                *state = TxState::Unknown;
                *waiting = Begin::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Runs `op` on the connection outside the query path (a COPY, whose data flows between
    /// calls): a BEGIN that waits goes first, in a round trip of its own (a failed one fails
    /// `op` unrun). `op` gets the connection, the pool and where the transaction stands, and
    /// answers with its outcome and where it left the transaction; until it has, the state is
    /// unknown, so that a checkout dropped half way closes its connection. Counted as a query.
    pub async fn exclusive<T>(
        &mut self,
        op: impl for<'a> FnOnce(&'a Conn, &'a Arc<Pool>, TxState) -> Boxed<'a, (Result<T>, TxState)>,
    ) -> Result<T> {
        let conn = self.conn.as_ref().ok_or(Error::ClientReleased)?;
        let pool = self.lease.pool();
        if let Begin::Pending(begin) = std::mem::replace(&mut self.begin, Begin::None) {
            self.state = TxState::Unknown;
            if let Err(e) = pool.counted(pool.begin_on(conn, &begin).await) {
                // As in `run`: what a failed BEGIN left is not known, and the commit reports it.
                self.begin = Begin::Failed(e.clone());
                return Err(e);
            }
            self.state = TxState::Open;
        }
        let before = std::mem::replace(&mut self.state, TxState::Unknown);
        let (outcome, after) = op(conn, pool, before).await;
        self.state = after;
        pool.counted(outcome)
    }

    /// Commits the open transaction. An aborted one is not committed (the server would roll it
    /// back and answer as if all were well) but reported; one that was ended by hand stays ended;
    /// one whose BEGIN never went out (no statement ran) needs nothing. An open one's connection
    /// goes back to the pool as soon as COMMIT is written, before its answer (see
    /// `Pool::commit_and_give_back`), which releases the checkout.
    pub async fn commit(&mut self) -> Result<()> {
        if let Begin::Failed(e) = &self.begin {
            return Err(e.clone());
        }
        match self.state {
            TxState::Idle => Ok(()),
            TxState::Aborted => Err(Error::TransactionAborted),
            TxState::Open => {
                let conn = self.conn.take().ok_or(Error::ClientReleased)?;
                self.state = TxState::Idle;
                self.lease.pool().commit_and_give_back(conn).await
            }
            TxState::Unknown => match self.query("SELECT 1", &[], None).await {
                // Only an aborted transaction refuses a plain SELECT.
                Err(Error::Server(e)) if e.code == "25P02" => Err(Error::TransactionAborted),
                Err(e) => Err(e),
                Ok(_) => self.query("COMMIT", &[], None).await.map(drop),
            },
        }
    }

    /// Gives the connection back: returned as it is when clean, rolled back first otherwise,
    /// closed when `destroy`, broken, or the rollback fails. Returns whether a transaction was
    /// (or may have been) open and so did not survive; one whose BEGIN still waited counts as
    /// open, though nothing reached the server.
    pub async fn release(mut self, destroy: bool) -> bool {
        let open = self.state != TxState::Idle;
        let began = !matches!(self.begin, Begin::None);
        // The connection stays in `self` while ROLLBACK runs: should this future be dropped
        // half way, `drop` closes it rather than return it mid-transaction.
        let Ok(conn) = self.conn() else {
            return false;
        };
        // A poisoned connection is closed as it is: behind PgBouncer, closing it inside a
        // transaction makes PgBouncer close the server connection too (see `pinned`).
        let clean = if destroy || conn.client().is_closed() || conn.poisoned() {
            false
        } else if open {
            match conn.client().batch_execute("ROLLBACK").await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("closing a released client's connection: ROLLBACK failed: {e}");
                    false
                }
            }
        } else {
            true
        };
        self.state = TxState::Idle;
        if let Some(conn) = self.conn.take() {
            let pool = self.lease.pool();
            match (clean, destroy) {
                (true, _) => {
                    pool.give_back(conn, false);
                }
                (false, true) => pool.destroy(conn, Reason::Destroyed),
                (false, false) => pool.destroy(conn, Reason::Broken),
            }
        }
        open || began
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Dropped without release: back to the pool if clean, closed if not.
            let dirty = self.state != TxState::Idle;
            self.lease.pool().give_back(conn, dirty);
        }
    }
}
