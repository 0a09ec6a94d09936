//! The task that owns the LISTEN connection: it takes commands one at a time, notices when the
//! connection ends, and opens another while channels are listened.
use super::backoff::Backoff;
use super::{channel, Shared};
use crate::connect::{Connector, Noted, Task};
use crate::error::{Error, Result, ServerError};
use crate::events::{kind, Event, Events};
use crate::log::Log;
use std::collections::BTreeSet;
use std::future::pending;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::{Client, Notification, SimpleQueryMessage};

/// How long closing waits for the connection's task to say Terminate and end.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the [`super::Listener`] asks of the task.
pub(super) enum Command {
    Listen(String, oneshot::Sender<Result<()>>),
    Unlisten(String, oneshot::Sender<Result<()>>),
    /// Answers with the server process id of the connection it closed.
    Close(oneshot::Sender<Option<i32>>),
}

/// An open LISTEN connection.
struct Live {
    client: Client,
    task: JoinHandle<std::result::Result<(), tokio_postgres::Error>>,
    pid: i32,
}

/// The LISTEN connection's owner.
pub(super) struct Actor {
    connector: Connector,
    setup_wait: Option<Duration>,
    events: Arc<Events>,
    log: Arc<Log>,
    shared: Arc<Shared>,
    /// The channels listened: in force on `live`, or to be listened on the next connection.
    channels: BTreeSet<String>,
    live: Option<Live>,
    backoff: Backoff,
    /// When to try to connect again, while channels are listened and no connection is open.
    retry_at: Option<Instant>,
    /// A connection was lost while channels were listened: the next one is a reconnect.
    missed: bool,
    /// The code of the last failed attempt since the last success: a failure is logged when
    /// its code differs, not twice a second while the server is down.
    failing: Option<String>,
}

impl Actor {
    pub(super) fn new(
        connector: Connector,
        setup_wait: Option<Duration>,
        events: Arc<Events>,
        log: Arc<Log>,
        shared: Arc<Shared>,
    ) -> Self {
        Actor {
            connector,
            setup_wait,
            events,
            log,
            shared,
            channels: BTreeSet::new(),
            live: None,
            backoff: Backoff::default(),
            retry_at: None,
            missed: false,
            failing: None,
        }
    }

