//! A checked-out connection: the client of `getClient()` and of `executeTransaction`.
//!
//! It follows its transaction's state (`txstate`) without asking the server. On
//! release a clean connection goes straight back to the pool; any other is rolled back first, or
//! closed if that fails. Dropped without release (a JS client collected unreleased) it never leaks:
//! a clean connection goes back, any other is closed, which ends its transaction on the server.
mod checkout;
mod stream;

use checkout::{Begin, Beginning};
pub use checkout::{Boxed, Checkout};
pub use stream::Stream;

use crate::connection::{Cancel, Conn};
use crate::deadline::{Limit, Stage};
use crate::error::CANCELLED;
use crate::error::{Error, Result};
use crate::events::Reason;
use crate::params::Param;
use crate::pool::{refuse_open_blocks, Lease, Manager, Pool};
use crate::query::{EarlyRows, QueryOptions};
use crate::result::ResultSet;
use crate::txstate::TxState;
use deadpool::managed::Object;
use futures_util::future::{join, maybe_done};
use futures_util::poll;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

/// An operation on a client's checkout, run in the client's turn (see [`Client::run`]).
pub(crate) type Op<T> = Box<
    dyn for<'c> FnOnce(&'c mut Checkout) -> Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>
        + Send,
>;

/// How often `abort` repeats its cancel request while the statement keeps running: a request
/// that reached the server before the statement did is lost.
const CANCEL_RETRY: Duration = Duration::from_millis(250);

/// Where a client's connection stands.
// Held is the large variant, and the one a client is in nearly all its life: boxing it would only
// add an allocation per client.
#[allow(clippy::large_enum_variant)]
enum Slot {
    /// Not checked out yet (executeTransaction's client): its first query checks it out, without
    /// `wait` only if one is free then, and sends `begin` with it.
    Later {
        lease: Lease,
        wait: bool,
        begin: String,
    },
    Held(Checkout),
    /// The checkout failed: so does every later call, with its error.
    Failed(Error),
    Released,
}

/// A checkout shared between the calls of one JS client: they take turns on the connection, and
/// after release every call fails with `CLIENT_RELEASED`.
pub struct Client {
    /// Shared with a task that finishes a cancelled statement after its caller had its answer.
    slot: Arc<Mutex<Slot>>,
    /// Set once the connection is checked out.
    cancel: OnceLock<Cancel>,
    beginning: Arc<Beginning>,
    /// Set by `abort`, which a checkout still waiting gives up for.
    aborting: AtomicBool,
    aborted: Notify,
}

impl Client {
    fn with(slot: Slot, cancel: OnceLock<Cancel>, beginning: Arc<Beginning>) -> Client {
        Client {
            slot: Arc::new(Mutex::new(slot)),
            cancel,
            beginning,
            aborting: AtomicBool::new(false),
            aborted: Notify::new(),
        }
    }

    /// Checks out a connection for a client (`getClient()`); without `wait`, only one that is
    /// free now.
    pub async fn checkout(pool: &Arc<Pool>, wait: bool) -> Result<Client> {
        let mut checkout = Checkout::new(pool, wait, None).await?;
        let cancel = OnceLock::from(checkout.conn()?.canceller());
        let beginning = checkout.beginning.clone();
        Ok(Client::with(Slot::Held(checkout), cancel, beginning))
    }

    /// A transaction's client (executeTransaction), which checks out its connection with its
    /// first query, so that the two take one call, and sends `begin` with that query. Fails only
    /// with `POOL_CLOSED`; a checkout that fails later fails that query, and every call after it.
    pub fn transaction(pool: &Arc<Pool>, wait: bool, begin: String) -> Result<Client> {
        let slot = Slot::Later {
            lease: pool.reserve()?,
            wait,
            begin,
        };
        Ok(Client::with(slot, OnceLock::new(), Arc::default()))
    }

