//! A connection's task as the pool runs it: tokio-postgres's connection, polled for the messages
//! the server sends outside any answer (notices, notifications), so the pool learns what only
//! those say.
use super::Connection;
use crate::config::topology::ROLE_SETTINGS;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::{AsyncMessage, Notification};

/// The session settings the server reports when they change (ParameterStatus) that change how it
/// writes values as text. `extra_float_digits` and `bytea_output` are not reported: the
/// statements that set them are found by `split::changes_rendering`.
const RENDERING: [&str; 3] = ["TimeZone", "DateStyle", "IntervalStyle"];

/// What the task learned from the server's messages, read by the pool.
#[derive(Default)]
pub struct Noted {
    /// How many times a `CREATE … IF NOT EXISTS` found its relation and skipped (notice 42P07):
    /// the command tag then reads `CREATE TABLE AS` with no count, which tokio-postgres reports
    /// as 0 rows, the same as a `SELECT 0`. The task reads a notice before the answer that
    /// follows it, so a query that sees its answer also sees the count moved.
    pub skipped_creates: AtomicU64,
    /// The server reported a [`RENDERING`] setting other than the one the session started with
    /// (`SET`, `set_config()`, a `DO` block): sticky, as the pool cannot tell what else changed.
    /// Shared by every connection of a pool behind PgBouncer, whose server connections go
    /// from one client to another.
    pub rendering_changed: Arc<AtomicBool>,
    /// How many turns of the connection ended without an error. In each turn tokio-postgres
    /// reads what the server sent before it writes what was asked: a turn that fails reading
    /// (the peer reset the connection) writes nothing. So a request made while this count was
    /// `n`, on a connection that then failed with the count still `n`, never left: its only turn
    /// failed before writing it (`Conn::turns`).
    pub turns: AtomicU64,
    /// The server reported a `topology::ROLE_SETTINGS` value other than the one the session
    /// started with: a standby was promoted, or `default_transaction_read_only` changed.
    pub role_changed: AtomicBool,
}

/// Where a connection's notifications go: every one that arrived in one turn, together.
pub type OnNotifications = Box<dyn Fn(Vec<Notification>) + Send>;

/// Runs a connection (as awaiting `tokio_postgres::Connection` does), notes what its messages
/// say in a [`Noted`], and passes each notice on, and its notifications if asked.
pub struct Task {
    connection: Connection,
    noted: Arc<Noted>,
    on_notice: Box<dyn Fn(&DbError) + Send>,
    /// Without it (a pooled connection), notifications are dropped.
    on_notifications: Option<OnNotifications>,
    /// The [`RENDERING`] settings as the session started.
    started: [Option<String>; 3],
    /// The `ROLE_SETTINGS` as the session started, when they are watched (`watching_role`).
    role: Option<[Option<String>; 2]>,
}

impl Task {
    /// Runs `connection`, noting in `noted` and calling `on_notice` with each notice.
    pub fn new(
        connection: Connection,
        noted: Arc<Noted>,
        on_notice: Box<dyn Fn(&DbError) + Send>,
    ) -> Self {
        let started = RENDERING.map(|name| connection.parameter(name).map(str::to_owned));
        Task {
            connection,
            noted,
            on_notice,
            on_notifications: None,
            started,
            role: None,
        }
    }

    /// The same task, noting when the server reports a `ROLE_SETTINGS` value other than the
    /// session's first (`Noted::role_changed`): only a pool that asks for a kind of server needs
    /// to know, and the others skip the check after every turn.
    pub fn watching_role(mut self) -> Self {
        self.role =
            Some(ROLE_SETTINGS.map(|name| self.connection.parameter(name).map(str::to_owned)));
        self
    }

    /// The same task, handing the notifications of each turn to `on_notifications` at once, so
    /// that a burst costs one call rather than one per notification.
    pub fn with_notifications(mut self, on_notifications: OnNotifications) -> Self {
        self.on_notifications = Some(on_notifications);
        self
    }

    /// Whether a [`RENDERING`] setting differs from its value at the start.
    fn rendering_changed(&self) -> bool {
        RENDERING
            .iter()
            .zip(&self.started)
            .any(|(name, started)| self.connection.parameter(name) != started.as_deref())
    }

    /// Whether a watched `ROLE_SETTINGS` value differs from its value at the start.
    fn role_changed(&self) -> bool {
        self.role.as_ref().is_some_and(|role| {
            ROLE_SETTINGS
                .iter()
                .zip(role)
                .any(|(name, started)| self.connection.parameter(name) != started.as_deref())
        })
    }
}

impl Future for Task {
    type Output = Result<(), tokio_postgres::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut arrived = Vec::new();
        let polled = loop {
            let message = self.connection.poll_message(cx);
            if matches!(message, Poll::Pending | Poll::Ready(Some(Ok(_)))) {
                self.noted.turns.fetch_add(1, Ordering::Relaxed);
            }
            match message {
                Poll::Ready(Some(Ok(AsyncMessage::Notice(notice)))) => {
                    if *notice.code() == SqlState::DUPLICATE_TABLE {
                        self.noted.skipped_creates.fetch_add(1, Ordering::Relaxed);
                    }
                    (self.on_notice)(&notice);
                }
                Poll::Ready(Some(Ok(AsyncMessage::Notification(n)))) => {
                    if self.on_notifications.is_some() {
                        arrived.push(n);
                    }
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => break Poll::Ready(Err(e)),
                Poll::Ready(None) => break Poll::Ready(Ok(())),
                Poll::Pending => break Poll::Pending,
            }
        };
        if let (false, Some(on_notifications)) = (arrived.is_empty(), &self.on_notifications) {
            on_notifications(arrived);
        }
        // A ParameterStatus is taken in by tokio-postgres as it reads, before the answer it came
        // with is passed on; checked here, after each turn, it is seen before that answer is.
        if !self.noted.rendering_changed.load(Ordering::Relaxed) && self.rendering_changed() {
            self.noted.rendering_changed.store(true, Ordering::Relaxed);
        }
        if !self.noted.role_changed.load(Ordering::Relaxed) && self.role_changed() {
            self.noted.role_changed.store(true, Ordering::Relaxed);
        }
        polled
    }
}
