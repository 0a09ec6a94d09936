//! The connection seam: the one place that opens a transport to the server. Pool connections,
//! the close check's look at `pg_stat_activity` and cancel requests all go through a
//! [`Connector`], so each gets the same TLS (libpq's six `sslmode`s, see `tls`), the same
//! deadline over the whole connect (TCP, TLS handshake and authentication: tokio-postgres's own
//! `connect_timeout` covers only TCP), and errors that say what went wrong and what to change.
//! Nothing else calls `tokio_postgres::connect` or names a TLS type.
use crate::config::tls::SslMode;
use crate::config::topology::{SessionAttrs, Target};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, Client, Socket};

mod cancel;
mod errors;
mod role;
mod task;
pub mod tls;

pub use task::{Noted, OnNotifications, Task};

/// The stream of a connection: TLS or plain, decided per connection.
pub type Stream = <tls::MakeTls as MakeTlsConnect<Socket>>::Stream;

/// A connection's task, to be spawned: it carries the requests to the server and back.
pub type Connection = tokio_postgres::Connection<Socket, Stream>;

/// Opens connections and sends cancel requests for one manager.
#[derive(Clone)]
pub struct Connector {
    /// Everything but the server, which each attempt adds.
    pg: tokio_postgres::Config,
    /// The servers, tried in this order (or at random).
    targets: Arc<[Target]>,
    random: bool,
    session_attrs: SessionAttrs,
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
            pg: config.per_host.clone(),
            targets: config.topology.targets.clone().into(),
            random: config.topology.random,
            session_attrs: config.topology.session_attrs,
            tls,
            mode,
            deadline: config.connection_timeout,
            target: config::describe(config),
            password_note: config.password_note.clone(),
            wait_on_cancel: config.pgbouncer || config.topology.targets.len() <= 1,
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

    /// The `targetSessionAttrs` in force.
    pub fn session_attrs(&self) -> SessionAttrs {
        self.session_attrs
    }

    /// Opens a connection to a server that will do, within the connect deadline: the client,
    /// and the task to spawn. The servers are tried in turn (in a random order with
    /// `loadBalanceHosts: 'random'`), each within its share of the time left, so that one that
    /// does not answer leaves time for the next. A server that answers but is not what
    /// `targetSessionAttrs` asks for is passed over; under `prefer-standby`, the first such one
    /// serves when no server is a standby.
    pub async fn connect(&self) -> Result<(Client, Connection)> {
        let started = Instant::now();
        let order = self.order();
        let mut fallback = None;
        let mut last = None;
        for (i, target) in order.iter().enumerate() {
            let attempt = async {
                let (client, mut connection) = self.attempts(target).await?;
                let fits = match self.session_attrs {
                    SessionAttrs::Any => (true, true),
                    attrs => {
                        let role = role::of(&client, &mut connection).await?;
                        (attrs.prefers(role), attrs.accepts(role))
                    }
                };
                Ok((client, connection, fits))
            };
            let outcome = match self.deadline {
                Some(deadline) => {
                    let share =
                        deadline.saturating_sub(started.elapsed()) / (order.len() - i) as u32;
                    tokio::time::timeout(share, attempt)
                        .await
                        .unwrap_or_else(|_| Err(self.timed_out(deadline)))
                }
                None => attempt.await,
            };
            match outcome {
                Ok((client, connection, (true, _))) => return Ok((client, connection)),
                Ok((client, connection, (false, true))) => {
                    fallback.get_or_insert((client, connection));
                }
                Ok(_) => last = Some(self.unsuitable()),
                Err(e) => last = Some(e),
            }
        }
        match (fallback, last) {
            (Some(connected), _) => Ok(connected),
            (None, Some(e)) => Err(e),
            (None, None) => Err(self.unsuitable()),
        }
    }

    /// The servers in the order this connection tries them.
    fn order(&self) -> Vec<&Target> {
        let mut order: Vec<&Target> = self.targets.iter().collect();
        if self.random && order.len() > 1 {
            use rand::seq::SliceRandom;
            order.shuffle(&mut rand::rng());
        }
        order
    }

    fn timed_out(&self, deadline: Duration) -> Error {
        Error::ConnectTimeout(format!(
            "could not connect to the server within {} ms (`connectionTimeoutMillis`) \
             (connecting as {}, sslmode={}): check that it is running and reachable",
            deadline.as_millis(),
            self.target,
            self.mode
        ))
    }

    fn unsuitable(&self) -> Error {
        let (which, is) = if self.targets.len() > 1 {
            ("none of the servers", "is")
        } else {
            ("the server", "is not")
        };
        Error::Connect {
            code: "NO_SUITABLE_SERVER",
            message: format!(
                "{which} at {} {is} what targetSessionAttrs={} asks for (each answered, and was \
                 left): check which server is the primary and which are standbys, or relax \
                 `targetSessionAttrs`",
                self.target,
                self.session_attrs.as_str()
            ),
        }
    }

    /// libpq's attempts: `allow` tries plain text, then TLS (if the server offers it) when the
    /// server refused plain text; `prefer` tries TLS when the server offers it, then plain text
    /// when the server refused TLS or the handshake failed (a root certificate was given and did
    /// not verify). Unlike libpq, a wrong password is not tried a second time: it would fail the
    /// same way, and under `prefer` it would go out again in plain text.
    async fn attempts(&self, target: &Target) -> Result<(Client, Connection)> {
        use tokio_postgres::config::SslMode as Pg;
        let first = self.attempt(target, self.pg.get_ssl_mode()).await;
        let second = match (self.mode, &first) {
            (SslMode::Allow, Err(e)) if errors::refused(e) => Pg::Prefer,
            (SslMode::Prefer, Err(e)) if errors::refused(e) || errors::is_tls(e) => Pg::Disable,
            _ => return first.map_err(|e| errors::classify(e, self)),
        };
        self.attempt(target, second)
            .await
            .map_err(|e| errors::classify(e, self))
    }

    async fn attempt(
        &self,
        target: &Target,
        mode: tokio_postgres::config::SslMode,
    ) -> std::result::Result<(Client, Connection), tokio_postgres::Error> {
        let mut pg = self.pg.clone();
        target.add_to(&mut pg);
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