    /// The server process id of the client's connection, once it is checked out.
    pub fn pid(&self) -> Option<i32> {
        self.cancel.get().map(Cancel::pid)
    }

    /// The client's checkout, made now if it waits to be.
    async fn checked_out<'s>(&self, slot: &'s mut Slot) -> Result<&'s mut Checkout> {
        if let Slot::Later { .. } = slot {
            let Slot::Later { lease, wait, begin } = std::mem::replace(slot, Slot::Released) else {
                unreachable!("matched above")
            };
            let open = Checkout::open(lease, wait, Some(begin), self.beginning.clone());
            let opened = tokio::select! {
                biased;
                () = self.until_aborted() => Err(Error::ClientReleased),
                opened = open => opened,
            };
            *slot = match opened {
                Ok(mut checkout) => {
                    let _ = self.cancel.set(checkout.conn()?.canceller());
                    Slot::Held(checkout)
                }
                Err(e) => Slot::Failed(e),
            };
        }
        match slot {
            Slot::Held(checkout) => Ok(checkout),
            Slot::Failed(e) => Err(e.clone()),
            Slot::Later { .. } | Slot::Released => Err(Error::ClientReleased),
        }
    }

    /// Resolves once `abort` was called.
    async fn until_aborted(&self) {
        loop {
            let aborted = self.aborted.notified();
            tokio::pin!(aborted);
            aborted.as_mut().enable();
            if self.aborting.load(Ordering::SeqCst) {
                return;
            }
            aborted.await;
        }
    }

    /// Runs a query once the calls before it are done; a long result's rows may go to `early`
    /// before it ends. With a `limit`, see [`Client::query_within`].
    pub async fn query(
        &self,
        sql: &str,
        params: Vec<Param>,
        early: &dyn EarlyRows,
        limit: &Limit,
    ) -> Result<Vec<ResultSet>> {
        if !limit.is_none() {
            return self.query_within(sql, params, limit).await;
        }
        let mut slot = self.slot.lock().await;
        let checkout = self.checked_out(&mut slot).await?;
        checkout.query(sql, &params, Some(early)).await
    }

    /// [`Client::query`] behind a `BEGIN` the client was asked for and has not sent: the two go
    /// out together, as a transaction's first statement does (see `Checkout::run`), so the
    /// `BEGIN` costs no round trip of its own. A failed `BEGIN` fails the query.
    pub async fn query_after_begin(
        &self,
        begin: String,
        sql: &str,
        params: Vec<Param>,
        early: &dyn EarlyRows,
    ) -> Result<Vec<ResultSet>> {
        let mut slot = self.slot.lock().await;
        let checkout = self.checked_out(&mut slot).await?;
        checkout.defer_begin(begin);
        checkout.query(sql, &params, Some(early)).await
    }

    /// A query with a limit (see [`Client::within`]); its rows reach JS at its end, not early.
    async fn query_within(
        &self,
        sql: &str,
        params: Vec<Param>,
        limit: &Limit,
    ) -> Result<Vec<ResultSet>> {
        let sql = sql.to_owned();
        let query: Op<Vec<ResultSet>> = Box::new(move |checkout| {
            Box::pin(async move { checkout.query(&sql, &params, None).await })
        });
        self.within(query, limit).await
    }

    /// Runs `op` (a stream's open, fetch or end) on the client's checkout once the calls before
    /// it are done; with a limit, see [`Client::within`].
    pub(crate) async fn run<T: Send + 'static>(&self, op: Op<T>, limit: &Limit) -> Result<T> {
        if !limit.is_none() {
            return self.within(op, limit).await;
        }
        let mut slot = self.slot.lock().await;
        op(self.checked_out(&mut slot).await?).await
    }

    /// An operation (a query, a stream's fetch) with a limit: reached while it waits (for the
    /// client's earlier calls, or for the connection of a transaction's first query), nothing is
    /// sent; reached while it runs, the caller has its answer at once, and a task that keeps the
    /// client's turn cancels the statement on the server (never while a pipelined BEGIN still
    /// waits for its answer: the cancel could hit BEGIN). The client keeps its connection only if
    /// the server answers 57014 within `cancelTimeoutMillis` (inside a transaction, which is then
    /// aborted); otherwise the connection is closed and every later call fails with
    /// CONNECTION_CLOSED.
    async fn within<T: Send + 'static>(&self, op: Op<T>, limit: &Limit) -> Result<T> {
        let mut slot = tokio::select! {
            biased;
            slot = Arc::clone(&self.slot).lock_owned() => slot,
            e = limit.reached(Stage::Waiting) => return Err(e),
        };
        let checked = tokio::select! {
            biased;
            checkout = self.checked_out(&mut slot) => checkout.map(|c| c.lease.pool().config().cancel_timeout),
            e = limit.reached(Stage::Waiting) => Err(e),
        };
        let wait = match checked {
            Ok(wait) => wait,
            Err(e) => {
                // A transaction's checkout given up half way took the slot with it.
                if matches!(*slot, Slot::Released) && e.code() != Error::ClientReleased.code() {
                    *slot = Slot::Failed(e.clone());
                }
                return Err(e);
            }
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (cancel, beginning) = (self.cancel.get().cloned(), self.beginning.clone());
        let limit = limit.clone();
        tokio::spawn(async move {
            let clean = {
                let Slot::Held(checkout) = &mut *slot else {
                    let _ = answer.send(Err(Error::ClientReleased));
                    return;
                };
                let mut run = pin!(op(checkout));
                let stop = tokio::select! {
                    biased;
                    outcome = &mut run => {
                        let _ = answer.send(outcome);
                        return;
                    }
                    e = limit.reached(Stage::Running) => e,
                };
                let _ = answer.send(Err(stop));
                let ended = tokio::time::timeout(wait, async {
                    while beginning.pending.load(Ordering::SeqCst) {
                        let answered = beginning.answered.notified();
                        tokio::select! {
                            biased;
                            outcome = &mut run => return outcome,
                            () = answered => {}
                            () = tokio::time::sleep(CANCEL_RETRY) => {}
                        }
                    }
                    if let Some(cancel) = &cancel {
                        if let Err(e) = cancel.send().await {
                            tracing::warn!("could not send a cancel request: {e}");
                        }
                    }
                    (&mut run).await
                })
                .await;
                matches!(&ended, Ok(Err(Error::Server(s))) if s.code == CANCELLED)
            };
            if !clean {
                if let Slot::Held(checkout) = &mut *slot {
                    // Whatever the statement did, the connection may still be busy or have a
                    // cancel request on its way: dropped as unknown, the checkout closes it.
                    checkout.state = TxState::Unknown;
                }
                *slot = Slot::Failed(Error::ConnectionClosed(
                    "the client's connection was closed: a statement on it passed its timeout (or \
                     was aborted) and did not end within cancelTimeoutMillis of its cancel request"
                        .into(),
                ));
            }
        });
        answered
            .await
            .unwrap_or_else(|_| Err(Error::Internal("a limited query's task ended".into())))
    }

    /// Runs `op` on the client's connection (see [`Checkout::exclusive`]) once the calls before
    /// it are done, holding the client's turn until it ends; `begin` is a `BEGIN` the client
    /// deferred, to go first. `abort` (a transaction's timeout) drops `op` half way, and the
    /// release after it rolls back or closes. When `op` fails with an error that leaves the
    /// connection unusable, every later call fails with it.
    pub async fn exclusive<T>(
        &self,
        begin: Option<String>,
        op: impl for<'a> FnOnce(&'a Conn, &'a Arc<Pool>, TxState) -> Boxed<'a, (Result<T>, TxState)>,
    ) -> Result<T> {
        let mut slot = self.slot.lock().await;
        let checkout = self.checked_out(&mut slot).await?;
        if let Some(begin) = begin {
            checkout.defer_begin(begin);
        }
        let outcome = tokio::select! {
            biased;
            () = self.until_aborted() => Err(Error::ClientReleased),
            outcome = checkout.exclusive(op) => outcome,
        };
        if let Err(e) = &outcome {
            if e.is_connection_fatal() {
                // Dropped with its state unknown, the checkout closes the connection.
                *slot = Slot::Failed(e.clone());
            }
        }
        outcome
    }

    /// Commits the client's transaction (see [`Checkout::commit`]) and releases the connection,
    /// in one call: executeTransaction's normal end. After a failed COMMIT of a transaction whose
    /// state was unknown the release rolls back, or closes the connection if that fails. A client
    /// that ran no query has nothing to commit.
    pub async fn commit_and_release(&self) -> Result<()> {
        let mut slot = self.slot.lock().await;
        match std::mem::replace(&mut *slot, Slot::Released) {
            Slot::Later { .. } => Ok(()),
            Slot::Failed(e) => Err(e),
            Slot::Released => Err(Error::ClientReleased),
            Slot::Held(mut checkout) => {
                let committed = checkout.commit().await;
                // After an open transaction's COMMIT the connection is back already.
                checkout.release(false).await;
                committed
            }
        }
    }

    /// Releases the connection (see [`Checkout::release`]); a second release does nothing.
    pub async fn release(&self, destroy: bool) -> bool {
        let mut slot = self.slot.lock().await;
        Client::release_slot(&mut slot, destroy).await
    }

    async fn release_slot(slot: &mut Slot, destroy: bool) -> bool {
        match std::mem::replace(slot, Slot::Released) {
            Slot::Held(checkout) => checkout.release(destroy).await,
            // Its BEGIN waited: the transaction counts as open, though nothing reached the server.
            Slot::Later { .. } => true,
            Slot::Failed(_) | Slot::Released => false,
        }
    }

    /// Ends the client now (`timeoutMillis`): a checkout still waiting gives up, a statement
    /// still running is cancelled on the server, then the transaction is rolled back and the
    /// connection returned, or closed if that fails. Never waits for a running statement to
    /// finish on its own.
    pub async fn abort(&self) -> bool {
        self.aborting.store(true, Ordering::SeqCst);
        self.aborted.notify_waiters();
        let mut slot = match self.slot.try_lock() {
            Ok(slot) => slot,
            Err(_) => loop {
                let answered = self.beginning.answered.notified();
                tokio::pin!(answered);
                answered.as_mut().enable();
                // Not while a pipelined BEGIN awaits its answer (see `Beginning`), nor before the
                // connection is checked out.
                if let (false, Some(cancel)) = (
                    self.beginning.pending.load(Ordering::SeqCst),
                    self.cancel.get(),
                ) {
                    if let Err(e) = cancel.send().await {
                        tracing::warn!("could not send a cancel request: {e}");
                    }
                }
                tokio::select! {
                    slot = self.slot.lock() => break slot,
                    () = answered => {}
                    () = tokio::time::sleep(CANCEL_RETRY) => {}
                }
            },
        };
        Client::release_slot(&mut slot, false).await
    }
}

/// Runs one query for code that already holds a connection of `pool`: on another connection if
/// one is free now, else fails at once with `POOL_DEADLOCK` rather than wait for itself. A long
/// result's rows may go to `early` before it ends.
pub async fn query_holding(
    pool: &Arc<Pool>,
    sql: &str,
    params: Vec<Param>,
    early: &dyn EarlyRows,
) -> Result<Vec<ResultSet>> {
    refuse_open_blocks(sql, &params)?;
    let mut checkout = Checkout::new(pool, false, None).await?;
    let outcome = checkout.query(sql, &params, Some(early)).await;
    checkout.release(false).await;
    outcome
}
