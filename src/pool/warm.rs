//! The connection a lone call gave back, kept for the next call. deadpool's idle queue is first
//! in, first out: one query at a time on a pool of two or more idle connections alternates
//! between their backends, each cold for the next query (W3, one 10,000-row SELECT at a time on
//! `min: 2`, ran at 611–667k rows/s, against 815–833k on one connection). Last in, first out for
//! the whole pool (as pg-pool's and pgx's idle lists are) took W8's POST route from 7,891–8,194
//! down to 6,488–6,948 requests/s. So only a connection given back while no other call is in
//! flight is parked here, out of deadpool's queue, and every caller takes it before asking
//! deadpool; under load, connections come back while others are in flight, and the queue stays
//! first in, first out.
//!
//! A parked connection is checked out of deadpool, so nothing waits for it there: every wait
//! for a connection takes it first, and counts as a waiter while it waits, so that a connection
//! parked meanwhile goes to deadpool's queue (where the waiter gets it) instead. It goes there
//! too once parked for [`PARKED_AT_MOST`] (or the idle timeout, if shorter), where idle
//! timeouts and deadpool's checks see it, and when the pool closes.
use super::*;
use std::future::Future;

/// How long a connection stays parked unused, and how long since deadpool last handed it out
/// it may be parked again: so that deadpool's record of its use (idle timeouts, the check after
/// [`crate::connection`]'s idle period) is never more than this behind.
const PARKED_AT_MOST: Duration = Duration::from_secs(1);

/// The parked connection, and the callers waiting on deadpool for one.
#[derive(Default)]
pub(super) struct Warm {
    slot: Mutex<Option<Parked>>,
    waiting: Arc<AtomicUsize>,
}

struct Parked {
    conn: Object,
    since: Instant,
}

/// A caller counted in [`Warm::waiting`] while it waits on deadpool.
struct Waiter(Arc<AtomicUsize>);

impl Drop for Waiter {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Warm {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Parked>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a connection is parked (counted as idle in the statistics).
    pub(super) fn parked(&self) -> usize {
        usize::from(self.slot().is_some())
    }
}

impl Pool {
    /// How long a connection may stay parked: [`PARKED_AT_MOST`], or the idle timeout if shorter.
    fn parked_at_most(&self) -> Duration {
        self.config
            .idle_timeout
            .map_or(PARKED_AT_MOST, |t| t.min(PARKED_AT_MOST))
    }

    /// Puts a connection that comes back fit for use where the next caller finds it: parked,
    /// when no other call is in flight and nobody waits; else in deadpool's idle queue.
    pub(super) fn park_or_idle(&self, conn: Object) {
        conn.set_idle(true);
        let lone = self.in_flight.load(Ordering::SeqCst) <= 1;
        let recent = managed::Object::metrics(&conn).last_used() < self.parked_at_most();
        if !lone || !recent {
            return;
        }
        let mut slot = self.warm.slot();
        // Checked under the lock: close() takes the slot after it stops the pool, so a
        // connection parked here is either seen by it or never parked.
        if self.state.load(Ordering::SeqCst) != OPEN {
            return;
        }
        let before = slot.replace(Parked {
            conn,
            since: Instant::now(),
        });
        drop(slot);
        drop(before);
        // A waiter counted before this look takes the connection from deadpool's queue; one
        // counted after it finds the connection parked.
        if self.warm.waiting.load(Ordering::SeqCst) > 0 {
            drop(self.warm.slot().take());
        }
    }

    /// The parked connection, if any, and fit for use (one that is not is retired).
    pub(super) fn take_parked(&self) -> Option<Object> {
        let Parked { conn, .. } = self.warm.slot().take()?;
        match self.pool.manager().unfit(&conn) {
            None => {
                conn.set_idle(false);
                Some(conn)
            }
            Some(reason) => {
                self.retire(managed::Object::take(conn), reason);
                None
            }
        }
    }

    /// deadpool's `get()`, owned, after the parked connection: counted as a waiter until it has
    /// a connection (see [`Pool::park_or_idle`]).
    pub(super) fn get_waiting(
        &self,
    ) -> impl Future<Output = std::result::Result<Object, PoolError<Error>>> + Send + 'static {
        self.warm.waiting.fetch_add(1, Ordering::SeqCst);
        let waiter = Waiter(self.warm.waiting.clone());
        let parked = self.take_parked();
        let pool = self.pool.clone();
        async move {
            let _waiter = waiter;
            match parked {
                Some(conn) => Ok(conn),
                None => pool.get().await,
            }
        }
    }

    /// The parked connection, or deadpool's idle one or a new one if it has it now, else
    /// `PoolError::Timeout(Wait)` at once (see [`Pool::no_wait`]).
    pub(super) async fn get_now(&self) -> std::result::Result<Object, PoolError<Error>> {
        match self.take_parked() {
            Some(conn) => Ok(conn),
            None => self.pool.timeout_get(&self.no_wait()).await,
        }
    }

    /// Maintenance: retires a parked connection that is no longer fit, and moves one parked
    /// too long to deadpool's queue.
    pub(super) fn tend_parked(&self) {
        let mut slot = self.warm.slot();
        let Some(parked) = slot.as_ref() else {
            return;
        };
        let unfit = self.pool.manager().unfit(&parked.conn);
        if unfit.is_none() && parked.since.elapsed() < self.parked_at_most() {
            return;
        }
        let Some(Parked { conn, .. }) = slot.take() else {
            return;
        };
        drop(slot);
        if let Some(reason) = unfit {
            self.retire(managed::Object::take(conn), reason);
        }
    }

    /// Moves the parked connection to deadpool's queue (`close()`, once the pool is stopped).
    pub(super) fn unpark(&self) {
        drop(self.warm.slot().take());
    }
}
