//! Connections that several `manager.query()` calls share, as postgres.js pipelines.
//!
//! A manager query runs on a [`Lane`]: a connection handed out by the pool, which goes back when
//! the last query on it is done. When no connection is idle and none can be opened, a query may
//! join a lane that other manager queries run on instead of waiting for a connection of its own;
//! tokio-postgres writes its request behind theirs, and the server answers them in order, each
//! in its own implicit transaction (every request ends with Sync), so one failing does not touch
//! the others. Only single statements that leave the session's transaction state alone join or
//! open lanes others may join, and never a client's connection (`getClient`, transactions):
//! those are checked out on their own.
use crate::connection::{Conn, Object};
use crate::error::{Error, Result, ENDED_BEFORE_RUNNING};
use crate::events::Reason;
use crate::result::ResultSet;
use crate::split::{controls_transaction, may_control_transaction, split};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How many queries one hand-out of a connection serves at most, all at once or in turn (but
/// see [`QUICK_DEPTH`]).
///
/// A query on a shared connection waits on the server for those queued before it: at most seven.
/// Eight rather than four because the server then reads and answers more queries per wake-up:
/// with 64 point queries in flight on 10 connections (bench W2, alternating runs on 2 cores) the
/// machine spent about 18 % less CPU per query and ran about 15 % more of them. Deeper, every
/// slow query would hold more queries up behind it (postgres.js allows 100). And since a hand-out
/// ends after eight queries, the connection goes back to the pool in bounded time, where clients
/// waiting for it, `maxLifetimeSeconds` and `maxUses` see it again.
pub const SHARE_LIMIT: usize = 8;

/// How many quick queries (see `quick`) one hand-out of a connection serves at most when every
/// connection is busy and `max` are open: the queries past the eighth would wait anyway (for a
/// place or a connection), and queued behind quick ones each waits a few milliseconds at most,
/// while the server answers more per wake-up. W2's query with 1,000 in flight (2 cores,
/// alternating runs): on `max: 10` 52,881–56,703 queries/s at 21.0–22.1 µs of client CPU each,
/// against 43,405–44,268/s at 26.1–26.9 µs with eight; on `max: 50` 36,825–38,896 against
/// 33,682–36,016/s; with 64 in flight on `max: 10`, no change.
pub const QUICK_DEPTH: usize = 32;

/// Whether `sql` may share a connection with other queries: one statement (a string of several
/// runs in a transaction of its own, which would take in the queries around it) that neither
/// controls the transaction nor runs a procedure or DO block (which may commit or roll back).
pub fn shareable(sql: &str) -> bool {
    let statements = split(sql);
    match statements.as_slice() {
        [only] => !controls_transaction(&only.command) && !may_control_transaction(&only.command),
        _ => false,
    }
}

/// Where a lane's connection goes back to: the pool, which this module knows only by this.
pub trait Home: Send + Sync {
    /// The `maxUses` in force (0: no limit).
    fn max_uses(&self) -> u64;

    /// Takes back a connection that served `uses` queries, retiring it for `retire`; one that
    /// served a query not known to be quick may be kept for the next caller (`pool::warm`).
    fn take_back(&self, conn: Object, retire: Option<Reason>, uses: u64, quick: bool);
}

/// A connection handed out for manager queries. Each query holds it through its [`Place`]; when
/// the last one is dropped, the connection goes back to the pool (or is retired), once.
pub struct Lane {
    conn: Option<Object>,
    pool: Arc<dyn Home>,
    /// Queries this hand-out admitted, each a use of the connection (`maxUses`).
    admitted: AtomicUsize,
    /// Queries admitted whose outcome is not known yet.
    pending: AtomicUsize,
    /// Signalled as each query's outcome becomes known.
    settled: Notify,
    /// A query met a connection error: no more join, and the connection is retired.
    broken: AtomicBool,
    /// The server ended the backend (57P01–57P03) while a query on it was waiting.
    ended: AtomicBool,
    /// Every query admitted is of a statement known to be quick (`quick`): quick queries may
    /// join while idle connections wait.
    quick: AtomicBool,
    /// When the connection was handed out, and when each query's outcome came, in nanoseconds
    /// after it plus one (0: not yet), by order of admission: the server answers in that order.
    opened: Instant,
    answered: [AtomicU64; QUICK_DEPTH],
}

impl Lane {
    /// A lane for a connection just handed out, and the place of its first query on it, whose
    /// statement is known to be `quick` or not.
    pub(crate) fn open(conn: Object, pool: Arc<dyn Home>, quick: bool) -> Place {
        Place::new(
            Arc::new(Lane {
                conn: Some(conn),
                pool,
                admitted: AtomicUsize::new(1),
                pending: AtomicUsize::new(1),
                settled: Notify::new(),
                broken: AtomicBool::new(false),
                ended: AtomicBool::new(false),
                quick: AtomicBool::new(quick),
                opened: Instant::now(),
                answered: Default::default(),
            }),
            0,
        )
    }

    fn conn(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a lane has its connection until it drops")
    }

    /// How many queries this hand-out may serve: [`QUICK_DEPTH`] for a lane of quick queries
    /// when `deep` (every connection is busy), else [`SHARE_LIMIT`].
    fn depth(&self, deep: bool) -> usize {
        if deep && self.quick.load(Ordering::SeqCst) {
            QUICK_DEPTH
        } else {
            SHARE_LIMIT
        }
    }

    /// How many queries this hand-out admitted; `None` when no more may join at any depth: the
    /// connection is broken, past its lifetime, or out of uses.
    fn admitted_if_usable(&self) -> Option<usize> {
        let admitted = self.admitted.load(Ordering::SeqCst);
        let usable = !self.broken.load(Ordering::SeqCst)
            && self
                .conn()
                .retirement(admitted as u64, self.pool.max_uses())
                .is_none();
        usable.then_some(admitted)
    }

    /// One query's outcome is known (or never will be).
    fn leave(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.settled.notify_waiters();
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let retire = self.broken.load(Ordering::SeqCst).then_some(Reason::Broken);
            let uses = self.admitted.load(Ordering::SeqCst) as u64;
            let quick = self.quick.load(Ordering::SeqCst);
            self.pool.take_back(conn, retire, uses, quick);
        }
    }
}

