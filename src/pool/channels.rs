//! LISTEN/NOTIFY as the pool offers them: listening goes to the manager's LISTEN connection
//! (`listen::Listener`, outside `max`), once the lifecycle admits the call; a notification is a
//! query like any other, on a pooled connection.
use super::*;
use crate::listen::{self, Sink};

/// A query whose result nobody reads early.
struct NoEarlyRows;

impl EarlyRows for NoEarlyRows {
    fn send(&self, _rows: ResultSet) {}

    fn sent(&self) -> bool {
        false
    }
}

impl Pool {
    /// Listens on `channel`, resolving once `LISTEN` is in force on the server; `POOL_CLOSED`
    /// once `close()` has begun, `INVALID_ARGUMENT` for a name the server cannot take.
    pub async fn listen(&self, channel: String) -> Result<()> {
        let _call = self.enter()?;
        self.listener.listen(channel).await
    }

    /// Stops listening on `channel`. After `close()` there is nothing left to stop: it succeeds.
    pub async fn unlisten(&self, channel: String) -> Result<()> {
        let Ok(_call) = self.enter() else {
            return Ok(());
        };
        self.listener.unlisten(channel).await
    }

    /// Sends a notification (`pg_notify`) on a pooled connection.
    pub async fn notify(self: &Arc<Self>, channel: String, payload: String) -> Result<()> {
        listen::channel::check(&channel)?;
        let params = vec![Param::Text(channel), Param::Text(payload)];
        let limit = self.default_limit();
        self.query("SELECT pg_notify($1, $2)", params, &NoEarlyRows, limit)
            .await
            .map(drop)
    }

    /// Sends every notification received to `sink`.
    pub fn notify_to(&self, sink: Arc<dyn Sink>) {
        self.listener.set_sink(sink);
    }
}
