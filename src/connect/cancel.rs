//! Cancel requests that wait for the other end to close the connection, as libpq's do.
//!
//! tokio-postgres closes its socket as soon as the request is written. PgBouncer 1.18 forwards a
//! cancel request to the server on a connection of its own, and when its client goes away
//! before that one is done, it frees the client twice and exits (`FATAL … disconnect_client():
//! bad client state: 0`, pgbouncer#801, fixed after 1.18): one timed-out query would take the
//! whole PgBouncer down (in any pool mode); a half-close (FIN) does the same. So the request goes
//! over a socket opened here, whose shutdown only waits until the other end closes it, as libpq
//! does: whenever the configuration has one host (which is then the connection's), and behind
//! PgBouncer (`pgbouncer`) to its first host; else through tokio-postgres, which knows the host. (Over TLS the
//! TLS layer still sends its close_notify first, which PgBouncer 1.18 and 1.19 may also take
//! badly, pgbouncer#904.)
use super::tls::MakeTls;
use super::{errors, Connector};
use crate::error::{Error, Result};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::CancelToken;

/// How long a cancel request waits for the other end to close: PgBouncer closes as soon as it
/// has passed the request on (a round trip to the server); past this the socket is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A stream whose shutdown only reads until the other end closes, as libpq's cancel does.
pub struct HoldOpen<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for HoldOpen<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HoldOpen<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // No FIN either: PgBouncer 1.18 takes that as the client gone (`client unexpected eof`).
        let mut scratch = [0u8; 64];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => {}
                // Closed with a reset: closed all the same.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Connector {
    /// Sends the cancel request of `token` to the first host (and port) of the configuration,
    /// over TLS if the connection was, and waits until the other end closes the socket (for at
    /// most [`CLOSE_WAIT`]).
    pub(super) async fn cancel_and_wait(&self, token: &CancelToken) -> Result<()> {
        let Some(first) = self.targets.first() else {
            return Ok(());
        };
        let port = first.port;
        let sent = async {
            match (first.host.as_ref(), first.hostaddr.as_ref()) {
                (Some(Host::Unix(dir)), _) => {
                    let path = dir.join(format!(".s.PGSQL.{port}"));
                    let stream = UnixStream::connect(path).await.map_err(unsent)?;
                    self.send(HoldOpen(stream), "", token).await
                }
                (host, addr) => {
                    let name = match host {
                        Some(Host::Tcp(name)) => name.clone(),
                        _ => addr.map(ToString::to_string).unwrap_or_default(),
                    };
                    let target = addr.map_or_else(|| name.clone(), ToString::to_string);
                    let stream = TcpStream::connect((target.as_str(), port))
                        .await
                        .map_err(unsent)?;
                    self.send(HoldOpen(stream), &name, token).await
                }
            }
        };
        // Past the wait the socket is dropped: the request was written long before.
        tokio::time::timeout(CLOSE_WAIT, sent)
            .await
            .unwrap_or(Ok(()))
    }

    async fn send<S>(&self, stream: S, name: &str, token: &CancelToken) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        MakeTls: MakeTlsConnect<S>,
    {
        let mut tls = self.tls.clone();
        let connect =
            MakeTlsConnect::<S>::make_tls_connect(&mut tls, name).map_err(|e| Error::Connect {
                code: "CONNECTION_ERROR",
                message: format!("could not send a cancel request: {}", e.into()),
            })?;
        token
            .cancel_query_raw(stream, connect)
            .await
            .map_err(|e| errors::classify(e, self))
    }
}

/// A cancel request whose socket could not be opened.
fn unsent(e: io::Error) -> Error {
    Error::Connect {
        code: "CONNECTION_ERROR",
        message: format!("could not send a cancel request: {e}"),
    }
}
