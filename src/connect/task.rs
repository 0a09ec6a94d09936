//! A connection's task as the pool runs it: tokio-postgres's connection, polled for the messages
//! the server sends outside any answer, so the pool learns what only those say.
use super::Connection;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::AsyncMessage;

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
}

/// Runs a connection (as awaiting `tokio_postgres::Connection` does), notes what its messages
/// say in a [`Noted`], and passes each notice on.
pub struct Task {
    connection: Connection,
    noted: Arc<Noted>,
    on_notice: Box<dyn Fn(&DbError) + Send>,
    /// The [`RENDERING`] settings as the session started.
    started: [Option<String>; 3],
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
            started,
        }
    }

    /// Whether a [`RENDERING`] setting differs from its value at the start.
    fn rendering_changed(&self) -> bool {
        RENDERING
            .iter()
            .zip(&self.started)
            .any(|(name, started)| self.connection.parameter(name) != started.as_deref())
    }
}

impl Future for Task {
    type Output = Result<(), tokio_postgres::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
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
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => break Poll::Ready(Err(e)),
                Poll::Ready(None) => break Poll::Ready(Ok(())),
                Poll::Pending => break Poll::Pending,
            }
        };
        // A ParameterStatus is taken in by tokio-postgres as it reads, before the answer it came
        // with is passed on; checked here, after each turn, it is seen before that answer is.
        if !self.noted.rendering_changed.load(Ordering::Relaxed) && self.rendering_changed() {
            self.noted.rendering_changed.store(true, Ordering::Relaxed);
        }
        polled
    }
}
