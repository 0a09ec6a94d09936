//! The connection seam: the one place that opens a transport to the server. Pool connections,
//! the close check's look at `pg_stat_activity` and cancel requests all go through a
//! [`Connector`], so each gets the same TLS (libpq's six `sslmode`s, see `tls`), the same
//! deadline over the whole connect (TCP, TLS handshake and authentication: tokio-postgres's own
//! `connect_timeout` covers only TCP), and errors that say what went wrong and what to change.
//! Nothing else calls `tokio_postgres::connect` or names a TLS type.
use crate::config::tls::SslMode;
use crate::config::{self, Config};
use crate::error::{Error, Result};
use std::time::Duration;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, Client, Socket};

mod cancel;
mod errors;
mod task;
pub mod tls;

pub use task::{Noted, Task};

/// The stream of a connection: TLS or plain, decided per connection.
pub type Stream = <tls::MakeTls as MakeTlsConnect<Socket>>::Stream;

/// A connection's task, to be spawned: it carries the requests to the server and back.
pub type Connection = tokio_postgres::Connection<Socket, Stream>;

/// Opens connections and sends cancel requests for one manager.
#[derive(Clone)]
pub struct Connector {
    pg: tokio_postgres::Config,
    tls: tls::MakeTls,
    mode: SslMode,
    deadline: Option<Duration>,
    /// `user@host:port/database`, for messages.
    target: String,
    /// Added to a failed password authentication (see `Config::password_note`).
    password_note: Option<String>,
    /// Cancel requests go over a socket of the seam's own and wait for the other end to close
    /// it, as libpq's do (`cancel`): with one host, whose the connection's must be, and behind
    /// PgBouncer (`pgbouncer`), to its first host.
    wait_on_cancel: bool,
}

impl Connector {
    /// The connector for `config`. Reads the certificate files it names now, so a missing one
    /// fails the constructor (`INVALID_CONFIG`) rather than every connect.
    pub fn new(config: &Config) -> Result<Self> {
        let (tls, mode) = tls::build(&config.tls)?;
        Ok(Connector {
            pg: config.pg.clone(),
            tls,
            mode,
            deadline: config.connection_timeout,
            target: config::describe(config),
            password_note: config.password_note.clone(),
            wait_on_cancel: config.pgbouncer
                || config
                    .pg
                    .get_hosts()
                    .len()
                    .max(config.pg.get_hostaddrs().len())
                    <= 1,
        })
    }

    /// The `sslmode` in force.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// The same connector with another `application_name`.
    pub fn named(&self, application_name: &str) -> Self {
        let mut named = self.clone();
        named.pg.application_name(application_name);
        named
    }

    /// Opens a connection within the connect deadline: the client, and the task to spawn.
    pub async fn connect(&self) -> Result<(Client, Connection)> {
        match self.deadline {
            Some(deadline) => tokio::time::timeout(deadline, self.attempts())
                .await
                .map_err(|_| {
                    Error::ConnectTimeout(format!(
                        "could not connect to the server within {} ms \
                         (`connectionTimeoutMillis`) (connecting as {}, sslmode={}): check that \
                         it is running and reachable",
                        deadline.as_millis(),
                        self.target,
                        self.mode
                    ))
                })?,
            None => self.attempts().await,
        }
    }

    /// libpq's attempts: `allow` tries plain text, then TLS (if the server offers it) when the
    /// server refused plain text; `prefer` tries TLS when the server offers it, then plain text
    /// when the server refused TLS or the handshake failed (a root certificate was given and did
    /// not verify). Unlike libpq, a wrong password is not tried a second time: it would fail the
    /// same way, and under `prefer` it would go out again in plain text.
    async fn attempts(&self) -> Result<(Client, Connection)> {
        use tokio_postgres::config::SslMode as Pg;
        let first = self.attempt(self.pg.get_ssl_mode()).await;
        let second = match (self.mode, &first) {
            (SslMode::Allow, Err(e)) if errors::refused(e) => Pg::Prefer,
            (SslMode::Prefer, Err(e)) if errors::refused(e) || errors::is_tls(e) => Pg::Disable,
            _ => return first.map_err(|e| errors::classify(e, self)),
        };
        self.attempt(second)
            .await
            .map_err(|e| errors::classify(e, self))
    }

    async fn attempt(
        &self,
        mode: tokio_postgres::config::SslMode,
    ) -> std::result::Result<(Client, Connection), tokio_postgres::Error> {
        let mut pg = self.pg.clone();
        pg.ssl_mode(mode);
        pg.connect(self.tls.clone()).await
    }

    /// Asks the server to cancel the statement running on the connection of `token`, over the
    /// same transport (TLS or not) that connection uses.
    pub async fn cancel(&self, token: &CancelToken) -> Result<()> {
        if self.wait_on_cancel {
            // See `cancel`: PgBouncer 1.18 exits when the socket closes too soon.
            return self.cancel_and_wait(token).await;
        }
        token
            .cancel_query(self.tls.clone())
            .await
            .map_err(|e| errors::classify(e, self))
    }
}
