//! One pooled connection ([`Conn`]) and the deadpool manager that opens, checks and retires them.
//!
//! The manager owns each connection's tokio-postgres connection task, which deadpool-postgres'
//! manager does not let us do: the task's error is what an idle connection's `error` event
//! carries, and dropping the client (rather than aborting the task) lets the task say Terminate to
//! the server before the socket closes.
use crate::circuit::{Change, Circuit};
use crate::config::topology::SessionAttrs;
use crate::connect::{Connector, Noted, Task};
use crate::engine::WritesTogether;
use crate::error::{Error, Result, ServerError};
use crate::events::{kind, Event, Events, Reason};
use crate::log::Log;
use crate::statements::StatementCache;
use crate::stats::Stats;
use crate::typeinfo::TypeStatements;
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

mod manager;
mod stop;
pub use manager::{check_wait, Manager};
pub use stop::{wait_until_gone, Cancel, Stopper};

tokio::task_local! {
    /// Set while the pool opens connections for itself (`min`), not for a caller.
    pub static BACKGROUND: bool;
}

/// How long closing a connection waits for its task to say goodbye to the server.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A connection as the pool hands it out.
pub type Object = managed::Object<Manager>;

/// State the connection task shares with the pool.
#[derive(Default)]
struct Shared {
    /// In the pool, not checked out: a failure now is reported as an `error` event.
    idle: AtomicBool,
    pid: AtomicI32,
    /// The server ended the connection with an error while no request waited for an answer
    /// (`pg_terminate_backend`, a shutdown). tokio-postgres reads before it writes, and hands
    /// such an error to the request it answers, if any; so requests queued when it came were
    /// never sent.
    ended_between_requests: AtomicBool,
}

/// One pooled connection.
pub struct Conn {
    /// Shared with a COMMIT still awaiting its answer after the connection went back to the pool
    /// (`Pool::commit_and_give_back`).
    client: Option<Arc<tokio_postgres::Client>>,
    task: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// Prepared statements of this connection.
    pub statements: StatementCache,
    pid: i32,
    retire_at: Option<Instant>,
    uses: u64,
    /// Where cancel requests go.
    connector: Arc<Connector>,
    /// What the connection's task learned from the server's messages.
    noted: Arc<Noted>,
    /// The lookup statements tokio-postgres keeps on this client (PgBouncer's transaction mode).
    types: Mutex<TypeStatements>,
    /// Something half done may be left on the server connection: the connection takes no more
    /// queries, and is closed, not rolled back, when it comes back (see `pinned`).
    poisoned: AtomicBool,
    /// The pool's count of description changes (`Manager::description_changes`), and its value
    /// when this connection's descriptions were last known good.
    description_changes: (Arc<AtomicU64>, AtomicU64),
}

impl Conn {
    /// Whether a statement on this connection set a session setting that changes how the server
    /// writes values as text: from then on, columns whose text depends on it come from the
    /// server (`convert::text::session_renders`).
    pub fn session_rendering(&self) -> bool {
        self.noted.rendering_changed.load(Ordering::Relaxed)
    }

    /// Records that a statement set such a setting.
    pub fn note_session_rendering(&self) {
        self.noted.rendering_changed.store(true, Ordering::Relaxed);
    }

    /// How many times the server said a `CREATE … IF NOT EXISTS` on this connection found its
    /// relation and skipped: compared before and after a statement, whether that one did.
    pub fn skipped_creates(&self) -> u64 {
        self.noted.skipped_creates.load(Ordering::Relaxed)
    }

    /// Calls `f` with what the connection keeps of tokio-postgres's type lookups.
    pub fn with_types<T>(&self, f: impl FnOnce(&mut TypeStatements) -> T) -> T {
        // The state stays consistent whatever panicked while it was held.
        f(&mut self.types.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Forgets every type the client looked up, and every statement prepared or described on
    /// the connection (after a type they return changed on the server).
    pub fn forget_types(&self) {
        self.client().clear_type_cache();
        self.statements.clear();
        self.with_types(TypeStatements::forget_types);
    }

    /// Records that a statement described on this connection returned other columns than
    /// described: the tables or types changed on the server, so every connection of the pool
    /// describes its statements again (see [`Conn::check_descriptions`]).
    pub fn descriptions_changed(&self) {
        self.description_changes.0.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets the connection's descriptions if any connection found one out of date since it
    /// last looked: one atomic read per query.
    pub fn check_descriptions(&self) {
        let (pool, seen) = &self.description_changes;
        let now = pool.load(Ordering::SeqCst);
        if seen.swap(now, Ordering::SeqCst) != now {
            self.statements.clear();
        }
    }

    /// Marks the connection as not to be used again (see [`Conn::poisoned`]).
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Whether something half done may be left on the server connection: the connection then
    /// takes no more queries, and is closed, not rolled back, when it comes back.
    pub fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// The tokio-postgres client.
    pub fn client(&self) -> &tokio_postgres::Client {
        self.shared_client()
    }

    /// The tokio-postgres client, to keep for a request that outlives this hand-out.
    pub fn shared_client(&self) -> &Arc<tokio_postgres::Client> {
        self.client
            .as_ref()
            .expect("a Conn has its client until it is closed")
    }

    /// The server process id of this connection; behind PgBouncer (`pgbouncer`), whose server
    /// process changes with each transaction, a negative number of the pool's own.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How many turns of the connection's task went without an error (`connect::Noted::turns`).
    pub fn turns(&self) -> u64 {
        self.noted.turns.load(Ordering::Relaxed)
    }

    /// Whether the server ended the connection between requests: a request that then failed
    /// with "connection closed" was never sent, and may run elsewhere.
    pub fn ended_between_requests(&self) -> bool {
        self.shared.ended_between_requests.load(Ordering::SeqCst)
    }

    /// Marks the connection as back in the pool (`true`) or handed out (`false`).
    pub fn set_idle(&self, idle: bool) {
        self.shared.idle.store(idle, Ordering::Relaxed);
    }

    /// Counts `uses` uses (queries, or checkouts by a client); returns why the connection must be
    /// retired now, if it must.
    pub fn used(&mut self, uses: u64, max_uses: u64) -> Option<Reason> {
        self.uses += uses;
        self.retirement(0, max_uses)
    }

    /// Why the connection must be retired once `more` uses are counted, if it must: it is closed,
    /// would reach `max_uses` (0: no limit), or is past its lifetime.
    pub fn retirement(&self, more: u64, max_uses: u64) -> Option<Reason> {
        if self.client().is_closed() || self.poisoned() {
            Some(Reason::Broken)
        } else if max_uses > 0 && self.uses + more >= max_uses {
            Some(Reason::MaxUses)
        } else if self.retire_at.is_some_and(|at| Instant::now() >= at) {
            Some(Reason::Lifetime)
        } else {
            None
        }
    }

    /// Whether the connection is past its lifetime or closed (checked while it is idle).
    pub fn expired(&self) -> Option<Reason> {
        self.retirement(0, 0)
    }

    /// What cancels the statement running on this connection, through the seam.
    pub fn canceller(&self) -> Cancel {
        Cancel {
            token: self.client().cancel_token(),
            connector: self.connector.clone(),
            pid: self.pid,
        }
    }

    /// What closing the pool needs to stop this connection while someone else holds it.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            cancel: self.canceller(),
            task: self.task.as_ref().map(JoinHandle::abort_handle),
        }
    }

    /// Closes the connection: the task sends Terminate and closes the socket; waits for it briefly.
    pub async fn close(mut self) {
        self.client.take();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(CLOSE_WAIT, task).await;
        }
    }
}
