//! `COPY … FROM STDIN` and `COPY … TO STDOUT`: data that flows between calls, so a COPY holds its
//! connection for its whole length (a connection of its own from the pool, or a client's, in its
//! turn) and JS talks to it through two ends (`ends`), its data in bounded chunks both ways.
//!
//! tokio-postgres runs a COPY as a prepared statement: it is prepared by name and closed again
//! as soon as the COPY has started. The close goes out after the COPY's data, since tokio-postgres
//! writes a request only once the one before it has ended, so the statement never outlives the
//! COPY on the server. Behind PgBouncer (`pgbouncer`), where a statement prepared outside a
//! transaction block may meet another server connection when it runs, a COPY outside one runs in
//! a block of its own, committed when it succeeds (the prepare and its close stay inside).
//!
//! Stopping a `COPY … FROM STDIN` half way drops tokio-postgres's sink, which sends CopyFail:
//! the server fails the COPY (57014), and nothing it loaded stays. Stopping a `COPY … TO STDOUT`
//! half way sends a cancel request and reads on until the server ends the COPY; only an end by
//! that cancel (57014) proves the request cannot hit the connection's next statement, so anything
//! else closes the connection, as a limited query's cancel does (`client::Client::query_within`).
mod ends;
mod inbound;
mod outbound;
mod sql;

pub use ends::{Drain, End, Feed};
pub use sql::Direction;

use ends::{drain, feed, Intake, Outlet};
use sql::check;

use crate::client::{Boxed, Checkout, Client};
use crate::connection::Conn;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::txstate::TxState;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Where a COPY runs.
pub enum On {
    /// On a connection of its own, checked out for the COPY's length; without `wait`, only one
    /// that is free now (the caller holds a connection of this pool already).
    Pool {
        /// The pool.
        pool: Arc<Pool>,
        /// Whether to wait for a connection.
        wait: bool,
    },
    /// On a checked-out client's connection, after the client's earlier calls.
    Client {
        /// The client.
        client: Arc<Client>,
        /// A `BEGIN` the client deferred, to go first.
        begin: Option<String>,
    },
}

/// A COPY's end on the task's side.
enum Data {
    In(Intake),
    Out(Outlet),
}

/// Starts a COPY of `direction`: JS's end of it, and the future that runs `sql` where `on` says
/// (its outcome: the rows loaded, for `COPY … FROM STDIN`).
pub fn start(
    direction: Direction,
    on: Result<On>,
    sql: String,
) -> (End, impl Future<Output = Result<Option<u64>>> + Send) {
    let (end, data) = match direction {
        Direction::In => {
            let (feed, intake) = feed();
            (End::In(feed), Data::In(intake))
        }
        Direction::Out => {
            let (drain, outlet) = drain();
            (End::Out(drain), Data::Out(outlet))
        }
    };
    let run = async move {
        match data {
            Data::In(intake) => copy_from(on?, sql, intake).await.map(Some),
            Data::Out(outlet) => copy_to(on?, sql, outlet).await.map(|()| None),
        }
    };
    (end, run)
}

/// Runs `sql` (`COPY … FROM STDIN`) with the data `intake` brings; the number of rows the server
/// loaded. A server error that names a line of the data says so (`sql::with_line`).
async fn copy_from(on: On, sql: String, intake: Intake) -> Result<u64> {
    check(&sql, Direction::In)?;
    run(on, move |conn, pool, before| {
        Box::pin(async move {
            let plan = Plan::new(pool, before);
            plan.run(conn, inbound::load(conn, intake, &sql)).await
        })
    })
    .await
}

/// Runs `sql` (`COPY … TO STDOUT`), its data going out through `outlet` in batches.
async fn copy_to(on: On, sql: String, outlet: Outlet) -> Result<()> {
    check(&sql, Direction::Out)?;
    run(on, move |conn, pool, before| {
        Box::pin(async move {
            let plan = Plan::new(pool, before);
            let wait = plan.cancel_timeout;
            plan.run(conn, outbound::unload(conn, outlet, &sql, wait))
                .await
        })
    })
    .await
}

