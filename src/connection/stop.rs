//! Stopping a connection from outside (a cancel request, cutting it), and checking that closed
//! connections left the server.
use crate::connect::Connector;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// How long a background cancel request may take: a hung server never answers it.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// How long a close waits to see its backends leave the server.
const GONE_WAIT: Duration = Duration::from_secs(2);

/// Waits until the server no longer lists the backends `pids`, so that a closed pool has really
/// let go of them: a backend exits a few milliseconds after its client says Terminate. Looks
/// through one short-lived connection of its own; a server it cannot reach has let go anyway.
/// That connection's backend outlives the look by the same few milliseconds, so it goes by an
/// application name of its own: code that counts the pool's backends by name right after close
/// (a spec does) must not find it.
pub async fn wait_until_gone(connector: &Connector, application_name: &str, pids: &[i32]) {
    if pids.is_empty() {
        return;
    }
    let connector = connector.named(&format!("{application_name} (close check)"));
    let look = async {
        let (client, connection) = connector.connect().await?;
        let task = tokio::spawn(connection);
        let gone = async {
            loop {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)",
                        &[&pids],
                    )
                    .await?;
                if row.get::<_, i64>(0) == 0 {
                    return Ok::<_, Error>(());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        .await;
        drop(client);
        let _ = task.await;
        gone
    };
    if let Ok(Err(e)) = tokio::time::timeout(GONE_WAIT, look).await {
        tracing::debug!("could not confirm that the closed connections left the server: {e}");
    }
}

/// Cancels the statement running on one connection: a CancelRequest on a new transport of the
/// same kind (TLS or not) as the connection's.
#[derive(Clone)]
pub struct Cancel {
    pub(super) token: tokio_postgres::CancelToken,
    pub(super) connector: Arc<Connector>,
    pub(super) pid: i32,
}

impl Cancel {
    /// The server process id of the connection.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends the cancel request; the server answers nothing, so success means it was delivered.
    pub async fn send(&self) -> Result<()> {
        self.connector.cancel(&self.token).await
    }
}

/// Stops a checked-out connection from outside: cancels its running statement on the server,
/// then cuts the connection so that its backend ends.
pub struct Stopper {
    pub(super) cancel: Cancel,
    pub(super) task: Option<tokio::task::AbortHandle>,
}

impl Stopper {
    /// Cuts the connection now and asks the server to cancel its statement in the background
    /// (for at most [`CANCEL_WAIT`]): for a caller that cannot wait, such as a drop.
    pub fn cut(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let cancel = self.cancel;
            runtime.spawn(async move {
                let _ = tokio::time::timeout(CANCEL_WAIT, cancel.send()).await;
            });
        }
    }
}