/// One query's place on a lane. Dropped, it leaves the lane (settled or not), and the last place
/// to leave gives the connection back.
pub struct Place {
    lane: Arc<Lane>,
    settled: bool,
    /// Its order of admission on the lane, and when.
    index: usize,
    admitted: Instant,
    /// The server's part of its run, once settled, when known (see [`Place::served`]).
    served: Option<Duration>,
}

impl Place {
    fn new(lane: Arc<Lane>, index: usize) -> Place {
        Place {
            lane,
            settled: false,
            index,
            admitted: Instant::now(),
            served: None,
        }
    }

    /// The server's part of the query's run: from when its answer could come (its admission,
    /// or the answer before it on the lane, whichever came later) to its outcome. Unknown when
    /// the query before it had not settled yet, since its answer's time is then unknown; and
    /// late outcomes only make it longer, never shorter, than the server's.
    pub(crate) fn served(&self) -> Option<Duration> {
        self.served
    }

    /// Notes the time of this query's outcome, and from it the server's part of its run.
    fn note_answer(&mut self) {
        let lane = &self.lane;
        let now = Instant::now();
        let at = now.duration_since(lane.opened).as_nanos() as u64 + 1;
        let Some(slot) = lane.answered.get(self.index) else {
            return;
        };
        slot.store(at, Ordering::SeqCst);
        let from = match self.index.checked_sub(1) {
            None => self.admitted,
            Some(before) => match lane.answered[before].load(Ordering::SeqCst) {
                0 => return,
                nanos => self
                    .admitted
                    .max(lane.opened + Duration::from_nanos(nanos - 1)),
            },
        };
        self.served = Some(now.saturating_duration_since(from));
    }

    /// The connection.
    pub fn conn(&self) -> &Conn {
        self.lane.conn()
    }

    /// A hold on the connection apart from this place: the connection goes back (or is retired)
    /// only once the place and every hold have gone, so a task may go on using it after its
    /// query's caller has had its answer.
    pub(crate) fn hold(&self) -> Hold {
        Hold(self.lane.clone())
    }

    /// Records how the query ended; returns whether a connection error means it never ran. When
    /// the server ends a backend before running more (57P01–57P03), the first query waiting gets
    /// that error and the ones queued behind it see the connection close: they never ran either,
    /// so they may be retried. Which query learns what first is up to the scheduler, so a query
    /// that saw the connection close waits until every query on the lane is settled (promptly:
    /// its connection is gone) before it decides.
    pub(crate) async fn settle(&mut self, outcome: &Result<Vec<ResultSet>>) -> bool {
        self.note_answer();
        let lane = &self.lane;
        if let Err(e) = outcome {
            if e.is_connection_fatal() {
                lane.broken.store(true, Ordering::SeqCst);
            }
            if matches!(e, Error::Server(s) if ENDED_BEFORE_RUNNING.contains(&s.code.as_str())) {
                lane.ended.store(true, Ordering::SeqCst);
            }
        }
        self.settled = true;
        lane.leave();
        if !matches!(outcome, Err(Error::ConnectionClosed(_))) {
            return false;
        }
        loop {
            let settled = lane.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if lane.pending.load(Ordering::SeqCst) == 0 {
                return lane.ended.load(Ordering::SeqCst);
            }
            settled.await;
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        // A query dropped before its outcome (its task ended): those waiting on the lane must
        // not wait for it.
        if !self.settled {
            self.lane.leave();
        }
    }
}

/// See [`Place::hold`].
pub struct Hold(Arc<Lane>);

impl Hold {
    /// The connection.
    pub fn conn(&self) -> &Conn {
        self.0.conn()
    }