/// Runs `op` where `on` says. A connection of its own goes back to the pool at the end (rolled
/// back first if `op` may have left a transaction open, see `Checkout::release`), or is closed
/// when `op` left it unusable.
async fn run<T>(
    on: On,
    op: impl for<'a> FnOnce(&'a Conn, &'a Arc<Pool>, TxState) -> Boxed<'a, (Result<T>, TxState)>,
) -> Result<T> {
    match on {
        On::Pool { pool, wait } => {
            let mut checkout = Checkout::new(&pool, wait, None).await?;
            let outcome = checkout.exclusive(op).await;
            if matches!(&outcome, Err(e) if e.is_connection_fatal()) {
                // Dropped with its state unknown, the checkout closes the connection.
                drop(checkout);
            } else {
                checkout.release(false).await;
            }
            outcome
        }
        On::Client { client, begin } => client.exclusive(begin, op).await,
    }
}

/// How a COPY ended, as far as the connection's transaction cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// It completed.
    Done,
    /// The server failed it (its own error, CopyFail, or a cancel), and said so.
    Failed,
    /// Not known: it was stopped before the server answered, or the connection broke.
    Unclear,
}

/// The transaction's state after a COPY that ran in state `before` and ended as `left`: a COPY
/// never opens or ends a block, and its failure aborts the block it ran in.
fn state_after(before: TxState, left: Left) -> TxState {
    match (left, before) {
        (Left::Done, before) => before,
        (Left::Failed, TxState::Open) => TxState::Aborted,
        (Left::Failed, before) => before,
        (Left::Unclear, _) => TxState::Unknown,
    }
}

/// How a COPY runs on its connection.
struct Plan {
    before: TxState,
    /// In a transaction block of its own (behind PgBouncer, outside a block).
    own_block: bool,
    /// `cancelTimeoutMillis`.
    cancel_timeout: Duration,
}

impl Plan {
    fn new(pool: &Pool, before: TxState) -> Plan {
        Plan {
            before,
            own_block: pool.query_options().pgbouncer && before == TxState::Idle,
            cancel_timeout: pool.config().cancel_timeout,
        }
    }

    /// Runs the COPY `work` on `conn`, in a block of its own if the plan says so; its outcome
    /// and the transaction's state after it.
    async fn run<T>(
        &self,
        conn: &Conn,
        work: impl Future<Output = (Result<T>, Left)>,
    ) -> (Result<T>, TxState) {
        if conn.poisoned() {
            let e = Error::ConnectionClosed(
                "the connection was closed: describing a statement behind PgBouncer failed half \
                 way, and what it left on the server connection goes with it; run it again"
                    .into(),
            );
            return (Err(e), TxState::Unknown);
        }
        if !self.own_block {
            let (outcome, left) = work.await;
            return (outcome, state_after(self.before, left));
        }
        let client = conn.client();
        if let Err(e) = client.batch_execute("BEGIN").await {
            let state = if e.as_db_error().is_some() {
                TxState::Idle
            } else {
                TxState::Unknown
            };
            return (Err(e.into()), state);
        }
        let (outcome, left) = work.await;
        let end = match left {
            Left::Done => "COMMIT",
            Left::Failed => "ROLLBACK",
            Left::Unclear => return (outcome, TxState::Unknown),
        };
        match (client.batch_execute(end).await, outcome) {
            (Ok(()), outcome) => (outcome, TxState::Idle),
            // A COMMIT the server refused (a deferred constraint) rolled back: the COPY failed.
            (Err(e), Ok(_)) if e.as_db_error().is_some() => (Err(e.into()), TxState::Idle),
            (Err(e), Ok(_)) => (Err(e.into()), TxState::Unknown),
            (Err(_), outcome) => (outcome, TxState::Unknown),
        }
    }
}

/// Where a COPY's start or data failed: a server error leaves the connection in step with the
/// server, anything else does not.
fn left_by(e: &tokio_postgres::Error) -> Left {
    if e.as_db_error().is_some() {
        Left::Failed
    } else {
        Left::Unclear
    }
}

/// The outcome of a COPY that JS stopped (`destroy()` on its stream).
fn stopped(what: &str) -> Error {
    Error::Aborted(format!(
        "the COPY was stopped before it ended (its stream was destroyed): {what}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_changes_the_state_only_by_failing_in_a_block() {
        use TxState::*;
        for before in [Idle, Open, Aborted, Unknown] {
            assert_eq!(state_after(before, Left::Done), before);
            assert_eq!(state_after(before, Left::Unclear), Unknown);
        }
        assert_eq!(state_after(Idle, Left::Failed), Idle);
        assert_eq!(state_after(Open, Left::Failed), Aborted);
        assert_eq!(state_after(Aborted, Left::Failed), Aborted);
        assert_eq!(state_after(Unknown, Left::Failed), Unknown);
    }
}