    /// Serves `commands` until `Close`, or until the listener is dropped.
    pub(super) async fn run(mut self: Box<Self>, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Listen(channel, reply)) => {
                        let _ = reply.send(self.listen(channel).await);
                    }
                    Some(Command::Unlisten(channel, reply)) => {
                        let _ = reply.send(self.unlisten(&channel).await);
                    }
                    Some(Command::Close(reply)) => {
                        let _ = reply.send(self.close().await);
                        return;
                    }
                    None => {
                        self.close().await;
                        return;
                    }
                },
                ended = ended(&mut self.live) => self.lost(ended),
                () = retry(self.retry_at) => {
                    // A failure schedules the next attempt; nobody waits for this one's error.
                    let _ = self.open(None).await;
                }
            }
        }
    }

    async fn listen(&mut self, channel: String) -> Result<()> {
        if let Some(live) = &self.live {
            if self.channels.contains(&channel) {
                return Ok(());
            }
            let sql = format!("LISTEN {}", channel::quote(&channel));
            match live.client.batch_execute(&sql).await {
                Ok(()) => {
                    self.channels.insert(channel);
                    self.count_channels();
                    return Ok(());
                }
                Err(e) if !live.client.is_closed() => return Err(e.into()),
                // The connection went meanwhile: report it, then try a new one for this call.
                Err(_) => self.lost_now().await,
            }
        }
        self.open(Some(channel)).await
    }

    async fn unlisten(&mut self, channel: &str) -> Result<()> {
        if !self.channels.remove(channel) {
            return Ok(());
        }
        self.count_channels();
        if self.channels.is_empty() {
            // Nothing left to miss: no reconnect until the next `listen`.
            self.retry_at = None;
            self.missed = false;
        }
        if let Some(live) = &self.live {
            let sql = format!("UNLISTEN {}", channel::quote(channel));
            if let Err(e) = live.client.batch_execute(&sql).await {
                // A connection that went is noticed by `run`, and listens to nothing any more.
                if !live.client.is_closed() {
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Opens a connection that listens on every channel and on `extra`. On failure, while
    /// channels are listened, schedules the next attempt.
    async fn open(&mut self, extra: Option<String>) -> Result<()> {
        let mut wanted = self.channels.clone();
        wanted.extend(extra);
        let started = std::time::Instant::now();
        let live = match self.connect(&wanted).await {
            Ok(live) => live,
            Err(e) => {
                if self.failing.as_deref() != Some(e.code()) {
                    self.log.warn("could not open the LISTEN connection", &e);
                    self.failing = Some(e.code().to_owned());
                }
                if !self.channels.is_empty() {
                    self.retry_at = Some(Instant::now() + self.backoff.next_wait());
                }
                return Err(e);
            }
        };
        let reconnected = std::mem::take(&mut self.missed);
        if reconnected {
            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.log.connected(live.pid, started.elapsed());
        self.failing = None;
        self.retry_at = None;
        self.backoff.reset();
        self.channels = wanted;
        self.count_channels();
        self.shared.connected.store(true, Ordering::Relaxed);
        let pid = live.pid;
        self.live = Some(live);
        let channels = &self.channels;
        self.events.emit(kind::LISTEN, || Event::Listen {
            pid,
            channels: channels.iter().cloned().collect(),
            reconnected,
        });
        Ok(())
    }

    /// Connects, learns the backend's pid, then listens on `channels`, within `setup_wait`.
    async fn connect(&self, channels: &BTreeSet<String>) -> Result<Live> {
        let (client, connection) = self.connector.connect().await?;
        // Known before the LISTENs, so that every notice and notification carries it.
        let pid = Arc::new(AtomicI32::new(0));
        let on_notice = {
            let (pid, events) = (pid.clone(), self.events.clone());
            Box::new(move |notice: &tokio_postgres::error::DbError| {
                let pid = pid.load(Ordering::Relaxed);
                events.emit(kind::NOTICE, || Event::Notice {
                    pid,
                    notice: Error::Server(Box::new(ServerError::of(notice))),
                });
            })
        };
        let on_notifications = {
            let (pid, shared) = (pid.clone(), self.shared.clone());
            Box::new(move |arrived: Vec<Notification>| {
                shared.deliver(pid.load(Ordering::Relaxed), arrived)
            })
        };
        let task = Task::new(connection, Arc::new(Noted::default()), on_notice)
            .with_notifications(on_notifications);
        let task = tokio::spawn(task);
        let setup = async {
            let backend = backend_pid(&client.simple_query("SELECT pg_backend_pid()").await?)?;
            pid.store(backend, Ordering::Relaxed);
            if !channels.is_empty() {
                client.batch_execute(&channel::listen_all(channels)).await?;
            }
            Ok::<_, Error>(backend)
        };
        // On failure the client drops here, and the connection's task ends with it.
        let pid = match self.setup_wait {
            Some(wait) => tokio::time::timeout(wait, setup).await.map_err(|_| {
                Error::ConnectTimeout(format!(
                    "the server did not confirm LISTEN within {} ms (`connectionTimeoutMillis`)",
                    wait.as_millis()
                ))
            })??,
            None => setup.await?,
        };
        Ok(Live { client, task, pid })
    }

    /// The connection ended (`outcome`: how): reports it as an `error`, and, while channels are
    /// listened, tries to reconnect at once.
    fn lost(&mut self, outcome: Result<()>) {
        let Some(live) = self.live.take() else {
            return;
        };
        self.shared.connected.store(false, Ordering::Relaxed);
        let error = outcome.err().unwrap_or_else(|| {
            Error::ConnectionClosed("the server closed the LISTEN connection".into())
        });
        self.log.warn("the LISTEN connection was lost", &error);
        self.events.emit(kind::ERROR, || Event::ListenLost {
            pid: live.pid,
            error,
        });
        if !self.channels.is_empty() {
            self.missed = true;
            self.backoff.reset();
            self.retry_at = Some(Instant::now());
        }
    }

    /// Reports the loss of a connection found closed while in use, once its task has ended.
    async fn lost_now(&mut self) {
        let outcome = match tokio::time::timeout(CLOSE_WAIT, ended(&mut self.live)).await {
            Ok(outcome) => outcome,
            Err(_) => Ok(()),
        };
        self.lost(outcome);
    }

    /// Closes the connection, if open, and returns its server process id.
    async fn close(&mut self) -> Option<i32> {
        self.retry_at = None;
        self.channels.clear();
        self.count_channels();
        self.shared.connected.store(false, Ordering::Relaxed);
        let Live { client, task, pid } = self.live.take()?;
        // Without its client, the connection's task says Terminate and ends.
        drop(client);
        let _ = tokio::time::timeout(CLOSE_WAIT, task).await;
        Some(pid)
    }

    fn count_channels(&self) {
        self.shared
            .channels
            .store(self.channels.len() as u64, Ordering::Relaxed);
    }
}

/// Resolves when the connection's task ends (never without a connection), with how it ended.
async fn ended(live: &mut Option<Live>) -> Result<()> {
    match live {
        Some(live) => match (&mut live.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(Error::Internal(format!(
                "the LISTEN connection's task stopped: {e}"
            ))),
        },
        None => pending().await,
    }
}

/// Resolves at `at` (never without one).
async fn retry(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => pending().await,
    }
}

/// The process id in the answer to `SELECT pg_backend_pid()`.
fn backend_pid(messages: &[SimpleQueryMessage]) -> Result<i32> {
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0)?.parse::<i32>().ok(),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the server did not report its process id".into()))
}
