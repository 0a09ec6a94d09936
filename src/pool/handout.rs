//! A connection handed out and coming back: the statistics, the log, the in-use registry and
//! the events of each hand-out; what a failed checkout means to the user; and what becomes of a
//! connection that comes back (idle again, kept for the next call, or retired).
use super::*;

impl Pool {
    /// Records a connection handed out: statistics, log, the in-use registry, the event.
    pub(super) fn handed_out(&self, conn: Object, started: Instant) -> Object {
        self.stats.acquire.record(started.elapsed());
        let pid = conn.pid();
        self.log.acquired(pid, started.elapsed());
        self.in_use().insert(pid, conn.stopper());
        self.events.emit(kind::ACQUIRE, || Event::Acquire { pid });
        conn
    }

    /// What a failed checkout means to the user.
    pub(super) fn acquire_error(&self, e: PoolError<Error>) -> Error {
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

    pub(super) fn in_use(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Stopper>> {
        self.in_use.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes back a connection after use. It returns to the pool unless it is broken, used up,
    /// past its lifetime, or the pool is closing, in which case it is closed (`remove`).
    /// Returns whether a closing pool had cut the connection while it was out.
    pub(crate) fn give_back(&self, conn: Object, broken: bool) -> bool {
        self.take_back(conn, broken.then_some(Reason::Broken), 1, false)
    }

    /// Closes a checked-out connection for good (`client.release(true)`, a failed rollback).
    pub(crate) fn destroy(&self, conn: Object, reason: Reason) {
        self.take_back(conn, Some(reason), 1, false);
    }

    /// Whether a closing pool cut the connection of backend `pid` while it was out.
    pub(crate) fn cut_off(&self, pid: i32) -> bool {
        self.state.load(Ordering::SeqCst) != OPEN && !self.in_use().contains_key(&pid)
    }

    /// Takes back a connection that served `uses` uses (see [`Pool::give_back`]); with `park`,
    /// one that stays may be kept for the next caller (see `warm`).
    pub(crate) fn take_back(
        &self,
        mut conn: Object,
        retire: Option<Reason>,
        uses: u64,
        park: bool,
    ) -> bool {
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
            Some(reason) => self.retire(managed::Object::take(conn), reason),
            None if park => self.park_or_idle(conn),
            None => conn.set_idle(true),
        }
        cut
    }
}

impl share::Home for Pool {
    fn max_uses(&self) -> u64 {
        self.config.max_uses
    }

    fn take_back(&self, conn: Object, retire: Option<Reason>, uses: u64, quick: bool) {
        Pool::take_back(self, conn, retire, uses, !quick);
    }
}
