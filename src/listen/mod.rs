//! LISTEN/NOTIFY: one connection per manager, outside `max`, carries every channel listened. A
//! task of its own (`actor`) owns that connection and the set of channels, and takes the
//! manager's `listen`, `unlisten` and `close` in the order they were made; notifications go from
//! the connection's task straight to a [`Sink`], every one of a turn together. When the
//! connection is lost while channels are listened, the task opens another (at once, then after
//! [`backoff`]'s waits), listens on every channel again, and says so with a `listen` event whose
//! `reconnected` is true: notifications sent in between were missed, as the server keeps none
//! for a session that is gone.
mod actor;
pub mod backoff;
pub mod channel;

use crate::config::Config;
use crate::connect::Connector;
use crate::error::{Error, Result};
use crate::events::Events;
use crate::log::Log;
use crate::stats::Listening;
use actor::{Actor, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
pub use tokio_postgres::Notification;

/// How long `close` waits for the task to close the connection before it stops the task: one
/// stuck in a connect to a server that does not answer would otherwise hold `close()`. Longer
/// than the task's own wait for the connection to say goodbye (`actor::CLOSE_WAIT`).
const STOP_WAIT: Duration = Duration::from_secs(3);

/// Where notifications go (the napi edge implements it); must not block.
pub trait Sink: Send + Sync {
    /// Delivers the notifications that arrived together on the LISTEN connection of server
    /// process `pid`, in the order the server sent them.
    fn send(&self, pid: i32, notifications: Vec<Notification>);
}

/// What the task and the connection's task share with the [`Listener`].
#[derive(Default)]
struct Shared {
    sink: RwLock<Option<Arc<dyn Sink>>>,
    connected: AtomicBool,
    channels: AtomicU64,
    reconnects: AtomicU64,
    notifications: AtomicU64,
}

impl Shared {
    fn deliver(&self, pid: i32, notifications: Vec<Notification>) {
        self.notifications
            .fetch_add(notifications.len() as u64, Ordering::Relaxed);
        if let Some(sink) = self.sink.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            sink.send(pid, notifications);
        }
    }
}

/// The task, once the first `listen` started it.
enum State {
    NotStarted(Box<Actor>),
    Running {
        commands: mpsc::UnboundedSender<Command>,
        task: JoinHandle<()>,
    },
    Closed,
}

/// A manager's LISTEN connection and the channels it listens on.
pub struct Listener {
    state: Mutex<State>,
    shared: Arc<Shared>,
}

impl Listener {
    /// A listener that opens its connection through `connector`, named after the pool's
    /// `application_name` followed by ` (listen)` so that it can be told apart in
    /// `pg_stat_activity`, with `connectionTimeoutMillis` for the LISTENs after a connect too; no
    /// connection opens before the first `listen`.
    pub fn new(connector: &Connector, config: &Config, events: Arc<Events>, log: Arc<Log>) -> Self {
        let shared = Arc::new(Shared::default());
        let name = config
            .pg
            .get_application_name()
            .unwrap_or(crate::config::defaults::APPLICATION_NAME);
        let connector = connector.named(&format!("{name} (listen)"));
        let actor = Actor::new(
            connector,
            config.connection_timeout,
            events,
            log,
            shared.clone(),
        );
        Listener {
            state: Mutex::new(State::NotStarted(Box::new(actor))),
            shared,
        }
    }

    /// Sends every later notification to `sink`.
    pub fn set_sink(&self, sink: Arc<dyn Sink>) {
        *self.shared.sink.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    /// Listens on `channel`: resolves once `LISTEN` is in force on the server. Without a
    /// connection (the first call, or while reconnecting) it makes one attempt now and fails
    /// with that attempt's error. Listening on a channel already listened does nothing.
    pub async fn listen(&self, channel: String) -> Result<()> {
        channel::check(&channel)?;
        self.ask(|reply| Command::Listen(channel, reply)).await?
    }

    /// Stops listening on `channel` (`UNLISTEN`, when connected).
    pub async fn unlisten(&self, channel: String) -> Result<()> {
        self.ask(|reply| Command::Unlisten(channel, reply)).await?
    }

    /// Closes the connection without a word more to the server; later calls fail with
    /// `POOL_CLOSED`. Returns the server process id of the connection it closed, if any.
    pub async fn close(&self) -> Option<i32> {
        let (commands, task) = match std::mem::replace(&mut *self.state(), State::Closed) {
            State::Running { commands, task } => (commands, task),
            State::NotStarted(_) | State::Closed => return None,
        };
        let (reply, closed) = oneshot::channel();
        let _ = commands.send(Command::Close(reply));
        match tokio::time::timeout(STOP_WAIT, closed).await {
            Ok(pid) => pid.ok().flatten(),
            Err(_) => {
                // Dropping the task drops the connection's client: its task then says Terminate.
                task.abort();
                None
            }
        }
    }

    /// The connection's state and counters.
    pub fn snapshot(&self) -> Listening {
        let s = &self.shared;
        Listening {
            connected: s.connected.load(Ordering::Relaxed),
            channels: s.channels.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            notifications: s.notifications.load(Ordering::Relaxed),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the task the command `make` builds (starting the task first if need be) and waits
    /// for its answer.
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.state();
            if let State::NotStarted(_) = &*state {
                let State::NotStarted(actor) = std::mem::replace(&mut *state, State::Closed) else {
                    unreachable!("matched just above")
                };
                let (commands, receiver) = mpsc::unbounded_channel();
                let task = tokio::spawn(actor.run(receiver));
                *state = State::Running { commands, task };
            }
            match &*state {
                State::Running { commands, .. } => {
                    commands.send(make(reply)).map_err(|_| Error::PoolClosed)?
                }
                State::NotStarted(_) | State::Closed => return Err(Error::PoolClosed),
            }
        }
        answer.await.map_err(|_| Error::PoolClosed)
    }
}