    /// Has the connection closed rather than given back when the lane ends: its statement may
    /// still run, or a cancel request for it may still be on its way.
    pub(crate) fn retire(&self) {
        self.0.broken.store(true, Ordering::SeqCst);
    }
}

/// The lanes that may take more queries.
#[derive(Default)]
pub struct Lanes {
    open: Mutex<Vec<Weak<Lane>>>,
    /// Signalled once for each place a new lane offers to queries waiting for a connection.
    room: Notify,
}

impl Lanes {
    /// Offers the places left on the lane of `place` to other queries.
    pub(crate) fn offer(&self, place: &Place) {
        let mut lanes = self.lanes();
        // Lanes whose queries are all done go here too, so that the list stays as short as the
        // number of connections handed out even when no query ever joins one.
        lanes.retain(|weak| weak.strong_count() > 0);
        lanes.push(Arc::downgrade(&place.lane));
        drop(lanes);
        for _ in 1..SHARE_LIMIT {
            self.room.notify_one();
        }
    }

    /// A place on the lane with the fewest queries that admits one more, if any, for a query
    /// whose statement is known to be `quick` or not; with `only_quick`, only on a lane whose
    /// queries are all quick (a quick query that would otherwise take an idle connection). With
    /// `deep` (every connection is busy) a quick query may join a lane of quick ones up to
    /// [`QUICK_DEPTH`].
    pub(crate) fn join(&self, quick: bool, only_quick: bool, deep: bool) -> Option<Place> {
        let deep = deep && quick;
        let mut lanes = self.lanes();
        let mut best: Option<Arc<Lane>> = None;
        lanes.retain(|weak| {
            // A lane whose queries are all done, or that admits no more, never will again.
            let Some((lane, admitted)) = weak.upgrade().and_then(|lane| {
                let admitted = lane.admitted_if_usable()?;
                (admitted < lane.depth(true)).then_some((lane, admitted))
            }) else {
                return false;
            };
            // Each query on a lane holds one reference.
            if (!only_quick || lane.quick.load(Ordering::SeqCst))
                && admitted < lane.depth(deep)
                && best
                    .as_ref()
                    .is_none_or(|b| Arc::strong_count(&lane) < Arc::strong_count(b))
            {
                best = Some(lane);
            }
            true
        });
        let lane = best?;
        if !quick {
            lane.quick.store(false, Ordering::SeqCst);
        }
        lane.pending.fetch_add(1, Ordering::SeqCst);
        let index = lane.admitted.fetch_add(1, Ordering::SeqCst);
        if index + 1 >= lane.depth(true) {
            lanes.retain(|weak| !std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&lane)));
        }
        Some(Place::new(lane, index))
    }

    /// Waits until a new lane may have room (see [`Lanes::offer`]).
    pub(crate) fn room(&self) -> tokio::sync::futures::Notified<'_> {
        self.room.notified()
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Lane>>> {
        // A vector of weak references stays consistent whatever panicked while it was held.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::shareable;

    #[test]
    fn single_statements_share() {
        for sql in [
            "SELECT 1",
            "select $1::int",
            "INSERT INTO t VALUES ($1)",
            "UPDATE t SET a = 1; ",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SET search_path = app",
            "SELECT 'BEGIN; COMMIT'",
        ] {
            assert!(shareable(sql), "{sql}");
        }
    }

    #[test]
    fn strings_of_statements_transaction_control_and_procedures_do_not() {
        for sql in [
            "SELECT 1; SELECT 2",
            "BEGIN",
            "start transaction",
            "COMMIT",
            "END",
            "ROLLBACK",
            "SAVEPOINT s",
            "RELEASE SAVEPOINT s",
            "PREPARE TRANSACTION 'x'",
            "CALL p()",
            "DO $$ BEGIN COMMIT; END $$",
            "",
            "-- nothing",
        ] {
            assert!(!shareable(sql), "{sql}");
        }
    }
}
